import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { caseEntry, caseFile, clearOutbox, conversationMismatch, outboxAfter, queuedIds } from "../helpers/relay-cases.ts";
import { expectCode, loginClient, replayScript, SmtpClient, substituteKey, type ReplyOrClosed } from "../helpers/smtp-client.ts";

/** B68: clients that stall (also in the middle of DATA) get 421 after the idle timeout. */

const IDLE_MS = 2500;
let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway({ env: { SENDMUX_SMTP_IDLE_TIMEOUT_MS: String(IDLE_MS) } });
});
afterAll(async () => {
  SmtpClient.closeAll();
  await g?.stop();
});

test("B68 x50: fifty clients stalled in DATA get 421 4.4.2 and are closed, nothing partial is delivered, and another client is served meanwhile", async () => {
  await clearOutbox(g);
  const entry = caseEntry("B68");
  const script = substituteKey(caseFile("B68.smtp"), g.token);
  const stalled = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const c = i % 2 === 0 ? await SmtpClient.connect(g.smtpsPort, { tls: true }) : await starttls(g.smtpPort);
      // Up to the 354 and the partial line; the client then sends nothing more.
      const got = await replayScript(c, script, { maxReplies: 5 });
      return { c, got, stalledAt: Date.now() };
    }),
  );
  const lastStall = Math.max(...stalled.map((s) => s.stalledAt));

  // While all fifty are stalled, a fresh client sends a whole message.
  const t0 = Date.now();
  const other = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
  expectCode(await other.command("MAIL FROM:<sender@example.com>"), 250);
  expectCode(await other.command("RCPT TO:<bob@example.org>"), 250);
  expectCode(await other.command("DATA"), 354);
  const queued = expectCode(await other.command("From: sender@example.com\r\nSubject: meanwhile\r\n\r\nhello\r\n."), 250);
  expectCode(await other.command("QUIT"), 221);
  const servedAt = Date.now();
  expect(servedAt - t0).toBeLessThan(2000);

  const finals = await Promise.all(
    stalled.map(async ({ c, got }) => {
      const all: ReplyOrClosed[] = [...got, await c.read(IDLE_MS * 4)];
      const closed = await c.waitClosed(3000);
      c.close();
      return { all, closed };
    }),
  );
  const timedOutAt = Date.now();
  for (const { all, closed } of finals) {
    expect(conversationMismatch(entry.expect, all, closed)).toBeNull();
    const last = all[5]!;
    expect(last !== "closed" && last.text).toStartWith("421 4.4.2 ");
  }
  // The other client was done before the stalled ones were timed out.
  expect(servedAt).toBeLessThan(lastStall + IDLE_MS);
  expect(timedOutAt - lastStall).toBeGreaterThanOrEqual(IDLE_MS - 200);

  // Nothing of the fifty partial messages reached the provider: only the other client's message.
  const ids = queuedIds([queued]);
  const msgs = await outboxAfter(g, ids, 500);
  expect(msgs.map((m) => m.message_id)).toEqual(ids);
  expect(msgs[0]!.raw.toString()).not.toContain("partial");
  expect(entry.expect.upstream_messages).toBe(0);
}, 60_000);

test("a client idle before saying anything, or between commands, gets 421 and is closed", async () => {
  const silent = await SmtpClient.connect(g.smtpsPort, { tls: true });
  const afterAuth = await loginClient(g.smtpPort, g.token, { tls: "starttls" });
  for (const c of [silent, afterAuth]) {
    const r = await c.read(IDLE_MS * 4);
    expect(r !== "closed" && r.text).toStartWith("421 4.4.2 ");
    expect(await c.waitClosed(3000)).toBe(true);
    c.close();
  }
}, 30_000);

async function starttls(port: number): Promise<SmtpClient> {
  const c = await SmtpClient.connect(port);
  expectCode(await c.command("EHLO client.example.com"), 250);
  expectCode(await c.command("STARTTLS"), 220);
  await c.startTls();
  return c;
}
