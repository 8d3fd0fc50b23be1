import { describe, expect, test } from "bun:test";
import { classify, TABLES } from "../../src/routing/classify.ts";
import { OUTLOOK_TABLE, type OutlookError } from "../../src/routing/classify-outlook.ts";
import type { FailureClass } from "../../src/types.ts";

/** A Graph error body as the adapter reads it: {error:{code, message}} with the HTTP status. */
const graph = (status: number, reason: string, response: string, retryAfterS?: number): OutlookError => ({ code: "graph", status, reason, response, retryAfterS });
/** An MSAL ServerError from the token endpoint: the OAuth `error` field and the AADSTS number. */
const msal = (reason: string, aadsts: string, status: number, response: string): OutlookError => ({ code: "msal_server", reason, aadsts, status, response });

const cases: Array<{ name: string; err: OutlookError; cls: FailureClass; row: RegExp }> = [
  { name: "429 ApplicationThrottled, Retry-After 3600", err: graph(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", 3600), cls: "quota", row: /over 15 minutes/ },
  { name: "429 ApplicationThrottled MailboxConcurrency, Retry-After 2", err: graph(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", 2), cls: "transient", row: /Graph 429 \(/ },
  { name: "429 without Retry-After", err: graph(429, "TooManyRequests", "Too many requests"), cls: "transient", row: /Graph 429 \(/ },
  { name: "ErrorSubmissionQuotaExceeded", err: graph(403, "ErrorSubmissionQuotaExceeded", "Cannot send mail. The mailbox has exceeded its submission quota."), cls: "quota", row: /ErrorSubmissionQuotaExceeded/ },
  { name: "554 5.2.0 SubmissionQuotaExceededException text", err: graph(400, "ErrorMessageSubmissionBlocked", "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"), cls: "quota", row: /ErrorSubmissionQuotaExceeded/ },
  { name: "5.1.90 exceeded your sending quota", err: graph(400, "ErrorMessageSubmissionBlocked", "550 5.1.90 Your message can't be sent because you've exceeded your sending quota"), cls: "quota", row: /ErrorSubmissionQuotaExceeded/ },
  { name: "550 5.7.233 tenant external recipient rate limit", err: graph(400, "ErrorMessageSubmissionBlocked", "550 5.7.233 your tenant has exceeded its daily limit for sending email to external recipients (tenant external recipient rate limit)"), cls: "quota", row: /5\.7\.233/ },
  { name: "550 5.7.705 tenant exceeded threshold", err: graph(400, "ErrorMessageSubmissionBlocked", "550 5.7.705 Access denied, tenant has exceeded threshold"), cls: "auth_config", row: /5\.7\.705/ },
  { name: "550 5.7.708 IP not accepted", err: graph(400, "ErrorMessageSubmissionBlocked", "550 5.7.708 Access denied, traffic not accepted from this IP"), cls: "auth_config", row: /5\.7\.705/ },
  { name: "550 5.7.703 Tenant Allow/Block List", err: graph(400, "ErrorMessageSubmissionBlocked", "550 5.7.703 blocked by Tenant Allow/Block List"), cls: "auth_config", row: /5\.7\.705/ },
  { name: "432 4.3.2 sender thread limit exceeded", err: graph(400, "ErrorMessageSubmissionBlocked", "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"), cls: "transient", row: /sender thread limit/ },
  { name: "535 5.7.139 SMTP AUTH disabled", err: { code: "smtp", responseCode: 535, response: "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant." }, cls: "auth_config", row: /SMTP AUTH refusals/ },
  { name: "535 5.7.3 Authentication unsuccessful", err: { code: "smtp", responseCode: 535, response: "535 5.7.3 Authentication unsuccessful" }, cls: "auth_config", row: /SMTP AUTH refusals/ },
  { name: "5.7.57 Client not authenticated", err: { code: "smtp", responseCode: 530, response: "530 5.7.57 Client not authenticated to send mail" }, cls: "auth_config", row: /SMTP AUTH refusals/ },
  { name: "403 ErrorAccessDenied", err: graph(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."), cls: "auth_config", row: /ErrorAccessDenied/ },
  { name: "403 Authorization_RequestDenied", err: graph(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."), cls: "auth_config", row: /Authorization_RequestDenied/ },
  { name: "401 InvalidAuthenticationToken after a fresh token", err: graph(401, "InvalidAuthenticationToken", "Access token validation failure."), cls: "auth_config", row: /401/ },
  { name: "ErrorQuotaExceeded (mailbox full)", err: graph(507, "ErrorQuotaExceeded", "The process failed to get the correct properties."), cls: "auth_config", row: /ErrorQuotaExceeded/ },
  { name: "invalid_client AADSTS7000215 wrong secret", err: msal("invalid_client", "7000215", 401, "AADSTS7000215: Invalid client secret provided."), cls: "auth_config", row: /invalid_client/ },
  { name: "invalid_client AADSTS7000222 expired secret", err: msal("invalid_client", "7000222", 401, "AADSTS7000222: The provided client secret keys for app are expired."), cls: "auth_config", row: /invalid_client/ },
  { name: "unauthorized_client AADSTS700016 app not found", err: msal("unauthorized_client", "700016", 400, "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'."), cls: "auth_config", row: /unauthorized_client/ },
  { name: "invalid_request AADSTS90002 tenant not found", err: msal("invalid_request", "90002", 400, "AADSTS90002: Tenant 'x' not found."), cls: "auth_config", row: /tenant/ },
  { name: "token endpoint 503", err: msal("temporarily_unavailable", "", 503, "AADSTS90033: A transient error has occurred."), cls: "transient", row: /ServerError 5xx/ },
  { name: "MSAL network_error", err: { code: "msal_client", reason: "network_error", response: "network_error" }, cls: "connection", row: /ClientAuthError/ },
  { name: "MSAL endpoints_resolution_error", err: { code: "msal_client", reason: "endpoints_resolution_error", response: "" }, cls: "connection", row: /ClientAuthError/ },
  { name: "MSAL openid_config_error", err: { code: "msal_client", reason: "openid_config_error", response: "" }, cls: "connection", row: /ClientAuthError/ },
  { name: "MSAL no_network_connectivity", err: { code: "msal_client", reason: "no_network_connectivity", response: "" }, cls: "connection", row: /ClientAuthError/ },
  { name: "fetch to Graph refused", err: { code: "network", response: "sendMail: Unable to connect. Is the computer able to access the url?" }, cls: "connection", row: /fetch to Graph/ },
  { name: "400 ErrorInvalidRecipients unresolved", err: graph(400, "ErrorInvalidRecipients", "At least one recipient isn't valid., Recipient 'bad' isn't resolved."), cls: "permanent_recipient", row: /ErrorInvalidRecipients/ },
  { name: "400 ErrorInvalidRecipients none", err: graph(400, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be sent because it contains no recipients."), cls: "permanent_recipient", row: /ErrorInvalidRecipients/ },
  { name: "400 Invalid base64 string for MIME content", err: graph(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."), cls: "permanent_recipient", row: /Invalid base64/ },
  { name: "413 Maximum request length exceeded", err: graph(413, "BadRequest", "Maximum request length exceeded."), cls: "permanent_recipient", row: /Maximum request length/ },
  { name: "400 The maximum request length supported is 4MB", err: graph(400, "BadRequest", "The maximum request length supported is 4MB."), cls: "permanent_recipient", row: /Maximum request length/ },
  { name: "Graph 500", err: graph(500, "InternalServerError", "An internal server error occurred."), cls: "transient", row: /500 \/ 502/ },
  { name: "Graph 503", err: graph(503, "ServiceUnavailable", "Service Unavailable", 5), cls: "transient", row: /500 \/ 502/ },
  { name: "Graph 504", err: graph(504, "GatewayTimeout", "Gateway Timeout"), cls: "transient", row: /500 \/ 502/ },
  { name: "404 ErrorInvalidUser", err: graph(404, "ErrorInvalidUser", "The requested user 'x' is invalid."), cls: "auth_config", row: /ErrorInvalidUser/ },
  { name: "MailboxNotEnabledForRESTAPI", err: graph(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise."), cls: "auth_config", row: /ErrorInvalidUser/ },
];

describe("outlook_api classification (research §2.2-2.3)", () => {
  test("registered for the type", () => {
    expect(TABLES.outlook_api).toBe(OUTLOOK_TABLE);
  });
  for (const c of cases) {
    test(c.name, () => {
      const r = classify(OUTLOOK_TABLE, c.err);
      expect(r.cls).toBe(c.cls);
      expect(r.row).toMatch(c.row);
    });
  }
  test("every row is hit by at least one case", () => {
    const hit = new Set(cases.map((c) => classify(OUTLOOK_TABLE, c.err).row));
    for (const row of OUTLOOK_TABLE) expect(hit.has(row.signal)).toBe(true);
  });
  test("an unknown Graph 400 falls to the default (transient)", () => {
    expect(classify(OUTLOOK_TABLE, graph(400, "ErrorSomethingNew", "new")).cls).toBe("transient");
  });
});
