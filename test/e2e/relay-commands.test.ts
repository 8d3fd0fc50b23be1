import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { codeOf, expectCode, loginClient, SmtpClient, type ReplyOrClosed, type SmtpReply } from "../helpers/smtp-client.ts";

/** The relay's commands and policies: TLS and AUTH, the reply codes, MAIL/RCPT rules, recipients. */

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  SmtpClient.closeAll();
  await g?.stop();
});

const b64 = (s: string) => Buffer.from(s).toString("base64");
const plain = (key: string, user = "anyone@example.com") => `AUTH PLAIN ${b64(`\0${user}\0${key}`)}`;
const text = (r: ReplyOrClosed) => (r === "closed" ? "closed" : r.text);

async function starttls(): Promise<SmtpClient> {
  const c = await SmtpClient.connect(g.smtpPort);
  expectCode(await c.command("EHLO client.example.com"), 250);
  expectCode(await c.command("STARTTLS"), 220);
  await c.startTls();
  expectCode(await c.command("EHLO client.example.com"), 250);
  return c;
}

/** MAIL, RCPT…, DATA, the message (dot-stuffed here), and the reply to the final dot. */
async function sendOn(c: SmtpClient, from: string, rcpts: string[], message: string): Promise<SmtpReply> {
  expectCode(await c.command(`MAIL FROM:<${from}>`), 250);
  for (const r of rcpts) expectCode(await c.command(`RCPT TO:<${r}>`), 250);
  expectCode(await c.command("DATA"), 354);
  c.write(message.replace(/(^|\r\n)\./g, "$1.."));
  const r = await c.command(message.endsWith("\r\n") ? "." : "\r\n.");
  if (r === "closed") throw new Error("closed after DATA");
  return r;
}

const idOf = (r: SmtpReply) => r.text.match(/queued as (eml_[a-z0-9]{24})$/)![1]!;

describe("TLS and AUTH", () => {
  test("587-style: EHLO offers STARTTLS and no AUTH before TLS; AUTH gets 530 5.7.0; after TLS AUTH PLAIN LOGIN and no STARTTLS", async () => {
    const c = await SmtpClient.connect(g.smtpPort);
    const before = expectCode(await c.command("EHLO client.example.com"), 250);
    expect(before.lines).toContain("250-STARTTLS");
    expect(before.lines.some((l) => /AUTH/.test(l))).toBe(false);
    expect(text(await c.command(plain(g.token)))).toMatch(/^530 5\.7\.0 /);
    expect(text(await c.command("AUTH LOGIN"))).toMatch(/^530 5\.7\.0 /);
    expect(text(await c.command("MAIL FROM:<sender@example.com>"))).toMatch(/^530 5\.7\.0 /);
    expectCode(await c.command("STARTTLS"), 220);
    await c.startTls();
    const after = expectCode(await c.command("EHLO client.example.com"), 250);
    expect(after.lines).toContain("250-AUTH PLAIN LOGIN");
    expect(after.lines.some((l) => /STARTTLS/.test(l))).toBe(false);
    expect(text(await c.command(plain(g.token)))).toBe("235 2.7.0 Authentication successful");
    c.close();
  });

  test("MAIL, RCPT or DATA before AUTH: in the clear the 530 says STARTTLS first, then AUTH; after TLS (and on 465) it says AUTH", async () => {
    const clear = await SmtpClient.connect(g.smtpPort);
    expectCode(await clear.command("EHLO client.example.com"), 250);
    for (const cmd of ["MAIL FROM:<sender@example.com>", "RCPT TO:<alice@example.net>", "DATA"]) {
      expect(text(await clear.command(cmd)), cmd).toBe(
        "530 5.7.0 Authentication required: issue STARTTLS first, then log in with AUTH PLAIN or AUTH LOGIN; the password is your Sendmux API key",
      );
    }
    clear.close();
    const afterTls = await starttls();
    expect(text(await afterTls.command("MAIL FROM:<sender@example.com>"))).toBe(
      "530 5.7.0 Authentication required: log in with AUTH PLAIN or AUTH LOGIN; the password is your Sendmux API key",
    );
    afterTls.close();
    const implicit = await SmtpClient.connect(g.smtpsPort, { tls: true });
    expectCode(await implicit.command("EHLO client.example.com"), 250);
    expect(text(await implicit.command("MAIL FROM:<sender@example.com>"))).toBe(
      "530 5.7.0 Authentication required: log in with AUTH PLAIN or AUTH LOGIN; the password is your Sendmux API key",
    );
    implicit.close();
  });

  test("465-style: implicit TLS, EHLO offers AUTH PLAIN LOGIN and no STARTTLS; the offered extensions are the documented ones", async () => {
    const c = await SmtpClient.connect(g.smtpsPort, { tls: true });
    expect(c.greeting!.text).toMatch(/^220 gw\.test ESMTP/);
    const ehlo = expectCode(await c.command("EHLO client.example.com"), 250);
    expect(ehlo.lines.slice(1).map((l) => l.slice(4)).sort()).toEqual(["8BITMIME", "AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES", "PIPELINING", "SIZE 26214400"]);
    expect(text(await c.command("STARTTLS"))).toMatch(/^5\d\d 5\./);
    c.close();
  });

  test("a wrong or empty key gets 535 5.7.8 and the connection stays open for the right one (PLAIN and LOGIN; the user name is ignored)", async () => {
    const c = await starttls();
    expect(text(await c.command(plain("smx_" + "x".repeat(40))))).toMatch(/^535 5\.7\.8 /);
    expect(text(await c.command(plain("not-a-key")))).toMatch(/^535 5\.7\.8 /);
    expect(text(await c.command(plain("")))).toMatch(/^535 5\.7\.8 /);
    expect(codeOf(await c.command("AUTH LOGIN"))).toBe("334");
    expect(codeOf(await c.command(b64("whoever")))).toBe("334");
    expect(text(await c.command(b64("smx_wrong")))).toMatch(/^535 5\.7\.8 /);
    expect(codeOf(await c.command("AUTH LOGIN"))).toBe("334");
    expect(codeOf(await c.command(b64("somebody-else@example.org")))).toBe("334");
    expect(text(await c.command(b64(g.token)))).toBe("235 2.7.0 Authentication successful");
    expect(text(await c.command(plain(g.token)))).toMatch(/^503 5\.5\.1 /);
    c.close();
  });

  test("a revoked key no longer logs in, and a session that logged in with it gets 530 5.7.0 at its next MAIL", async () => {
    const made = await g.api("POST", "/api/v1/api-keys", { name: "relay-revoke", permission: "send", scope: { type: "all" } });
    expect(made.status).toBe(201);
    const open = await loginClient(g.smtpsPort, made.json.data.token, { tls: "implicit" });
    const before = await sendOn(open, "sender@example.com", ["alice@example.net"], "Subject: before revoke\r\n\r\nx\r\n");
    expect(before.code).toBe(250);
    expect((await g.api("DELETE", `/api/v1/api-keys/${made.json.data.id}`)).status).toBeLessThan(300);
    expect(text(await open.command("MAIL FROM:<sender@example.com>"))).toMatch(/^530 5\.7\.0 .*revoked/);
    expect(text(await open.command("MAIL FROM:<sender@example.com>"))).toMatch(/^530 5\.7\.0 /);
    expect(codeOf(await open.command(plain(g.token)))).toBe("235");
    expectCode(await open.command("MAIL FROM:<sender@example.com>"), 250);
    open.close();
    const c2 = await starttls();
    expect(text(await c2.command(plain(made.json.data.token)))).toMatch(/^535 5\.7\.8 /);
    c2.close();
  });

  test("ten failed logins on one connection: 421 4.7.0 and the connection is closed", async () => {
    const c = await SmtpClient.connect(g.smtpsPort, { tls: true });
    expectCode(await c.command("EHLO client.example.com"), 250);
    const got: string[] = [];
    for (let i = 0; i < 10; i++) got.push(text(await c.command(plain("smx_wrong_" + i))));
    expect(got.slice(0, 9).every((t) => t.startsWith("535 5.7.8 "))).toBe(true);
    expect(got[9]).toMatch(/^421 4\.7\.0 /);
    expect(await c.waitClosed(2000)).toBe(true);
  });
});

describe("replies", () => {
  test("every reply after the greeting and EHLO carries exactly one enhanced status code", async () => {
    const c = await starttls();
    const replies: ReplyOrClosed[] = [];
    for (const cmd of [
      plain("smx_wrong_key_for_this_test_1234567890"),
      "MAIL FROM:<sender@example.com>",
      plain(g.token),
      "RCPT TO:<alice@example.net>",
      "DATA",
      "MAIL FROM:<>",
      "MAIL FROM:sender@example.com",
      "MAIL FROM:<sender@example.com> SIZE=999999999",
      "MAIL FROM:<sender@example.com> SMTPUTF8",
      "MAIL FROM:<sender@example.com> RET=HDRS",
      "MAIL FROM:<bad@@example.com>",
      "MAIL FROM:<sender@example.com>",
      "MAIL FROM:<sender@example.com>",
      "RCPT TO:<alice@example.net> NOTIFY=NEVER",
      "RCPT TO:<alice>",
      'RCPT TO:<"quoted"@example.net>',
      "RCPT TO:<alice@example.net>",
      "VRFY alice",
      "NOOP",
      "XYZZY",
      "RSET",
      "QUIT",
    ]) {
      replies.push(await c.command(cmd));
    }
    for (const r of replies) {
      const t = text(r);
      expect(t).toMatch(/^\d{3} [245]\.\d{1,3}\.\d{1,3} /);
      expect(t).not.toMatch(/^\d{3} [245]\.\d{1,3}\.\d{1,3} [245]\.\d{1,3}\.\d{1,3}/);
    }
    expect(replies.map(codeOf)).toEqual([
      "535", "530", "235", "503", "503", "553", "501", "552", "555", "555", "501", "250", "503", "555", "501", "553", "250", "252", "250", "500", "250", "221",
    ]);
    const byCmd = replies.map(text);
    expect(byCmd[7]).toMatch(/^552 5\.3\.4 /);
    expect(byCmd[5]).toMatch(/^553 5\.1\.7 /);
    expect(byCmd[15]).toMatch(/^553 5\.1\.3 .*quoted/);
  });

  test("250 2.0.0 Ok: queued as eml_… and the message id answers on the API as sent", async () => {
    const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
    const r = await sendOn(c, "sender@example.com", ["alice@example.net"], "From: sender@example.com\r\nTo: alice@example.net\r\nSubject: ok\r\n\r\nhi\r\n");
    expect(r.text).toMatch(/^250 2\.0\.0 Ok: queued as eml_[a-z0-9]{24}$/);
    const view = await g.settle(idOf(r));
    expect(view.status).toBe("sent");
    expect(view.provider_id).toBe(g.captureId);
    c.close();
  });

  test("no active provider in the key's scope: 550 5.7.1 at MAIL, and at the end of DATA if it went away meanwhile", async () => {
    const p = await g.api("POST", "/api/v1/providers", { type: "capture", name: "relay-spare" });
    expect(p.status).toBe(201);
    const pid = p.json.data.id;
    const k = await g.api("POST", "/api/v1/api-keys", { name: "relay-scoped", permission: "send", scope: { type: "specific", providers: [pid] } });
    expect(k.status).toBe(201);
    const c = await loginClient(g.smtpsPort, k.json.data.token, { tls: "implicit" });
    expectCode(await c.command("MAIL FROM:<sender@example.com>"), 250);
    expectCode(await c.command("RCPT TO:<alice@example.net>"), 250);
    expectCode(await c.command("DATA"), 354);
    expect((await g.api("POST", `/api/v1/providers/${pid}/deactivate`)).status).toBe(200);
    expect(text(await c.command("Subject: x\r\n\r\nbody\r\n."))).toMatch(/^550 5\.7\.1 no_active_providers/);
    expect(text(await c.command("MAIL FROM:<sender@example.com>"))).toMatch(/^550 5\.7\.1 no_active_providers/);
    expect(codeOf(await c.command("NOOP"))).toBe("250");
    c.close();
  });
});

describe("envelope", () => {
  test("B16 policy: MAIL FROM without brackets is 501; with a space before the bracket it is taken and the sender has no stray space or bracket", async () => {
    const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
    expect(text(await c.command("MAIL FROM:sender@example.com"))).toMatch(/^501 5\.1\.7 /);
    expect(text(await c.command("MAIL FROM: sender@example.com"))).toMatch(/^501 5\.1\.7 /);
    expectCode(await c.command("MAIL FROM: <sender@example.com>"), 250);
    expectCode(await c.command("RCPT TO: <alice@example.net>"), 250);
    expectCode(await c.command("DATA"), 354);
    const r = expectCode(await c.command("Subject: spaced\r\n\r\nx\r\n."), 250);
    const id = idOf(r);
    await g.settle(id);
    const list = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
    const item = list.json.data.find((x: { message_id: string }) => x.message_id === id);
    expect(item.envelope).toEqual({ from: "sender@example.com", to: ["alice@example.net"] });
    c.close();
  });

  test("the envelope decides who receives: header-only addresses get nothing, duplicates once, an IDN domain as its A-label", async () => {
    const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
    const msg = "From: sender@example.com\r\nTo: header-only@example.com\r\nCc: cc-header@example.com\r\nSubject: env\r\n\r\nx\r\n";
    const r = await sendOn(c, "sender@example.com", ["alice@example.net", "ALICE@example.net", "bob@bücher.example", "carol@xn--bcher-kva.example"], msg);
    const id = idOf(r);
    await g.settle(id);
    const list = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
    const item = list.json.data.find((x: { message_id: string }) => x.message_id === id);
    expect(item.envelope.to.map((a: string) => a.toLowerCase()).sort()).toEqual(["alice@example.net", "bob@xn--bcher-kva.example", "carol@xn--bcher-kva.example"]);
    c.close();
  });

  test("50 recipients are taken, the 51st gets 452 4.5.3, a repeated one does not count, and the message goes to those 50", async () => {
    const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
    expectCode(await c.command("MAIL FROM:<sender@example.com>"), 250);
    for (let i = 0; i < 50; i++) expectCode(await c.command(`RCPT TO:<r${i}@example.org>`), 250);
    expect(text(await c.command("RCPT TO:<r50@example.org>"))).toMatch(/^452 4\.5\.3 /);
    expectCode(await c.command("RCPT TO:<r7@example.org>"), 250);
    expectCode(await c.command("DATA"), 354);
    const id = idOf(expectCode(await c.command("Subject: many\r\n\r\nx\r\n."), 250));
    await g.settle(id);
    const list = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
    const item = list.json.data.find((x: { message_id: string }) => x.message_id === id);
    expect(item.envelope.to).toHaveLength(50);
    expect(item.envelope.to).not.toContain("r50@example.org");
    c.close();
  });

  test("RCPT before MAIL is 503, DATA before RCPT is 503, and the connection carries on", async () => {
    const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
    expect(text(await c.command("RCPT TO:<alice@example.net>"))).toMatch(/^503 5\.5\.1 /);
    expectCode(await c.command("MAIL FROM:<sender@example.com>"), 250);
    expect(text(await c.command("DATA"))).toMatch(/^503 5\.5\.1 /);
    expectCode(await c.command("RCPT TO:<alice@example.net>"), 250);
    expectCode(await c.command("RSET"), 250);
    expectCode(await c.command("QUIT"), 221);
  });
});

describe("the message", () => {
  test("relayed byte for byte: 8-bit text, dot lines, long lines, odd headers", async () => {
    const body = Buffer.concat([
      Buffer.from(
        "Message-ID: <bytes@example.com>\r\nDate: Mon, 03 Jun 2024 10:00:00 +0000\r\nFrom: \"Zoë\" <sender@example.com>\r\nTo: alice@example.net\r\nSubject: =?UTF-8?Q?h=C3=A9llo?=\r\nX-Folded: one\r\n\ttwo\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
      ),
      Buffer.from("café ✓\r\n.leading dot\r\n..two dots\r\n.\r\n \r\n\r\n" + "L".repeat(1500) + "\r\nend\r\n"),
    ]);
    const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
    expectCode(await c.command("MAIL FROM:<sender@example.com> BODY=8BITMIME"), 250);
    expectCode(await c.command("RCPT TO:<alice@example.net>"), 250);
    expectCode(await c.command("DATA"), 354);
    c.write(Buffer.from(body.toString("latin1").replace(/(^|\r\n)\./g, "$1.."), "latin1"));
    const id = idOf(expectCode(await c.command("."), 250));
    const raw = await g.captured(id);
    expect(raw.equals(body)).toBe(true);
    c.close();
  });

  test("Bcc removed (folded lines too), Message-ID and Date added where missing, the rest byte for byte", async () => {
    const submitted = "From: sender@example.com\r\nBcc: hidden1@example.org,\r\n hidden2@example.org\r\nTo: alice@example.net\r\nbcc: hidden3@example.org\r\nSubject: bcc\r\n\r\nBcc: this line is body\r\n";
    const c = await loginClient(g.smtpPort, g.token, { tls: "starttls" });
    const r = await sendOn(c, "sender@example.com", ["alice@example.net", "hidden1@example.org"], submitted);
    const id = idOf(r);
    const raw = (await g.captured(id)).toString("latin1");
    const [head, ...rest] = raw.split("\r\n\r\n");
    expect(head).toMatch(new RegExp(`^Message-ID: <${id}@gw\\.test>\\r\\nDate: [A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} \\+0000\\r\\n`));
    expect(head).not.toMatch(/hidden/);
    expect(raw.endsWith("From: sender@example.com\r\nTo: alice@example.net\r\nSubject: bcc\r\n\r\nBcc: this line is body\r\n")).toBe(true);
    expect(rest.join("\r\n\r\n")).toBe("Bcc: this line is body\r\n");
    const parsed = await simpleParser(Buffer.from(raw, "latin1"));
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.messageId).toBe(`<${id}@gw.test>`);
    const view = await g.settle(id);
    expect(view.subject).toBe("bcc");
    c.close();
  });

  test("Resent-Bcc is removed like Bcc (RFC 5322 3.6.6), folded lines too", async () => {
    const submitted =
      "Message-ID: <resent@example.com>\r\nDate: Mon, 03 Jun 2024 10:00:00 +0000\r\nFrom: sender@example.com\r\nTo: alice@example.net\r\nResent-From: sender@example.com\r\nResent-Bcc: hidden1@example.org,\r\n hidden2@example.org\r\nresent-bcc: hidden3@example.org\r\nSubject: resent\r\n\r\nResent-Bcc: this line is body\r\n";
    const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
    const id = idOf(await sendOn(c, "sender@example.com", ["alice@example.net", "hidden1@example.org"], submitted));
    const raw = (await g.captured(id)).toString("latin1");
    expect(raw).toBe(submitted.replace("Resent-Bcc: hidden1@example.org,\r\n hidden2@example.org\r\nresent-bcc: hidden3@example.org\r\n", ""));
    expect(raw.split("\r\n\r\n")[0]).not.toMatch(/hidden/);
    c.close();
  });

  test("raw UTF-8 header bytes (RFC 6532) and encoded words are text in the API, the delivery log and the outbox listing", async () => {
    const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
    const submitted = "Subject: Grüße only subject\r\nFrom: Jörg <a@example.com>\r\nTo: b@example.net\r\n\r\nhi\r\n";
    const first = idOf(await sendOn(c, "a@example.com", ["b@example.net"], submitted));
    const encoded = "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= =?UTF-8?B?IG9ubHkgc3ViamVjdA==?=\r\nFrom: =?UTF-8?B?SsO2cmc=?= <a@example.com>\r\nTo: =?ISO-8859-1?Q?Andr=E9?= <b@example.net>\r\n\r\nhi\r\n";
    const second = idOf(await sendOn(c, "a@example.com", ["b@example.net"], encoded));
    c.close();
    const cases: Array<[string, string, string[]]> = [
      [first, "Jörg <a@example.com>", ["b@example.net"]],
      [second, "Jörg <a@example.com>", ["André <b@example.net>"]],
    ];
    for (const [id] of cases) await g.settle(id);
    const outbox = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
    for (const [id, from, to] of cases) {
      const view = await g.settle(id);
      expect({ subject: view.subject, from: view.from, to: view.to }).toEqual({ subject: "Grüße only subject", from, to });
      const log = await g.api("GET", `/api/v1/emails/logs/dlog_${id.slice(4)}`);
      expect(log.status).toBe(200);
      expect(log.json.data.subject).toBe("Grüße only subject");
      const item = outbox.json.data.find((x: { message_id: string }) => x.message_id === id);
      expect({ subject: item.subject, from: item.from, to: item.to }).toEqual({ subject: "Grüße only subject", from, to });
    }
    // The message itself is relayed as it came.
    expect((await g.captured(first)).subarray(-Buffer.byteLength(submitted)).equals(Buffer.from(submitted, "utf8"))).toBe(true);
  });
});
