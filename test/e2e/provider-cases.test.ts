import { existsSync } from "node:fs";
/**
 * The adapter-smtp cases of shared/cases (manifest surface "adapter-smtp"), replayed through an
 * smtp provider created through the API, with a key scoped to just that provider.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { startSink, type Sink } from "../helpers/sink.ts";
import { caseBytes, CASES_DIR, createSmtpProvider, relaySubmit, scopedKey, sendWith } from "../helpers/providers.ts";

setDefaultTimeout(30_000);

let g: TestGateway;
const sinks: Sink[] = [];
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
  for (const s of sinks) await s.close();
});

/** A sink and a send key that reaches only an smtp provider pointed at it. */
async function route(opts: Parameters<typeof startSink>[0] = {}): Promise<{ sink: Sink; token: string; pid: string }> {
  const sink = await startSink(opts);
  sinks.push(sink);
  const pid = await createSmtpProvider(g, sink.port);
  return { sink, token: await scopedKey(g, [pid]), pid };
}

const lines = (s: string) => s.split(/\r\n|\r|\n/);

function assertCrlfOnly(raw: Buffer): void {
  const s = raw.toString("latin1");
  expect(s.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
}

function assertNo8bit(raw: Buffer): void {
  for (const b of raw) expect(b).toBeLessThan(128);
}

test("the case folder resolves beside the repository (../shared/cases)", () => {
  expect(existsSync(CASES_DIR + "manifest.json")).toBe(true);
});

test("B04 (JSON): mixed line ends leave as CRLF only; text and HTML lines are kept", async () => {
  const { sink, token } = await route();
  const body = await caseBytes("B04.json");
  const req = JSON.parse(body.toString("utf8"));
  const r = await sendWith(g, token, new Uint8Array(body));
  expect(r.status).toBe(200);
  const view = await g.settle(r.json.data.message_id);
  expect(view.status).toBe("sent");
  expect(sink.messages).toHaveLength(1);
  const m = sink.messages[0]!;
  expect(m.to).toEqual(["alice@example.net"]);
  assertCrlfOnly(m.raw);
  const parsed = await simpleParser(m.raw);
  // text_lines_equal_request: the request's text split at CRLF, LF or a lone CR.
  expect(lines(parsed.text!.replace(/\r?\n$/, ""))).toEqual(lines(req.text_body).slice(0, -1));
  expect(lines(req.text_body).slice(0, -1)).toHaveLength(4);
  expect(lines(String(parsed.html))).toEqual(lines(req.html_body));
});

test("B20-http (JSON): a quoted local part that would smuggle ORCPT is refused naming `to`, or sent as one recipient without RCPT parameters", async () => {
  const { sink, token } = await route();
  const r = await sendWith(g, token, new Uint8Array(await caseBytes("B20.json")));
  if (r.status === 422) {
    expect(r.json.error.code).toBe("validation_error");
    const fields = [r.json.error.param, ...(r.json.error.errors ?? []).map((e: { field: string }) => e.field)];
    expect(fields.some((f: string) => f?.startsWith("to"))).toBe(true);
    expect(sink.messages).toHaveLength(0);
  } else {
    expect(r.status).toBe(200);
    await g.settle(r.json.data.message_id);
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]!.to).toEqual(['"bob@example.net> ORCPT=rfc822;carol@example.org"@example.com']);
  }
});

test("B35 (.eml through the relay): a 7bit line over 998 octets is re-encoded, and decodes as submitted", async () => {
  const { sink, token } = await route();
  const eml = await caseBytes("B35.eml");
  const sent = await relaySubmit(g, token, eml, { from: "sender@example.com", to: ["alice@example.net"] });
  if (!sent.ok) {
    expect(sent.response).toMatch(/^5/);
    return;
  }
  expect(sent.response).toMatch(/^250/);
  const view = await g.settle(sent.id!);
  expect(view.status).toBe("sent");
  expect(sink.messages).toHaveLength(1);
  const raw = sink.messages[0]!.raw;
  for (const l of lines(raw.toString("latin1"))) expect(l.length).toBeLessThanOrEqual(998);
  const before = await simpleParser(eml);
  const after = await simpleParser(raw);
  expect(after.html).toBe(before.html);
  expect(after.subject).toBe("long raw line");
  expect(after.messageId).toBe("<b35@example.com>");
  expect(raw.toString("latin1")).toMatch(/Content-Transfer-Encoding: quoted-printable/i);
});

test("B63 (.eml): an 8-bit body to an upstream without 8BITMIME (STARTTLS + AUTH offered) is converted", async () => {
  const { sink, token } = await route({ hide8BITMIME: true });
  const eml = await caseBytes("B63.eml");
  const sent = await relaySubmit(g, token, eml, { from: "sender@example.com", to: ["alice@example.net"] });
  expect(sent.response).toMatch(/^250/);
  const view = await g.settle(sent.id!);
  expect(view.status).toBe("sent");
  expect(sink.messages).toHaveLength(1);
  const m = sink.messages[0]!;
  expect(m.secure).toBe(true);
  expect(m.authUser).toBe("gateway-user");
  expect(sink.auths.every((a) => a.secure)).toBe(true);
  expect(m.mailParams.BODY).toBeUndefined();
  assertNo8bit(m.raw);
  const before = await simpleParser(eml);
  const after = await simpleParser(m.raw);
  expect(after.text).toBe(before.text);
  expect(after.text!.trim()).toBe("Grüße aus Köln – naïve café");
});

test("B64 (.eml): a 550 5.7.1 at the end of DATA fails the message after one attempt, with the upstream text", async () => {
  const { sink, token } = await route({ rejectData: { code: 550, message: "5.7.1 Submission not allowed for messages in which header from does not match MAIL FROM" } });
  const sent = await relaySubmit(g, token, await caseBytes("B64.eml"), { from: "sender@example.com", to: ["alice@example.net"] });
  if (!sent.ok) {
    expect(sent.response).toMatch(/^5/);
    return;
  }
  const view = await g.settle(sent.id!);
  expect(["failed", "rejected"]).toContain(view.status);
  expect(view.attempts).toHaveLength(1);
  expect(view.attempts[0].response).toContain("5.7.1");
  expect(view.attempts[0].response).toContain("header from does not match MAIL FROM");
  expect(view.next_attempt_at).toBeNull();
  expect(sink.messages).toHaveLength(0);
});
