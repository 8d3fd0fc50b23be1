import { afterAll, beforeAll, expect, test } from "bun:test";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

/** swaks (Debian package `swaks`) as a real client of both relay ports. */

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

/** Runs swaks against the relay, killed after 20 s at the latest. */
async function swaks(args: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(["swaks", "--server", "127.0.0.1", "--timeout", "15", "--from", "sender@example.com", ...args], { stdout: "pipe", stderr: "pipe" });
  const killer = setTimeout(() => p.kill(), 20_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(killer);
  return { code, out: out + err };
}

async function checkDelivered(out: string, subject: string): Promise<void> {
  const id = out.match(/250 2\.0\.0 Ok: queued as (eml_[a-z0-9]{24})/)?.[1];
  expect(id).toBeDefined();
  const view = await g.settle(id!);
  expect(view.status).toBe("sent");
  const list = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
  const item = list.json.data.find((x: { message_id: string }) => x.message_id === id);
  expect(item.envelope).toEqual({ from: "sender@example.com", to: ["alice@example.net", "bob@example.org"] });
  const raw = await fetch(`${g.base}/api/v1/providers/${g.captureId}/outbox/${id}`, { headers: { authorization: `Bearer ${g.token}` } });
  const parsed = await simpleParser(Buffer.from(await raw.arrayBuffer()));
  expect(parsed.subject).toBe(subject);
  expect(parsed.text?.trim()).toBe("sent by swaks");
  // swaks writes its own Message-ID and Date; they are kept, not replaced or doubled
  expect(parsed.messageId).toMatch(/^<.+>$/);
  expect(parsed.messageId).not.toContain(id!);
}

test("swaks --tls on the STARTTLS port with AUTH PLAIN delivers into the capture outbox", async () => {
  const r = await swaks([
    "--port", String(g.smtpPort), "--tls", "--auth", "PLAIN", "--auth-user", "whoever", "--auth-password", g.token,
    "--to", "alice@example.net,bob@example.org", "--header", "Subject: swaks starttls", "--body", "sent by swaks",
  ]);
  expect(r.code).toBe(0);
  await checkDelivered(r.out, "swaks starttls");
}, 30_000);

test("swaks --tlsc on the implicit-TLS port with AUTH LOGIN delivers into the capture outbox", async () => {
  const r = await swaks([
    "--port", String(g.smtpsPort), "--tlsc", "--auth", "LOGIN", "--auth-user", "someone@example.com", "--auth-password", g.token,
    "--to", "alice@example.net,bob@example.org", "--header", "Subject: swaks implicit", "--body", "sent by swaks",
  ]);
  expect(r.code).toBe(0);
  await checkDelivered(r.out, "swaks implicit");
}, 30_000);

test("swaks with a wrong key gets 535 5.7.8 and sends nothing", async () => {
  const before = (await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`)).json.data.length;
  const r = await swaks([
    "--port", String(g.smtpsPort), "--tlsc", "--auth", "PLAIN", "--auth-user", "x", "--auth-password", "smx_" + "w".repeat(40),
    "--to", "alice@example.net", "--header", "Subject: wrong key",
  ]);
  expect(r.code).not.toBe(0);
  expect(r.out).toMatch(/535 5\.7\.8 /);
  await Bun.sleep(300);
  expect((await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`)).json.data.length).toBe(before);
}, 30_000);

test("swaks without TLS on the submission port is offered no AUTH, so the key never goes out in clear", async () => {
  const r = await swaks([
    "--port", String(g.smtpPort), "--auth", "PLAIN", "--auth-user", "x", "--auth-password", g.token, "--to", "alice@example.net",
  ]);
  expect(r.code).not.toBe(0);
  expect(r.out).not.toContain(Buffer.from(`\0x\0${g.token}`).toString("base64"));
  expect(r.out).toMatch(/did not advertise authentication/i);
}, 30_000);
