import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Redis from "ioredis";
import { RedisServer } from "../../../src/redis/managed.ts";
import { message } from "../../scenarios/message.ts";
import { runWrk, type LoadResult } from "../../lib/wrk.ts";
import * as sc from "../scenarios/limiter-overhead.ts";
import { startLoadGateway, type LoadGateway } from "./gateway.ts";
import { fmt, median, table } from "./report.ts";

const LUA = fileURLToPath(new URL("../../../src/store/lua/rateLimit-1.lua", import.meta.url));

async function prepare(root: string, off: boolean) {
  const lg = await startLoadGateway({ root, env: off ? { SENDMUX_BENCH_NO_RATE_LIMIT: "true" } : {} });
  const held = await lg.held();
  const tokens: string[] = [];
  for (let i = 0; i < sc.keys; i += 10) tokens.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => lg.key(`overhead ${i + k}`, [held])))).map((k) => k.token));
  return { lg, tokens };
}

/** µs per call, one call at a time (as redis-benchmark -c 1 would), `n` calls. */
async function perCall(n: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await call(i);
  return ((performance.now() - t0) * 1000) / n;
}

export async function limiterOverhead(root: string) {
  const on = await prepare(root, false);
  let off: Awaited<ReturnType<typeof prepare>> | null = null;
  try {
    off = await prepare(root, true);
    const sides = [
      { label: "limiter on", g: on },
      { label: "limiter off", g: off },
    ];
    const rowsOut: Array<Array<string | number>> = [];
    const summary: Array<Array<string | number>> = [];
    const figures: Record<string, unknown> = {};
    for (const ep of sc.endpoints) {
      const req = { method: ep.method, path: ep.path, body: ep.method === "POST" ? JSON.stringify(message(0)) : "" };
      const got: Record<string, LoadResult[]> = { "limiter on": [], "limiter off": [] };
      for (const s of sides) await runWrk(s.g.lg.gw.base, req, s.g.tokens, sc.options.vus, 2); // warm-up
      for (let r = 0; r < sc.options.rounds; r++) {
        const order = r % 2 === 0 ? sides : [...sides].reverse();
        for (const s of order) {
          const res = await runWrk(s.g.lg.gw.base, req, s.g.tokens, sc.options.vus, Number(sc.options.duration.replace("s", "")));
          got[s.label]!.push(res);
          rowsOut.push([ep.name, s.label, r + 1, res.reqPerSec, res.p50Ms, res.p99Ms, ep.method === "GET" ? res.socketErrors : res.non2xx + res.socketErrors]);
        }
      }
      const rpsOn = median(got["limiter on"]!.map((x) => x.reqPerSec));
      const rpsOff = median(got["limiter off"]!.map((x) => x.reqPerSec));
      const p50On = median(got["limiter on"]!.map((x) => x.p50Ms));
      const p50Off = median(got["limiter off"]!.map((x) => x.p50Ms));
      const usOn = 1e6 / rpsOn;
      const usOff = 1e6 / rpsOff;
      summary.push([ep.name, rpsOn, rpsOff, rpsOn / rpsOff, usOn, usOff, usOn - usOff, (p50On - p50Off) * 1000]);
      figures[ep.name] = { rpsOn, rpsOff, ratio: rpsOn / rpsOff, usPerReqOn: usOn, usPerReqOff: usOff, usLimiter: usOn - usOff, p50On, p50Off };
    }
    // The Lua call alone against PING on the same redis-server, one at a time from ioredis.
    const r = on.lg.r;
    const sha = (await r.script("LOAD", readFileSync(LUA, "utf8"))) as string;
    const n = sc.luaCalls;
    const evalOnce = (i: number) => r.evalsha(sha, 1, `smx:{k:bench${i % sc.keys}}:rl`, 1800, 60_000, "", `m${i}`, 1);
    await perCall(2000, () => r.ping());
    await perCall(2000, evalOnce);
    const ping = [await perCall(n, () => r.ping()), 0];
    const lua = [await perCall(n, evalOnce), 0];
    ping[1] = await perCall(n, () => r.ping());
    lua[1] = await perCall(n, (i) => evalOnce(i + n));
    const pingUs = Math.min(...ping);
    const luaUs = Math.min(...lua);
    // The same on a redis-server with appendfsync everysec: the script's own work without the
    // per-write fsync that `always` (the managed default) adds to every counted request.
    const dir = mkdtempSync(join(tmpdir(), "smx-load-lua-"));
    const rs = await RedisServer.start({ dir, fsync: "everysec" });
    const r2 = new Redis({ path: rs.socketPath });
    let pingEs = 0;
    let luaEs = 0;
    try {
      const sha2 = (await r2.script("LOAD", readFileSync(LUA, "utf8"))) as string;
      const eval2 = (i: number) => r2.evalsha(sha2, 1, `smx:{k:bench${i % sc.keys}}:rl`, 1800, 60_000, "", `m${i}`, 1);
      await perCall(2000, () => r2.ping());
      await perCall(2000, eval2);
      pingEs = Math.min(await perCall(n, () => r2.ping()), await perCall(n, () => r2.ping()));
      luaEs = Math.min(await perCall(n, eval2), await perCall(n, (i) => eval2(i + n)));
    } finally {
      r2.disconnect();
      await rs.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    figures.lua = { pingUs, evalshaUs: luaUs, ratio: luaUs / pingUs, calls: n, everysec: { pingUs: pingEs, evalshaUs: luaEs, ratio: luaEs / pingEs } };
    const lines = [
      `wrk, ${sc.options.vus} connections, ${sc.options.duration} a run, ${sc.options.rounds} rounds a side alternating which goes first, ${sc.keys} keys (none refused); two gateways, each on its own redis-server:`,
      table(["endpoint", "side", "round", "req/s", "p50 ms", "p99 ms", "errors"], rowsOut),
      "",
      "medians (µs/req = 1e6 / req/s: machine time per request at saturation, both cores, load generator included):",
      table(["endpoint", "req/s on", "req/s off", "on/off", "µs/req on", "µs/req off", "limiter µs/req", "p50 +µs"], summary),
      "",
      `the Lua call alone, one at a time from ioredis over the Unix socket, ${fmt(n)} calls (best of 2):`,
      `  appendfsync always (the managed default): PING ${fmt(pingUs, 1)} µs, EVALSHA rateLimit-1 ${fmt(luaUs, 1)} µs (${fmt(luaUs / pingUs, 2)}x PING): its ZADD is a write, and every write waits for an fsync`,
      `  appendfsync everysec:                     PING ${fmt(pingEs, 1)} µs, EVALSHA rateLimit-1 ${fmt(luaEs, 1)} µs (${fmt(luaEs / pingEs, 2)}x PING; +${fmt(luaEs - pingEs, 1)} µs for the script itself)`,
    ];
    return { lines, figures, ok: true };
  } finally {
    await on.lg.stop();
    await off?.lg.stop();
  }
}

export type { LoadGateway };
