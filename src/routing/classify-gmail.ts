import type { ClassTable, ProviderError } from "./classify.ts";

/**
 * The gmail_api classification table (shared/research/provider-specifics.md §1.2 and §1.4), in
 * the shape of src/routing/classify.ts: rows matched in order, the first match wins, anything
 * unmatched is transient.
 *
 * A signal's `command` says where it came from: `TOKEN` (the OAuth token endpoint: refresh-token
 * or service-account grant), `SEND` (users.messages.send, either endpoint), `PROFILE`
 * (users.getProfile) or `GATEWAY` (a check the adapter makes before calling Google). `status` is
 * the HTTP status (absent when there was no answer), `reason` Google's `errors[0].reason` or the
 * OAuth `error` field, `response` the error's message.
 */
export interface GmailSignal extends ProviderError {
  /** Milliseconds from the send until the "Retry after <ISO time>" in the message, when there is one. */
  retryAfterMs?: number;
}

/** A "Retry after" further off than this is a quota block, not throttling. Research §1.4: [guess] 15 min. */
export const FAR_RETRY_MS = 15 * 60_000;

const cmd = (e: ProviderError, c: string) => e.command === c;
const api = (e: ProviderError) => e.command === "SEND" || e.command === "PROFILE";
const status = (e: ProviderError) => e.status ?? 0;
const reason = (e: ProviderError) => e.reason ?? "";
const text = (e: ProviderError) => e.response ?? "";
const retryIn = (e: ProviderError) => (e as GmailSignal).retryAfterMs;

/**
 * Node's codes for a private key it cannot parse or use (ERR_OSSL_PEM_NO_START_LINE,
 * ERR_OSSL_PEM_BAD_BASE64_DECODE, ERR_OSSL_UNSUPPORTED, ERR_MISSING_PASSPHRASE, …).
 */
const KEY_ERROR_CODE = /^ERR_(OSSL|CRYPTO)_|^ERR_MISSING_PASSPHRASE$/;
/** The service account's private_key could not be read while signing the grant: nothing was sent to Google. */
export const isKeyError = (e: ProviderError) => cmd(e, "TOKEN") && !e.status && KEY_ERROR_CODE.test(e.code ?? "");

export const GMAIL_TABLE: ClassTable = [
  // The adapter's own checks, before anything is sent.
  { signal: "To/Cc name an address outside the envelope (Gmail would deliver to it)", cls: "permanent_recipient", match: (e) => cmd(e, "GATEWAY") && e.code === "EHEADERRCPT" },
  { signal: "message over Gmail's 35 MB maxSize (checked before sending; discovery maxSize 36,700,160, second-hand)", cls: "permanent_recipient", match: (e) => cmd(e, "GATEWAY") && e.code === "ETOOBIG" },

  // Token endpoint (RFC 6749 §5.2 error bodies).
  { signal: "token endpoint invalid_grant (refresh token expired or revoked; bad service-account key or user) — chrome-webstore-upload#48", cls: "auth_config", match: (e) => cmd(e, "TOKEN") && reason(e) === "invalid_grant" },
  { signal: "token endpoint invalid_client (unknown OAuth client or wrong secret) — RFC 6749 §5.2", cls: "auth_config", match: (e) => cmd(e, "TOKEN") && reason(e) === "invalid_client" },
  // [guess] Google's answer to a service account without domain-wide delegation for the scope.
  { signal: "token endpoint unauthorized_client (no domain-wide delegation for gmail.send)", cls: "auth_config", guess: true, match: (e) => cmd(e, "TOKEN") && reason(e) === "unauthorized_client" },
  { signal: "service account private_key that cannot be read (ERR_OSSL_* while signing the grant; no request was made)", cls: "auth_config", match: isKeyError },
  { signal: "token endpoint without an answer (connection refused, reset, timed out, DNS)", cls: "connection", guess: true, match: (e) => cmd(e, "TOKEN") && !e.status },
  // [guess] The token endpoint's own outages and throttling are passing.
  { signal: "token endpoint 429 or 5xx", cls: "transient", guess: true, match: (e) => cmd(e, "TOKEN") && (status(e) === 429 || status(e) >= 500) },
  // [guess] invalid_request, invalid_scope, unsupported_grant_type: the configuration is wrong.
  { signal: "token endpoint other 4xx (invalid_request, invalid_scope, …)", cls: "auth_config", guess: true, match: (e) => cmd(e, "TOKEN") && status(e) >= 400 && status(e) < 500 },

  // Gmail API: quota first (its 429 carries reason rateLimitExceeded, like the per-minute kind).
  { signal: "API 429 \"User-rate limit exceeded … (Mail sending)\": the daily sending limit — handle-errors page", cls: "quota", match: (e) => api(e) && status(e) === 429 && /\(Mail sending\)/i.test(text(e)) },
  // [guess] threshold: a Retry after more than 15 minutes away is a daily block (gmail-tester#23).
  { signal: "API 429/403 \"Retry after T\" with T more than 15 minutes away", cls: "quota", guess: true, match: (e) => api(e) && (status(e) === 429 || status(e) === 403) && (retryIn(e) ?? 0) > FAR_RETRY_MS },
  // [guess] the reset time of the project's daily quota was not found; routing pauses 24 h.
  { signal: "API 403 dailyLimitExceeded — handle-errors page", cls: "quota", guess: true, match: (e) => api(e) && status(e) === 403 && reason(e) === "dailyLimitExceeded" },
  { signal: "API 429/403 rateLimitExceeded / userRateLimitExceeded (queries per minute) — quota page, inbox-zero#480", cls: "transient", match: (e) => api(e) && (status(e) === 429 || status(e) === 403) && /^(rateLimitExceeded|userRateLimitExceeded)$/.test(reason(e)) },
  { signal: "API 429 otherwise (bandwidth or concurrent-request limits) — handle-errors page", cls: "transient", match: (e) => api(e) && status(e) === 429 },
  { signal: "API 403 domainPolicy (the Workspace domain does not allow this app) — handle-errors page", cls: "auth_config", match: (e) => api(e) && status(e) === 403 && reason(e) === "domainPolicy" },
  // [guess] reason name not re-verified in the research; the token lacks a Gmail scope.
  { signal: "API 403 insufficientPermissions (the token lacks the gmail.send scope)", cls: "auth_config", guess: true, match: (e) => api(e) && status(e) === 403 && reason(e) === "insufficientPermissions" },
  // [guess] a service account impersonating a user it may not act for ("Delegation denied").
  { signal: "API 403 forbidden / Delegation denied", cls: "auth_config", guess: true, match: (e) => api(e) && status(e) === 403 && (reason(e) === "forbidden" || /delegation denied/i.test(text(e))) },
  { signal: "API 401 authError after one token refresh — handle-errors page", cls: "auth_config", match: (e) => api(e) && status(e) === 401 },
  { signal: "API 400 failedPrecondition \"Mail service not enabled\" / \"Precondition check failed.\" — flowcrypt#435", cls: "auth_config", match: (e) => api(e) && status(e) === 400 && (reason(e) === "failedPrecondition" || /FAILED_PRECONDITION|precondition check failed|mail service not enabled/i.test(text(e))) },
  { signal: "API 413 (request too large for the endpoint)", cls: "permanent_recipient", guess: true, match: (e) => api(e) && status(e) === 413 },
  { signal: "API 400 invalidArgument / badRequest (\"Invalid to header\", \"Recipient address required\") — flowcrypt#1370", cls: "permanent_recipient", match: (e) => api(e) && status(e) === 400 },
  { signal: "API 500/502/503/504 (backendError) — handle-errors page", cls: "transient", match: (e) => api(e) && status(e) >= 500 },
  // [inference] research §1.4: gaxios network errors.
  { signal: "API without an answer (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENOTFOUND, …)", cls: "connection", guess: true, match: (e) => api(e) && !e.status },
];
