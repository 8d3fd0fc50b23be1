/**
 * The single binary (`npm run build`, scripts/build.ts) runs the same gateway, worker threads
 * included, from any directory: build it once into a temp dir, start it there, send, read it back.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { simpleParser } from "mailparser";
import { waitFor } from "../helpers/net.ts";
import { spawnGateway, type GatewayProcess } from "../helpers/process.ts";
import { startTestRedis } from "../helpers/redis.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
}, 60_000);

test("the compiled binary starts from another directory and delivers through its worker threads", async () => {
  const dir = mkdtempSync(join(tmpdir(), "smx-bin-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, "sendmux");
  const build = Bun.spawnSync([join(ROOT, "node_modules/.bin/bun"), "run", join(ROOT, "scripts/build.ts"), bin], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(build.stderr.toString()).toBe("");
  expect(build.exitCode).toBe(0);
  // Nothing is loaded from this machine's node_modules at run time (piscina's thread loader is embedded).
  const image = await Bun.file(bin).bytes();
  expect(Buffer.from(image.buffer).includes(realpathSync(join(ROOT, "node_modules/piscina")))).toBe(false);

  const help = Bun.spawnSync([bin, "--help"], { cwd: dir, stdout: "pipe" });
  expect(help.exitCode).toBe(0);
  expect(help.stdout.toString()).toContain("SENDMUX_DATA_DIR");

  const redis = await startTestRedis();
  cleanups.push(() => redis.stop());
  const gw: GatewayProcess = await spawnGateway({ dataDir: join(dir, "data"), redisUrl: redis.url, cmd: [bin], cwd: dir });
  cleanups.push(() => gw.stop());

  const sent = await gw.api("POST", "/api/v1/emails/send", { from: { email: "a@example.com" }, to: { email: "b@example.net" }, subject: "from the binary", text_body: "hi" });
  expect(sent.status).toBe(200);
  const id = sent.json.data.message_id;
  const captureId = (await gw.api("GET", "/api/v1/providers")).json.data.find((p: any) => p.type === "capture").id;
  await waitFor(async () => (await gw.api("GET", `/api/v1/emails/${id}`)).json?.data?.status === "sent", `message ${id} to be sent`, 15_000);
  const list = await gw.api("GET", `/api/v1/providers/${captureId}/outbox`);
  expect(list.json.data.map((m: any) => m.message_id)).toEqual([id]);
  const raw = await fetch(`${gw.base}/api/v1/providers/${captureId}/outbox/${id}`, { headers: { authorization: `Bearer ${gw.token}` } });
  const mail = await simpleParser(Buffer.from(await raw.arrayBuffer()));
  expect(mail.subject).toBe("from the binary");
  expect(await gw.stop()).toBe(0);
}, 60_000);
