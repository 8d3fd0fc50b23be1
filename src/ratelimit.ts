import { randomBytes } from "node:crypto";
import { K } from "./store/keys.ts";
import type { SendmuxRedis } from "./store/redis.ts";

/** SPEC "Rate limit": per API key, 1,800 requests in any 60-second span, HTTP and SMTP together. */
export const RATE_LIMIT = 1800;
export const RATE_WINDOW_MS = 60_000;

export interface RateInfo {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the oldest counted request leaves the window (RateLimit-Reset); when refused, until one more fits (Retry-After). */
  resetSec: number;
}

/** The rate headers every API response for a known key carries. */
export function rateHeaders(info: RateInfo): Record<string, string> {
  const h: Record<string, string> = {
    "ratelimit-limit": String(info.limit),
    "ratelimit-remaining": String(info.remaining),
    "ratelimit-reset": String(info.resetSec),
  };
  if (!info.allowed) h["retry-after"] = String(Math.max(1, info.resetSec));
  return h;
}

/** Rate information of the request being answered, set by authenticate() and read when the response leaves. */
export const requestRate = new WeakMap<Request, RateInfo>();

/**
 * One Lua call per check, on the key's own hash slot (runs on Redis Cluster). Time is Redis's
 * TIME in production; a gateway with an injected clock (tests) passes that clock's time instead.
 */
export class RateLimiter {
  constructor(
    private readonly redis: SendmuxRedis,
    private readonly now: (() => number) | null,
    private readonly limit = RATE_LIMIT,
    private readonly windowMs = RATE_WINDOW_MS,
    /** SENDMUX_BENCH_NO_RATE_LIMIT (benchmarking only): allow everything without calling Redis. */
    private readonly disabled = false,
  ) {}

  /** Counts one request (or only looks, with cost 0). */
  async take(keyId: string, cost: 0 | 1 = 1): Promise<RateInfo> {
    if (this.disabled) return { allowed: true, limit: this.limit, remaining: this.limit, resetSec: 0 };
    const [allowed, remaining, resetMs] = await this.redis.rateLimit_v1(
      K.rateLog(keyId), this.limit, this.windowMs, this.now ? String(this.now()) : "", randomBytes(8).toString("hex"), cost,
    );
    return { allowed: allowed === 1, limit: this.limit, remaining: Number(remaining), resetSec: Math.ceil(Number(resetMs) / 1000) };
  }
}
