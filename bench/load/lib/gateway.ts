import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Redis from "ioredis";
import { RedisServer } from "../../../src/redis/managed.ts";
import { K } from "../../../src/store/keys.ts";
import { spawnGateway, type GatewayProcess } from "../../../test/helpers/process.ts";

const BUN = fileURLToPath(new URL("../../../node_modules/.bin/bun", import.meta.url));

export interface LoadGateway {
  gw: GatewayProcess;
  redis: RedisServer;
  /** A client of the gateway's own redis-server (Unix socket), for reading what the gateway stored. */
  r: Redis;
  account: string;
  /** A capture provider (EXT: stores what it "sends" in a Redis outbox); returns its id. */
  capture(name: string): Promise<string>;
  /** An smtp provider pointing at a server that accepts connections and never greets: delivery stalls, the accept path runs alone. */
  held(): Promise<string>;
  /** A send key scoped to the given providers: its id (the rate log is K.rateLog(id)) and token. */
  key(name: string, providers: string[]): Promise<{ id: string; token: string }>;
  /** The gateway process's VmRSS and VmHWM (bytes) from /proc/<pid>/status. */
  mem(): { rss: number; hwm: number };
  /** Resets VmHWM to the current RSS (writes 5 to /proc/<pid>/clear_refs). */
  resetPeak(): boolean;
  stop(): Promise<void>;
}

/**
 * A fresh redis-server (Unix socket, AOF fsync always like the managed one) and the gateway as a
 * child process (`bun run src/main.ts` of `root`), with extra environment (e.g. the benchmarking
 * switch SENDMUX_BENCH_NO_RATE_LIMIT=true). Stops both and deletes the temp dir in stop().
 */
export async function startLoadGateway(opts: { root: string; env?: Record<string, string> }): Promise<LoadGateway> {
  const dir = mkdtempSync(join(tmpdir(), "smx-load-"));
  const redis = await RedisServer.start({ dir: join(dir, "redis"), fsync: "always" });
  let gw: GatewayProcess;
  try {
    gw = await spawnGateway({
      dataDir: join(dir, "data"),
      redisUrl: redis.url,
      env: { SENDMUX_WORKERS: "2", SENDMUX_NODE_ID: "bench-load", ...(opts.env ?? {}) },
      cmd: [BUN, "run", join(opts.root, "src", "main.ts")],
      cwd: opts.root,
    });
  } catch (e) {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const r = new Redis({ path: redis.socketPath });
  r.on("error", () => {});
  const account = (await r.get(K.bootstrap()))!;
  const mutes: Server[] = [];
  const sockets = new Set<Socket>();
  const api = async (method: string, path: string, body: unknown) => {
    const res = await gw.api(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
    return res.json.data;
  };
  const status = () => readFileSync(`/proc/${gw.pid}/status`, "utf8");
  const kb = (s: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0) * 1024;
  return {
    gw,
    redis,
    r,
    account,
    async capture(name) {
      return (await api("POST", "/api/v1/providers", { name, type: "capture" })).id;
    },
    async held() {
      const mute = createServer((sock) => {
        sockets.add(sock);
        sock.on("error", () => {});
        sock.on("close", () => sockets.delete(sock));
      }).listen(0, "127.0.0.1");
      await once(mute, "listening");
      mutes.push(mute);
      const port = (mute.address() as AddressInfo).port;
      return (await api("POST", "/api/v1/providers", { name: "never greets", type: "smtp", smtp_host: "127.0.0.1", smtp_port: port, smtp_protocol: "none" })).id;
    },
    async key(name, providers) {
      const d = await api("POST", "/api/v1/api-keys", { name, permission: "send", scope: { type: "specific", providers } });
      return { id: d.id, token: d.token };
    },
    mem() {
      const s = status();
      return { rss: kb(s, "VmRSS"), hwm: kb(s, "VmHWM") };
    },
    resetPeak() {
      try {
        writeFileSync(`/proc/${gw.pid}/clear_refs`, "5");
        return true;
      } catch {
        return false;
      }
    },
    async stop() {
      r.disconnect();
      await gw.stop().catch(() => {});
      await redis.stop();
      for (const m of mutes) m.close();
      for (const s of sockets) s.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
