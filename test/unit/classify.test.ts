import { describe, expect, test } from "bun:test";
import { classify, DEFAULT_ROW, SMTP_TABLE, TABLES, type ProviderError } from "../../src/routing/classify.ts";
import type { FailureClass } from "../../src/types.ts";

/** An error shaped the way nodemailer's SMTPConnection._formatError builds it. */
function nm(message: string, code: string, response?: string, command?: string): ProviderError & { message: string } {
  const responseCode = response ? Number(/^\d+/.exec(response)?.[0]) || undefined : undefined;
  return { message: response ? `${message}: ${response}` : message, code, response: response ?? message, responseCode, command };
}

const cases: Array<{ name: string; err: ProviderError; cls: FailureClass; row: RegExp }> = [
  // quota texts first, whatever the code
  { name: "Gmail daily limit as 550 5.4.5 at DATA", err: nm("Message failed", "EMESSAGE", "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852", "DATA"), cls: "quota", row: /quota text/ },
  { name: "Exchange SubmissionQuotaExceeded as 554 5.2.0", err: nm("Message failed", "EMESSAGE", "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception", "DATA"), cls: "quota", row: /quota text/ },
  { name: "SES SMTP daily quota at MAIL FROM", err: nm("Mail command failed", "EENVELOPE", "454 Throttling failure: Daily message quota exceeded.", "MAIL FROM"), cls: "quota", row: /quota text/ },
  // auth
  { name: "454 4.7.0 temporary authentication failure", err: nm("Invalid login", "EAUTH", "454 4.7.0 Temporary authentication failure", "AUTH PLAIN"), cls: "transient", row: /454 or 4\.7\.0/ },
  { name: "535 5.7.8 bad credentials", err: nm("Invalid login", "EAUTH", "535 5.7.8 Username and Password not accepted", "AUTH PLAIN"), cls: "auth_config", row: /EAUTH \/ ENOAUTH/ },
  { name: "ENOAUTH: credentials missing", err: { code: "ENOAUTH", response: 'Missing credentials for "PLAIN"', command: "API" }, cls: "auth_config", row: /EAUTH \/ ENOAUTH/ },
  { name: "530 5.7.0 authentication required at MAIL FROM", err: nm("Mail command failed", "EENVELOPE", "530 5.7.0 Authentication Required", "MAIL FROM"), cls: "auth_config", row: /EAUTH \/ ENOAUTH/ },
  { name: "5.7.139 (Microsoft: SMTP AUTH disabled) on a 535", err: nm("Invalid login", "EAUTH", "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.", "AUTH LOGIN"), cls: "auth_config", row: /EAUTH \/ ENOAUTH/ },
  // TLS
  { name: "STARTTLS refused (upstream does not offer it)", err: nm("Error upgrading connection with STARTTLS", "ETLS", "502 5.5.1 Error: command not implemented", "STARTTLS"), cls: "auth_config", row: /ETLS refused/ },
  { name: "self-signed certificate", err: { code: "ETLS", response: "Error initiating TLS - self-signed certificate", command: "CONN" }, cls: "auth_config", row: /ETLS refused/ },
  { name: "TLS handshake reset", err: { code: "ETLS", response: "Connection closed unexpectedly", command: "CONN" }, cls: "connection", row: /ETLS otherwise/ },
  // OAuth2
  { name: "EOAUTH2 invalid_grant", err: { code: "EOAUTH2", response: "invalid_grant: Token has been expired or revoked." }, cls: "auth_config", row: /invalid_grant/ },
  { name: "EOAUTH2 token endpoint 503", err: { code: "EOAUTH2", response: "Token request failed: 503 Service Unavailable" }, cls: "transient", row: /EOAUTH2 otherwise/ },
  // throttling before connection
  { name: "421 4.7.0 to EHLO reported as ECONNECTION is throttling", err: nm("Server terminates connection", "ECONNECTION", "421 4.7.0 Try again later, closing connection. (EHLO)", "EHLO"), cls: "transient", row: /421/ },
  { name: "451 4.7.1 greylisted at RCPT", err: nm("Recipient command failed", "EENVELOPE", "451 4.7.1 Please try again later", "RCPT TO"), cls: "transient", row: /421/ },
  { name: "4.4.5 insufficient system storage", err: nm("Message failed", "EMESSAGE", "452 4.4.5 Insufficient disk space; try again later", "DATA"), cls: "transient", row: /421/ },
  { name: "SES maximum sending rate as 554", err: nm("Message failed", "EMESSAGE", "554 Throttling failure: Maximum sending rate exceeded.", "DATA"), cls: "transient", row: /throttling text/ },
  { name: "Exchange sender thread limit as 432 4.3.2", err: nm("Mail command failed", "EENVELOPE", "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded", "MAIL FROM"), cls: "transient", row: /throttling text/ },
  // network
  { name: "connection refused (nodemailer reports ESOCKET)", err: { code: "ESOCKET", response: "connect ECONNREFUSED 127.0.0.1:1", command: "CONN" }, cls: "connection", row: /connection failures/ },
  { name: "greeting timeout", err: { code: "ETIMEDOUT", response: "Greeting never received", command: "CONN" }, cls: "connection", row: /connection failures/ },
  { name: "DNS failure", err: { code: "EDNS", response: "getaddrinfo ENOTFOUND smtp.nowhere.invalid", command: "CONN" }, cls: "connection", row: /connection failures/ },
  { name: "connection closed unexpectedly", err: { code: "ECONNECTION", response: "Connection closed unexpectedly", command: "CONN" }, cls: "connection", row: /connection failures/ },
  // envelope and message
  { name: "550 5.1.1 unknown recipient", err: nm("Can't send mail - all recipients were rejected", "EENVELOPE", "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown", "RCPT TO"), cls: "permanent_recipient", row: /RCPT TO with 5xx/ },
  { name: "553 5.7.1 sender not allowed at MAIL FROM", err: nm("Mail command failed", "EENVELOPE", "553 5.7.1 <x@example.org>: Sender address rejected: not owned by user", "MAIL FROM"), cls: "auth_config", row: /MAIL FROM with 5xx/ },
  { name: "452 4.2.2 mailbox full at RCPT", err: nm("Recipient command failed", "EENVELOPE", "452 4.2.2 The email account that you tried to reach is over quota", "RCPT TO"), cls: "transient", row: /with 4xx/ },
  { name: "451 local error at DATA", err: nm("Message failed", "EMESSAGE", "451 Requested action aborted: local error in processing", "DATA"), cls: "transient", row: /with 4xx/ },
  { name: "550 5.7.1 content policy at DATA (case B64)", err: nm("Message failed", "EMESSAGE", "550 5.7.1 Submission not allowed for messages in which header from does not match MAIL FROM", "DATA"), cls: "permanent_recipient", row: /5xx at DATA/ },
  { name: "552 5.3.4 message too big", err: nm("Message failed", "EMESSAGE", "552 5.3.4 Message size exceeds fixed maximum message size", "DATA"), cls: "permanent_recipient", row: /5xx at DATA/ },
  { name: "bad address syntax refused before sending", err: { code: "EENVELOPE", response: "Invalid recipient address", command: "API" }, cls: "permanent_recipient", row: /EENVELOPE at API/ },
  { name: "message larger than SIZE", err: { code: "EMESSAGE", response: "Message size larger than allowed 1000", command: "MAIL FROM" }, cls: "permanent_recipient", row: /EENVELOPE at API/ },
  { name: "invalid greeting", err: { code: "EPROTOCOL", response: "Invalid greeting. response=hello", command: "CONN" }, cls: "transient", row: /EPROTOCOL/ },
  { name: "pool connection at its message limit", err: { code: "EMAXLIMIT", response: "Resource exhausted" }, cls: "transient", row: /EMAXLIMIT/ },
];

describe("SMTP classification table", () => {
  for (const c of cases) {
    test(`${c.name} → ${c.cls}`, () => {
      const r = classify(SMTP_TABLE, c.err);
      expect(r.cls).toBe(c.cls);
      expect(r.row).toMatch(c.row);
    });
  }

  test("every row of the table is hit by at least one case", () => {
    const hit = new Set(cases.map((c) => classify(SMTP_TABLE, c.err).row));
    for (const row of SMTP_TABLE) expect(hit.has(row.signal)).toBe(true);
  });

  test("ordering: the same 5xx code is quota with a quota text and permanent without", () => {
    const data = (text: string) => nm("Message failed", "EMESSAGE", text, "DATA");
    expect(classify(SMTP_TABLE, data("550 5.4.5 Daily sending quota exceeded")).cls).toBe("quota");
    expect(classify(SMTP_TABLE, data("550 5.7.1 Message rejected as spam")).cls).toBe("permanent_recipient");
  });

  test("ordering: ECONNECTION with a 421 reply is throttling; without a reply it is a network failure", () => {
    expect(classify(SMTP_TABLE, nm("Server terminates connection", "ECONNECTION", "421 4.7.0 Try again later, closing connection. (EHLO)", "EHLO")).cls).toBe("transient");
    expect(classify(SMTP_TABLE, { code: "ECONNECTION", response: "Connection closed unexpectedly", command: "CONN" }).cls).toBe("connection");
  });

  test("a 5xx 'too many recipients' is the message's problem, not throttling", () => {
    expect(classify(SMTP_TABLE, nm("Message failed", "EMESSAGE", "552 5.5.3 Too many recipients", "DATA")).cls).toBe("permanent_recipient");
  });

  test("anything no row matches is transient, and says so", () => {
    expect(classify(SMTP_TABLE, { code: "ESTREAM", response: "stream broke" })).toEqual({ cls: "transient", row: DEFAULT_ROW });
    expect(classify(SMTP_TABLE, {})).toEqual({ cls: "transient", row: DEFAULT_ROW });
  });

  test("tables are looked up by provider type", () => {
    expect(TABLES.smtp).toBe(SMTP_TABLE);
  });
});
