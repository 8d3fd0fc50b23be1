import type { DetectedQuotas, ProviderType, QuotaValue, Quotas } from "../types.ts";

/**
 * Cap windows. Windows are fixed and aligned to the epoch (UTC), so "per day" resets at
 * 00:00 UTC, "per hour" on the hour, and every gateway process agrees on where a window starts.
 */
export const WINDOWS = [
  { quota: "per_second", usage: "second", ms: 1000 },
  { quota: "per_minute", usage: "minute", ms: 60_000 },
  { quota: "per_hour", usage: "hour", ms: 3_600_000 },
  { quota: "per_day", usage: "day", ms: 86_400_000 },
] as const;

export type WindowName = (typeof WINDOWS)[number]["usage"];

export function windowStart(now: number, ms: number): number {
  return Math.floor(now / ms) * ms;
}

/** FNV-1a over a string: a stable, cheap hash shared by every process. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The cap in force for one window. A `{min, max}` range draws a new cap each window; the draw is
 * a hash of the provider and the window's start, so every process (and a restarted one) sees the
 * same cap for the same window.
 */
export function capFor(q: QuotaValue | undefined, providerId: string, winStart: number): number | null {
  if (q === null || q === undefined) return null;
  if (typeof q === "number") return q;
  if (q.max <= q.min) return q.min;
  return q.min + (fnv1a(`${providerId}:${winStart}`) % (q.max - q.min + 1));
}

/**
 * Defaults by provider type where the user set none, with headroom under each provider's published
 * limits (shared/research/provider-specifics.md §5). `smtp` and `capture` have none.
 * - gmail_api: Workspace allows 2,000 messages/day and 150 API sends/min per user; we keep 1,800/day
 *   and 20/min (support.google.com/a/answer/166852; developers.google.com/gmail/api/reference/quota).
 * - outlook_api: Exchange Online allows 30 messages/min and 10,000 recipients/day per mailbox; we
 *   keep 25/min and 9,000/day (Exchange Online limits).
 * - amazon_ses: sandbox 1/s and 200/day; we keep 1/s and 180/day until GetAccount tells the real
 *   quota; from then on the provider's `detected_quotas` (90% of MaxSendRate and Max24HourSend,
 *   src/providers/ses-account.ts) take their place.
 */
export const DEFAULT_QUOTAS: Record<ProviderType, Partial<Quotas>> = {
  smtp: {},
  capture: {},
  gmail_api: { per_minute: 20, per_day: 1800 },
  outlook_api: { per_minute: 25, per_day: 9000 },
  amazon_ses: { per_second: 1, per_day: 180 },
};

/**
 * The quotas in force: the user's where set, else what the provider reported about itself
 * (`detected`, amazon_ses GetAccount: its per_second and per_day, null meaning no limit), else
 * the type's default.
 */
export function effectiveQuotas(type: ProviderType, q: Quotas, detected?: DetectedQuotas | null): Quotas {
  const d: Partial<Quotas> = detected ? { ...DEFAULT_QUOTAS[type], per_second: detected.per_second, per_day: detected.per_day } : (DEFAULT_QUOTAS[type] ?? {});
  return {
    per_second: q.per_second ?? d.per_second ?? null,
    per_minute: q.per_minute ?? d.per_minute ?? null,
    per_hour: q.per_hour ?? d.per_hour ?? null,
    per_day: q.per_day ?? d.per_day ?? null,
  };
}
