import type { Clock } from "../clock.ts";
import { K } from "./keys.ts";
import type { SendmuxRedis } from "./redis.ts";

/**
 * Delivery-log counters: per account, one Redis hash per UTC day (K.logCounters), counting each
 * message once under the hour it was accepted in, its delivery-log status and its provider.
 * They are written in the same Lua step that changes a message (enqueueMessages, recordAttempt,
 * cancelMessage), so /emails/metrics and /providers/usage read O(days) small hashes and never
 * the messages themselves.
 *
 * Fields: `<HH>:<status>` (every message of the account) and `p:<provider id>:<HH>:<status>`
 * (messages whose delivery log names that provider). A message not yet attempted counts as
 * pending with no provider; a retry that moves to another provider moves its count.
 */

export const LOG_STATUSES = ["pending", "sent", "failed", "rejected"] as const;
export type LogStatus = (typeof LOG_STATUSES)[number];

export type Counts = Record<LogStatus, number> & { total: number };

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export function emptyCounts(): Counts {
  return { total: 0, pending: 0, sent: 0, failed: 0, rejected: 0 };
}

export function addCounts(into: Counts, c: Counts): Counts {
  into.total += c.total;
  for (const s of LOG_STATUSES) into[s] += c[s];
  return into;
}

/** `YYYY-MM-DD` (UTC) of an ISO time or epoch ms. */
export function dayOf(t: string | number): string {
  return (typeof t === "number" ? new Date(t).toISOString() : t).slice(0, 10);
}

/** `HH` (UTC) of an ISO time or epoch ms. */
export function hourOf(t: string | number): string {
  return (typeof t === "number" ? new Date(t).toISOString() : t).slice(11, 13);
}

const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));

/** Where the counters of one message live and until when they are kept. */
export interface CounterSlot {
  key: string;
  hour: string;
  expireAt: number;
}

export class LogCounters {
  /** How long a day's counters are kept after the day ends. */
  readonly retentionMs: number;

  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock, retentionDays = 400) {
    this.retentionMs = retentionDays * DAY_MS;
  }

  /** The counters slot of a message accepted at `createdAt` (ISO, UTC). */
  slot(accountId: string, createdAt: string): CounterSlot {
    const day = dayOf(createdAt);
    return { key: K.logCounters(accountId, day), hour: hourOf(createdAt), expireAt: Date.parse(`${day}T00:00:00Z`) + DAY_MS + this.retentionMs };
  }

  /** The oldest hour (ms) whose counters are still kept. */
  oldestKept(): number {
    return Math.floor((this.clock.now() - this.retentionMs) / DAY_MS) * DAY_MS;
  }

  /**
   * Counts per hour for the hours starting in [fromHour, toHour] (both whole hours, ms), for the
   * whole account or one provider. One HMGET per day, pipelined.
   */
  async hourly(accountId: string, fromHour: number, toHour: number, providerId: string | null): Promise<Map<number, Counts>> {
    const out = new Map<number, Counts>();
    if (toHour < fromHour) return out;
    const prefix = providerId ? `p:${providerId}:` : "";
    const fields = HOURS.flatMap((h) => LOG_STATUSES.map((s) => `${prefix}${h}:${s}`));
    const days: number[] = [];
    for (let d = Math.floor(fromHour / DAY_MS) * DAY_MS; d <= toHour; d += DAY_MS) days.push(d);
    const pipe = this.redis.pipeline();
    for (const d of days) pipe.hmget(K.logCounters(accountId, dayOf(d)), ...fields);
    const res = (await pipe.exec()) ?? [];
    days.forEach((d, i) => {
      const [err, vals] = res[i] ?? [null, null];
      if (err) throw err;
      const v = (vals ?? []) as Array<string | null>;
      HOURS.forEach((_, h) => {
        const at = d + h * HOUR_MS;
        if (at < fromHour || at > toHour) return;
        const c = emptyCounts();
        LOG_STATUSES.forEach((s, k) => {
          const n = Math.max(0, Number(v[h * LOG_STATUSES.length + k] ?? 0));
          c[s] = n;
          c.total += n;
        });
        out.set(at, c);
      });
    });
    return out;
  }

  /** Counts per provider over the given days (`YYYY-MM-DD`), and per provider and day. */
  async byProvider(accountId: string, days: string[]): Promise<Map<string, Map<string, Counts>>> {
    const pipe = this.redis.pipeline();
    for (const d of days) pipe.hgetall(K.logCounters(accountId, d));
    const res = (await pipe.exec()) ?? [];
    const out = new Map<string, Map<string, Counts>>();
    days.forEach((day, i) => {
      const [err, h] = res[i] ?? [null, {}];
      if (err) throw err;
      for (const [field, raw] of Object.entries((h ?? {}) as Record<string, string>)) {
        const m = /^p:(.+):\d\d:(pending|sent|failed|rejected)$/.exec(field);
        if (!m) continue;
        const n = Math.max(0, Number(raw));
        if (!n) continue;
        const perDay = out.get(m[1]!) ?? new Map<string, Counts>();
        out.set(m[1]!, perDay);
        const c = perDay.get(day) ?? emptyCounts();
        perDay.set(day, c);
        c[m[2] as LogStatus] += n;
        c.total += n;
      }
    });
    return out;
  }
}
