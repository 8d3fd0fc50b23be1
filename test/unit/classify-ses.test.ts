import { describe, expect, test } from "bun:test";
import { classify, DEFAULT_ROW, SMTP_TABLE, TABLES, type ProviderError } from "../../src/routing/classify.ts";
import { SES_TABLE } from "../../src/routing/classify-ses.ts";
import { effectiveQuotas } from "../../src/routing/windows.ts";
import { asciiAddress, countHeader, sesProviderError } from "../../src/providers/ses.ts";
import { accountNote, describeAccount, detectedFromAccount, isStale } from "../../src/providers/ses-account.ts";
import type { OutgoingMessage } from "../../src/providers/types.ts";
import type { FailureClass, Quotas } from "../../src/types.ts";

/** An SDK error the way @aws-sdk/client-sesv2 builds it from a restJson1 error answer. */
function sdk(name: string, status: number, message: string): unknown {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status, attempts: 1 } });
}
/** A network failure: no answer, the socket error's code. */
function net(code: string, message: string): unknown {
  return Object.assign(new Error(message), { code, $metadata: { attempts: 1 } });
}

const msg: OutgoingMessage = {
  id: "eml_x",
  accountId: "acc",
  envelope: { from: "bounce@mail.example.com", to: ["alice@example.net", "bob@example.org"] },
  raw: Buffer.from("From: Sam <sender@example.com>\r\nTo: alice@example.net\r\nSubject: x\r\n\r\nbody\r\n"),
  now: 0,
  from: "Sam <sender@example.com>",
  to: ["alice@example.net"],
  subject: "x",
};

const cases: Array<{ name: string; err: ProviderError; cls: FailureClass; row: RegExp }> = [
  // §3.2 throttling: texts decide, under either exception name
  { name: "429 TooManyRequestsException 'Maximum sending rate exceeded.' (etailors#117)", err: sesProviderError(sdk("TooManyRequestsException", 429, "Maximum sending rate exceeded.")), cls: "transient", row: /TooManyRequestsException/ },
  { name: "v1-style 400 Throttling 'Maximum sending rate exceeded.'", err: sesProviderError(sdk("Throttling", 400, "Maximum sending rate exceeded.")), cls: "transient", row: /TooManyRequestsException/ },
  { name: "ThrottlingException without a text", err: sesProviderError(sdk("ThrottlingException", 400, "Rate exceeded")), cls: "transient", row: /TooManyRequestsException/ },
  { name: "429 TooManyRequestsException 'Daily message quota exceeded.'", err: sesProviderError(sdk("TooManyRequestsException", 429, "Daily message quota exceeded.")), cls: "quota", row: /Daily message quota/ },
  { name: "ThrottlingException 'Daily message quota exceeded.'", err: sesProviderError(sdk("ThrottlingException", 400, "Daily message quota exceeded.")), cls: "quota", row: /Daily message quota/ },
  // account state
  { name: "SendingPausedException", err: sesProviderError(sdk("SendingPausedException", 400, "The account's ability to send email is currently paused.")), cls: "auth_config", row: /SendingPaused/ },
  { name: "AccountSuspendedException", err: sesProviderError(sdk("AccountSuspendedException", 400, "The account's ability to send email has been permanently restricted.")), cls: "auth_config", row: /AccountSuspended/ },
  { name: "MailFromDomainNotVerifiedException", err: sesProviderError(sdk("MailFromDomainNotVerifiedException", 400, "The sending domain isn't verified.")), cls: "auth_config", row: /MailFromDomainNotVerified/ },
  // unverified identities (re:Post KC): the sender is the account's problem, a recipient (sandbox) the message's
  {
    name: "MessageRejected: the From address is not verified",
    err: sesProviderError(sdk("MessageRejected", 400, "Email address is not verified. The following identities failed the check in region US-EAST-1: sender@example.com"), msg),
    cls: "auth_config",
    row: /listed identity is the sender/,
  },
  {
    name: "MessageRejected: the envelope sender's domain is not verified",
    err: sesProviderError(sdk("MessageRejected", 400, "Email address is not verified. The following identities failed the check in region EU-WEST-1: mail.example.com"), msg),
    cls: "auth_config",
    row: /listed identity is the sender/,
  },
  {
    name: "MessageRejected: a recipient is not verified (sandbox)",
    err: sesProviderError(sdk("MessageRejected", 400, "Email address is not verified. The following identities failed the check in region US-EAST-1: alice@example.net, bob@example.org"), msg),
    cls: "permanent_recipient",
    row: /only recipients listed/,
  },
  { name: "MessageRejected: Duplicate header 'DKIM-Signature' (B37)", err: sesProviderError(sdk("MessageRejected", 400, "Duplicate header 'DKIM-Signature'."), msg), cls: "permanent_recipient", row: /MessageRejected otherwise/ },
  { name: "MessageRejected: virus", err: sesProviderError(sdk("MessageRejected", 400, "Message rejected: Virus detected"), msg), cls: "permanent_recipient", row: /MessageRejected otherwise/ },
  { name: "BadRequestException", err: sesProviderError(sdk("BadRequestException", 400, "Illegal address")), cls: "permanent_recipient", row: /MessageRejected otherwise/ },
  { name: "v1 InvalidParameterValue Duplicate header", err: sesProviderError(sdk("InvalidParameterValue", 400, "Duplicate header 'DKIM-Signature'.")), cls: "permanent_recipient", row: /MessageRejected otherwise/ },
  // credentials
  { name: "InvalidClientTokenId (403)", err: sesProviderError(sdk("InvalidClientTokenId", 403, "The security token included in the request is invalid.")), cls: "auth_config", row: /credential errors/ },
  { name: "SignatureDoesNotMatch (403)", err: sesProviderError(sdk("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided.")), cls: "auth_config", row: /credential errors/ },
  { name: "AccessDeniedException (403)", err: sesProviderError(sdk("AccessDeniedException", 403, "User is not authorized to perform: ses:SendRawEmail")), cls: "auth_config", row: /credential errors/ },
  { name: "AccessDenied", err: sesProviderError(sdk("AccessDenied", 403, "Access denied")), cls: "auth_config", row: /credential errors/ },
  { name: "UnrecognizedClientException", err: sesProviderError(sdk("UnrecognizedClientException", 400, "The security token included in the request is invalid.")), cls: "auth_config", row: /credential errors/ },
  { name: "ExpiredTokenException", err: sesProviderError(sdk("ExpiredTokenException", 400, "The security token included in the request is expired")), cls: "auth_config", row: /credential errors/ },
  { name: "an unnamed 403", err: sesProviderError(sdk("Unknown", 403, "Forbidden")), cls: "auth_config", row: /credential errors/ },
  // guesses and inferences
  { name: "NotFoundException (configuration set missing)", err: sesProviderError(sdk("NotFoundException", 404, "Configuration set <x> does not exist.")), cls: "auth_config", row: /NotFoundException/ },
  { name: "LimitExceededException speaking of a quota", err: sesProviderError(sdk("LimitExceededException", 400, "Sending quota exceeded for this resource")), cls: "quota", row: /LimitExceededException that speaks/ },
  { name: "LimitExceededException otherwise", err: sesProviderError(sdk("LimitExceededException", 400, "There are too many instances of the specified resource type.")), cls: "transient", row: /LimitExceededException otherwise/ },
  // server side and network
  { name: "InternalServiceErrorException (500)", err: sesProviderError(sdk("InternalServiceErrorException", 500, "internal error")), cls: "transient", row: /5xx/ },
  { name: "503 ServiceUnavailable", err: sesProviderError(sdk("ServiceUnavailable", 503, "Service unavailable")), cls: "transient", row: /5xx/ },
  { name: "ECONNREFUSED", err: sesProviderError(net("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1")), cls: "connection", row: /no answer/ },
  { name: "ENOTFOUND", err: sesProviderError(net("ENOTFOUND", "getaddrinfo ENOTFOUND email.nowhere.invalid")), cls: "connection", row: /no answer/ },
  { name: "SDK TimeoutError", err: sesProviderError(Object.assign(new Error("Connection timed out after 10000 ms"), { name: "TimeoutError" })), cls: "connection", row: /no answer/ },
];

describe("amazon_ses classification (provider-specifics.md §3.2)", () => {
  for (const c of cases) {
    test(c.name, () => {
      const r = classify(SES_TABLE, c.err);
      expect(r.cls).toBe(c.cls);
      expect(r.row).toMatch(c.row);
    });
  }

  test("every row of the table is hit by at least one case", () => {
    const hit = new Set(cases.map((c) => classify(SES_TABLE, c.err).row));
    for (const row of SES_TABLE) expect(hit.has(row.signal)).toBe(true);
  });

  test("the table is registered for the type", () => {
    expect(TABLES.amazon_ses).toBe(SES_TABLE);
  });

  test("an unknown answer is transient (retried, counted against the provider)", () => {
    expect(classify(SES_TABLE, sesProviderError(sdk("SomethingNew", 409, "conflict"))).row).toBe(DEFAULT_ROW);
  });

  test("a rejection naming a sender identity without the message at hand is the sender's", () => {
    expect(sesProviderError(sdk("MessageRejected", 400, "Email address is not verified. The following identities failed the check in region US-EAST-1: x@y.example")).reason).toBe("sender_not_verified");
  });
});

// The SES SMTP interface (an `smtp` provider pointed at email-smtp.<region>.amazonaws.com) goes
// through the generic SMTP table; its documented replies (§3.1 SES SMTP reply codes) land right.
describe("SES SMTP replies through the smtp table", () => {
  const smtp = (response: string, command: string, code = "EMESSAGE"): ProviderError => ({ code, response, responseCode: Number(response.slice(0, 3)), command });
  const rows: Array<[string, ProviderError, FailureClass]> = [
    ["454 Throttling failure: Maximum sending rate exceeded", smtp("454 Throttling failure: Maximum sending rate exceeded.", "DATA"), "transient"],
    ["454 Throttling failure: Daily message quota exceeded", smtp("454 Throttling failure: Daily message quota exceeded.", "MAIL FROM", "EENVELOPE"), "quota"],
    ["421 Too many concurrent SMTP connections", smtp("421 Too many concurrent SMTP connections", "CONN", "ECONNECTION"), "transient"],
    ["451 Temporary service failure", smtp("451 Temporary service failure", "DATA"), "transient"],
    ["451 Timeout waiting for data from client", smtp("451 Timeout waiting for data from client", "DATA"), "transient"],
    ["554 Message rejected: Email address is not verified", smtp("554 Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: a@b.example", "DATA"), "permanent_recipient"],
    ["554 Transaction failed: Duplicate header 'DKIM-Signature'", smtp("554 Transaction failed: Duplicate header 'DKIM-Signature'.", "DATA"), "permanent_recipient"],
    ["535 Authentication Credentials Invalid", smtp("535 Authentication Credentials Invalid", "AUTH PLAIN", "EAUTH"), "auth_config"],
  ];
  for (const [name, err, cls] of rows) test(name, () => expect(classify(SMTP_TABLE, err).cls).toBe(cls));
});

describe("default caps from GetAccount (§5: 90 % of MaxSendRate and Max24HourSend)", () => {
  const none: Quotas = { per_second: null, per_minute: null, per_hour: null, per_day: null };
  const prod = detectedFromAccount({ SendQuota: { MaxSendRate: 14, Max24HourSend: 50_000, SentLast24Hours: 12 }, ProductionAccessEnabled: true, SendingEnabled: true, EnforcementStatus: "HEALTHY" }, Date.UTC(2026, 0, 1));

  test("90 %, rounded down, never below 1", () => {
    expect(prod.per_second).toBe(12);
    expect(prod.per_day).toBe(45_000);
    const sandbox = detectedFromAccount({ SendQuota: { MaxSendRate: 1, Max24HourSend: 200 }, ProductionAccessEnabled: false, SendingEnabled: true }, 0);
    expect(sandbox.per_second).toBe(1);
    expect(sandbox.per_day).toBe(180);
    expect(sandbox.production_access).toBe(false);
  });

  test("Max24HourSend -1 means no daily cap", () => {
    expect(detectedFromAccount({ SendQuota: { MaxSendRate: 200, Max24HourSend: -1 }, ProductionAccessEnabled: true }, 0).per_day).toBeNull();
  });

  test("user quotas win, then the reading, then the static default", () => {
    expect(effectiveQuotas("amazon_ses", none)).toEqual({ ...none, per_second: 1, per_day: 180 });
    expect(effectiveQuotas("amazon_ses", none, prod)).toEqual({ ...none, per_second: 12, per_day: 45_000 });
    expect(effectiveQuotas("amazon_ses", { ...none, per_day: 1000 }, prod)).toEqual({ ...none, per_second: 12, per_day: 1000 });
    const unlimited = detectedFromAccount({ SendQuota: { MaxSendRate: 200, Max24HourSend: -1 }, ProductionAccessEnabled: true }, 0);
    expect(effectiveQuotas("amazon_ses", none, unlimited).per_day).toBeNull();
  });

  test("sandbox and paused accounts are flagged; a healthy production account is not", () => {
    expect(accountNote(prod, "us-east-1")).toBeNull();
    const sandbox = detectedFromAccount({ SendQuota: { MaxSendRate: 1, Max24HourSend: 200 }, ProductionAccessEnabled: false, SendingEnabled: true }, 0);
    expect(accountNote(sandbox, "eu-west-1")).toContain("sandbox in eu-west-1");
    const paused = { ...prod, sending_enabled: false };
    expect(accountNote(paused, "us-east-1")).toContain("PAUSED");
    expect(describeAccount(prod, "us-east-1")).toContain("production access in us-east-1; send quota 14/s, 50000/24 h (12 sent in the last 24 h); default caps 12/s, 45000/day; sending enabled");
  });

  test("a reading is read again after an hour", () => {
    const at = Date.parse(prod.read_at);
    expect(isStale(prod, at + 3_599_999)).toBe(false);
    expect(isStale(prod, at + 3_600_000)).toBe(true);
    expect(isStale(null, at)).toBe(true);
  });
});

describe("addresses and headers as SES takes them", () => {
  test("IDN domains become A-labels; non-ASCII local parts cannot be sent", () => {
    expect(asciiAddress("user@bücher.example")).toBe("user@xn--bcher-kva.example");
    expect(asciiAddress("alice@example.net")).toBe("alice@example.net");
    expect(asciiAddress("jörg@example.net")).toBeNull();
    expect(asciiAddress("no-at-sign")).toBeNull();
  });

  test("DKIM-Signature headers are counted in the header block only", () => {
    const raw = Buffer.from("DKIM-Signature: a\r\ndkim-signature : b\r\n\tc\r\nFrom: x@y\r\n\r\nDKIM-Signature: in the body\r\n");
    expect(countHeader(raw, "DKIM-Signature")).toBe(2);
    expect(countHeader(Buffer.from("From: x@y\r\n\r\nbody"), "DKIM-Signature")).toBe(0);
  });
});
