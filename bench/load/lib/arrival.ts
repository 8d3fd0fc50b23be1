/**
 * k6's `constant-arrival-rate` executor, in process: iteration i starts at start + i/rate whatever
 * the earlier ones are doing (an open loop: a slow or refusing server does not slow the offered
 * rate down, unlike wrk/autocannon, whose connections each wait for their answer). At most
 * `maxVUs` iterations run at once; one due while all are busy is dropped and counted, as k6's
 * `dropped_iterations`.
 */
export interface ArrivalOptions {
  rate: number;
  /** per timeUnit; "1s" only, as every scenario here uses. */
  timeUnit?: "1s";
  durationMs: number;
  maxVUs: number;
}

export interface ArrivalResult {
  started: number;
  dropped: number;
  /** Largest delay of an iteration's start behind its schedule (the runner's own lateness). */
  maxLagMs: number;
}

export async function constantArrivalRate(o: ArrivalOptions, iteration: (i: number) => Promise<void>, startAt = performance.now()): Promise<ArrivalResult> {
  const every = 1000 / o.rate;
  const total = Math.floor((o.durationMs / 1000) * o.rate);
  const running = new Set<Promise<void>>();
  let dropped = 0;
  let maxLagMs = 0;
  for (let i = 0; i < total; i++) {
    const due = startAt + i * every;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    if (running.size >= o.maxVUs) {
      dropped++;
      continue;
    }
    const p = iteration(i).catch(() => {}).finally(() => running.delete(p));
    running.add(p);
  }
  await Promise.all(running);
  return { started: total - dropped, dropped, maxLagMs };
}

export function parseDuration(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`duration "${d}": expected e.g. 500ms, 10s or 3m`);
  return Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000);
}
