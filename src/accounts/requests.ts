import type { Clock } from "../clock.ts";
import { newId } from "../ids.ts";
import { K } from "../store/keys.ts";
import type { SendmuxRedis } from "../store/redis.ts";
import type { AccountDailyLimit } from "./managed.ts";

/** The documented SharedAmazonSesLimitRequest. */
export interface LimitRequest {
  id: string;
  status: "pending" | "approved" | "denied" | "cancelled";
  current_daily_limit: number;
  current_daily_sent: number;
  approved_daily_limit: number | null;
  decision_note: string | null;
  created_at: string;
  decided_at: string | null;
}

/** A request may be made once today's sends reach this share of the daily limit. */
export const REQUEST_THRESHOLD = 0.8;

export function thresholdOf(dailyLimit: number): number {
  return Math.ceil(dailyLimit * REQUEST_THRESHOLD);
}

/**
 * Settles a pending request: KEYS[1] the account's requests hash, KEYS[2] its pending pointer;
 * ARGV[1] the request id, ARGV[2] the settled record. Returns 1 when written, 0 when the request
 * is unknown, -1 when it is no longer pending (approved, denied or cancelled in between).
 */
const SETTLE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
if cjson.decode(cur)['status'] ~= 'pending' then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;

export type CreateResult = { ok: true; request: LimitRequest } | { ok: false; reason: "pending"; pendingId: string };
export type SettleResult = { ok: true; request: LimitRequest } | { ok: false; reason: "not_found" | "settled"; request: LimitRequest | null };

/**
 * Shared Amazon SES limit-increase requests (SPEC "Managed route and accounts"). One pending
 * request per account at a time (the pending pointer is taken with SET NX); the operator lists
 * every account's requests through a global index and settles them by id.
 */
export class LimitRequestStore {
  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock) {}

  async create(accountId: string, limit: AccountDailyLimit): Promise<CreateResult> {
    const id = newId("slir");
    const won = await this.redis.set(K.limitPending(accountId), id, "NX");
    if (won !== "OK") return { ok: false, reason: "pending", pendingId: (await this.redis.get(K.limitPending(accountId))) ?? "" };
    const now = this.clock.now();
    const request: LimitRequest = {
      id,
      status: "pending",
      current_daily_limit: limit.daily_limit,
      current_daily_sent: limit.sent_today,
      approved_daily_limit: null,
      decision_note: null,
      created_at: new Date(now).toISOString(),
      decided_at: null,
    };
    await this.redis.hset(K.limitRequests(accountId), id, JSON.stringify(request));
    await this.redis.multi().hset(K.limitRequestOwner(), id, accountId).zadd(K.limitRequestIndex(), now, id).exec();
    return { ok: true, request };
  }

  async get(accountId: string, id: string): Promise<LimitRequest | null> {
    const raw = await this.redis.hget(K.limitRequests(accountId), id);
    return raw ? (JSON.parse(raw) as LimitRequest) : null;
  }

  async pending(accountId: string): Promise<LimitRequest | null> {
    const id = await this.redis.get(K.limitPending(accountId));
    return id ? this.get(accountId, id) : null;
  }

  /** The account that owns a request (operator side), or null for an unknown id. */
  async ownerOf(id: string): Promise<string | null> {
    return this.redis.hget(K.limitRequestOwner(), id);
  }

  /** Moves a pending request to its final state; refused when it is not pending any more. */
  async settle(accountId: string, id: string, change: Pick<LimitRequest, "status" | "approved_daily_limit" | "decision_note">): Promise<SettleResult> {
    const cur = await this.get(accountId, id);
    if (!cur) return { ok: false, reason: "not_found", request: null };
    const next: LimitRequest = { ...cur, ...change, decided_at: new Date(this.clock.now()).toISOString() };
    const r = await this.redis.eval(SETTLE, 2, K.limitRequests(accountId), K.limitPending(accountId), id, JSON.stringify(next));
    if (r === 1) return { ok: true, request: next };
    if (r === 0) return { ok: false, reason: "not_found", request: null };
    return { ok: false, reason: "settled", request: await this.get(accountId, id) };
  }

  /**
   * Every account's requests for the operator, newest first, optionally of one status. The cursor
   * is the last id of the previous page (its score is looked up), so new requests never shift
   * pages already read.
   */
  async listAll(opts: { status?: LimitRequest["status"]; limit: number; cursor: string | null }): Promise<{ items: Array<LimitRequest & { account_id: string }>; next: string | null } | null> {
    let max = "+inf";
    let skipId: string | null = null;
    if (opts.cursor) {
      const score = await this.redis.zscore(K.limitRequestIndex(), opts.cursor);
      if (score === null) return null;
      max = score;
      skipId = opts.cursor;
    }
    const items: Array<LimitRequest & { account_id: string }> = [];
    let offset = 0;
    let passedCursor = skipId === null;
    const BATCH = 200;
    while (items.length <= opts.limit) {
      const ids = await this.redis.zrevrangebyscore(K.limitRequestIndex(), max, "-inf", "LIMIT", offset, BATCH);
      if (!ids.length) break;
      offset += ids.length;
      const owners = await this.redis.hmget(K.limitRequestOwner(), ...ids);
      for (let i = 0; i < ids.length && items.length <= opts.limit; i++) {
        if (!passedCursor) {
          if (ids[i] === skipId) passedCursor = true;
          continue;
        }
        const owner = owners[i];
        if (!owner) continue;
        const r = await this.get(owner, ids[i]!);
        if (!r || (opts.status && r.status !== opts.status)) continue;
        items.push({ ...r, account_id: owner });
      }
    }
    const page = items.slice(0, opts.limit);
    return { items: page, next: items.length > opts.limit ? page[page.length - 1]!.id : null };
  }
}
