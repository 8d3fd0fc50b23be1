/**
 * Every provider attempt is built from the same immutable message (issue 3, "Retries"): a message
 * that fails on A and is retried on B reaches B byte for byte as A was offered it — the whole
 * message, not only its Message-ID and Date: multipart boundaries, header order and folding,
 * transfer encodings, attachments. Checked for an API-built message (text, HTML, an inline image
 * and two attachments) and for one relayed over SMTP without Message-ID or Date (the gateway adds
 * them once, at acceptance) and with 8-bit text (made 7-bit for SMTP upstreams on each attempt).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { simpleParser } from "mailparser";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { createSmtpProvider, relaySubmit, scopedKey, sendWith } from "../helpers/providers.ts";
import { QUOTA_AT_DATA, startScriptedSink, waitStatus, nextAttempt, type ScriptedSink } from "../helpers/routing.ts";

setDefaultTimeout(120_000);

const clock = new ManualClock(Date.UTC(2026, 4, 11, 14, 30, 0));
let g: TestGateway;
let sa: ScriptedSink;
let sb: ScriptedSink;
let a: string;
let b: string;
let token: string;

beforeAll(async () => {
  g = await startTestGateway({ clock });
  sa = await startScriptedSink();
  sb = await startScriptedSink();
  a = await createSmtpProvider(g, sa.port, { name: "A" });
  b = await createSmtpProvider(g, sb.port, { name: "B" });
  token = await scopedKey(g, [a, b]);
});
afterAll(async () => {
  await g?.stop();
  await sa?.close();
  await sb?.close();
});

/**
 * Makes the first attempt land on A (B is inactive while the message is accepted and tried), lets
 * A refuse it at DATA, then brings B back and moves the clock to the retry, which avoids A.
 * Returns what A was offered and what B received.
 */
async function failOnAThenB(submit: () => Promise<string>): Promise<{ id: string; offered: Buffer; received: Buffer; view: any }> {
  expect((await g.api("POST", `/api/v1/providers/${b}/deactivate`)).status).toBe(200);
  sa.script.data = QUOTA_AT_DATA;
  const [offeredBefore, receivedBefore] = [sa.offered.length, sb.accepted.length];
  const id = await submit();
  const first = await nextAttempt(g, id, 0);
  expect(first.attempts.map((x: any) => `${x.provider_id} ${x.outcome}`)).toEqual([`${a} quota`]);
  expect(first.status).toBe("deferred");
  expect((await g.api("POST", `/api/v1/providers/${b}/activate`)).status).toBe(200);
  sa.script.data = null;
  clock.set(Date.parse(first.next_attempt_at));
  const view = await waitStatus(g, id, ["sent"]);
  expect(view.attempts.map((x: any) => `${x.provider_id} ${x.outcome}`)).toEqual([`${a} quota`, `${b} sent`]);
  expect(view.routing.why).toContain(`retry avoids ${a}`);
  expect(sa.offered.length).toBe(offeredBefore + 1);
  expect(sb.accepted.length).toBe(receivedBefore + 1);
  const o = sa.offered.at(-1)!;
  const r = sb.accepted.at(-1)!;
  expect({ from: r.from, to: r.to }).toEqual({ from: o.from, to: o.to });
  return { id, offered: o.raw, received: r.raw, view };
}

test("an API-built message with attachments reaches B byte for byte as A was offered it", async () => {
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
  const pdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(3000, 0x41), Buffer.from("\n%%EOF\n")]);
  const { offered, received, view } = await failOnAThenB(async () => {
    const r = await sendWith(g, token, {
      from: { email: "billing@example.com", name: "Billing Team" },
      to: [{ email: "alice@example.net", name: "Alice Ä." }],
      cc: [{ email: "carol@example.net" }],
      bcc: [{ email: "audit@example.org" }],
      subject: "Your invoice — März",
      text_body: "Hello Alice,\nyour invoice is attached.\n",
      html_body: '<p>Hello Alice,</p><p><img src="cid:logo@example.com"> your invoice is attached.</p>',
      custom_headers: { "X-Invoice": "2026-05-0042" },
      attachments: [
        { filename: "logo.png", content: png.toString("base64"), content_id: "logo@example.com" },
        { filename: "invoice-0042.pdf", content: pdf.toString("base64") },
        { filename: "notes.txt", content: Buffer.from("line one\nline two\n").toString("base64") },
      ],
    });
    expect(r.status).toBe(200);
    return r.json.data.message_id;
  });
  const text = received.toString("latin1");
  // A real multipart message with its own boundaries: the strongest claim is the whole message.
  expect(text).toMatch(/boundary="?[^";\r\n]+/);
  expect(received.equals(offered)).toBe(true);
  const m = await simpleParser(received);
  expect(m.messageId).toBe(view.message_id_header);
  expect(m.attachments.map((x) => x.filename).sort()).toEqual(["invoice-0042.pdf", "logo.png", "notes.txt"]);
  expect(m.attachments.find((x) => x.filename === "invoice-0042.pdf")!.content.equals(pdf)).toBe(true);
  expect(text).not.toMatch(/^Bcc:/im);
});

test("a message relayed over SMTP (no Message-ID, no Date, 8-bit text) reaches B byte for byte as A was offered it", async () => {
  const raw = Buffer.from(
    [
      "From: Shop <shop@example.com>",
      "To: alice@example.net",
      "Subject: Ihre Bestellung",
      "MIME-Version: 1.0",
      'Content-Type: multipart/alternative; boundary="b1"',
      "",
      "--b1",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      "Grüße aus Köln — Ihre Bestellung ist unterwegs.",
      "--b1",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      "<p>Grüße aus Köln</p>",
      "--b1--",
      "",
    ].join("\r\n"),
    "utf8",
  );
  const { offered, received, view } = await failOnAThenB(async () => {
    const r = await relaySubmit(g, token, raw, { from: "shop@example.com", to: ["alice@example.net"] });
    expect(r.response).toMatch(/^250 /);
    return r.id!;
  });
  expect(received.equals(offered)).toBe(true);
  const text = received.toString("latin1");
  // Added once, at acceptance: both attempts carry the same ones.
  expect(text.match(/^Message-ID: (.+)$/im)?.[1]?.trim()).toBe(view.message_id_header);
  expect(text).toMatch(/^Date: .+\+0000\r$/im);
  const m = await simpleParser(received);
  expect(m.text?.trim()).toBe("Grüße aus Köln — Ihre Bestellung ist unterwegs.");
});
