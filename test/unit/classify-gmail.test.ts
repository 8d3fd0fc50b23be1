/**
 * The gmail_api classification table: one case per row, each built the way google-auth-library
 * and gaxios report it (an error with `response: {status, data}` and the request's `config.url`,
 * or a network error without a response) and turned into a signal by the adapter's gmailSignal.
 */
import { describe, expect, test } from "bun:test";
import { classify, DEFAULT_ROW, TABLES } from "../../src/routing/classify.ts";
import { GMAIL_TABLE, type GmailSignal } from "../../src/routing/classify-gmail.ts";
import { gmailSignal } from "../../src/providers/gmail.ts";
import type { FailureClass } from "../../src/types.ts";

const TOKEN_URL = "https://oauth2.googleapis.com/token";
const SEND_URL = "https://gmail.googleapis.com/gmail/v1/users/me/messages/send";
const NOW = Date.UTC(2026, 2, 2, 9, 0, 0);

/** A gaxios error for an answered request. */
function answered(url: string, status: number, data: unknown) {
  return { message: `Request failed with status code ${status}`, config: { url: new URL(url) }, response: { status, data } };
}
/** Google's API error envelope. */
function apiError(status: number, reason: string, message: string, domain = "global", rpc = "") {
  return answered(SEND_URL, status, { error: { code: status, message, errors: [{ message, domain, reason }], status: rpc } });
}
const oauth = (status: number, error: string, error_description: string) => answered(TOKEN_URL, status, { error, error_description });
const network = (url: string, code: string) => ({ message: `request to ${url} failed, reason: connect ${code}`, code, config: { url } });

const sig = (err: unknown, command: "TOKEN" | "SEND" = "SEND") => gmailSignal(err, command, TOKEN_URL, NOW);
const iso = (ms: number) => new Date(NOW + ms).toISOString();

const cases: Array<{ name: string; signal: GmailSignal; cls: FailureClass; row: RegExp }> = [
  { name: "To/Cc outside the envelope (adapter check)", signal: { command: "GATEWAY", code: "EHEADERRCPT", response: "To/Cc name x@example.net" }, cls: "permanent_recipient", row: /outside the envelope/ },
  { name: "message over 35 MB (adapter check)", signal: { command: "GATEWAY", code: "ETOOBIG", response: "the message is 36.0 MiB" }, cls: "permanent_recipient", row: /35 MB/ },
  { name: "refresh token revoked: invalid_grant", signal: sig(oauth(400, "invalid_grant", "Token has been expired or revoked."), "TOKEN"), cls: "auth_config", row: /invalid_grant/ },
  { name: "service account bad signature: invalid_grant", signal: sig(oauth(400, "invalid_grant", "Invalid JWT Signature."), "TOKEN"), cls: "auth_config", row: /invalid_grant/ },
  { name: "refresh during the API call fails at the token endpoint (config.url is the token URL)", signal: sig(oauth(400, "invalid_grant", "Token has been expired or revoked."), "SEND"), cls: "auth_config", row: /invalid_grant/ },
  { name: "unknown client: invalid_client", signal: sig(oauth(401, "invalid_client", "The OAuth client was not found."), "TOKEN"), cls: "auth_config", row: /invalid_client/ },
  { name: "no domain-wide delegation: unauthorized_client", signal: sig(oauth(401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."), "TOKEN"), cls: "auth_config", row: /unauthorized_client/ },
  // What google-auth-library throws when the service account's private_key does not parse: no request was made.
  { name: "service account private_key unreadable (ERR_OSSL_PEM_BAD_BASE64_DECODE)", signal: sig({ message: "error:09000064:PEM routines:OPENSSL_internal:BAD_BASE64_DECODE", code: "ERR_OSSL_PEM_BAD_BASE64_DECODE", library: "PEM routines", reason: "BAD_BASE64_DECODE" }, "TOKEN"), cls: "auth_config", row: /private_key that cannot be read/ },
  { name: "service account private_key not a PEM at all (ERR_OSSL_PEM_NO_START_LINE)", signal: sig({ message: "error:0900006e:PEM routines:OPENSSL_internal:NO_START_LINE", code: "ERR_OSSL_PEM_NO_START_LINE" }, "TOKEN"), cls: "auth_config", row: /private_key that cannot be read/ },
  { name: "token endpoint refused the connection", signal: sig(network(TOKEN_URL, "ECONNREFUSED"), "TOKEN"), cls: "connection", row: /token endpoint without an answer/ },
  { name: "token endpoint 503", signal: sig(answered(TOKEN_URL, 503, "Service Unavailable"), "TOKEN"), cls: "transient", row: /token endpoint 429 or 5xx/ },
  { name: "token endpoint invalid_scope", signal: sig(oauth(400, "invalid_scope", "Some requested scopes were invalid."), "TOKEN"), cls: "auth_config", row: /other 4xx/ },
  { name: "429 daily mail-sending limit \"(Mail sending)\"", signal: sig(apiError(429, "rateLimitExceeded", `User-rate limit exceeded.  Retry after ${iso(5 * 60_000)} (Mail sending)`, "usageLimits", "RESOURCE_EXHAUSTED")), cls: "quota", row: /Mail sending/ },
  { name: "429 \"Retry after\" 6 hours away, without (Mail sending)", signal: sig(apiError(429, "rateLimitExceeded", `User-rate limit exceeded. Retry after ${iso(6 * 3_600_000)}`, "usageLimits")), cls: "quota", row: /more than 15 minutes away/ },
  { name: "403 dailyLimitExceeded", signal: sig(apiError(403, "dailyLimitExceeded", "Daily Limit Exceeded", "usageLimits")), cls: "quota", row: /dailyLimitExceeded/ },
  { name: "429 \"Retry after\" 30 s away is throttling", signal: sig(apiError(429, "rateLimitExceeded", `User-rate limit exceeded. Retry after ${iso(30_000)}`, "usageLimits")), cls: "transient", row: /queries per minute/ },
  { name: "403 userRateLimitExceeded (Queries per minute per user)", signal: sig(apiError(403, "userRateLimitExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com'", "usageLimits")), cls: "transient", row: /queries per minute/ },
  { name: "429 Resource has been exhausted (rateLimitExceeded)", signal: sig(apiError(429, "rateLimitExceeded", "Resource has been exhausted (e.g. check quota).", "usageLimits", "RESOURCE_EXHAUSTED")), cls: "transient", row: /queries per minute/ },
  { name: "429 without a reason (concurrent requests)", signal: sig(answered(SEND_URL, 429, { error: { code: 429, message: "Too many concurrent requests for user", status: "RESOURCE_EXHAUSTED" } })), cls: "transient", row: /429 otherwise/ },
  { name: "403 domainPolicy", signal: sig(apiError(403, "domainPolicy", "The domain administrators have disabled Gmail apps.")), cls: "auth_config", row: /domainPolicy/ },
  { name: "403 insufficientPermissions", signal: sig(apiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.", "global", "PERMISSION_DENIED")), cls: "auth_config", row: /insufficientPermissions/ },
  { name: "403 Delegation denied", signal: sig(apiError(403, "forbidden", "Delegation denied for boss@example.com")), cls: "auth_config", row: /Delegation denied/ },
  { name: "401 authError (after the refresh)", signal: sig(apiError(401, "authError", "Invalid Credentials", "global", "UNAUTHENTICATED")), cls: "auth_config", row: /401 authError/ },
  { name: "400 failedPrecondition Mail service not enabled", signal: sig(apiError(400, "failedPrecondition", "Mail service not enabled", "global", "FAILED_PRECONDITION")), cls: "auth_config", row: /failedPrecondition/ },
  { name: "400 Precondition check failed (status only)", signal: sig(answered(SEND_URL, 400, { error: { code: 400, message: "Precondition check failed.", status: "FAILED_PRECONDITION" } })), cls: "auth_config", row: /failedPrecondition/ },
  { name: "413 request too large", signal: sig(answered(SEND_URL, 413, "<html>Request Entity Too Large</html>")), cls: "permanent_recipient", row: /413/ },
  { name: "400 invalidArgument Invalid to header", signal: sig(apiError(400, "invalidArgument", "Invalid To header", "global", "INVALID_ARGUMENT")), cls: "permanent_recipient", row: /invalidArgument/ },
  { name: "400 invalidArgument Recipient address required", signal: sig(apiError(400, "invalidArgument", "Recipient address required")), cls: "permanent_recipient", row: /invalidArgument/ },
  { name: "400 badRequest payload too large for the metadata URI", signal: sig(apiError(400, "badRequest", "Request payload size exceeds the limit: 1048576 bytes.")), cls: "permanent_recipient", row: /invalidArgument/ },
  { name: "500 backendError", signal: sig(apiError(500, "backendError", "Backend Error")), cls: "transient", row: /500\/502\/503\/504/ },
  { name: "503 unavailable", signal: sig(apiError(503, "backendError", "The service is currently unavailable.")), cls: "transient", row: /500\/502\/503\/504/ },
  { name: "Gmail API connection reset", signal: sig(network(SEND_URL, "ECONNRESET")), cls: "connection", row: /API without an answer/ },
  { name: "Gmail API DNS failure", signal: sig({ message: "getaddrinfo ENOTFOUND gmail.googleapis.com", cause: { code: "ENOTFOUND" }, config: { url: SEND_URL } }), cls: "connection", row: /API without an answer/ },
];

describe("gmail_api classification table", () => {
  for (const c of cases) {
    test(`${c.name} → ${c.cls}`, () => {
      const r = classify(GMAIL_TABLE, c.signal);
      expect(r.cls).toBe(c.cls);
      expect(r.row).toMatch(c.row);
    });
  }

  test("every row is exercised by a case above", () => {
    const hit = new Set(cases.map((c) => classify(GMAIL_TABLE, c.signal).row));
    expect(GMAIL_TABLE.map((r) => r.signal).filter((s) => !hit.has(s))).toEqual([]);
  });

  test("the table is registered for gmail_api; anything unmatched is transient", () => {
    expect(TABLES.gmail_api).toBe(GMAIL_TABLE);
    expect(classify(GMAIL_TABLE, { command: "SEND", status: 302 })).toEqual({ cls: "transient", row: DEFAULT_ROW });
  });

  test("rows the research calls a guess or an inference say so", () => {
    const guessed = GMAIL_TABLE.filter((r) => r.guess).map((r) => r.signal);
    for (const s of [/unauthorized_client/, /more than 15 minutes/, /dailyLimitExceeded/, /insufficientPermissions/, /API without an answer/]) expect(guessed.some((g) => s.test(g))).toBe(true);
  });
});

describe("gmailSignal", () => {
  test("reads Google's error envelope: status, errors[0].reason, message, and the Retry after time", () => {
    const s = sig(apiError(429, "rateLimitExceeded", `User-rate limit exceeded.  Retry after ${iso(90 * 60_000)} (Mail sending)`, "usageLimits"));
    expect(s).toMatchObject({ command: "SEND", status: 429, reason: "rateLimitExceeded", retryAfterMs: 90 * 60_000 });
  });
  test("reads the OAuth error body and attributes it to the token endpoint by URL", () => {
    expect(sig(oauth(400, "invalid_grant", "Token has been expired or revoked."), "SEND")).toMatchObject({ command: "TOKEN", status: 400, reason: "invalid_grant", response: "Token has been expired or revoked." });
  });
  test("a network error has no status and keeps its code", () => {
    const s = sig(network(SEND_URL, "ETIMEDOUT"));
    expect(s).toMatchObject({ command: "SEND", code: "ETIMEDOUT" });
    expect(s.status).toBeUndefined();
  });
});
