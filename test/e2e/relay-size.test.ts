import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { CASES_DIR, caseEntry, clearOutbox, conversationMismatch, deliveredProblems, outboxAfter, queuedIds } from "../helpers/relay-cases.ts";
import { codeOf, expectCode, loginClient, replayScript, SmtpClient, substituteKey } from "../helpers/smtp-client.ts";

/** B53 and the SIZE limit: 26214400 bytes, 552 5.3.4, the connection stays usable. */

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  SmtpClient.closeAll();
  await g?.stop();
});

function generateB53(): Buffer {
  const r = Bun.spawnSync(["python3", CASES_DIR + "B53.gen.py", "26"], { stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`B53.gen.py failed: ${r.stderr.toString()}`);
  return r.stdout;
}

test("EHLO advertises SIZE 26214400 on both ports", async () => {
  for (const c of [await SmtpClient.connect(g.smtpPort), await SmtpClient.connect(g.smtpsPort, { tls: true })]) {
    const r = expectCode(await c.command("EHLO client.example.com"), 250);
    expect(r.lines).toContain("250 SIZE 26214400");
    c.close();
  }
});

test("B53: 26 MiB without SIZE= gets 552 after it is read, SIZE=999999999 gets 552 at once, the follow-up is the only message delivered", async () => {
  await clearOutbox(g);
  const entry = caseEntry("B53");
  const script = substituteKey(generateB53(), g.token);
  expect(script.length).toBeGreaterThan(26 * 1024 * 1024);
  const c = await SmtpClient.connect(g.smtpsPort, { tls: true });
  try {
    const got = await replayScript(c, script, { replyTimeoutMs: 60_000 });
    expect(conversationMismatch(entry.expect, got, c.closed)).toBeNull();
    const texts = got.map((r) => (r === "closed" ? "closed" : r.text));
    expect(texts[5]).toStartWith("552 5.3.4 ");
    expect(texts[6]).toStartWith("552 5.3.4 ");
    // one enhanced code, not two
    expect(texts[5]).not.toMatch(/^552 5\.\d+\.\d+ 5\./);
    const msgs = await outboxAfter(g, queuedIds(got));
    expect(msgs).toHaveLength(entry.expect.upstream_messages!);
    expect(await deliveredProblems(entry.expect.delivered!, msgs)).toEqual([]);
  } finally {
    c.close();
  }
}, 120_000);

test("exactly 26214400 bytes is accepted; one byte more is refused, and the same connection then sends", async () => {
  await clearOutbox(g);
  const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
  try {
    const head = "From: sender@example.com\r\nTo: alice@example.net\r\nSubject: exact\r\n\r\n";
    const line = "B".repeat(998) + "\r\n";
    // A message of exactly `total` bytes as smtp-server counts them (the last CRLF included).
    const fill = (total: number) => {
      const full = Math.floor((total - head.length - 2) / line.length);
      return head + line.repeat(full) + "C".repeat(total - head.length - 2 - full * line.length) + "\r\n";
    };
    for (const [size, code] of [
      [26_214_401, 552],
      [26_214_400, 250],
    ] as const) {
      const msg = fill(size);
      expect(msg.length).toBe(size);
      expectCode(await c.command("MAIL FROM:<sender@example.com>"), 250);
      expectCode(await c.command("RCPT TO:<alice@example.net>"), 250);
      expectCode(await c.command("DATA"), 354);
      c.write(msg);
      const r = expectCode(await c.command("."), code);
      if (code === 250) {
        const id = r.text.match(/eml_[a-z0-9]{24}/)![0];
        const raw = await g.captured(id);
        expect(raw.byteLength).toBeGreaterThanOrEqual(size);
      }
    }
    expect(codeOf(await c.command("QUIT"))).toBe("221");
  } finally {
    c.close();
  }
}, 120_000);
