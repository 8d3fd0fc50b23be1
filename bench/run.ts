/**
 * `npm run bench`: one run that prints, side by side,
 *   - a Bun.serve hello world (the baseline) under wrk, and under autocannon to show that tool's ceiling;
 *   - accepted messages/s for single sends and for 100-message batches, under wrk, same connections
 *     (and single sends again with delivery held, to separate the accept path from delivery's CPU);
 *   - delivered messages/s through an smtp provider into an smtp-server sink, next to nodemailer
 *     sending the same messages straight into the same sink.
 * Each phase runs BENCH_SECONDS (default 10) on 127.0.0.1; each gateway phase gets a fresh
 * redis-server and gateway, stopped afterwards. Figures go to bench/results/<time>.json.
 * Needs wrk (`apt-get install -y wrk`) and redis-server. Compare ratios within one run, never across runs.
 */
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "../test/helpers/net.ts";
import { runAutocannon } from "./lib/autocannon.ts";
import { startBenchGateway } from "./lib/gateway.ts";
import { startCountingSink, type CountingSink } from "./lib/sink.ts";
import { runWrk, type LoadResult } from "./lib/wrk.ts";
import * as deliver from "./scenarios/deliver-smtp.ts";
import * as hello from "./scenarios/hello.ts";
import { message } from "./scenarios/message.ts";
import * as batch from "./scenarios/send-batch.ts";
import * as single from "./scenarios/send-single.ts";
import * as singleHeld from "./scenarios/send-single-held.ts";
import * as direct from "./scenarios/smtp-direct.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BUN = `${ROOT}node_modules/.bin/bun`;
const SECONDS = Number(process.env.BENCH_SECONDS ?? parseInt(single.options.duration));
const KEYS = 300;

interface HttpScenario {
  options: { vus: number };
  messagesPerRequest: number;
  holdDelivery?: boolean;
  default: () => { method: string; path: string; body: string };
}

interface Row {
  scenario: string;
  tool: string;
  connections: number | null;
  reqPerSec: number | null;
  msgPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
  note: string;
}

function httpRow(scenario: string, r: LoadResult, perRequest: number, note = ""): Row {
  return { scenario, tool: r.tool, connections: r.connections, reqPerSec: r.reqPerSec, msgPerSec: r.reqPerSec * perRequest, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.non2xx + r.socketErrors, note };
}

async function helloPhase(rows: Row[]): Promise<number> {
  const port = await freePort();
  const p = Bun.spawn([BUN, "run", `${ROOT}bench/hello-server.ts`], { env: { ...process.env, PORT: String(port) }, stdout: "pipe", stderr: "inherit" });
  try {
    await waitFor(() => fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok).catch(() => false), "the hello-world server");
    const fakeTokens = Array.from({ length: KEYS }, (_, i) => `smx_${String(i).padStart(43, "x")}`);
    const viaWrk = await runWrk(`http://127.0.0.1:${port}`, hello.default(), fakeTokens, hello.options.vus, SECONDS);
    rows.push(httpRow("hello world (Bun.serve)", viaWrk, 0, "baseline"));
    const viaAc = await runAutocannon(`http://127.0.0.1:${port}`, hello.default(), fakeTokens[0]!, hello.options.vus, SECONDS);
    rows.push(httpRow("hello world (Bun.serve)", viaAc, 0, `autocannon ceiling: ${(viaAc.reqPerSec / viaWrk.reqPerSec).toFixed(2)}x wrk`));
    return viaWrk.reqPerSec;
  } finally {
    p.kill();
    await p.exited;
  }
}

async function acceptPhase(rows: Row[], name: string, scenario: HttpScenario, helloRps: number): Promise<void> {
  const bg = await startBenchGateway();
  const mute = scenario.holdDelivery ? createServer(() => {}).listen(0, "127.0.0.1") : null;
  try {
    let scope: unknown = { type: "all" };
    if (mute) {
      await once(mute, "listening");
      const port = (mute.address() as AddressInfo).port;
      const prov = await bg.gw.api("POST", "/api/v1/providers", { name: "never greets", type: "smtp", smtp_host: "127.0.0.1", smtp_port: port, smtp_protocol: "none" });
      scope = { type: "specific", providers: [prov.json.data.id] };
    }
    const tokens = await bg.keys(KEYS, scope);
    const req = scenario.default();
    await runWrk(bg.gw.base, req, tokens, scenario.options.vus, 2); // warm-up, not counted
    const before = await bg.stored();
    const r = await runWrk(bg.gw.base, req, tokens, scenario.options.vus, SECONDS);
    const stored = (await bg.stored()) - before;
    const ratio = (r.reqPerSec / helloRps).toFixed(3);
    rows.push(httpRow(name, r, scenario.messagesPerRequest, `${ratio}x hello req/s; ${stored} stored in Redis`));
  } finally {
    await bg.stop();
    mute?.close();
  }
}

/** Arrival rate at the sink: first to last arrival, or to the deadline when not all came in time. */
async function arrivals(sink: CountingSink, total: number): Promise<{ count: number; perSec: number }> {
  await waitFor(() => sink.count > 0, "the first message at the sink", 30_000, 5);
  const deadline = sink.firstAt + SECONDS * 1000;
  while (sink.count < total && performance.now() < deadline) await Bun.sleep(20);
  const end = sink.count >= total ? sink.lastAt : performance.now();
  return { count: sink.count, perSec: sink.count / ((end - sink.firstAt) / 1000) };
}

async function deliverPhase(rows: Row[], sink: CountingSink): Promise<number> {
  const total = deliver.options.messages;
  const bg = await startBenchGateway();
  try {
    const prov = await bg.gw.api("POST", "/api/v1/providers", { name: "bench sink", type: "smtp", smtp_host: "127.0.0.1", smtp_port: sink.port, smtp_protocol: "none" });
    if (prov.status !== 201) throw new Error(`creating the smtp provider: HTTP ${prov.status}`);
    const [token] = await bg.keys(1, { type: "specific", providers: [prov.json.data.id] });
    sink.reset();
    const batches = Array.from({ length: Math.ceil(total / deliver.messagesPerRequest) }, (_, b) =>
      JSON.stringify({ messages: Array.from({ length: deliver.messagesPerRequest }, (_, i) => message(b * deliver.messagesPerRequest + i)) }),
    );
    let next = 0;
    let refused = 0;
    const t0 = performance.now();
    const senders = Array.from({ length: deliver.options.enqueueConcurrency }, async () => {
      while (next < batches.length) {
        const body = batches[next++]!;
        const res = await fetch(`${bg.gw.base}/api/v1/emails/send/batch`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
        const j = (await res.json()) as { data?: { summary?: { queued: number } } };
        refused += deliver.messagesPerRequest - (j.data?.summary?.queued ?? 0);
      }
    });
    const got = arrivals(sink, total);
    await Promise.all(senders);
    const enqueueSecs = (performance.now() - t0) / 1000;
    const a = await got;
    rows.push({
      scenario: "delivered via smtp provider", tool: "sink", connections: null, reqPerSec: null, msgPerSec: a.perSec, p50Ms: null, p99Ms: null, errors: refused,
      note: `${a.count}/${total} arrived; queued in ${enqueueSecs.toFixed(1)} s`,
    });
    return a.perSec;
  } finally {
    await bg.stop();
  }
}

async function directPhase(rows: Row[], sink: CountingSink, gatewayRate: number): Promise<void> {
  const total = direct.options.messages;
  sink.reset();
  const p = Bun.spawn([BUN, "run", `${ROOT}bench/smtp-direct-client.ts`], { env: { ...process.env, SINK_PORT: String(sink.port), COUNT: String(total) }, stdout: "inherit", stderr: "inherit" });
  try {
    const a = await arrivals(sink, total);
    rows.push({
      scenario: "nodemailer straight to sink", tool: "sink", connections: direct.pool.maxConnections, reqPerSec: null, msgPerSec: a.perSec, p50Ms: null, p99Ms: null, errors: 0,
      note: `baseline; ${a.count}/${total} arrived; gateway delivers ${(gatewayRate / a.perSec).toFixed(2)}x this`,
    });
  } finally {
    p.kill();
    await p.exited;
  }
}

function fmt(n: number | null, digits = 0): string {
  return n === null ? "-" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function printTable(rows: Row[]): void {
  const head = ["scenario", "tool", "conns", "req/s", "msg/s", "p50 ms", "p99 ms", "errors", "note"];
  const body = rows.map((r) => [r.scenario, r.tool, r.connections === null ? "-" : String(r.connections), fmt(r.reqPerSec), fmt(r.msgPerSec), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), String(r.errors), r.note]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 7 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
}

if (!Bun.which("wrk")) {
  console.error("bench: wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)");
  process.exit(2);
}
const rows: Row[] = [];
const started = new Date();
console.error(`bench: ${SECONDS} s a phase, ${cpus().length} cores, load generator on the same cores`);
const helloRps = await helloPhase(rows);
await acceptPhase(rows, "send, 1 message a request", single, helloRps);
await acceptPhase(rows, "send/batch, 100 a request", batch, helloRps);
await acceptPhase(rows, "send, 1 a request, delivery held", singleHeld, helloRps);
const sink = await startCountingSink();
try {
  const rate = await deliverPhase(rows, sink);
  await directPhase(rows, sink, rate);
} finally {
  await sink.close();
}
printTable(rows);
mkdirSync(`${ROOT}bench/results`, { recursive: true });
const file = `${ROOT}bench/results/${started.toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ started: started.toISOString(), seconds: SECONDS, cores: cpus().length, bun: Bun.version, rows }, null, 2) + "\n");
console.log(`\nwritten to ${file}`);
