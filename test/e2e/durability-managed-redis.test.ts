/**
 * Acknowledged means durable with the managed redis-server (no REDIS_URL): after kill -9 of the
 * gateway its redis-server lives on as an orphan; the restarted gateway adopts that same server
 * (src/redis/managed.ts `adopt`) instead of starting a second one, and delivers what was pending.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { waitFor } from "../helpers/net.ts";
import { spawnGateway, startHoldingSink, type GatewayProcess, type HoldingSink } from "../helpers/process.ts";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
}, 60_000);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("after kill -9 the orphaned managed redis-server is adopted on restart and every acknowledged message is delivered once", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "smx-dur-managed-"));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const pidFile = join(dataDir, "redis", "redis.pid");
  const redisPid = () => Number(readFileSync(pidFile, "utf8").trim());
  // Whatever happens, the redis-server this test caused to run does not outlive it.
  cleanups.push(async () => {
    if (existsSync(pidFile) && alive(redisPid())) process.kill(redisPid(), "SIGKILL");
  });
  const sink: HoldingSink = await startHoldingSink();
  cleanups.push(() => sink.close());

  let gw: GatewayProcess = await spawnGateway({ dataDir });
  cleanups.push(() => gw.stop());
  const firstRedis = redisPid();
  expect(alive(firstRedis)).toBe(true);

  const captureId = (await gw.api("GET", "/api/v1/providers")).json.data.find((p: any) => p.type === "capture").id;
  const created = await gw.api("POST", "/api/v1/providers", { name: "slow upstream", type: "smtp", smtp_host: "127.0.0.1", smtp_port: sink.port, smtp_protocol: "none" });
  expect(created.status).toBe(201);
  expect((await gw.api("POST", `/api/v1/providers/${captureId}/deactivate`)).status).toBe(200);

  const subjects = ["managed one", "managed two", "managed three"];
  const batch = await gw.api("POST", "/api/v1/emails/send/batch", {
    messages: subjects.map((subject, i) => ({ from: { email: "sender@example.com" }, to: { email: `rcpt${i}@example.net` }, subject, text_body: `body of ${subject}` })),
  });
  expect(batch.status).toBe(200);
  expect(batch.json.data.summary).toMatchObject({ total: 3, queued: 3, failed: 0 });
  const ids: string[] = batch.json.data.results.map((r: any) => r.message_id);

  await waitFor(() => sink.held >= 1, "the upstream to hold a DATA reply", 15_000);
  await gw.kill9();
  sink.release();
  expect(sink.messages).toHaveLength(0);
  // The gateway is gone; its redis-server is not (nothing stopped it).
  expect(alive(firstRedis)).toBe(true);

  gw = await spawnGateway({ dataDir });
  // Adopted, not replaced: the same process still serves, with the data it held.
  expect(redisPid()).toBe(firstRedis);
  expect(gw.token).toBe(readFileSync(join(dataDir, "bootstrap-key"), "utf8").trim());
  for (const id of ids) {
    await waitFor(async () => (await gw.api("GET", `/api/v1/emails/${id}`)).json?.data?.status === "sent", `message ${id} to be sent after the restart`, 20_000);
  }
  await Bun.sleep(300);
  expect(sink.messages).toHaveLength(3);
  const got = await Promise.all(sink.messages.map(async (m) => ({ to: m.to, mail: await simpleParser(m.raw) })));
  got.sort((a, b) => a.to[0]!.localeCompare(b.to[0]!));
  expect(got.map((g) => g.to)).toEqual([["rcpt0@example.net"], ["rcpt1@example.net"], ["rcpt2@example.net"]]);
  expect(got.map((g) => g.mail.subject)).toEqual(subjects);
  expect(got.map((g) => g.mail.text?.trim())).toEqual(subjects.map((s) => `body of ${s}`));

  // The adopted server is supervised like one the gateway started: when it dies, a new one is
  // started (the gateway knows how, though it did not start the first) with the data kept.
  process.kill(firstRedis, "SIGKILL");
  await waitFor(() => existsSync(pidFile) && redisPid() !== firstRedis && alive(redisPid()), "a new redis-server after the adopted one died", 15_000);
  const secondRedis = redisPid();
  await waitFor(async () => (await gw.api("GET", "/readyz")).status === 200, "the gateway to be ready again", 15_000);
  expect((await gw.api("GET", `/api/v1/emails/${ids[0]}`)).json.data.status).toBe("sent");
  const after = await gw.api("POST", "/api/v1/emails/send", { from: { email: "sender@example.com" }, to: { email: "rcpt9@example.net" }, subject: "after the restart", text_body: "still here" });
  expect(after.status).toBe(200);

  // A clean stop of the gateway also stops the redis-server it runs.
  expect(await gw.stop()).toBe(0);
  await waitFor(() => !alive(secondRedis), "the redis-server to stop with the gateway", 10_000);
}, 60_000);
