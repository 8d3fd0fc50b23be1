import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Redis from "ioredis";
import { RedisServer } from "../../src/redis/managed.ts";
import { K } from "../../src/store/keys.ts";
import { spawnGateway, type GatewayProcess } from "../../test/helpers/process.ts";

/** The same Bun for every checkout: only the gateway's code differs between sides. */
const BUN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));

export interface BenchGateway {
  gw: GatewayProcess;
  redis: RedisServer;
  /** Messages stored so far (every account's message index), read straight from Redis. */
  stored(): Promise<number>;
  /** Messages a capture provider has stored so far (its outbox), read straight from Redis. */
  captured(providerId: string): Promise<number>;
  /** Creates `n` send keys with the given scope (so the per-key rate limit is never what is measured). */
  keys(n: number, scope?: unknown): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A fresh redis-server of the bench's own (Unix socket, AOF with fsync always: the managed default;
 * BENCH_REDIS_FSYNC=everysec to see what the per-write fsync costs)
 * and the gateway as a child process (`bun run src/main.ts`) with default settings otherwise.
 * `root` is the source tree to run (default this one; bench/lib/checkout.ts makes a second one).
 */
export async function startBenchGateway(opts: { root?: string } = {}): Promise<BenchGateway> {
  const dir = mkdtempSync(join(tmpdir(), "smx-bench-"));
  const fsync = process.env.BENCH_REDIS_FSYNC === "everysec" ? "everysec" : "always";
  const redis = await RedisServer.start({ dir: join(dir, "redis"), fsync });
  let gw: GatewayProcess;
  try {
    gw = await spawnGateway({
      dataDir: join(dir, "data"),
      redisUrl: redis.url,
      env: { SENDMUX_WORKERS: "2", SENDMUX_NODE_ID: "bench" },
      ...(opts.root ? { cmd: [BUN, "run", join(opts.root, "src", "main.ts")], cwd: opts.root } : {}),
    });
  } catch (e) {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const r = new Redis({ path: redis.socketPath, lazyConnect: true });
  r.on("error", () => {});
  return {
    gw,
    redis,
    async stored() {
      let total = 0;
      let cursor = "0";
      do {
        const [next, keys] = await r.scan(cursor, "MATCH", "smx:{a:*}:msgs", "COUNT", 1000);
        cursor = next;
        for (const k of keys) total += await r.zcard(k);
      } while (cursor !== "0");
      return total;
    },
    async captured(providerId) {
      // The key layout is the same in every checkout the bench compares (017f760 onwards).
      const account = await r.get(K.bootstrap());
      return account ? r.zcard(K.outbox(account, providerId)) : 0;
    },
    async keys(n, scope = { type: "all" }) {
      const out: string[] = [];
      for (let i = 0; i < n; i += 8) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(8, n - i) }, async (_, k) => {
            const res = await gw.api("POST", "/api/v1/api-keys", { name: `bench ${i + k}`, permission: "send", scope });
            if (res.status !== 201) throw new Error(`creating a bench key: HTTP ${res.status} ${JSON.stringify(res.json)}`);
            return res.json.data.token as string;
          }),
        );
        out.push(...batch);
      }
      return out;
    },
    async stop() {
      r.disconnect();
      await gw.stop().catch(() => {});
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
