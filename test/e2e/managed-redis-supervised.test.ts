import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/log.ts";
import { startGateway, type RunningGateway } from "../../src/server.ts";
import { freePort, waitFor } from "../helpers/net.ts";

let running: RunningGateway;
let dataDir: string;
let base: string;
let token: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "smx-managed-"));
  const cfg = loadConfig({
    SENDMUX_HTTP_ADDR: `127.0.0.1:${await freePort()}`,
    SENDMUX_SMTP_ADDR: `127.0.0.1:${await freePort()}`,
    SENDMUX_SMTPS_ADDR: `127.0.0.1:${await freePort()}`,
    SENDMUX_DATA_DIR: dataDir,
    SENDMUX_WORKERS: "1",
  });
  running = await startGateway(cfg, { log: silentLogger });
  base = `http://127.0.0.1:${running.httpPort}`;
  token = readFileSync(join(dataDir, "bootstrap-key"), "utf8").trim();
});
afterAll(async () => {
  await running?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const send = () =>
  fetch(`${base}/api/v1/emails/send`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "supervised", text_body: "x" }),
  });

test("the managed redis-server (fsync always) is started again when it dies, and nothing acknowledged before is lost", async () => {
  const before = await send();
  expect(before.status).toBe(200);
  const id = (await before.json()).data.message_id;
  const pid = Number(readFileSync(join(dataDir, "redis", "redis.pid"), "utf8"));
  process.kill(pid, "SIGKILL");
  // Readiness says so while it is down, and comes back by itself.
  const ready = await waitFor(async () => {
    const r = await fetch(`${base}/readyz`);
    return r.status === 200 ? r : null;
  }, "readyz to answer 200 again", 20_000, 100);
  expect(ready.status).toBe(200);
  expect(Number(readFileSync(join(dataDir, "redis", "redis.pid"), "utf8"))).not.toBe(pid);
  const after = await waitFor(async () => {
    const r = await send();
    return r.status === 200 ? r : null;
  }, "a send to be accepted again", 20_000, 100);
  expect(after.status).toBe(200);
  const view = await waitFor(async () => {
    const r = await fetch(`${base}/api/v1/emails/${id}`, { headers: { authorization: `Bearer ${token}` } });
    const j = await r.json();
    return j.data?.status === "sent" ? j.data : null;
  }, "the message accepted before the crash to be sent", 20_000, 100);
  expect(view.status).toBe("sent");
});
