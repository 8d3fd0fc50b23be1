import type { Clock } from "../clock.ts";
import { K } from "../store/keys.ts";
import type { SendmuxRedis } from "../store/redis.ts";
import type { ProviderRecord } from "../types.ts";
import { capFor, effectiveQuotas, WINDOWS, windowStart, type WindowName } from "./windows.ts";

export type Reservation = { ok: true } | { ok: false; window: WindowName; cap: number; until: number };

/**
 * Caps per provider per second, minute, hour and day (SPEC "Routing" step 3). Every send takes
 * its place in all four windows in one Lua step on the provider's own hash slot, so no cap is
 * ever exceeded — across restarts and across gateway processes — and a refused send counts
 * nothing. Counters live as long as their window (plus a margin) and vanish by themselves.
 */
export class CapStore {
  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock) {}

  /** Reservation arguments, apart from the call so they can be unit-tested. */
  static args(p: ProviderRecord, now: number, n: number): { keys: string[]; argv: number[]; caps: Array<number | null>; starts: number[] } {
    const q = effectiveQuotas(p.type, p.quotas, p.detected_quotas);
    const starts = WINDOWS.map((w) => windowStart(now, w.ms));
    const caps = WINDOWS.map((w, i) => capFor(q[w.quota], p.id, starts[i]!));
    const keys = WINDOWS.map((w, i) => K.capCount(p.id, w.usage, starts[i]!));
    const argv = [...caps.map((c) => c ?? 0), ...WINDOWS.map((w) => w.ms + 60_000), n];
    return { keys, argv, caps, starts };
  }

  async reserve(p: ProviderRecord, n = 1): Promise<Reservation> {
    const now = this.clock.now();
    const { keys, argv, caps, starts } = CapStore.args(p, now, n);
    const r = await this.redis.reserveCaps_v1(...keys, ...argv);
    if (r[0] === 1) return { ok: true };
    const i = r[1]! - 1;
    return { ok: false, window: WINDOWS[i]!.usage, cap: caps[i]!, until: starts[i]! + WINDOWS[i]!.ms };
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
