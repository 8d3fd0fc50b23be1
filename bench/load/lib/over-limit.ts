import { K } from "../../../src/store/keys.ts";
import * as sc from "../scenarios/over-limit.ts";
import { constantArrivalRate, parseDuration, type ArrivalResult } from "./arrival.ts";
import type { LoadGateway } from "./gateway.ts";
import { table } from "./report.ts";
import { relayPool, submit } from "./smtp.ts";

const LIMIT = 1800;
const WINDOW = 60_000;

/** One offered request and what came of it. Times are Date.now() (the same system clock as Redis TIME). */
interface Outcome {
  key: string;
  via: "http" | "smtp";
  sentAt: number;
  recvAt: number;
  kind: "accepted" | "refused" | "error";
  code: number;
  retrySec: number | null;
  id: string | null;
  detail: string;
}

async function httpOnce(base: string, token: string, req: { method: string; path: string; body: string }): Promise<Omit<Outcome, "key" | "via" | "sentAt" | "recvAt">> {
  try {
    const res = await fetch(base + req.path, { method: req.method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: req.body || undefined });
    const text = await res.text();
    if (res.status === 200) {
      const id = (JSON.parse(text) as { data?: { message_id?: string } }).data?.message_id ?? null;
      return { kind: "accepted", code: 200, retrySec: null, id, detail: "" };
    }
    if (res.status === 429) return { kind: "refused", code: 429, retrySec: Number(res.headers.get("retry-after")), id: null, detail: "" };
    return { kind: "error", code: res.status, retrySec: null, id: null, detail: text.slice(0, 200) };
  } catch (e) {
    return { kind: "error", code: 0, retrySec: null, id: null, detail: (e as Error).message };
  }
}

/** Sorted acceptance times (ms, Redis TIME) of one key: its rate log, read every few seconds and merged. */
class RateLogReader {
  private seen = new Map<string, Map<string, number>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  constructor(private readonly lg: LoadGateway, private readonly keyIds: string[]) {
    for (const k of keyIds) this.seen.set(k, new Map());
  }
  async read(): Promise<void> {
    for (const k of this.keyIds) {
      const flat = await this.lg.r.zrange(K.rateLog(k), 0, -1, "WITHSCORES");
      const m = this.seen.get(k)!;
      for (let i = 0; i < flat.length; i += 2) m.set(flat[i]!, Number(flat[i + 1]));
    }
  }
  /** Entries live 60 s in the log: reading every 5 s misses none. */
  start(): void {
    this.timer = setInterval(() => void this.read().catch(() => {}), 5000);
  }
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.read();
  }
  times(keyId: string): number[] {
    return [...this.seen.get(keyId)!.values()].sort((a, b) => a - b);
  }
}

/** Index of the first element > x in sorted xs. */
function upper(xs: number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the limiter would have answered at Redis time t: entries in (t-60 s, t], and the whole seconds until the oldest leaves. */
function windowAt(times: number[], t: number): { count: number; retrySec: number } {
  const lo = upper(times, t - WINDOW);
  const hi = upper(times, t);
  const count = hi - lo;
  const oldest = times[lo];
  const resetMs = count > 0 ? oldest! + WINDOW - t : 0;
  return { count, retrySec: Math.max(1, Math.ceil(resetMs / 1000)) };
}

/** The most entries in any 60 s span (a request at t counts entries in (t-60 s, t]). */
function maxIn60s(times: number[]): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= WINDOW) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/**
 * A refusal's Retry-After / 451 seconds is right when, at some moment t between sending and the
 * answer (the limiter ran at one of them), the key's window was full and the oldest counted
 * request left it between R-1 and R seconds later (exactly what the limiter computes).
 */
function retryConsistent(times: number[], o: Outcome): boolean {
  for (let t = Math.floor(o.sentAt); t <= Math.ceil(o.recvAt); t++) {
    const w = windowAt(times, t);
    if (w.count >= LIMIT && w.retrySec === o.retrySec) return true;
  }
  return false;
}

/**
 * Probe: a key of its own, filled with 1,800 counted requests (GET of an unknown message, 404),
 * then a request over `via` must be refused naming R seconds, and the same request sent R seconds
 * after that answer must be accepted (nothing else uses this key, so no one takes the freed slot).
 * `cycles` times, or until the run ends.
 */
async function probe(lg: LoadGateway, via: "http" | "smtp", token: string, until: number, cycles = 3) {
  const base = lg.gw.base;
  const fill = Array.from({ length: LIMIT }, (_, i) => i);
  while (fill.length) {
    await Promise.all(fill.splice(0, 50).map(() => fetch(`${base}/api/v1/emails/eml_aaaaaaaaaaaaaaaaaaaaaaaa`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text())));
  }
  const pool = via === "smtp" ? relayPool(lg.gw.smtpPort, token, 1) : null;
  let n = 0;
  const one = async () => {
    const sentAt = Date.now();
    if (pool) {
      const o = await submit(pool, sc.smtpSend(900_000 + n++, "probe"));
      return { sentAt, recvAt: Date.now(), accepted: o.code === 250, retrySec: o.retrySec, code: o.code };
    }
    const o = await httpOnce(base, token, sc.httpSend(900_000 + n++, "probe"));
    return { sentAt, recvAt: Date.now(), accepted: o.kind === "accepted", retrySec: o.retrySec, code: o.code };
  };
  const results: Array<{ retrySec: number; waitedMs: number; thenCode: number }> = [];
  try {
    while (results.length < cycles && Date.now() < until) {
      const first = await one();
      if (first.accepted) continue; // a slot was free; the next request fills the window again
      if (!first.retrySec) {
        results.push({ retrySec: NaN, waitedMs: 0, thenCode: first.code });
        break;
      }
      await Bun.sleep(first.recvAt + first.retrySec * 1000 - Date.now());
      const then = await one();
      results.push({ retrySec: first.retrySec, waitedMs: then.sentAt - first.recvAt, thenCode: then.code });
    }
  } finally {
    pool?.close();
  }
  return results;
}

export interface OverLimitResult {
  lines: string[];
  figures: Record<string, unknown>;
  ok: boolean;
}

export async function overLimit(lg: LoadGateway, minutes: number): Promise<OverLimitResult> {
  const keyNames = ["a", "b"];
  const keys: Record<string, { id: string; token: string; provider: string }> = {};
  for (const k of keyNames) {
    const provider = await lg.capture(`load ${k}`);
    keys[k] = { ...(await lg.key(`load ${k}`, [provider])), provider };
  }
  const probeProvider = await lg.capture("load probe");
  const probeKeys = { http: await lg.key("probe http", [probeProvider]), smtp: await lg.key("probe smtp", [probeProvider]) };
  const log = new RateLogReader(lg, keyNames.map((k) => keys[k]!.id));
  const outcomes: Outcome[] = [];
  const pools = new Map<string, ReturnType<typeof relayPool>>();
  const runs: Array<Promise<[string, ArrivalResult]>> = [];
  log.start();
  const t0 = performance.now() + 200;
  const durationMs = minutes * 60_000;
  for (const [name, s] of Object.entries(sc.options.scenarios)) {
    const key = keys[s.env.KEY]!;
    const o = { rate: s.rate, durationMs: Math.min(parseDuration(s.duration), durationMs), maxVUs: s.maxVUs };
    if (s.exec === "httpSend") {
      runs.push(
        constantArrivalRate(o, async (i) => {
          const sentAt = Date.now();
          const r = await httpOnce(lg.gw.base, key.token, sc.httpSend(i, s.env.KEY));
          outcomes.push({ key: s.env.KEY, via: "http", sentAt, recvAt: Date.now(), ...r });
        }, t0).then((r) => [name, r]),
      );
    } else {
      const pool = relayPool(lg.gw.smtpPort, key.token, Number(s.env.SMTP_CONNECTIONS));
      pools.set(name, pool);
      runs.push(
        constantArrivalRate(o, async (i) => {
          const sentAt = Date.now();
          const r = await submit(pool, sc.smtpSend(i, s.env.KEY));
          const kind = r.code === 250 ? "accepted" : r.code === 451 && r.retrySec !== null ? "refused" : "error";
          outcomes.push({ key: s.env.KEY, via: "smtp", sentAt, recvAt: Date.now(), kind, code: r.code, retrySec: r.retrySec, id: r.id, detail: kind === "error" ? r.response.slice(0, 200) : "" });
        }, t0).then((r) => [name, r]),
      );
    }
  }
  const until = Date.now() + durationMs + 5000;
  const probes = Promise.all([probe(lg, "http", probeKeys.http.token, until), probe(lg, "smtp", probeKeys.smtp.token, until)]);
  const arrivals = await Promise.all(runs);
  for (const p of pools.values()) p.close();
  await log.stop();
  const [probeHttp, probeSmtp] = await probes;

  // No accepted message lost: each accepted id reaches `sent` and its key's capture outbox.
  const accepted = outcomes.filter((o) => o.kind === "accepted");
  const drainStart = Date.now();
  let missing = accepted;
  while (missing.length && Date.now() - drainStart < 120_000) {
    const p = lg.r.pipeline();
    for (const o of missing) {
      p.hget(K.msg(lg.account, o.id ?? "none"), "status");
      p.zscore(K.outbox(lg.account, keys[o.key]!.provider), o.id ?? "none");
    }
    const res = (await p.exec())!;
    missing = missing.filter((_, i) => !(res[2 * i]![1] === "sent" && res[2 * i + 1]![1] !== null));
    if (missing.length) await Bun.sleep(500);
  }
  const drainSecs = (Date.now() - drainStart) / 1000;

  const lines: string[] = [];
  const figures: Record<string, unknown> = { minutes, keys: {} };
  let ok = missing.length === 0;
  const rows: Array<Array<string | number>> = [];
  const clientRows: Array<Array<string | number>> = [];
  const checks: Array<Array<string | number>> = [];
  for (const k of keyNames) {
    const times = log.times(keys[k]!.id);
    const mine = outcomes.filter((o) => o.key === k);
    const acc = mine.filter((o) => o.kind === "accepted");
    const T0 = times[0] ?? 0;
    const perMinute: number[] = [];
    for (let m = 0; m < minutes; m++) perMinute.push(upper(times, T0 + (m + 1) * WINDOW - 1) - upper(times, T0 + m * WINDOW - 1));
    const tail = times.length - perMinute.reduce((a, b) => a + b, 0);
    for (const [m, n] of perMinute.entries()) {
      rows.push([k, `${m + 1}`, n]);
      if (n !== LIMIT) ok = false;
    }
    if (tail) rows.push([k, `after ${minutes} min`, tail]);
    // The same outcomes by the client's clock (answer received), minutes from the key's first acceptance answer.
    const C0 = Math.min(...acc.map((o) => o.recvAt));
    for (let m = 0; m < minutes + 1; m++) {
      const inM = mine.filter((o) => o.recvAt >= C0 + m * WINDOW && o.recvAt < C0 + (m + 1) * WINDOW);
      const before = m === 0 ? mine.filter((o) => o.recvAt < C0) : [];
      const all = [...before, ...inM];
      if (!all.length) continue;
      const c = (via: string, kind: string) => all.filter((o) => o.via === via && o.kind === kind).length;
      clientRows.push([k, m < minutes ? `${m + 1}` : `after ${minutes} min`, all.length, c("http", "accepted"), c("smtp", "accepted"), c("http", "accepted") + c("smtp", "accepted"), c("http", "refused"), c("smtp", "refused"), all.filter((o) => o.kind === "error").length]);
    }
    const refused = mine.filter((o) => o.kind === "refused");
    const consistent = refused.filter((o) => retryConsistent(times, o)).length;
    const retryValues = refused.map((o) => o.retrySec!);
    const inRange = retryValues.filter((v) => v >= 1 && v <= 60).length;
    const max60 = maxIn60s(times);
    if (max60 > LIMIT || consistent !== refused.length || acc.length !== times.length) ok = false;
    const errs = mine.filter((o) => o.kind === "error");
    checks.push([k, mine.length, acc.length, times.length, max60, refused.length, inRange, consistent, errs.length]);
    (figures.keys as Record<string, unknown>)[k] = {
      offered: mine.length, acceptedAnswers: acc.length, rateLogEntries: times.length, perMinute, tail, maxIn60s: max60,
      refused: refused.length, refusedHttp429: refused.filter((o) => o.via === "http").length, refusedSmtp451: refused.filter((o) => o.via === "smtp").length,
      retryValuesIn1to60: inRange, retryConsistent: consistent, errors: errs.length, errorSamples: [...new Set(errs.map((e) => `${e.code} ${e.detail}`))].slice(0, 5),
    };
  }
  const dropped = arrivals.map(([n, a]) => `${n} ${a.started} started, ${a.dropped} dropped, start late by at most ${a.maxLagMs.toFixed(0)} ms`);
  lines.push(`offered: ${sc.options.scenarios.a_http.rate} HTTP + ${sc.options.scenarios.a_smtp.rate} SMTP a second per key (3x the limit), ${minutes} min, open loop; ${dropped.join("; ")}`);
  lines.push("", "accepted per minute, by the gateway's acceptance time (Redis TIME in its rate log), minutes from the key's first accepted request:");
  lines.push(table(["key", "minute", "accepted"], rows));
  lines.push("", "the same run by the client's clock (answer received; minutes from the key's first 200/250 answer; refusals before it count in minute 1):");
  lines.push(table(["key", "minute", "answers", "200 http", "250 smtp", "accepted", "429 http", "451 smtp", "errors"], clientRows));
  lines.push("", "checks:");
  lines.push(table(["key", "offered", "accepted answers", "rate-log entries", "max in any 60 s", "refused", "R in 1..60", "R consistent", "errors"], checks));
  const probeLine = (via: string, ps: Array<{ retrySec: number; waitedMs: number; thenCode: number }>) =>
    `${via}: ${ps.map((p) => `told ${p.retrySec} s, sent again ${(p.waitedMs / 1000).toFixed(2)} s later -> ${p.thenCode}`).join("; ")}`;
  lines.push("", "waiting the named time (a key of its own filled with 1,800 requests, nothing else on it):", `  ${probeLine("HTTP 429 Retry-After", probeHttp)}`, `  ${probeLine("SMTP 451 4.7.1", probeSmtp)}`);
  const probeOk = [...probeHttp, ...probeSmtp].every((p) => p.thenCode === 200 || p.thenCode === 250) && probeHttp.length > 0 && probeSmtp.length > 0;
  ok &&= probeOk;
  lines.push("", `no accepted message lost: ${accepted.length - missing.length} of ${accepted.length} accepted ids are \`sent\` and in their key's capture outbox (${missing.length} missing; checked ${drainSecs.toFixed(1)} s after the load stopped)`);
  Object.assign(figures, { probeHttp, probeSmtp, accepted: accepted.length, missing: missing.length, arrivals: Object.fromEntries(arrivals) });
  return { lines, figures, ok };
}
