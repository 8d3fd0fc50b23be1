import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "./api/app.ts";
import { rateHeaders, requestRate } from "./ratelimit.ts";
import { bootstrap, type BootstrapResult } from "./bootstrap.ts";
import { RedisSyncedClock, systemClock, type Clock } from "./clock.ts";
import { resolveAdminToken, resolveSecretKey, type Config } from "./config.ts";
import { Dispatcher } from "./dispatch/dispatcher.ts";
import { ShardPool } from "./dispatch/pool.ts";
import { createGateway, subscribeChanges, type Gateway } from "./gateway.ts";
import { createLogger, type Logger } from "./log.ts";
import { RedisServer } from "./redis/managed.ts";
import { startRelay } from "./smtp/relay.ts";
import { connectRedis } from "./store/redis.ts";
import { loadTls } from "./tls.ts";
import { WebhookWorker } from "./webhooks/worker.ts";

/** POST /api/v1/providers/{id}/test and /api/v1/webhooks/{id}/test (with or without a query). */
const SLOW_ROUTE = /\/api\/v1\/(?:providers|webhooks)\/[^/?]+\/test\/?(?:\?|$)/;

export interface RunningGateway {
  gw: Gateway;
  pool: ShardPool;
  dispatcher: Dispatcher;
  /** Webhook delivery: reads the events streams, POSTs to the endpoints, runs the retries. */
  webhooks: WebhookWorker;
  bootstrap: BootstrapResult;
  httpPort: number;
  smtpPort: number;
  smtpsPort: number;
  managedRedis: RedisServer | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  log?: Logger;
  /** The worker thread entry; main.ts passes the one next to it (also inside the compiled binary). */
  workerFile?: string;
}

export const DEFAULT_WORKER_FILE = new URL("../workers/send-worker.ts", import.meta.url).href;

/** Starts every part of the gateway; stop() takes it down in reverse order. */
export async function startGateway(cfg: Config, opts: StartOptions = {}): Promise<RunningGateway> {
  const log = opts.log ?? createLogger(cfg.logLevel);
  let clock: Clock = opts.clock ?? systemClock;
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        log.warn({ component: "main", err: e }, "error while stopping");
      }
    }
  };
  try {
    lockDataDir(cfg.dataDir);
    cleanups.push(() => unlockDataDir(cfg.dataDir));
    let managedRedis: RedisServer | null = null;
    let target: string | { path: string } | { host: string; port: number };
    if (cfg.redisUrl) target = cfg.redisUrl;
    else {
      managedRedis = await RedisServer.start({ dir: join(cfg.dataDir, "redis"), fsync: cfg.redisFsync, adopt: true });
      cleanups.push(() => managedRedis!.stop());
      target = managedRedis.connection;
      log.info({ component: "redis", socket: managedRedis.socketPath }, "managed redis-server running (AOF on)");
      managedRedis.supervise((what, detail) => {
        if (what === "down") log.error({ component: "redis" }, "managed redis-server stopped answering; starting it again from its append-only file");
        else if (what === "restarted") log.warn({ component: "redis" }, "managed redis-server is running again");
        else log.error({ component: "redis", err: detail }, "managed redis-server could not be started again; will keep trying");
      });
    }
    const redis = connectRedis(target);
    redis.on("error", (err) => log.warn({ component: "redis", err: err.message }, "redis connection error"));
    cleanups.push(() => void redis.disconnect());
    await redis.ping();
    if (!opts.clock) {
      // Shared state (cap windows, pauses, retry times) is judged by Redis's clock.
      const synced = new RedisSyncedClock(async () => (await redis.time()).map(String) as [string, string]);
      await synced.start();
      cleanups.push(() => synced.stop());
      clock = synced;
    }

    const secretKey = resolveSecretKey(cfg);
    resolveAdminToken(cfg);
    const gw = createGateway({ cfg, clock, log, redis, secretKey });
    const sub = connectRedis(target);
    sub.on("error", () => {});
    const unsubscribe = await subscribeChanges(gw, sub);
    cleanups.push(unsubscribe);

    const boot = await bootstrap(gw, cfg.dataDir);
    if (boot.created) {
      log.info({ component: "bootstrap", key_file: boot.keyFile, capture_provider_id: boot.captureProviderId }, `first start: created an account, a full API key in ${boot.keyFile} and a capture provider`);
    }

    const pool = new ShardPool(opts.workerFile ?? DEFAULT_WORKER_FILE, cfg.workers, { redis: target, captureMaxItems: cfg.captureMaxItems }, (err) => log.error({ component: "workers", err }, "worker thread failed; piscina starts a new one"));
    cleanups.push(() => pool.destroy());
    const reader = connectRedis(target, { enableAutoPipelining: false, maxRetriesPerRequest: null });
    reader.on("error", () => {});
    const dispatcher = new Dispatcher(gw, reader, pool, { consumer: cfg.nodeId });
    await dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    const webhookReader = connectRedis(target, { enableAutoPipelining: false, maxRetriesPerRequest: null });
    webhookReader.on("error", () => {});
    const webhooks = new WebhookWorker(gw, webhookReader, { consumer: cfg.nodeId });
    await webhooks.start();
    cleanups.push(() => webhooks.stop());

    const app = createApp(gw, pool);
    const slowRouteSeconds = Math.ceil(Math.max(cfg.providerTestTimeoutMs, cfg.webhookTimeoutMs) / 1000) + 15;
    const http = Bun.serve({
      hostname: cfg.httpAddr.host,
      port: cfg.httpAddr.port,
      fetch: async (req, server) => {
        // The test endpoints wait for an upstream (a provider, a webhook receiver) longer than
        // Bun's 10 s idle limit would let a request live; every other request keeps that limit.
        if (req.method === "POST" && SLOW_ROUTE.test(req.url)) server.timeout(req, slowRouteSeconds);
        const routed = withRoutableUrl(req);
        let res = await app.fetch(routed);
        const rate = requestRate.get(routed);
        if (rate) {
          if (Object.isFrozen(res.headers)) res = new Response(res.body, res);
          for (const [k, v] of Object.entries(rateHeaders(rate))) if (!res.headers.has(k)) res.headers.set(k, v);
        }
        gw.metrics.httpRequests.inc({ method: req.method, status: String(res.status) });
        return res;
      },
      // Our own reader (src/api/body.ts) enforces 25 MB while reading, with the documented 413
      // envelope. Bun's own limit would answer a larger Content-Length with a bare 413 before
      // our handler runs, so it is set out of the way; bodies are streamed, never pre-buffered.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    });
    cleanups.push(() => http.stop(true));

    const tls = await loadTls(cfg.tlsCertFile, cfg.tlsKeyFile, cfg.dataDir, cfg.hostname);
    const smtp = await startRelay(gw, { host: cfg.smtpAddr.host, port: cfg.smtpAddr.port, secure: false, cert: tls.cert, key: tls.key });
    cleanups.push(() => smtp.close());
    const smtps = await startRelay(gw, { host: cfg.smtpsAddr.host, port: cfg.smtpsAddr.port, secure: true, cert: tls.cert, key: tls.key });
    cleanups.push(() => smtps.close());

    log.info(
      { component: "main", http: `${cfg.httpAddr.host}:${http.port}`, smtp: `${cfg.smtpAddr.host}:${smtp.port}`, smtps: `${cfg.smtpsAddr.host}:${smtps.port}` },
      "sendmux is ready",
    );
    return { gw, pool, dispatcher, webhooks, bootstrap: boot, httpPort: http.port!, smtpPort: smtp.port, smtpsPort: smtps.port, managedRedis, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** One gateway per data dir: a second one would share (and stop) the first one's managed Redis. */
function lockDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true });
  const f = join(dataDir, "gateway.pid");
  if (existsSync(f)) {
    const pid = Number(readFileSync(f, "utf8").trim());
    if (pid > 0 && pid !== process.pid) {
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        /* stale: that process is gone */
      }
      if (alive) throw new Error(`another sendmux (pid ${pid}) is running with the data dir ${dataDir}; stop it or set SENDMUX_DATA_DIR`);
    }
  }
  writeFileSync(f, String(process.pid));
}

function unlockDataDir(dataDir: string): void {
  const f = join(dataDir, "gateway.pid");
  try {
    if (readFileSync(f, "utf8").trim() === String(process.pid)) rmSync(f);
  } catch {
    /* already gone */
  }
}

/**
 * Elysia finds the path by searching for "/" from index 11 of the URL, which skips into the path
 * when the Host is three characters or fewer ("http://api/…"): every route would answer 404.
 * Such requests get a URL with a longer host; nothing else reads the URL's host.
 */
export function withRoutableUrl(req: Request): Request {
  const slash = req.url.indexOf("/", 8);
  if (slash === -1 || slash >= 11) return req;
  const u = new URL(req.url);
  u.hostname = "sendmux.internal";
  return new Request(u.href, req);
}
