/**
 * After kill -9, the restarted gateway takes up its own pending work, but an upstream that is still
 * slow must not keep it from starting: HTTP accepts at once, and once the upstream answers both the
 * interrupted message and the new one are delivered, each once.
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

const mail = (subject: string) => ({ from: { email: "sender@example.com" }, to: { email: "alice@example.net" }, subject, text_body: subject });

test("a restart with pending work for a still-slow upstream starts at once, accepts, and delivers everything once", async () => {
  const redis = await startTestRedis();
  cleanups.push(() => redis.stop());
  const dataDir = mkdtempSync(join(tmpdir(), "smx-dur-slow-"));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const sink: HoldingSink = await startHoldingSink();
  cleanups.push(() => sink.close());

  let gw: GatewayProcess = await spawnGateway({ dataDir, redisUrl: redis.url });
  cleanups.push(() => gw.stop());
  const captureId = (await gw.api("GET", "/api/v1/providers")).json.data.find((p: any) => p.type === "capture").id;
  expect((await gw.api("POST", "/api/v1/providers", { name: "slow upstream", type: "smtp", smtp_host: "127.0.0.1", smtp_port: sink.port, smtp_protocol: "none" })).status).toBe(201);
  expect((await gw.api("POST", `/api/v1/providers/${captureId}/deactivate`)).status).toBe(200);

  const first = await gw.api("POST", "/api/v1/emails/send", mail("before the crash"));
  expect(first.status).toBe(200);
  await waitFor(() => sink.held === 1, "the upstream to hold the first DATA reply", 15_000);
  await gw.kill9();
  sink.refuseHeld(); // the dead sender's copy is never acknowledged; the upstream stays slow

  // Ready within 10 s although the first message is again stuck at the upstream, whose replies
  // would time out only after minutes.
  gw = await spawnGateway({ dataDir, redisUrl: redis.url, readyTimeoutMs: 10_000 });
  await waitFor(() => sink.held === 2, "the restarted gateway to retry the interrupted message", 15_000);
  const second = await gw.api("POST", "/api/v1/emails/send", mail("after the restart"));
  expect(second.status).toBe(200);

  sink.acceptHeld();
  for (const id of [first.json.data.message_id, second.json.data.message_id]) {
    await waitFor(async () => (await gw.api("GET", `/api/v1/emails/${id}`)).json?.data?.status === "sent", `message ${id} to be sent`, 20_000);
  }
  await Bun.sleep(300);
  const subjects = await Promise.all(sink.messages.map(async (m) => (await simpleParser(m.raw)).subject));
  expect(subjects.sort()).toEqual(["after the restart", "before the crash"]);
}, 60_000);
