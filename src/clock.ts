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
