import { randomBytes } from "node:crypto";
import type { Clock } from "../clock.ts";
import { K } from "../store/keys.ts";
import type { SendmuxRedis } from "../store/redis.ts";
import type { FailureClass } from "../types.ts";

/** SPEC "Routing" step 4: 3 provider-side failures inside 5 minutes pull a provider from rotation. */
export const CIRCUIT_WINDOW_MS = 5 * 60_000;
export const CIRCUIT_THRESHOLD = 3;
/**
 * How long a pulled provider stays out, by the most severe class among the failures that opened
 * the circuit: a quota block 24 h (quotas reset daily), a connection error 1 h; an auth or config
 * fault disables it until POST /providers/{id}/activate. Transient failures (throttling, 4xx)
 * pause it 5 minutes — SPEC does not say; this follows the prior art in the research notes.
 */
export const PAUSE_MS: Record<Exclude<FailureClass, "permanent_recipient">, number> = {
  transient: 5 * 60_000,
  connection: 3_600_000,
  quota: 24 * 3_600_000,
  auth_config: -1,
};

export interface Health {
  state: "ok" | "paused" | "disabled";
  reason: string | null;
  cls: FailureClass | null;
  /** When a pause ends (ms); null when not paused. */
  until: number | null;
  recent_failures: number;
}

export const HEALTHY: Health = { state: "ok", reason: null, cls: null, until: null, recent_failures: 0 };

/**
 * The circuit of each provider, kept in Redis (shared by every gateway process, kept across
 * restarts) and read through a short in-memory cache on the hot path.
 */
export class CircuitStore {
  private cache = new Map<string, { h: Health; at: number }>();
  private static readonly CACHE_MS = 1000;

  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock) {}

  /** Counts a provider-side failure; returns the health after it. Recipient rejections never count. */
  async recordFailure(providerId: string, cls: FailureClass, reason: string): Promise<Health> {
    if (cls === "permanent_recipient") return this.get(providerId);
    const now = this.clock.now();
    const [state, worst, until, recent] = await this.redis.recordFailure_v1(
      K.failures(providerId), K.health(providerId),
      now, CIRCUIT_WINDOW_MS, CIRCUIT_THRESHOLD, cls, randomBytes(6).toString("hex"), reason.slice(0, 500),
      PAUSE_MS.transient, PAUSE_MS.connection, PAUSE_MS.quota, PAUSE_MS.auth_config,
    );
    this.cache.delete(providerId);
    if (state === "ok") return { ...(await this.get(providerId)), recent_failures: Number(recent) };
    return { state: state as Health["state"], cls: worst as FailureClass, reason, until: state === "paused" ? Number(until) : null, recent_failures: Number(recent) };
  }

  /** Health now: a pause whose time has passed reads as ok (and is cleared lazily). */
  async get(providerId: string): Promise<Health> {
    const now = this.clock.now();
    const hit = this.cache.get(providerId);
    if (hit && now - hit.at < CircuitStore.CACHE_MS && now >= hit.at) return this.fresh(hit.h, now);
    const [h, recent] = await Promise.all([
      this.redis.hgetall(K.health(providerId)),
      this.redis.zcount(K.failures(providerId), now - CIRCUIT_WINDOW_MS, "+inf"),
    ]);
    const health: Health = h.state
      ? { state: h.state as Health["state"], reason: h.reason ?? null, cls: (h.cls as FailureClass) ?? null, until: h.state === "paused" ? Number(h.until) : null, recent_failures: recent }
      : { ...HEALTHY, recent_failures: recent };
    this.cache.set(providerId, { h: health, at: now });
    return this.fresh(health, now);
  }

  private fresh(h: Health, now: number): Health {
    if (h.state === "paused" && h.until !== null && h.until <= now) return { ...HEALTHY, recent_failures: h.recent_failures };
    return h;
  }

  /** Ends the pause of a provider whose time has passed; true for the one caller that ended it. */
  async endPauseIfDue(providerId: string): Promise<boolean> {
    const ended = (await this.redis.endPause_v1(K.health(providerId), this.clock.now())) === 1;
    if (ended) this.cache.delete(providerId);
    return ended;
  }

  /** Back into rotation (POST /activate): clears the pause or the disable and the failure count. */
  async reset(providerId: string): Promise<void> {
    await this.redis.del(K.health(providerId), K.failures(providerId));
    this.cache.delete(providerId);
  }

  forget(providerId?: string): void {
    if (providerId) this.cache.delete(providerId);
    else this.cache.clear();
  }
}
