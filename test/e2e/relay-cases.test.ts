import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import {
  caseEntry,
  caseFile,
  clearOutbox,
  conversationMismatch,
  deliveredProblems,
  outboxAfter,
  queuedIds,
  relayCases,
  type CaseEntry,
  type CaseExpect,
} from "../helpers/relay-cases.ts";
import { codeOf, expectCode, replayScript, SmtpClient, substituteKey, type ReplyOrClosed } from "../helpers/smtp-client.ts";

/**
 * Every relay-surface case of ../shared/cases replayed byte for byte against a real gateway, on
 * the implicit-TLS port and after STARTTLS on the submission port, with the manifest's
 * expectations checked on the replies and on what the capture outbox stored.
 * B53 (26 MiB) and B68 (idle timeout) have files of their own.
 */

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  SmtpClient.closeAll();
  await g?.stop();
});
beforeEach(async () => {
  await clearOutbox(g);
});

type Port = "implicit" | "starttls";

async function openTls(port: Port): Promise<SmtpClient> {
  if (port === "implicit") return SmtpClient.connect(g.smtpsPort, { tls: true });
  const c = await SmtpClient.connect(g.smtpPort);
  expectCode(await c.command("EHLO client.example.com"), 250);
  expectCode(await c.command("STARTTLS"), 220);
  await c.startTls();
  return c;
}

/** The conversation for an `.eml` case: its envelope, the message dot-stuffed, QUIT. */
function emlScript(entry: CaseEntry, eml: Buffer): Buffer {
  const env = entry.envelope!;
  const auth = Buffer.from("\0user@example.com\0example-password").toString("base64");
  const head = ["EHLO client.example.com", `AUTH PLAIN ${auth}`, `MAIL FROM:<${env.mail_from}>`, ...env.rcpt_to.map((r) => `RCPT TO:<${r}>`), "DATA"];
  let body = eml.toString("latin1").replace(/(^|\n)\./g, "$1..");
  if (!body.endsWith("\r\n")) body += "\r\n";
  return Buffer.from(head.map((l) => l + "\r\n").join("") + body + ".\r\nQUIT\r\n", "latin1");
}

/** For `.eml` cases: the SMTP replies the README fixes, and smtp_reply_prefix for the message. */
function emlExpect(entry: CaseEntry): CaseExpect {
  const n = entry.envelope!.rcpt_to.length;
  return { smtp_replies: ["250", "235", "250", ...Array(n).fill("250"), "354", entry.expect.smtp_reply_prefix!, "221"] };
}

async function checkUpstream(exp: CaseExpect, got: ReplyOrClosed[]): Promise<void> {
  const ids = queuedIds(got);
  const msgs = await outboxAfter(g, ids);
  // Every message in the outbox came from this connection: it was emptied before the case.
  expect(msgs.map((m) => m.message_id).sort()).toEqual([...ids].sort());
  if (exp.upstream_messages !== undefined) expect(msgs.length).toBe(exp.upstream_messages);
  if (exp.upstream_messages_max !== undefined) expect(msgs.length).toBeLessThanOrEqual(exp.upstream_messages_max);
  if (exp.delivered) expect(await deliveredProblems(exp.delivered, msgs)).toEqual([]);
  if (exp.if_accepted?.delivered && ids.length > 0) expect(await deliveredProblems(exp.if_accepted.delivered, msgs)).toEqual([]);
}

const special = new Set(["B07", "B53", "B68"]);
const generic = relayCases().filter((c) => !special.has(c.id));

test("the manifest's relay cases are all covered here or in their own file", () => {
  expect(relayCases().map((c) => c.id).sort()).toEqual(
    ["B01", "B01b", "B06-relay", "B07", "B11", "B12", "B15", "B16", "B17", "B20-relay", "B40", "B53", "B68"].sort(),
  );
});

for (const port of ["implicit", "starttls"] as const) {
  describe(`cases over ${port === "implicit" ? "implicit TLS (465-style)" : "STARTTLS (587-style)"}`, () => {
    for (const entry of generic) {
      test(`${entry.id}: ${entry.expect.smtp_reply_prefix ? `message gets ${entry.expect.smtp_reply_prefix}` : "replies as the manifest says"}`, async () => {
        const file = entry.files[0]!;
        const isEml = file.endsWith(".eml");
        const script = substituteKey(isEml ? emlScript(entry, caseFile(file)) : caseFile(file), g.token);
        const exp = isEml ? { ...entry.expect, ...emlExpect(entry) } : entry.expect;
        const c = await openTls(port);
        try {
          const got = await replayScript(c, script, { oneWriteAfter354: entry.replay?.startsWith("one_write_after_354") });
          const closed = await c.waitClosed(2000);
          expect(conversationMismatch(exp, got, closed)).toBeNull();
          await checkUpstream(exp, got);
        } finally {
          c.close();
        }
      });
    }
  });
}

test("B07: commands pipelined behind STARTTLS are thrown away, not run over TLS", async () => {
  const entry = caseEntry("B07");
  const c = await SmtpClient.connect(g.smtpPort);
  try {
    c.write(caseFile("B07.plain.smtp"));
    const got: ReplyOrClosed[] = [await c.read(), await c.read()];
    expect(got.map(codeOf)).toEqual(["250", "220"]);
    await c.startTls();
    got.push(...(await replayScript(c, substituteKey(caseFile("B07.tls.smtp"), g.token))));
    const closed = await c.waitClosed(2000);
    expect(conversationMismatch(entry.expect, got, closed)).toBeNull();
    // This relay takes the first alternative: it answers after TLS, and RCPT gets 503 because
    // the MAIL sent in clear was dropped.
    expect(got.map(codeOf)).toEqual(["250", "220", "250", "235", "503", "221"]);
    await checkUpstream(entry.expect, got);
  } finally {
    c.close();
  }
});
