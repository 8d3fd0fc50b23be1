/**
 * The one source of time. Everything that reasons about windows, pauses, retry schedules or
 * timestamps takes a Clock, so tests can move time by milliseconds instead of waiting.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  constructor(private t: number = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

export function isoAt(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}

/**
 * The production clock: the local clock corrected by its offset from Redis's TIME, measured at
 * start and every 30 s. State that several gateway processes share (cap windows, pauses, retry
 * times) is then judged by one clock — Redis's — while reading it costs no round trip.
 */
export class RedisSyncedClock implements Clock {
  private offset = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly time: () => Promise<[string, string]>) {}

  async sync(): Promise<void> {
    const t0 = Date.now();
    const [sec, usec] = await this.time();
    const t1 = Date.now();
    const redisMs = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    this.offset = redisMs - (t0 + t1) / 2;
  }

  /** Syncs now and then every `everyMs`; a failed resync keeps the last offset. */
  async start(everyMs = 30_000): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync().catch(() => {}), everyMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  now(): number {
    return Math.round(Date.now() + this.offset);
  }

  get offsetMs(): number {
    return this.offset;
  }
}
