import type { ClassTable, ProviderError } from "./classify.ts";

/**
 * The `amazon_ses` classification table (shared/research/provider-specifics.md §3.2), in the shape
 * of classify.ts: rows in order, the first match wins, anything unmatched is transient.
 *
 * A ProviderError from SES carries `code` = the SDK's error name (the `x-amzn-ErrorType` of the
 * answer: TooManyRequestsException, MessageRejected, …) or a network code (ECONNREFUSED, the SDK's
 * TimeoutError), `status` = the HTTP status, `response` = the error's message, and `reason` as
 * src/providers/ses.ts works it out for "Email address is not verified" rejections:
 * `sender_not_verified` when a listed identity is the sender (envelope or From), else
 * `recipient_not_verified`.
 *
 * Texts come before names: SES says which limit was hit only in the message ("Daily message quota
 * exceeded" vs "Maximum sending rate exceeded"), under either exception name (§3.1 Throttling).
 */
const DAILY_QUOTA = /Daily message quota exceeded/i;
const MAX_RATE = /Maximum sending rate exceeded/i;
const THROTTLE_NAMES = ["TooManyRequestsException", "ThrottlingException", "Throttling"];
// Names the AWS request signing layer answers with for bad, expired or unauthorised credentials.
// The research file lists them "from memory"; SES v1 and the IAM layer use these spellings.
const CREDENTIAL_NAMES = [
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "InvalidSignatureException",
  "IncompleteSignature",
  "AccessDenied",
  "AccessDeniedException",
  "ExpiredToken",
  "ExpiredTokenException",
  "MissingAuthenticationToken",
  "CredentialsProviderError",
];
const NETWORK_CODES = ["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ConnectionRefused", "ConnectionClosed", "FailedToOpenSocket"];

const named = (e: ProviderError, ...names: string[]) => names.includes(e.code ?? "");
const text = (e: ProviderError) => e.response ?? "";

export const SES_TABLE: ClassTable = [
  {
    signal: 'any exception (or SMTP 454) with "Daily message quota exceeded"',
    cls: "quota",
    match: (e) => DAILY_QUOTA.test(text(e)),
  },
  {
    signal: 'TooManyRequestsException (429) / ThrottlingException / Throttling, or "Maximum sending rate exceeded"',
    cls: "transient",
    match: (e) => named(e, ...THROTTLE_NAMES) || e.status === 429 || MAX_RATE.test(text(e)),
  },
  { signal: "SendingPausedException (account or configuration set sending paused)", cls: "auth_config", match: (e) => named(e, "SendingPausedException") },
  { signal: "AccountSuspendedException", cls: "auth_config", match: (e) => named(e, "AccountSuspendedException") },
  { signal: "MailFromDomainNotVerifiedException", cls: "auth_config", match: (e) => named(e, "MailFromDomainNotVerifiedException") },
  {
    signal: 'MessageRejected "Email address is not verified", a listed identity is the sender (From, envelope sender)',
    cls: "auth_config",
    match: (e) => named(e, "MessageRejected") && e.reason === "sender_not_verified",
  },
  {
    // [inference] in the research file: in the sandbox SES also checks recipients; the message
    // cannot go to that address through this account, the account itself is fine.
    signal: 'MessageRejected "Email address is not verified", only recipients listed (sandbox)',
    cls: "permanent_recipient",
    guess: true,
    match: (e) => named(e, "MessageRejected") && e.reason === "recipient_not_verified",
  },
  {
    signal: "MessageRejected otherwise (invalid content, virus, Duplicate header 'DKIM-Signature') / BadRequestException / InvalidParameterValue",
    cls: "permanent_recipient",
    match: (e) => named(e, "MessageRejected", "BadRequestException", "InvalidParameterValue"),
  },
  {
    signal: "credential errors: InvalidClientTokenId, UnrecognizedClientException, SignatureDoesNotMatch, AccessDenied(Exception), ExpiredToken…, or HTTP 401/403",
    cls: "auth_config",
    match: (e) => named(e, ...CREDENTIAL_NAMES) || e.status === 401 || e.status === 403,
  },
  {
    // [inference] in the research file: a configuration set, template or identity ARN that is not there.
    signal: "NotFoundException (configuration set or identity missing)",
    cls: "auth_config",
    guess: true,
    match: (e) => named(e, "NotFoundException"),
  },
  {
    // [guess] in the research file: "too many instances of the specified resource type".
    signal: "LimitExceededException that speaks of a quota",
    cls: "quota",
    guess: true,
    match: (e) => named(e, "LimitExceededException") && /quota/i.test(text(e)),
  },
  { signal: "LimitExceededException otherwise", cls: "transient", guess: true, match: (e) => named(e, "LimitExceededException") },
  {
    signal: "InternalServiceErrorException (500) or any other 5xx",
    cls: "transient",
    match: (e) => named(e, "InternalServiceErrorException", "InternalFailure", "ServiceUnavailable") || (e.status ?? 0) >= 500,
  },
  {
    // [inference] in the research file.
    signal: "no answer: TimeoutError, ECONNREFUSED, ECONNRESET, ENOTFOUND, …",
    cls: "connection",
    guess: true,
    match: (e) => !e.status && (named(e, "TimeoutError", "RequestTimeout", "AbortError", ...NETWORK_CODES)),
  },
];
