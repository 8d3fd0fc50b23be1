import type { GetAccountCommandOutput } from "@aws-sdk/client-sesv2";
import { K } from "../store/keys.ts";
import type { SendmuxRedis } from "../store/redis.ts";
import type { DetectedQuotas, ProviderRecord } from "../types.ts";

/**
 * What GetAccount says about an SES account, turned into caps (provider-specifics.md §5): 90 % of
 * `MaxSendRate` per second and of `Max24HourSend` per day, rounded down but never below 1;
 * `Max24HourSend = -1` means no daily limit (API_SendQuota). The reading is stored on the provider
 * as `detected_quotas` and is used wherever the user set no quota of their own.
 */
export const HEADROOM = 0.9;
/** GetAccount is read again at most this often per provider (and on every `/test`). */
export const REFRESH_MS = 3_600_000;

function cap(v: number | undefined): number | null {
  if (v === undefined || v === null || !Number.isFinite(v) || v < 0) return null;
  return Math.max(1, Math.floor(v * HEADROOM));
}

export function detectedFromAccount(a: Pick<GetAccountCommandOutput, "SendQuota" | "ProductionAccessEnabled" | "SendingEnabled" | "EnforcementStatus">, now: number): DetectedQuotas {
  const q = a.SendQuota ?? {};
  return {
    per_second: cap(q.MaxSendRate),
    per_day: cap(q.Max24HourSend),
    max_send_rate: q.MaxSendRate ?? null,
    max_24_hour_send: q.Max24HourSend ?? null,
    sent_last_24_hours: q.SentLast24Hours ?? null,
    // An account that does not say is treated as the sandbox: the stricter reading.
    production_access: a.ProductionAccessEnabled === true,
    sending_enabled: a.SendingEnabled !== false,
    enforcement_status: a.EnforcementStatus ?? null,
    read_at: new Date(now).toISOString(),
  };
}

const fmt = (n: number | null, unit: string) => (n === null ? `no ${unit} limit` : `${n}/${unit}`);

/** One line for `/test` and `status_reason`: sandbox or production, the quota, paused or not. */
export function describeAccount(d: DetectedQuotas, region: string): string {
  const mode = d.production_access ? `production access in ${region}` : `sandbox in ${region} (mail only to verified addresses and domains)`;
  const quota = `send quota ${d.max_send_rate === null ? "unknown" : `${d.max_send_rate}/s`}, ${d.max_24_hour_send === null || d.max_24_hour_send < 0 ? "no daily limit" : `${d.max_24_hour_send}/24 h`} (${d.sent_last_24_hours ?? 0} sent in the last 24 h)`;
  const caps = `default caps ${fmt(d.per_second, "s")}, ${fmt(d.per_day, "day")}`;
  const sending = d.sending_enabled ? "sending enabled" : "sending PAUSED by Amazon SES (review the account in the SES console)";
  return `Amazon SES account: ${mode}; ${quota}; ${caps}; ${sending}${d.enforcement_status && d.enforcement_status !== "HEALTHY" ? `; enforcement status ${d.enforcement_status}` : ""}`;
}

/** The `status_reason` a reading sets on an active provider, or null when there is nothing to flag. */
export function accountNote(d: DetectedQuotas, region: string): string | null {
  if (d.production_access && d.sending_enabled) return null;
  return describeAccount(d, region);
}

/** Whether a stored reading is old enough to read again. */
export function isStale(d: DetectedQuotas | null | undefined, now: number): boolean {
  if (!d) return true;
  const at = Date.parse(d.read_at);
  return !Number.isFinite(at) || now - at >= REFRESH_MS || now < at;
}

// Notes this module writes into status_reason start with this, so a later reading may replace or
// clear them; any other reason (a circuit disable, a deactivation) is left alone.
const NOTE_PREFIX = "Amazon SES account:";

// Compare-and-set of one provider record: KEYS[1] the account's providers hash, ARGV[1] the
// provider id, ARGV[2] the record as read, ARGV[3] the new record. Returns 1 when written, 0 when
// the record changed in between (the caller reads again) or is gone.
const SET_IF_UNCHANGED = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

/**
 * Stores a reading on the provider record without bumping its version (it changes no credential,
 * so the worker's warm client stays) and announces the change so every process drops its cached
 * copy. A compare-and-set, so a PATCH that lands in between is never undone. Returns false when
 * the provider is gone.
 */
export async function saveDetected(redis: SendmuxRedis, accountId: string, providerId: string, d: DetectedQuotas, region: string): Promise<boolean> {
  const key = K.providers(accountId);
  for (let i = 0; i < 5; i++) {
    const cur = await redis.hget(key, providerId);
    if (!cur) return false;
    const rec = JSON.parse(cur) as ProviderRecord;
    const next: ProviderRecord = { ...rec, detected_quotas: d };
    const note = accountNote(d, region);
    const ours = rec.status_reason === null || rec.status_reason.startsWith(NOTE_PREFIX);
    if (rec.status === "active" && ours) next.status_reason = note;
    const done = await redis.eval(SET_IF_UNCHANGED, 1, key, providerId, cur, JSON.stringify(next));
    if (done === 1) {
      await redis.publish(K.changes(), JSON.stringify({ kind: "provider", account_id: accountId }));
      return true;
    }
  }
  return false;
}

/**
 * Main-thread side (the providers API): reads GetAccount through a worker's `verify()` and stores
 * the reading, or stores one a `/test` already made. `read_at` is the gateway clock's.
 */
export interface ReadingDeps {
  redis: SendmuxRedis;
  now(): number;
  /** Drops this process's cached provider records at once (the announcement reaches the others). */
  invalidate(accountId: string): void;
}

export async function storeReading(deps: ReadingDeps, rec: ProviderRecord, secrets: Record<string, unknown>, d: DetectedQuotas | undefined): Promise<void> {
  if (rec.type !== "amazon_ses" || !d) return;
  const region = String((secrets.config as { region?: string } | undefined)?.region ?? "");
  if (await saveDetected(deps.redis, rec.account_id, rec.id, { ...d, read_at: new Date(deps.now()).toISOString() }, region)) deps.invalidate(rec.account_id);
}
