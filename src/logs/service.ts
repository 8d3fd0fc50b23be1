import type { Gateway } from "../gateway.ts";
import { K } from "../store/keys.ts";
import { addCounts, DAY_MS, dayOf, emptyCounts, HOUR_MS, LOG_STATUSES, type Counts, type LogStatus } from "../store/logs.ts";
import type { MessageView } from "../store/messages.ts";
import type { ProviderRecord } from "../types.ts";
import { logDetail, logItem, matchesSearch, type DeliveryLogItem } from "./view.ts";
import { logStatusOf } from "./status.ts";

/** A position in the message index: the acceptance time (ms) and the message id there. */
export interface LogCursor {
  at: number;
  id: string;
}

export function encodeCursor(c: LogCursor): string {
  return Buffer.from(`${c.at}.${c.id}`).toString("base64url");
}

/** Null when the string is not a cursor this gateway gave out. */
export function decodeCursor(s: string): LogCursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(s)) return null;
  const m = /^(\d{1,16})\.(eml_[a-z0-9]{24})$/.exec(Buffer.from(s, "base64url").toString("utf8"));
  return m ? { at: Number(m[1]), id: m[2]! } : null;
}

export interface LogQuery {
  limit: number;
  cursor: LogCursor | null;
  status: LogStatus | null;
  fromMs: number | null;
  toMs: number | null;
  providerId: string | null;
  /** Lower-cased. */
  search: string | null;
}

/**
 * Index entries one list request examines at most. A page of a selective filter (a status or
 * provider that is rare, a search with few hits) can end before it is full: then `has_more` is
 * true and `next_cursor` continues after the last entry examined, so every request is bounded
 * however large the index is.
 */
export const SCAN_BUDGET = 2000;
const CHUNK = 200;

export async function providerNames(gw: Gateway, accountId: string): Promise<Map<string, string>> {
  return new Map((await gw.providers.list(accountId)).map((p) => [p.id, p.name]));
}

/**
 * Delivery logs newest first (by acceptance time, then message id), from the account's message
 * index: the date range bounds the index read; the other filters are applied to the records read.
 */
export async function listLogs(gw: Gateway, accountId: string, q: LogQuery): Promise<{ items: DeliveryLogItem[]; hasMore: boolean; nextCursor: string | null }> {
  const key = K.msgIndex(accountId);
  const names = await providerNames(gw, accountId);
  const items: DeliveryLogItem[] = [];
  const top = q.toMs ?? Infinity;
  let pos: LogCursor | null = q.cursor;
  let lastOfPage: LogCursor | null = null;
  let examined = 0;
  const done = () => ({ items, hasMore: false, nextCursor: null });
  while (examined < SCAN_BUDGET) {
    // Where the next entries start in the index read newest first: right after the cursor's
    // entry, or (no cursor, or its entry trimmed away) after every entry newer than the bound.
    let start: number;
    const rank = pos && pos.at <= top ? await gw.redis.zrevrank(key, pos.id) : null;
    if (rank !== null) start = rank + 1;
    else {
      const bound = pos ? Math.min(pos.at, top) : top;
      start = bound === Infinity ? 0 : await gw.redis.zcount(key, `(${bound}`, "+inf");
    }
    const n = Math.min(CHUNK, SCAN_BUDGET - examined);
    const raw = await gw.redis.zrevrange(key, start, start + n - 1, "WITHSCORES");
    const entries: LogCursor[] = [];
    let floor = false;
    for (let i = 0; i < raw.length; i += 2) {
      const e = { id: raw[i]!, at: Number(raw[i + 1]) };
      // Equal acceptance times are ordered by id, descending: those at or before the cursor were shown.
      if (pos && e.at === pos.at && e.id >= pos.id) {
        examined++;
        continue;
      }
      if (q.fromMs !== null && e.at < q.fromMs) {
        floor = true;
        break;
      }
      entries.push(e);
    }
    const views = await gw.messages.getMany(accountId, entries.map((e) => e.id));
    for (let i = 0; i < entries.length; i++) {
      examined++;
      pos = entries[i]!;
      const v = views[i];
      if (!v || !matches(v, q)) continue;
      // One more match than the page holds: there is a next page, after the page's last entry.
      if (items.length === q.limit) return { items, hasMore: true, nextCursor: encodeCursor(lastOfPage!) };
      items.push(logItem(v, names));
      lastOfPage = pos;
    }
    if (floor || raw.length < 2 * n) return done();
  }
  // The scan budget ran out before the range did: the next page continues after the last entry examined.
  return { items, hasMore: true, nextCursor: encodeCursor(pos!) };
}

function matches(v: MessageView, q: LogQuery): boolean {
  if (q.status && logStatusOf(v.status, v.attempts.at(-1)?.outcome ?? null) !== q.status) return false;
  if (q.providerId && v.provider_id !== q.providerId) return false;
  if (q.search && !matchesSearch(v, q.search)) return false;
  return true;
}

export async function getLog(gw: Gateway, accountId: string, messageId: string) {
  const [v] = await gw.messages.getMany(accountId, [messageId]);
  if (!v) return null;
  return logDetail(v, await providerNames(gw, accountId));
}

// ---------------------------------------------------------------------------------------------
// Metrics

export interface MetricsQuery {
  /** First and last hour (ms, whole hours) of the period. */
  fromHour: number;
  toHour: number;
  granularity: "hourly" | "daily";
  providerId: string | null;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Change from `prev` to `cur` in percent (2 decimals): 0 when both are 0, 100 when only prev is. */
export function changePct(cur: number, prev: number): number {
  if (prev === 0) return cur === 0 ? 0 : 100;
  return round2(((cur - prev) / prev) * 100);
}

export async function emailMetrics(gw: Gateway, accountId: string, q: MetricsQuery) {
  const hours = (q.toHour - q.fromHour) / HOUR_MS + 1;
  const prevFrom = q.fromHour - hours * HOUR_MS;
  const byHour = await gw.logCounters.hourly(accountId, prevFrom, q.toHour, q.providerId);
  const summary = emptyCounts();
  const previous = emptyCounts();
  const series = new Map<number, Counts>();
  for (let at = prevFrom; at <= q.toHour; at += HOUR_MS) {
    const c = byHour.get(at) ?? emptyCounts();
    if (at < q.fromHour) {
      addCounts(previous, c);
      continue;
    }
    addCounts(summary, c);
    const bucket = q.granularity === "hourly" ? at : Math.floor(at / DAY_MS) * DAY_MS;
    addCounts(series.get(bucket) ?? series.set(bucket, emptyCounts()).get(bucket)!, c);
  }
  const change_pct = { total: changePct(summary.total, previous.total), ...Object.fromEntries(LOG_STATUSES.map((s) => [s, changePct(summary[s], previous[s])])) };
  return {
    summary: order(summary),
    comparison: { ...order(previous), change_pct: order(change_pct as Counts) },
    timeseries: [...series.entries()].map(([at, c]) => ({ timestamp: new Date(at).toISOString().replace(".000Z", "Z"), ...order(c) })),
  };
}

function order(c: Counts): Counts {
  return { total: c.total, sent: c.sent, failed: c.failed, rejected: c.rejected, pending: c.pending };
}

// ---------------------------------------------------------------------------------------------
// Providers

/** Today (UTC) and the 6 days before it, oldest first. */
export function trailingDays(now: number, n = 7): string[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return Array.from({ length: n }, (_, i) => dayOf(today - (n - 1 - i) * DAY_MS));
}

export async function providerUsage(gw: Gateway, accountId: string) {
  const days = trailingDays(gw.clock.now());
  const today = days.at(-1)!;
  const [providers, counts] = await Promise.all([gw.providers.list(accountId), gw.logCounters.byProvider(accountId, days)]);
  return {
    window_days: 7 as const,
    providers: providers.map((p) => {
      const perDay = counts.get(p.id);
      const week = emptyCounts();
      for (const c of perDay?.values() ?? []) addCounts(week, c);
      return {
        provider_id: p.id,
        sent_today: perDay?.get(today)?.sent ?? 0,
        total_7d: week.total,
        sent_7d: week.sent,
        failed_7d: week.failed,
        rejected_7d: week.rejected,
        pending_7d: week.pending,
      };
    }),
  };
}

export function providerStats(providers: ProviderRecord[]) {
  const by_status = { active: 0, inactive: 0, error: 0, pending: 0 };
  const by_type = { smtp: 0, gmail_api: 0, outlook_api: 0, amazon_ses: 0 };
  for (const p of providers) {
    by_status[p.status]++;
    if (p.type in by_type) by_type[p.type as keyof typeof by_type]++;
  }
  return { total: providers.length, ...by_status, by_type, by_status };
}
