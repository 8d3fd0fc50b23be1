/**
 * `npm run bench`: one run that prints, side by side,
 *   - a Bun.serve hello world (the baseline) under wrk, and under autocannon to show that tool's ceiling;
 *   - accepted messages/s for single sends and for 100-message batches, under wrk, same connections
 *     (and single sends again with delivery held, to separate the accept path from delivery's CPU);
 *   - delivered messages/s into a capture provider's outbox, and through an smtp provider into an
 *     smtp-server sink, next to nodemailer sending the same messages straight into the same sink.
 * With BENCH_BASELINE_REF=<commit> the gateway scenarios run twice, against a second checkout of that
 * commit ("before", a git worktree in a temp dir sharing node_modules) and against this tree ("after";
 * or BENCH_AFTER_REF=<commit> for another worktree), alternating which goes first, and a second table
 * gives before, after and after/before for each figure (BENCH_ROUNDS=n: n runs a side, medians).
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
import { baselineCheckout, currentCheckout, type Checkout } from "./lib/checkout.ts";
import { startBenchGateway } from "./lib/gateway.ts";
import { pollingCounter, startCountingSink, type ArrivalCounter, type CountingSink } from "./lib/sink.ts";
import { runWrk, type LoadResult } from "./lib/wrk.ts";
import * as deliverCapture from "./scenarios/deliver-capture.ts";
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
/** Each gateway scenario runs this many times on each side; the comparison takes the median. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface HttpScenario {
  options: { vus: number };
  messagesPerRequest: number;
  holdDelivery?: boolean;
  default: () => { method: string; path: string; body: string };
}

interface Row {
  scenario: string;
  /** Which checkout ran the gateway ("" for phases without one). */
  side: string;
  tool: string;
  connections: number | null;
  reqPerSec: number | null;
  msgPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
  note: string;
}

function httpRow(scenario: string, side: string, r: LoadResult, perRequest: number, note = ""): Row {
  return { scenario, side, tool: r.tool, connections: r.connections, reqPerSec: r.reqPerSec, msgPerSec: r.reqPerSec * perRequest, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.non2xx + r.socketErrors, note };
}

async function helloPhase(rows: Row[]): Promise<number> {
  const port = await freePort();
  const p = Bun.spawn([BUN, "run", `${ROOT}bench/hello-server.ts`], { env: { ...process.env, PORT: String(port) }, stdout: "pipe", stderr: "inherit" });
  try {
    await waitFor(() => fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok).catch(() => false), "the hello-world server");
    const fakeTokens = Array.from({ length: KEYS }, (_, i) => `smx_${String(i).padStart(43, "x")}`);
    const viaWrk = await runWrk(`http://127.0.0.1:${port}`, hello.default(), fakeTokens, hello.options.vus, SECONDS);
    rows.push(httpRow("hello world (Bun.serve)", "", viaWrk, 0, "baseline"));
    const viaAc = await runAutocannon(`http://127.0.0.1:${port}`, hello.default(), fakeTokens[0]!, hello.options.vus, SECONDS);
    rows.push(httpRow("hello world (Bun.serve)", "", viaAc, 0, `autocannon ceiling: ${(viaAc.reqPerSec / viaWrk.reqPerSec).toFixed(2)}x wrk`));
    return viaWrk.reqPerSec;
  } finally {
    p.kill();
    await p.exited;
  }
}

async function acceptPhase(rows: Row[], side: Checkout, name: string, scenario: HttpScenario, helloRps: number): Promise<number> {
  const bg = await startBenchGateway({ root: side.root });
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
    rows.push(httpRow(name, side.label, r, scenario.messagesPerRequest, `${ratio}x hello req/s; ${stored} stored in Redis`));
    return r.reqPerSec * scenario.messagesPerRequest;
  } finally {
    await bg.stop();
    mute?.close();
  }
}

/**
 * Arrival rate: from the first arrival seen to the last, or to the deadline when not all came in
 * time; the arrivals counted are those after the first one seen (its time starts the clock).
 */
async function arrivals(counter: ArrivalCounter, total: number): Promise<{ count: number; perSec: number }> {
  await waitFor(() => counter.count > 0, "the first message to arrive", 30_000, 5);
  const deadline = counter.firstAt + SECONDS * 1000;
  while (counter.count < total && performance.now() < deadline) await Bun.sleep(20);
  const end = counter.count >= total ? counter.lastAt : performance.now();
  return { count: counter.count, perSec: (counter.count - counter.firstCount) / ((end - counter.firstAt) / 1000) };
}

/**
 * Delivered messages/s through one provider: `total` messages queued in batches of 100 by a few
 * concurrent clients, counted where they arrive (the smtp sink, or the capture provider's outbox).
 */
async function deliverPhase(rows: Row[], side: Checkout, target: { kind: "smtp"; sink: CountingSink } | { kind: "capture" }): Promise<number> {
  const sc = target.kind === "smtp" ? deliver : deliverCapture;
  const total = sc.options.messages;
  const bg = await startBenchGateway({ root: side.root });
  let poller: (ArrivalCounter & { stop(): void }) | null = null;
  try {
    const body =
      target.kind === "smtp"
        ? { name: "bench sink", type: "smtp", smtp_host: "127.0.0.1", smtp_port: target.sink.port, smtp_protocol: "none" }
        : { name: "bench capture", type: "capture" };
    const prov = await bg.gw.api("POST", "/api/v1/providers", body);
    if (prov.status !== 201) throw new Error(`creating the ${target.kind} provider: HTTP ${prov.status}`);
    const providerId = prov.json.data.id as string;
    const [token] = await bg.keys(1, { type: "specific", providers: [providerId] });
    let sink: ArrivalCounter;
    if (target.kind === "smtp") {
      sink = target.sink;
      sink.reset();
    } else {
      poller = pollingCounter(() => bg.captured(providerId));
      sink = poller;
    }
    const batches = Array.from({ length: Math.ceil(total / sc.messagesPerRequest) }, (_, b) =>
      JSON.stringify({ messages: Array.from({ length: sc.messagesPerRequest }, (_, i) => message(b * sc.messagesPerRequest + i)) }),
    );
    let next = 0;
    let refused = 0;
    const t0 = performance.now();
    const senders = Array.from({ length: sc.options.enqueueConcurrency }, async () => {
      while (next < batches.length) {
        const body = batches[next++]!;
        const res = await fetch(`${bg.gw.base}/api/v1/emails/send/batch`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
        const j = (await res.json()) as { data?: { summary?: { queued: number } } };
        refused += sc.messagesPerRequest - (j.data?.summary?.queued ?? 0);
      }
    });
    const got = arrivals(sink, total);
    await Promise.all(senders);
    const enqueueSecs = (performance.now() - t0) / 1000;
    const a = await got;
    rows.push({
      scenario: target.kind === "smtp" ? "delivered via smtp provider" : "delivered to capture outbox", side: side.label, tool: target.kind === "smtp" ? "sink" : "outbox",
      connections: null, reqPerSec: null, msgPerSec: a.perSec, p50Ms: null, p99Ms: null, errors: refused,
      note: `${a.count}/${total} arrived; queued in ${enqueueSecs.toFixed(1)} s`,
    });
    return a.perSec;
  } finally {
    poller?.stop();
    await bg.stop();
  }
}

async function directPhase(rows: Row[], sink: CountingSink, gatewayRates: Array<{ side: Checkout; rate: number }>): Promise<void> {
  const total = direct.options.messages;
  sink.reset();
  const p = Bun.spawn([BUN, "run", `${ROOT}bench/smtp-direct-client.ts`], { env: { ...process.env, SINK_PORT: String(sink.port), COUNT: String(total) }, stdout: "inherit", stderr: "inherit" });
  try {
    const a = await arrivals(sink, total);
    const vs = gatewayRates.map((g) => `${gatewayRates.length > 1 ? g.side.label + " " : ""}${(g.rate / a.perSec).toFixed(2)}x`).join(", ");
    rows.push({
      scenario: "nodemailer straight to sink", side: "", tool: "sink", connections: direct.pool.maxConnections, reqPerSec: null, msgPerSec: a.perSec, p50Ms: null, p99Ms: null, errors: 0,
      note: `baseline; ${a.count}/${total} arrived; gateway delivers ${vs} this`,
    });
  } finally {
    p.kill();
    await p.exited;
  }
}

function fmt(n: number | null, digits = 0): string {
  return n === null ? "-" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function printTable(rows: Row[], withSide: boolean): void {
  const head = ["scenario", ...(withSide ? ["gateway"] : []), "tool", "conns", "req/s", "msg/s", "p50 ms", "p99 ms", "errors", "note"];
  const body = rows.map((r) => [
    r.scenario, ...(withSide ? [r.side || "-"] : []), r.tool, r.connections === null ? "-" : String(r.connections),
    fmt(r.reqPerSec), fmt(r.msgPerSec), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), String(r.errors), r.note,
  ]);
  const first = withSide ? 3 : 2;
  printCells(head, body, (i) => i >= first && i <= first + 5);
}

function printCells(head: string[], body: string[][], rightAligned: (i: number) => boolean): void {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAligned(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
}

interface Comparison {
  measure: string;
  before: number;
  after: number;
  ratio: number;
}

/** One gateway figure measured on every side. */
type Measure = { measure: string; run: (side: Checkout) => Promise<number> };

if (!Bun.which("wrk")) {
  console.error("bench: wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)");
  process.exit(2);
}
const rows: Row[] = [];
const started = new Date();
const sides: Checkout[] = [];
const comparisons: Comparison[] = [];
const sink = await startCountingSink();
try {
  const baseRef = process.env.BENCH_BASELINE_REF;
  const afterRef = process.env.BENCH_AFTER_REF;
  if (baseRef) sides.push(await baselineCheckout(ROOT, baseRef));
  if (afterRef) {
    const after = await baselineCheckout(ROOT, afterRef);
    sides.push({ ...after, label: `after (${after.commit})` });
  } else sides.push(await currentCheckout(ROOT));
  console.error(`bench: ${SECONDS} s a phase, ${cpus().length} cores, load generator on the same cores; gateway: ${sides.map((s) => `${s.label} at ${s.root}`).join(", ")}`);
  const helloRps = await helloPhase(rows);
  const measures: Measure[] = [
    { measure: "accepted msg/s, send (1 a request)", run: (side) => acceptPhase(rows, side, "send, 1 message a request", single, helloRps) },
    { measure: "accepted msg/s, send/batch (100 a request)", run: (side) => acceptPhase(rows, side, "send/batch, 100 a request", batch, helloRps) },
    { measure: "accepted msg/s, send, delivery held", run: (side) => acceptPhase(rows, side, "send, 1 a request, delivery held", singleHeld, helloRps) },
    { measure: "delivered msg/s, capture outbox", run: (side) => deliverPhase(rows, side, { kind: "capture" }) },
    { measure: "delivered msg/s, smtp provider to sink", run: (side) => deliverPhase(rows, side, { kind: "smtp", sink }) },
  ];
  const smtpRates: Array<{ side: Checkout; rate: number }> = [];
  for (const [i, m] of measures.entries()) {
    const got = new Map<Checkout, number[]>(sides.map((s) => [s, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which side goes first, so a slow drift of the machine favours neither.
      const order = (i + r) % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) got.get(side)!.push(await m.run(side));
    }
    if (m.measure.includes("smtp")) for (const side of sides) smtpRates.push({ side, rate: median(got.get(side)!) });
    if (sides.length === 2) {
      const [before, after] = [median(got.get(sides[0]!)!), median(got.get(sides[1]!)!)];
      comparisons.push({ measure: m.measure, before, after, ratio: after / before });
    }
  }
  await directPhase(rows, sink, smtpRates);
} finally {
  await sink.close();
  for (const side of sides) await side.remove();
}
printTable(rows, sides.length > 1);
if (comparisons.length) {
  const [before, after] = sides;
  const of = ROUNDS > 1 ? `, median of ${ROUNDS} rounds each` : "";
  console.log(`\n${before!.label} vs ${after!.label}, same run (msg/s${of}; after/before above 1 is faster)`);
  printCells(
    ["measure", before!.label, after!.label, "after/before"],
    comparisons.map((c) => [c.measure, fmt(c.before), fmt(c.after), c.ratio.toFixed(3)]),
    (i) => i >= 1,
  );
}
mkdirSync(`${ROOT}bench/results`, { recursive: true });
const file = `${ROOT}bench/results/${started.toISOString().replace(/[:.]/g, "-")}.json`;
const sidesOut = sides.map((s) => ({ label: s.label, commit: s.commit }));
writeFileSync(file, JSON.stringify({ started: started.toISOString(), seconds: SECONDS, rounds: ROUNDS, cores: cpus().length, bun: Bun.version, sides: sidesOut, rows, comparisons }, null, 2) + "\n");
console.log(`\nwritten to ${file}`);
