import type { Clock } from "../clock.ts";
import { K } from "../store/keys.ts";
import type { SendmuxRedis } from "../store/redis.ts";
import type { ProviderRecord } from "../types.ts";
import { capFor, effectiveQuotas, WINDOWS, windowStart, type WindowName } from "./windows.ts";

/** `account_day`: the sending account's own daily limit on a shared provider (the managed route). */
export type Reservation = { ok: true } | { ok: false; window: WindowName | "account_day"; cap: number; until: number };

const DAY_MS = 86_400_000;

/**
 * Caps per provider per second, minute, hour and day (SPEC "Routing" step 3). Every send takes
 * its place in all four windows in one Lua step on the provider's own hash slot, so no cap is
 * ever exceeded — across restarts and across gateway processes — and a refused send counts
 * nothing. Counters live as long as their window (plus a margin) and vanish by themselves.
 */
export class CapStore {
  /** `sharedDailyLimit`: an account's daily limit on a shared provider when the operator set none. */
  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock, private readonly sharedDailyLimit = 50) {}

  /** Reservation arguments, apart from the call so they can be unit-tested. */
  static args(p: ProviderRecord, now: number, n: number): { keys: string[]; argv: number[]; caps: Array<number | null>; starts: number[] } {
    const q = effectiveQuotas(p.type, p.quotas, p.detected_quotas);
    const starts = WINDOWS.map((w) => windowStart(now, w.ms));
    const caps = WINDOWS.map((w, i) => capFor(q[w.quota], p.id, starts[i]!));
    const keys = WINDOWS.map((w, i) => K.capCount(p.id, w.usage, starts[i]!));
    const argv = [...caps.map((c) => c ?? 0), ...WINDOWS.map((w) => w.ms + 60_000), n];
    return { keys, argv, caps, starts };
  }

  /**
   * A shared provider (the managed route) also takes the send from `accountId`'s count for the
   * current UTC day, in the same Lua step, so no account goes over its daily limit.
   */
  async reserve(p: ProviderRecord, n = 1, accountId?: string): Promise<Reservation> {
    const now = this.clock.now();
    const { keys, argv, caps, starts } = CapStore.args(p, now, n);
    if (p.is_shared && accountId) {
      const day = windowStart(now, DAY_MS);
      const r = await this.redis.reserveSharedCaps_v1(...keys, K.sharedDay(p.id, accountId, day), K.sharedLimits(p.id), ...argv, accountId, this.sharedDailyLimit, DAY_MS + 60_000);
      if (r[0] === 1) return { ok: true };
      if (r[1] === 5) return { ok: false, window: "account_day", cap: r[2]!, until: day + DAY_MS };
      const i = r[1]! - 1;
      return { ok: false, window: WINDOWS[i]!.usage, cap: caps[i]!, until: starts[i]! + WINDOWS[i]!.ms };
    }
    const r = await this.redis.reserveCaps_v1(...keys, ...argv);
    if (r[0] === 1) return { ok: true };
    const i = r[1]! - 1;
    return { ok: false, window: WINDOWS[i]!.usage, cap: caps[i]!, until: starts[i]! + WINDOWS[i]!.ms };
  }

  /** Sends of an account through a shared provider in the current UTC day. */
  async sharedSentToday(providerId: string, accountId: string): Promise<number> {
    return Number((await this.redis.get(K.sharedDay(providerId, accountId, windowStart(this.clock.now(), DAY_MS)))) ?? 0);
  }

  /** Sends counted in each current window. */
  async usage(providerId: string): Promise<Record<WindowName, number>> {
    const now = this.clock.now();
    const vals = await this.redis.mget(...WINDOWS.map((w) => K.capCount(providerId, w.usage, windowStart(now, w.ms))));
    const out = {} as Record<WindowName, number>;
    WINDOWS.forEach((w, i) => (out[w.usage] = Number(vals[i] ?? 0)));
    return out;
  }
}
