import type { ClassTable, ProviderError } from "./classify.ts";

/**
 * Failures of the `outlook_api` provider type (Microsoft Graph sendMail with an app-only token from
 * Microsoft Entra through MSAL), from shared/research/provider-specifics.md §2.2–2.3 and §0.3.
 *
 * How the adapter fills ProviderError (src/providers/outlook.ts):
 * - a Graph HTTP error: code "graph", status = HTTP status, reason = `error.code` of the documented
 *   body `{error:{code, message}}`, response = `error.message`, retryAfterS = the Retry-After header;
 * - an MSAL ServerError from the token endpoint: code "msal_server", reason = the OAuth `error`
 *   field (`invalid_client`, …), aadsts = the AADSTS number (`error_codes[0]`), status = HTTP status;
 * - an MSAL ClientAuthError: code "msal_client", reason = its errorCode (`network_error`, …);
 * - fetch failing before Graph answered: code "network".
 * Microsoft warns against branching on AADSTS numbers (§0.3): rows branch on the OAuth `error`
 * field; the number is only a hint where the field alone says too little (tenant not found).
 */
export interface OutlookError extends ProviderError {
  /** Seconds from a Retry-After header, when Graph sent one. */
  retryAfterS?: number;
  /** MSAL ServerError.errorNo: the first AADSTS number of the token endpoint's answer. */
  aadsts?: string;
}

/** A 429 asking to wait longer than this is a quota block, not a burst. [guess threshold, §2.3] */
export const QUOTA_RETRY_AFTER_S = 15 * 60;

const o = (e: ProviderError) => e as OutlookError;
const graph = (e: ProviderError) => e.code === "graph";
const text = (e: ProviderError) => `${e.reason ?? ""} ${e.response ?? ""}`;
const MSAL_NETWORK = ["network_error", "endpoints_resolution_error", "openid_config_error", "no_network_connectivity"];

export const OUTLOOK_TABLE: ClassTable = [
  // Throttling. Graph throttling Q&A; magodo/terraform-provider-outlook#21, alcionai/corso#3695.
  { signal: "Graph 429 with Retry-After over 15 minutes", cls: "quota", guess: true, match: (e) => graph(e) && e.status === 429 && (o(e).retryAfterS ?? 0) > QUOTA_RETRY_AFTER_S },
  { signal: "Graph 429 (ApplicationThrottled, MailboxConcurrency, any code) with a short or no Retry-After", cls: "transient", match: (e) => graph(e) && e.status === 429 },
  // Sending quota. Dynamics KB errorsubmissionquotaexceeded; OfficeDocs-Support#1150; Exchange NDR doc. HTTP status not documented [guess: 4xx].
  { signal: "ErrorSubmissionQuotaExceeded, 554 5.2.0 SubmissionQuotaExceededException, 5.1.90 / 5.1.92 exceeded your sending quota", cls: "quota", match: (e) => e.reason === "ErrorSubmissionQuotaExceeded" || /SubmissionQuotaExceeded|exceeded your sending quota|\b5\.1\.9[02]\b/i.test(text(e)) },
  // MS Q&A 5835651. Tenant-wide in Exchange [inference]; the circuit pauses this provider only.
  { signal: "550 5.7.233 tenant external recipient rate limit", cls: "quota", match: (e) => /\b5\.7\.233\b|external recipient rate limit/i.test(text(e)) },
  // NDR 5.7.700–750 doc: need an admin or Microsoft Support.
  { signal: "550 5.7.705 tenant exceeded threshold / 5.7.708 IP not accepted / 5.7.703 Tenant Allow/Block List", cls: "auth_config", match: (e) => /\b5\.7\.70[358]\b/.test(text(e)) },
  // Exchange SMTP texts (they reach an outlook_api provider only inside a Graph error message). Third-party test; Exchange limits text.
  { signal: "432 4.3.2 STOREDRV.ClientSubmit sender thread limit exceeded", cls: "transient", match: (e) => /sender thread limit exceeded/i.test(text(e)) },
  { signal: "SMTP AUTH refusals 535 5.7.139 / 535 5.7.3 / 5.7.57", cls: "auth_config", match: (e) => /\b5\.7\.(139|3|57)\b/.test(text(e)) },
  // msgraph-sdk-php#1204, kartverket/skyline#78, SMTP2Graph#41.
  { signal: "403 ErrorAccessDenied (no Mail.Send application permission, no admin consent, or an access policy excludes the mailbox)", cls: "auth_config", match: (e) => graph(e) && (e.reason === "ErrorAccessDenied" || (e.status === 403 && /Access is denied/i.test(e.response ?? ""))) },
  // A directory authorization error, not a mail one [from memory: not in the sources read].
  { signal: "403 Authorization_RequestDenied (insufficient directory privileges)", cls: "auth_config", guess: true, match: (e) => graph(e) && e.reason === "Authorization_RequestDenied" },
  // The adapter refreshes the token once on a 401 first [inference].
  { signal: "401 (InvalidAuthenticationToken) again after a fresh token", cls: "auth_config", guess: true, match: (e) => graph(e) && e.status === 401 },
  // [guess] the sender mailbox is full (the message is saved to Sent Items); graph-docs#5607.
  { signal: "ErrorQuotaExceeded (sender mailbox full)", cls: "auth_config", guess: true, match: (e) => e.reason === "ErrorQuotaExceeded" },
  // ahaenggli/AzureAD-LDAP-wrapper#45 (7000215), swapi run (7000222), msgraph-sdk-powershell#2439 (700016).
  { signal: "MSAL ServerError invalid_client (AADSTS7000215 wrong secret, 7000222 expired secret)", cls: "auth_config", match: (e) => e.code === "msal_server" && e.reason === "invalid_client" },
  { signal: "MSAL ServerError unauthorized_client (AADSTS700016 app not found in the tenant)", cls: "auth_config", match: (e) => e.code === "msal_server" && e.reason === "unauthorized_client" },
  // AADSTS90002 not found in sources: auth_config by analogy [guess]; any other 4xx answer from the token endpoint is a setting too.
  { signal: "MSAL ServerError for the tenant (invalid_request, hint AADSTS90002 tenant not found) or any other 4xx token answer", cls: "auth_config", guess: true, match: (e) => e.code === "msal_server" && (o(e).aadsts === "90002" || (e.status ?? 400) < 500) },
  { signal: "MSAL ServerError 5xx (token endpoint failing)", cls: "transient", guess: true, match: (e) => e.code === "msal_server" },
  // msal-common ClientAuthErrorCodes.
  { signal: "MSAL ClientAuthError network_error / endpoints_resolution_error / openid_config_error / no_network_connectivity", cls: "connection", match: (e) => e.code === "msal_client" && MSAL_NETWORK.includes(e.reason ?? "") },
  { signal: "fetch to Graph failed before an answer (refused, reset, DNS, timeout)", cls: "connection", match: (e) => e.code === "network" },
  // ruby-connect-rest-sample#15, SMTP2Graph#30.
  { signal: "400 ErrorInvalidRecipients (unresolved recipient, no recipients)", cls: "permanent_recipient", match: (e) => e.reason === "ErrorInvalidRecipients" },
  // user-sendmail page: a gateway bug if it ever happens; fails the message only.
  { signal: "400 Invalid base64 string for MIME content", cls: "permanent_recipient", match: (e) => graph(e) && e.status === 400 && /Invalid base64 string for MIME content/i.test(e.response ?? "") },
  // graph-docs#85 / #11806; 413 in ggpwnkthx/Microsoft-Graph-SMTP-Relay#18.
  { signal: "400 / 413 Maximum request length exceeded, The maximum request length supported is 4MB, ErrorMessageSizeExceeded", cls: "permanent_recipient", match: (e) => graph(e) && (e.status === 413 || e.reason === "ErrorMessageSizeExceeded" || /Maximum request length|maximum request length supported is 4MB|RequestEntityTooLarge/i.test(text(e))) },
  // [inference] Graph 5xx: retry later.
  { signal: "Graph 500 / 502 / 503 / 504", cls: "transient", match: (e) => graph(e) && (e.status ?? 0) >= 500 },
  // [guess] the sender is not a mailbox Graph can send from: a setting to fix.
  { signal: "404 ErrorInvalidUser / MailboxNotEnabledForRESTAPI / Request_ResourceNotFound (sender is not a mailbox)", cls: "auth_config", guess: true, match: (e) => graph(e) && (e.status === 404 || ["ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "Request_ResourceNotFound"].includes(e.reason ?? "")) },
];
