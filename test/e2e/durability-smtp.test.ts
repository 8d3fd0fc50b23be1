/**
 * Acknowledged means durable, for the SMTP relay: a message that got `250 ... queued as eml_…`
 * over STARTTLS is delivered after the gateway is killed with SIGKILL mid-send and restarted.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import nodemailer from "nodemailer";
import { waitFor } from "../helpers/net.ts";
import { spawnGateway, startHoldingSink, type GatewayProcess, type HoldingSink } from "../helpers/process.ts";
import { startTestRedis } from "../helpers/redis.ts";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
}, 60_000);

const RAW = [
  "From: Sam Sender <sender@example.com>",
  "To: Alice <alice@example.net>",
  "Bcc: hidden@example.org",
  "Subject: Relayed and durable",
  "Message-ID: <durable-smtp-1@client.example>",
  "Date: Tue, 02 Dec 2025 10:00:00 +0000",
  "X-Durability: smtp-250",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=utf-8",
  "Content-Transfer-Encoding: 7bit",
  "",
  "A line.",
  ".A line that starts with a dot.",
  "The last line.",
  "",
].join("\r\n");

test("a message acknowledged with SMTP 250 survives kill -9 of the gateway mid-send and is relayed once, as it came", async () => {
  const redis = await startTestRedis();
  cleanups.push(() => redis.stop());
  const dataDir = mkdtempSync(join(tmpdir(), "smx-dur-smtp-"));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const sink: HoldingSink = await startHoldingSink();
  cleanups.push(() => sink.close());

  let gw: GatewayProcess = await spawnGateway({ dataDir, redisUrl: redis.url });
  cleanups.push(() => gw.stop());
  const captureId = (await gw.api("GET", "/api/v1/providers")).json.data.find((p: any) => p.type === "capture").id;
  const created = await gw.api("POST", "/api/v1/providers", { name: "slow upstream", type: "smtp", smtp_host: "127.0.0.1", smtp_port: sink.port, smtp_protocol: "none" });
  expect(created.status).toBe(201);
  expect((await gw.api("POST", `/api/v1/providers/${captureId}/deactivate`)).status).toBe(200);

  const client = nodemailer.createTransport({
    host: "127.0.0.1",
    port: gw.smtpPort,
    secure: false,
    requireTLS: true,
    auth: { user: "anyone", pass: gw.token },
    tls: { rejectUnauthorized: false },
  });
  const info = await client.sendMail({ envelope: { from: "sender@example.com", to: ["alice@example.net", "hidden@example.org"] }, raw: RAW });
  client.close();
  expect(info.response).toMatch(/^250 .*queued as eml_[a-z0-9]{24}$/);
  const id = /eml_[a-z0-9]{24}/.exec(info.response)![0];

  await waitFor(() => sink.held === 1, "the upstream to hold the DATA reply", 15_000);
  expect((await gw.api("GET", `/api/v1/emails/${id}`)).json.data.status).toBe("sending");

  await gw.kill9();
  sink.release();

  gw = await spawnGateway({ dataDir, redisUrl: redis.url });
  const view = await waitFor(async () => {
    const r = await gw.api("GET", `/api/v1/emails/${id}`);
    return r.json?.data?.status === "sent" ? r.json.data : null;
  }, `message ${id} to be sent after the restart`, 20_000);
  expect(view.attempts).toHaveLength(1);

  await Bun.sleep(300);
  expect(sink.messages).toHaveLength(1);
  const got = sink.messages[0]!;
  expect(got.from).toBe("sender@example.com");
  expect(got.to.sort()).toEqual(["alice@example.net", "hidden@example.org"]);
  // Relayed as it came: byte for byte, less the Bcc header (Message-ID and Date were present).
  expect(got.raw.toString("latin1")).toBe(RAW.replace("Bcc: hidden@example.org\r\n", ""));
  const mail = await simpleParser(got.raw);
  expect(mail.subject).toBe("Relayed and durable");
  expect(mail.messageId).toBe("<durable-smtp-1@client.example>");
  expect(mail.headers.get("x-durability")).toBe("smtp-250");
  expect(mail.headers.has("bcc")).toBe(false);
  expect(mail.text).toBe("A line.\n.A line that starts with a dot.\nThe last line.\n");
}, 60_000);
