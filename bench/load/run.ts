/**
 * `npm run bench:load`: the load proof of the rate limit, batches, 25 MB bodies and idempotency
 * and what the limiter costs per request. Each scenario (k6-style files in bench/load/scenarios/)
 * gets a fresh redis-server and the gateway as a child process on 127.0.0.1, stopped afterwards.
 *
 *   LOAD_MINUTES=3   minutes of over-limit traffic in the first scenario (default 3; 1 for a short run)
 *   LOAD_ONLY=a,b    run only these scenarios: over-limit, batches, body, idempotent, overhead
 *   LOAD_ROUNDS=3    rounds a side of the limiter-overhead comparison
 *   LOAD_REF=<ref>   run the gateway from a git worktree of that commit (sharing node_modules)
 *                    instead of this tree, e.g. HEAD to leave uncommitted edits out
 *
 * Needs redis-server (every scenario) and git (to name the commit; LOAD_REF makes a worktree);
 * wrk only for `overhead`; curl (optional) for the 64 MiB chunked request of `body`, which is
 * skipped without it; Linux /proc for `body`'s memory figures.
 *
 * Prints every figure with its baseline from the same run, writes them to
 * bench/results/load-<time>.json (not committed) and exits 1 if a check failed.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { baselineCheckout, currentCheckout, type Checkout } from "../lib/checkout.ts";
import { batchesCountOnce } from "./lib/batches.ts";
import { bigBody } from "./lib/big-body.ts";
import { startLoadGateway, type LoadGateway } from "./lib/gateway.ts";
import { idempotentRace } from "./lib/idempotent.ts";
import { overLimit } from "./lib/over-limit.ts";
import { limiterOverhead } from "./lib/overhead.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MINUTES = Number(process.env.LOAD_MINUTES ?? 3);
const ONLY = process.env.LOAD_ONLY ? new Set(process.env.LOAD_ONLY.split(",").map((s) => s.trim())) : null;

const NAMES = ["over-limit", "batches", "body", "idempotent", "overhead"];
const unknown = ONLY ? [...ONLY].filter((n) => !NAMES.includes(n)) : [];
if (unknown.length) {
  console.error(`bench:load: LOAD_ONLY names unknown scenario(s) ${unknown.join(", ")}; the scenarios are ${NAMES.join(", ")}`);
  process.exit(2);
}
// Every scenario runs redis-server; only the limiter-overhead one drives its load with wrk.
if (!Bun.which("redis-server")) {
  console.error("bench:load: redis-server is not installed (Debian/Ubuntu: apt-get install -y redis-server)");
  process.exit(2);
}
if ((!ONLY || ONLY.has("overhead")) && !Bun.which("wrk")) {
  console.error(
    "bench:load: wrk is not installed (Debian/Ubuntu: apt-get install -y wrk); the overhead scenario needs it. " +
      `The others run without it: LOAD_ONLY=${NAMES.filter((n) => n !== "overhead").join(",")}`,
  );
  process.exit(2);
}
if (!(MINUTES >= 1 && Number.isInteger(MINUTES))) {
  console.error("bench:load: LOAD_MINUTES must be a whole number of minutes, 1 or more");
  process.exit(2);
}

type Phase = { name: string; title: string; run: (side: Checkout) => Promise<{ lines: string[]; figures: unknown; ok: boolean }> };
const withGateway = (fn: (lg: LoadGateway) => Promise<{ lines: string[]; figures: unknown; ok: boolean }>) => async (side: Checkout) => {
  const lg = await startLoadGateway({ root: side.root });
  try {
    return await fn(lg);
  } finally {
    await lg.stop();
  }
};
const phases: Phase[] = [
  { name: "over-limit", title: `1. two keys, each offered 3x its limit for ${MINUTES} min over HTTP and SMTP together (scenarios/over-limit.ts)`, run: withGateway((lg) => overLimit(lg, MINUTES)) },
  { name: "batches", title: "2. 100-message batches count once (scenarios/batch-count-once.ts)", run: withGateway(batchesCountOnce) },
  { name: "body", title: "3. a 25 MB batch, and 25 MB + 1 byte (scenarios/body-25mb.ts)", run: withGateway(bigBody) },
  { name: "idempotent", title: "4. idempotent retries under concurrency (scenarios/idempotent-50.ts)", run: withGateway(idempotentRace) },
  { name: "overhead", title: "5. the limiter's cost per request, same endpoints with and without it (scenarios/limiter-overhead.ts)", run: (side) => limiterOverhead(side.root) },
];

const started = new Date();
const side = process.env.LOAD_REF ? await baselineCheckout(ROOT, process.env.LOAD_REF) : await currentCheckout(ROOT);
const results: Record<string, { ok: boolean; seconds: number; figures: unknown }> = {};
console.log(`bench:load: gateway ${side.commit} (${side.root}), ${cpus().length} cores shared with the load generator, Bun ${Bun.version}, ${started.toISOString()}`);
try {
  for (const p of phases) {
    if (ONLY && !ONLY.has(p.name)) continue;
    console.log(`\n## ${p.title}\n`);
    const t0 = performance.now();
    try {
      const r = await p.run(side);
      console.log(r.lines.join("\n"));
      results[p.name] = { ok: r.ok, seconds: (performance.now() - t0) / 1000, figures: r.figures };
    } catch (e) {
      console.log(`FAILED to run: ${(e as Error).stack ?? e}`);
      results[p.name] = { ok: false, seconds: (performance.now() - t0) / 1000, figures: { error: String(e) } };
    }
    console.log(`\n${results[p.name]!.ok ? "ok" : "CHECK FAILED"} (${results[p.name]!.seconds.toFixed(0)} s)`);
  }
} finally {
  await side.remove();
}
mkdirSync(`${ROOT}bench/results`, { recursive: true });
const file = `${ROOT}bench/results/load-${started.toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ started: started.toISOString(), minutes: MINUTES, gateway: side.commit, cores: cpus().length, bun: Bun.version, results }, null, 2) + "\n");
const failed = Object.entries(results).filter(([, r]) => !r.ok).map(([n]) => n);
console.log(`\n${failed.length ? `checks failed: ${failed.join(", ")}` : "all checks passed"}; figures in ${file}`);
process.exit(failed.length ? 1 : 0);
