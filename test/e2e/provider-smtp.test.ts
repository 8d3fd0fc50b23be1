import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { startSink, type Sink } from "../helpers/sink.ts";
import { caseBytes, createSmtpProvider, scopedKey, sendWith } from "../helpers/providers.ts";

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

async function sink(opts: Parameters<typeof startSink>[0] = {}): Promise<Sink> {
  const s = await startSink(opts);
  sinks.push(s);
  return s;
}

const mail = (subject: string) => ({
  from: { email: "sender@example.com", name: "Sam Sender" },
  to: { email: "alice@example.net" },
  subject,
  text_body: "Grüße aus Köln\nline two",
});

async function sendVia(token: string, subject: string): Promise<string> {
  const r = await sendWith(g, token, mail(subject));
  expect(r.status).toBe(200);
  return r.json.data.message_id;
}

describe("each smtp_protocol delivers, with AUTH, and never declares 8BITMIME", () => {
  const protocols = [
    { proto: "tls", sinkOpts: { secure: true }, tlsExpected: true },
    { proto: "ssl", sinkOpts: { secure: true }, tlsExpected: true },
    { proto: "starttls", sinkOpts: {}, tlsExpected: true },
    { proto: "none", sinkOpts: { allowInsecureAuth: true }, tlsExpected: false },
  ] as const;
  for (const p of protocols) {
    test(`smtp_protocol ${p.proto}`, async () => {
      const seen: Array<{ user: string; pass: string; secure: boolean }> = [];
      const s = await sink({
        ...p.sinkOpts,
        onAuth(auth, session, cb) {
          seen.push({ user: auth.username ?? "", pass: auth.password ?? "", secure: !!session.secure });
          if (auth.password !== `pw-${p.proto}`) return cb(new Error("5.7.8 bad credentials"));
          cb(null, { user: auth.username ?? "" });
        },
      });
      const pid = await createSmtpProvider(g, s.port, { smtp_protocol: p.proto, smtp_username: `user-${p.proto}`, smtp_password: `pw-${p.proto}` });
      const token = await scopedKey(g, [pid]);
      const id = await sendVia(token, `via ${p.proto}`);
      const view = await g.settle(id);
      expect(view.status).toBe("sent");
      expect(view.provider_id).toBe(pid);
      expect(view.attempts).toHaveLength(1);
      expect(s.messages).toHaveLength(1);
      const m = s.messages[0]!;
      expect(m.secure).toBe(p.tlsExpected);
      expect(m.authUser).toBe(`user-${p.proto}`);
      expect(seen).toEqual([{ user: `user-${p.proto}`, pass: `pw-${p.proto}`, secure: p.tlsExpected }]);
      expect(m.from).toBe("sender@example.com");
      expect(m.to).toEqual(["alice@example.net"]);
      expect(m.mailParams.BODY).toBeUndefined();
      for (const b of m.raw) expect(b).toBeLessThan(128);
      const parsed = await simpleParser(m.raw);
      expect(parsed.subject).toBe(`via ${p.proto}`);
      expect(parsed.text?.trim()).toBe("Grüße aus Köln\nline two");
    });
  }
});

/**
 * A fake upstream that answers with a case's .upstream.smtp replies (greeting, EHLO, STARTTLS
 * when there is one) and records every command it is sent. A STARTTLS it did not offer gets 502.
 */
async function scriptedUpstream(file: string): Promise<{ port: number; commands: string[]; close(): Promise<void> }> {
  const text = (await caseBytes(file)).toString("latin1");
  const replies: string[] = [];
  let cur = "";
  for (const line of text.split("\r\n").filter(Boolean)) {
    cur += line + "\r\n";
    if (line[3] === " ") {
      replies.push(cur);
      cur = "";
    }
  }
  const [greeting, ehlo, starttls] = replies;
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    sock.write(greeting!);
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      let i: number;
      while ((i = buf.indexOf("\r\n")) >= 0) {
        const cmd = buf.slice(0, i);
        buf = buf.slice(i + 2);
        commands.push(cmd);
        const verb = cmd.split(" ")[0]!.toUpperCase();
        if (verb === "EHLO") sock.write(ehlo!);
        else if (verb === "HELO") sock.write("250 upstream.example.net\r\n");
        else if (verb === "STARTTLS") sock.write(starttls ?? "502 5.5.1 Error: command not implemented\r\n");
        else if (verb === "QUIT") sock.end("221 2.0.0 Bye\r\n");
        else if (verb === "RSET" || verb === "NOOP") sock.write("250 2.0.0 Ok\r\n");
        else sock.write("530 5.7.0 Must issue a STARTTLS command first\r\n");
      }
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    commands,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((res) => server.close(() => res()));
    },
  };
}

test("B09: starttls against an upstream that does not offer STARTTLS sends no AUTH or MAIL in the clear", async () => {
  const up = await scriptedUpstream("B09.upstream.smtp");
  try {
    const pid = await createSmtpProvider(g, up.port, { smtp_protocol: "starttls" });
    const token = await scopedKey(g, [pid]);
    const id = await sendVia(token, "B09");
    const view = await g.settle(id, ["deferred", "failed"]);
    expect(["deferred", "failed"]).toContain(view.status);
    expect(view.attempts.length).toBeGreaterThanOrEqual(1);
    expect(view.attempts.some((a: { response: string }) => a.response.includes("STARTTLS"))).toBe(true);
    expect(view.attempts[0].response).toContain("TLS with 127.0.0.1");
    if (view.status === "deferred") expect(view.next_attempt_at).toBeTruthy();
    expect(up.commands.length).toBeGreaterThan(0);
    expect(up.commands.some((c) => /^EHLO /i.test(c))).toBe(true);
    expect(up.commands.filter((c) => /^(AUTH|MAIL)\b/i.test(c))).toEqual([]);
    expect(up.commands.join("\n")).not.toContain("gateway-pass");
  } finally {
    await up.close();
  }
});

test("updating smtp_port closes the warm connection and the next send uses the new port", async () => {
  let closedA = 0;
  const a = await sink({ onClose: () => void closedA++ });
  const b = await sink();
  const pid = await createSmtpProvider(g, a.port);
  const token = await scopedKey(g, [pid]);
  const first = await sendVia(token, "to A");
  expect((await g.settle(first)).status).toBe("sent");
  expect(a.messages).toHaveLength(1);
  expect(closedA).toBe(0); // the pooled connection stays open between sends

  const patch = await g.api("PATCH", `/api/v1/providers/${pid}`, { smtp_port: b.port });
  expect(patch.status).toBe(200);
  expect(patch.json.data.smtp_port).toBe(b.port);
  await waitFor(() => closedA >= 1, "the warm connection to the old port to close", 5000);

  const second = await sendVia(token, "to B");
  expect((await g.settle(second)).status).toBe("sent");
  expect(a.messages).toHaveLength(1);
  expect(b.messages).toHaveLength(1);
  expect((await simpleParser(b.messages[0]!.raw)).subject).toBe("to B");
});

test("deleting a provider closes its warm connection", async () => {
  let closed = 0;
  const s = await sink({ onClose: () => void closed++ });
  const pid = await createSmtpProvider(g, s.port);
  const token = await scopedKey(g, [pid]);
  expect((await g.settle(await sendVia(token, "before delete"))).status).toBe("sent");
  expect(closed).toBe(0);
  expect((await g.api("DELETE", `/api/v1/providers/${pid}`)).status).toBe(200);
  await waitFor(() => closed >= 1, "the warm connection to close after DELETE", 5000);
});

test("a message that cannot be made 7-bit (non-ASCII address header) fails at once with the reason", async () => {
  const s = await sink();
  const pid = await createSmtpProvider(g, s.port);
  const token = await scopedKey(g, [pid]);
  const raw = Buffer.from("From: Jürgen <sender@example.com>\r\nTo: alice@example.net\r\nSubject: x\r\n\r\nbody\r\n", "utf8");
  const { relaySubmit } = await import("../helpers/providers.ts");
  const r = await relaySubmit(g, token, raw, { from: "sender@example.com", to: ["alice@example.net"] });
  expect(r.ok).toBe(true);
  const view = await g.settle(r.id!);
  expect(view.status).toBe("failed");
  expect(view.attempts).toHaveLength(1);
  expect(view.attempts[0].response).toMatch(/7-bit.*From header/);
  expect(s.messages).toHaveLength(0);
});
