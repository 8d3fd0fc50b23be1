/**
 * Acknowledged means durable (SPEC "Sending"): a message that got HTTP 200 is delivered after the
 * gateway is killed with SIGKILL while the message is mid-send, and restarted on the same Redis.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { waitFor } from "../helpers/net.ts";
import { spawnGateway, startHoldingSink, type GatewayProcess, type HoldingSink } from "../helpers/process.ts";
import { startTestRedis } from "../helpers/redis.ts";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
}, 60_000);

test("a message acknowledged with HTTP 200 survives kill -9 of the gateway mid-send and is delivered once, as sent", async () => {
  const redis = await startTestRedis();
  cleanups.push(() => redis.stop());
  const dataDir = mkdtempSync(join(tmpdir(), "smx-dur-http-"));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const sink: HoldingSink = await startHoldingSink();
  cleanups.push(() => sink.close());

  let gw: GatewayProcess = await spawnGateway({ dataDir, redisUrl: redis.url });
  cleanups.push(() => gw.stop());
  const boot = await gw.api("GET", "/api/v1/providers");
  const captureId = boot.json.data.find((p: any) => p.type === "capture").id;
  const created = await gw.api("POST", "/api/v1/providers", {
    name: "slow upstream",
    type: "smtp",
    smtp_host: "127.0.0.1",
    smtp_port: sink.port,
    smtp_protocol: "none",
  });
  expect(created.status).toBe(201);
  const smtpId = created.json.data.id;
  // Only the SMTP upstream may take the message, so it cannot land in the capture outbox instead.
  expect((await gw.api("POST", `/api/v1/providers/${captureId}/deactivate`)).status).toBe(200);

  const sent = await gw.api("POST", "/api/v1/emails/send", {
    from: { email: "sender@example.com", name: "Sam Sender" },
    to: [{ email: "alice@example.net" }],
    cc: [{ email: "carol@example.net" }],
    bcc: [{ email: "hidden@example.org" }],
    subject: "Durable after kill -9",
    text_body: "first line\nsecond line",
    html_body: "<p>durable</p>",
    custom_headers: { "X-Durability": "http-200" },
  });
  expect(sent.status).toBe(200);
  const id: string = sent.json.data.message_id;

  // The upstream has the whole message but has not answered: it is mid-send, not delivered.
  await waitFor(() => sink.held === 1, "the upstream to hold the DATA reply", 15_000);
  const during = await gw.api("GET", `/api/v1/emails/${id}`);
  expect(during.json.data.status).toBe("sending");
  expect(sink.messages).toHaveLength(0);

  await gw.kill9();
  sink.release();
  expect(sink.messages).toHaveLength(0);

  gw = await spawnGateway({ dataDir, redisUrl: redis.url });
  const view = await waitFor(async () => {
    const r = await gw.api("GET", `/api/v1/emails/${id}`);
    return r.json?.data?.status === "sent" ? r.json.data : null;
  }, `message ${id} to be sent after the restart`, 20_000);
  expect(view.provider_id).toBe(smtpId);
  expect(view.attempts).toHaveLength(1);
  expect(view.attempts[0].outcome).toBe("sent");

  // Exactly once to the upstream (the held copy was never acknowledged by it), with what was sent.
  await Bun.sleep(300);
  expect(sink.messages).toHaveLength(1);
  const got = sink.messages[0]!;
  expect(got.from).toBe("sender@example.com");
  expect(got.to.sort()).toEqual(["alice@example.net", "carol@example.net", "hidden@example.org"]);
  const mail = await simpleParser(got.raw);
  expect(mail.subject).toBe("Durable after kill -9");
  expect(mail.from?.value).toEqual([{ address: "sender@example.com", name: "Sam Sender" }]);
  expect((Array.isArray(mail.to) ? mail.to : [mail.to]).flatMap((a) => a!.value.map((v) => v.address))).toEqual(["alice@example.net"]);
  expect((Array.isArray(mail.cc) ? mail.cc : [mail.cc]).flatMap((a) => a!.value.map((v) => v.address))).toEqual(["carol@example.net"]);
  expect(mail.headers.has("bcc")).toBe(false);
  expect(mail.headers.get("x-durability")).toBe("http-200");
  expect(mail.text?.trim()).toBe("first line\nsecond line");
  expect(mail.html).toContain("<p>durable</p>");
}, 60_000);
