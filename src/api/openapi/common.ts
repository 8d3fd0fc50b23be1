/**
 * Building blocks of the OpenAPI 3.1 document the gateway serves (GET /api/v1/openapi.json).
 * Each feature has one schema module beside this file (sending.ts, messages.ts, providers.ts,
 * apikeys.ts, groups.ts, operations.ts); document.ts assembles them. A route that validates with
 * hand-written code names, in a comment, the schema here that it implements.
 */

export type Schema = { [k: string]: unknown };
export type Operation = {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  parameters?: Schema[];
  requestBody?: Schema;
  responses: Record<string, Schema>;
  security?: Array<Record<string, string[]>>;
  /** Marks what Sendmux adds beyond the hosted service's documents (SPEC "EXT"). */
  "x-sendmux-ext"?: true;
};
export type PathItem = { [method: string]: Operation | Schema[] | Schema | undefined; servers?: Schema[] };

/** Marker on every operation, schema or property this gateway adds beyond the reference documents. */
export const EXT = { "x-sendmux-ext": true } as const;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const jsonBody = (schema: Schema): Schema => ({ "application/json": { schema } });

/** One documented error status: the ErrorResponse envelope with this description. */
export function errors(map: Record<number, string>): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const [status, description] of Object.entries(map)) out[status] = { content: jsonBody(ref("ErrorResponse")), description };
  return out;
}

/** A success response: SuccessEnvelope with `data` of this schema (and `extra` top-level members, e.g. pagination). */
export function envelope(data: Schema, extra: Record<string, Schema> = {}): Schema {
  return {
    allOf: [ref("SuccessEnvelope"), { properties: { data, ...extra }, required: ["data", ...Object.keys(extra)], type: "object" }],
    unevaluatedProperties: false,
  };
}

export const idempotencyKeyParam: Schema = {
  description:
    "Optional client-generated key to make the request idempotent for 24 hours. Replays under the same key return the cached response; a reused key with a different body returns 409 idempotency_conflict.",
  example: "order-12345-2026-04-24",
  in: "header",
  name: "Idempotency-Key",
  required: false,
  schema: { maxLength: 255, type: "string" },
};

export const ifNoneMatchParam: Schema = {
  description: "Weak ETag from a previous response. When it matches the current resource, the server returns 304 Not Modified with no body.",
  in: "header",
  name: "If-None-Match",
  required: false,
  schema: { type: "string" },
};

export const notModified: Schema = {
  description: "Not modified (matches If-None-Match); empty body.",
  headers: { ETag: { schema: { type: "string" } } },
};

export const pathId = (name: string, pattern: string, description: string): Schema => ({ description, in: "path", name, required: true, schema: { pattern, type: "string" } });

/** The Management API document's CursorPagination: `next_cursor` only when there is a next page (never null). */
export const pagination: Schema = {
  additionalProperties: false,
  description: "`next_cursor` is present only while `has_more` is true; pass it back unchanged as `cursor` for the next page.",
  properties: { has_more: { type: "boolean" }, next_cursor: { type: "string" } },
  required: ["has_more"],
  type: "object",
};

export const cursorParams: Schema[] = [
  { description: "next_cursor from the previous page.", in: "query", name: "cursor", required: false, schema: { type: "string" } },
];

export const limitParam = (max: number, dflt: number): Schema => ({
  description: `Page size (default ${dflt}, at most ${max}).`,
  in: "query",
  name: "limit",
  required: false,
  schema: { default: dflt, maximum: max, minimum: 1, type: "integer" },
});

/** The errors every authenticated management operation can answer with (full key required). */
export const managementErrors = {
  401: "Authentication required",
  403: "Insufficient permissions (needs a `full` key)",
  429: "Rate limit exceeded",
  503: "Storage (Redis) temporarily unavailable",
};
