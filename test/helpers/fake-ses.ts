/**
 * A small local SES v2 endpoint that answers with SES's documented errors, for the rows of the
 * classification table aws-ses-v2-local cannot produce (it never fails a valid request). It speaks
 * the restJson1 wire form the SDK reads: the HTTP status, the error name in `x-amzn-ErrorType`
 * and `{"message": …}` as the body (provider-specifics.md §3.1, §6.3).
 *
 * Each SendEmail (`POST /v2/email/outbound-emails`) and GetAccount (`GET /v2/email/account`) call
 * takes the next scripted answer for its operation; when the script is used up, `fallback` answers.
 */
export type FakeAnswer =
  | { error: string; status: number; message: string }
  | { ok: true; body?: unknown };

export interface FakeSesCall {
  op: "SendEmail" | "GetAccount";
  from?: string;
  to: string[];
  raw?: Buffer;
}

export interface FakeSes {
  endpoint: string;
  calls: FakeSesCall[];
  /** Answers for the next calls of each operation, in order. */
  script: { SendEmail: FakeAnswer[]; GetAccount: FakeAnswer[] };
  fallback: { SendEmail: FakeAnswer; GetAccount: FakeAnswer };
  stop(): void;
}

/** The documented error answers (status, x-amzn-ErrorType, message), by the name tests use. */
export const SES_ERRORS = {
  maxRate: { error: "TooManyRequestsException", status: 429, message: "Maximum sending rate exceeded." },
  dailyQuota: { error: "TooManyRequestsException", status: 429, message: "Daily message quota exceeded." },
  throttlingDaily: { error: "ThrottlingException", status: 400, message: "Daily message quota exceeded." },
  senderNotVerified: {
    error: "MessageRejected",
    status: 400,
    message: "Email address is not verified. The following identities failed the check in region US-EAST-1: sender@example.com",
  },
  recipientNotVerified: {
    error: "MessageRejected",
    status: 400,
    message: "Email address is not verified. The following identities failed the check in region US-EAST-1: alice@example.net",
  },
  duplicateDkim: { error: "MessageRejected", status: 400, message: "Duplicate header 'DKIM-Signature'." },
  badRequest: { error: "BadRequestException", status: 400, message: "Illegal address" },
  accountSuspended: { error: "AccountSuspendedException", status: 400, message: "The account's ability to send email has been permanently restricted." },
  sendingPaused: { error: "SendingPausedException", status: 400, message: "The account's ability to send email is currently paused." },
  mailFromNotVerified: { error: "MailFromDomainNotVerifiedException", status: 400, message: "The sending domain isn't verified." },
  invalidToken: { error: "InvalidClientTokenId", status: 403, message: "The security token included in the request is invalid." },
  signature: { error: "SignatureDoesNotMatch", status: 403, message: "The request signature we calculated does not match the signature you provided." },
  accessDenied: { error: "AccessDeniedException", status: 403, message: "User: arn:aws:iam::123456789012:user/x is not authorized to perform: ses:SendRawEmail" },
  notFound: { error: "NotFoundException", status: 404, message: "Configuration set <x> does not exist." },
  limitExceeded: { error: "LimitExceededException", status: 400, message: "There are too many instances of the specified resource type." },
  internal: { error: "InternalServiceErrorException", status: 500, message: "The request couldn't be processed because an internal error occurred." },
  unavailable: { error: "ServiceUnavailable", status: 503, message: "Service unavailable" },
} satisfies Record<string, FakeAnswer>;

export function startFakeSes(account: unknown): FakeSes {
  const calls: FakeSesCall[] = [];
  let n = 0;
  const fake: FakeSes = {
    endpoint: "",
    calls,
    script: { SendEmail: [], GetAccount: [] },
    fallback: { SendEmail: { ok: true }, GetAccount: { ok: true, body: account } },
    stop: () => server.stop(true),
  };
  const answer = (a: FakeAnswer, okBody: () => unknown) =>
    "ok" in a
      ? Response.json(a.body ?? okBody(), { status: 200 })
      : Response.json({ message: a.message }, { status: a.status, headers: { "x-amzn-ErrorType": `${a.error}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`, "x-amzn-RequestId": crypto.randomUUID() } });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "POST" && url.pathname === "/v2/email/outbound-emails") {
        const j = (await req.json()) as { FromEmailAddress?: string; Destination?: { ToAddresses?: string[] }; Content?: { Raw?: { Data?: string } } };
        calls.push({ op: "SendEmail", from: j.FromEmailAddress, to: j.Destination?.ToAddresses ?? [], raw: Buffer.from(j.Content?.Raw?.Data ?? "", "base64") });
        return answer(fake.script.SendEmail.shift() ?? fake.fallback.SendEmail, () => ({ MessageId: `fake-${++n}` }));
      }
      if (req.method === "GET" && url.pathname === "/v2/email/account") {
        calls.push({ op: "GetAccount", to: [] });
        return answer(fake.script.GetAccount.shift() ?? fake.fallback.GetAccount, () => account);
      }
      return new Response("<UnknownOperationException/>", { status: 404 });
    },
  });
  fake.endpoint = `http://127.0.0.1:${server.port}`;
  return fake;
}
