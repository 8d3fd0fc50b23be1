import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/clock.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/log.ts";
import { startGateway, type RunningGateway } from "../../src/server.ts";
import { freePort, waitFor } from "./net.ts";
import { startTestRedis } from "./redis.ts";

export interface TestGateway {
  running: RunningGateway;
  /** http://127.0.0.1:<port> */
  base: string;
  /** The bootstrap account's full key. */
  token: string;
  /** The bootstrap capture provider. */
  captureId: string;
  accountId: string;
  dataDir: string;
  redisUrl: string;
  smtpPort: number;
  smtpsPort: number;
  /** fetch against the API with the bootstrap key (override with headers.authorization). */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers; text: string }>;
  /** Waits until GET /emails/{id} reports one of the statuses; returns the message view. */
  settle(id: string, statuses?: string[], timeoutMs?: number): Promise<any>;
  /** Raw bytes the capture provider stored for a message. */
  captured(id: string, providerId?: string): Promise<Buffer>;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  clock?: Clock;
  env?: Record<string, string>;
  /** Reuse a Redis (and data dir) instead of starting new ones, e.g. to restart a gateway. */
  redisUrl?: string;
  dataDir?: string;
}

/**
 * A whole gateway in this process: its own redis-server on a free port, its own data dir and
 * free ports for HTTP and both relay ports. stop() removes everything it started.
 */
export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const redis = opts.redisUrl ? null : await startTestRedis();
  const redisUrl = opts.redisUrl ?? redis!.url;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "smx-data-"));
  // Ports are looked up free, then bound by the gateway: another test process can take one in
  // between (EADDRINUSE), so a start that fails that way is tried again with new ports.
  const start = async () => {
    const [http, smtp, smtps] = [await freePort(), await freePort(), await freePort()];
    const cfg = loadConfig({
      SENDMUX_HTTP_ADDR: `127.0.0.1:${http}`,
      SENDMUX_SMTP_ADDR: `127.0.0.1:${smtp}`,
      SENDMUX_SMTPS_ADDR: `127.0.0.1:${smtps}`,
      SENDMUX_DATA_DIR: dataDir,
      SENDMUX_WORKERS: "1",
      SENDMUX_HOSTNAME: "gw.test",
      REDIS_URL: redisUrl,
      LOG_LEVEL: "silent",
      ...(opts.env ?? {}),
    });
    return startGateway(cfg, { clock: opts.clock, log: silentLogger });
  };
  let running: RunningGateway | undefined;
  for (let tryNo = 1; !running; tryNo++) {
    try {
      running = await start();
    } catch (e) {
      if (tryNo >= 4 || !/EADDRINUSE|in use|Failed to start server/i.test(String((e as Error).message))) throw e;
    }
  }
  const token = readFileSync(join(dataDir, "bootstrap-key"), "utf8").trim();
  const base = `http://127.0.0.1:${running.httpPort}`;
  const accountId = running.bootstrap.accountId;
  const providers = await running.gw.providers.list(accountId);
  const captureId = providers.find((p) => p.type === "capture")?.id ?? "";

  const api: TestGateway["api"] = async (method, path, body, headers = {}) => {
    const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
    let payload: BodyInit | undefined;
    if (body !== undefined) {
      if (typeof body === "string" || body instanceof Uint8Array) payload = body as BodyInit;
      else payload = JSON.stringify(body);
      h["content-type"] ??= "application/json";
    }
    const res = await fetch(base + path, { method, headers: h, body: payload });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, json, headers: res.headers, text };
  };

  const settle: TestGateway["settle"] = async (id, statuses = ["sent", "failed", "rejected", "canceled"], timeoutMs = 15_000) =>
    waitFor(async () => {
      const r = await api("GET", `/api/v1/emails/${id}`);
      return r.status === 200 && statuses.includes(r.json.data.status) ? r.json.data : null;
    }, `message ${id} to reach ${statuses.join("/")}`, timeoutMs);

  const captured: TestGateway["captured"] = async (id, providerId = captureId) => {
    const raw = await waitFor(() => running.gw.outbox.raw(accountId, providerId, id), `message ${id} in outbox ${providerId}`);
    return raw;
  };

  return {
    running,
    base,
    token,
    captureId,
    accountId,
    dataDir,
    redisUrl,
    smtpPort: running.smtpPort,
    smtpsPort: running.smtpsPort,
    api,
    settle,
    captured,
    async stop() {
      await running.stop();
      if (redis) await redis.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
