/**
 * The closed vocabulary of API error codes and the HTTP status each maps to. Every error the API
 * returns is one of these; anything else becomes a generic 500 `internal_error`, the only kind
 * logged with a stack.
 */
export const ERROR_STATUS = {
  invalid_parameter: 400,
  missing_parameter: 400,
  authentication_required: 401,
  insufficient_permissions: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_error: 422,
  limit_exceeded: 422,
  rate_limit_exceeded: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldIssue {
  field: string;
  code: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly retryable: boolean;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly opts: { param?: string; errors?: FieldIssue[]; retryable?: boolean; retryAfter?: number; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
    // SPEC: 429 and 5xx default to retryable; other 4xx do not.
    this.retryable = opts.retryable ?? (this.status === 429 || this.status >= 500);
  }

  body(requestId: string): object {
    const error: Record<string, unknown> = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.opts.param !== undefined) error.param = this.opts.param;
    if (this.opts.errors?.length) error.errors = this.opts.errors;
    return { ok: false, error, meta: { request_id: requestId } };
  }
}

/** 422 listing every failing field; `param` names the first. */
/** At most this many issues are listed in `errors[]`: a small request never gets a huge answer. */
export const MAX_LISTED_ISSUES = 100;

export function validationError(issues: FieldIssue[]): ApiError {
  const first = issues[0]!;
  const what = first.field ? `${first.field}: ${first.message}` : first.message;
  let msg = issues.length === 1 ? what : `${issues.length} fields are invalid; the first is ${what}`;
  if (issues.length > MAX_LISTED_ISSUES) msg += ` (errors lists the first ${MAX_LISTED_ISSUES})`;
  return new ApiError("validation_error", msg, { param: first.field || undefined, errors: issues.slice(0, MAX_LISTED_ISSUES) });
}

export function notFound(what: string, id: string): ApiError {
  return new ApiError("not_found", `${what} ${id} was not found`);
}
