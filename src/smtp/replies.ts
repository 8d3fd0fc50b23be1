/**
 * Every reply the relay gives of its own, in one place. Each carries exactly one enhanced status
 * code (RFC 3463) at the start of its text; RelayConnection sees it there and does not let
 * smtp-server add a second one. Replies smtp-server makes by itself (503 bad sequence, 501 syntax,
 * 221 bye, …) get smtp-server's own enhanced code.
 */

export const MAX_MESSAGE_BYTES = 26_214_400;
/** Recipients per message: the same limit as to+cc+bcc over the API. */
export const MAX_RECIPIENTS = 50;
/** Failed logins on one connection before the relay hangs up. */
export const MAX_AUTH_FAILURES = 10;

export interface SmtpReplyError extends Error {
  responseCode: number;
}

export function smtpError(code: number, enhanced: string, text: string): SmtpReplyError {
  const e = new Error(`${enhanced} ${text}`) as SmtpReplyError;
  e.responseCode = code;
  return e;
}

export const ENHANCED_CODE_AT_START = /^[245]\.\d{1,3}\.\d{1,3} /;

export const replies = {
  queued: (id: string) => `2.0.0 Ok: queued as ${id}`,
  authBeforeTls: () => "5.7.0 Must issue a STARTTLS command first: log in only after TLS is up",
  authRequired: "5.7.0 Authentication required: log in with AUTH PLAIN or AUTH LOGIN; the password is your Sendmux API key",
  /** The same, on the STARTTLS port before the upgrade, where AUTH is not offered yet. */
  authRequiredBeforeTls: "5.7.0 Authentication required: issue STARTTLS first, then log in with AUTH PLAIN or AUTH LOGIN; the password is your Sendmux API key",
  authInvalid: () => smtpError(535, "5.7.8", "Authentication credentials invalid: the password must be a valid Sendmux API key (smx_...)"),
  accountSuspended: (at: "AUTH" | "MAIL" = "AUTH") => smtpError(at === "AUTH" ? 535 : 550, at === "AUTH" ? "5.7.8" : "5.7.1", "Refused: this API key's account is suspended by the gateway's operator; it cannot send until the operator unsuspends it"),
  keyRevoked: () =>
    smtpError(530, "5.7.0", "The API key this connection logged in with is no longer valid (revoked); log in again with a valid key"),
  authTooManyFailures: () => smtpError(421, "4.7.0", "Too many failed logins on this connection; closing"),
  nullSender: () =>
    smtpError(553, "5.1.7", "The null sender <> is not accepted: give the address the message is sent from, as in MAIL FROM:<you@example.com>"),
  badSender: (reason: string) => smtpError(553, "5.1.7", `Sender address rejected: ${reason}`),
  badRecipient: (reason: string) => smtpError(553, "5.1.3", `Recipient address rejected: ${reason}`),
  tooManyRecipients: () =>
    smtpError(452, "4.5.3", `Too many recipients: at most ${MAX_RECIPIENTS} per message; send the others in another message`),
  unsupportedParam: (command: "MAIL" | "RCPT", name: string, why: string) =>
    smtpError(555, "5.5.4", `${command} parameter ${name} is not supported: ${why}`),
  noActiveProviders: () =>
    smtpError(550, "5.7.1", "no_active_providers: no active provider in this API key's scope can send; activate or add one"),
  tooBig: () => smtpError(552, "5.3.4", `Message size exceeds the fixed maximum message size of ${MAX_MESSAGE_BYTES} bytes`),
  rateLimited: (seconds: number) =>
    smtpError(451, "4.7.1", `Rate limit exceeded: this API key made 1800 requests in the last 60 seconds (HTTP and SMTP together); try again in ${Math.max(1, seconds)} seconds`),
  badIdempotencyKey: () => smtpError(554, "5.6.0", "The Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces"),
  idempotencyConflict: () =>
    smtpError(554, "5.7.0", "This Idempotency-Key was already used with a different message within 24 hours; use a new key for a new message"),
  idempotencyInFlight: () => smtpError(451, "4.7.0", "A message with this Idempotency-Key is still being queued; try again in a moment"),
  storeUnavailable: () => smtpError(451, "4.3.0", "Temporary failure: the message store is not answering; nothing was accepted, try again shortly"),
} as const;
