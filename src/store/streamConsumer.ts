import type { Gateway } from "../gateway.ts";
import type { SendmuxRedis } from "./redis.ts";

export interface StreamConsumerOptions {
  /** Consumer group read on every account's stream. */
  group: string;
  /** Consumer name in the group; the same after a restart, so the node finds its own pending work. */
  consumer: string;
  /** The stream of one account, read by this consumer. */
  streamOf: (accountId: string) => string;
  /** Entries handled at once (read from the streams, not yet acknowledged). */
  maxInFlight: number;
  /** Entries idle this long in another consumer's pending list are taken over (that node died). */
  reclaimIdleMs: number;
  /** How often idle entries are looked for. */
  reclaimEveryMs: number;
  /** Log component name. */
  component: string;
}

/** Entries read per call, from the ready read, the pending read and the reclaim. */
const READ_BATCH = 200;
/** How often new accounts' streams are joined. */
const REFRESH_STREAMS_MS = 5_000;

/** The account id in a stream key of the form `…{a:<account>}…`. */
export function accountOfStream(stream: string): string {
  return /\{a:([^}]+)\}/.exec(stream)![1]!;
}

/**
 * Reads every account's stream with one consumer group, so work survives restarts: an entry is
 * acknowledged only by `process` once its work is recorded, a crash leaves it pending, the node
 * finds its own pending entries on start, and another node reclaims entries left idle too long.
 * An entry is handled once at a time however it arrives (ready read, pending read, reclaim), at
 * most `maxInFlight` together; a failed `process` (Redis gone) leaves the entry pending and tries
 * it again here with backoff. The dispatcher and the webhook worker are its two kinds.
 */
export abstract class StreamGroupConsumer {
  protected running = false;
  protected inFlight = 0;
  /** Streams whose consumer group exists, one per account. */
  protected readonly streams = new Set<string>();
  /** Entries being handled now, as "stream entryId". */
  private readonly active = new Set<string>();
  /** Entries whose handling failed, with how many times. */
  private readonly retries = new Map<string, number>();
  private readonly timeouts = new Set<ReturnType<typeof setTimeout>>();
  private timers: Array<ReturnType<typeof setInterval>> = [];
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    protected readonly gw: Gateway,
    /** A connection of its own: the blocking read holds it. */
    private readonly reader: SendmuxRedis,
    protected readonly reading: StreamConsumerOptions,
  ) {}

  /**
   * Does the entry's work and acknowledges it in the same Redis step that records the outcome.
   * `fields` is null when the entry was deleted from the stream while pending.
   */
  protected abstract process(stream: string, entryId: string, fields: string[] | null): Promise<void>;

  /** Told each time the number of entries in flight changes (for metrics). */
  protected onInFlight(_n: number): void {}

  /** Joins the streams and starts reading: own pending entries first, then new ones. */
  protected async startReading(): Promise<void> {
    this.running = true;
    await this.refreshStreams();
    // Not awaited: a slow upstream among the pending entries must not hold back the start.
    this.loopDone = this.readOwnPending().catch((e) => this.warn(e, "pending")).then(() => this.loop());
    this.every(REFRESH_STREAMS_MS, "streams", () => this.refreshStreams());
    this.every(this.reading.reclaimEveryMs, "reclaim", () => this.reclaim());
  }

  /** Runs `fn` every `ms` until stopped; a failure is logged and the next tick tries again. */
  protected every(ms: number, what: string, fn: () => Promise<unknown>): void {
    this.timers.push(setInterval(() => void fn().catch((e) => this.warn(e, what)), ms));
  }

  /** Stops reading and waits up to `drainMs` for the entries in flight (and `busy()`) to finish. */
  protected async stopReading(drainMs: number, busy: () => boolean = () => false): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    for (const t of this.timeouts) clearTimeout(t);
    this.timers = [];
    this.timeouts.clear();
    this.wake?.();
    this.reader.disconnect();
    await this.loopDone?.catch(() => {});
    const deadline = Date.now() + drainMs;
    while ((this.inFlight > 0 || busy()) && Date.now() < deadline) await Bun.sleep(20);
  }

  protected warn(err: unknown, what: string): void {
    if (this.running) this.gw.log.warn({ component: this.reading.component, err, what }, `${this.reading.component} step failed; will retry`);
  }

  /** Creates the consumer group on every account's stream (idempotent). */
  async refreshStreams(): Promise<void> {
    for (const a of await this.gw.accounts.listIds()) {
      const key = this.reading.streamOf(a);
      if (this.streams.has(key)) continue;
      try {
        await this.gw.redis.xgroup("CREATE", key, this.reading.group, "0", "MKSTREAM");
      } catch (e) {
        if (!String((e as Error).message).includes("BUSYGROUP")) throw e;
      }
      this.streams.add(key);
    }
  }

  /** Takes over entries another consumer left pending for too long (that gateway died). */
  async reclaim(idleMs = this.reading.reclaimIdleMs): Promise<void> {
    for (const stream of this.streams) {
      const res = (await this.gw.redis.xautoclaim(stream, this.reading.group, this.reading.consumer, idleMs, "0", "COUNT", READ_BATCH)) as [string, Array<[string, string[] | null]>];
      for (const [entryId, fields] of res[1] ?? []) {
        await this.waitForRoom();
        void this.handle(stream, entryId, fields);
      }
    }
  }

  /**
   * Our own pending entries (work a crash of this node interrupted), read stream by stream with a
   * cursor so each is seen once.
   */
  private async readOwnPending(): Promise<void> {
    for (const stream of [...this.streams]) {
      let cursor = "0";
      while (this.running) {
        const res = (await this.gw.redis.xreadgroup("GROUP", this.reading.group, this.reading.consumer, "COUNT", READ_BATCH, "STREAMS", stream, cursor)) as Array<[string, Array<[string, string[] | null]>]> | null;
        const entries = res?.[0]?.[1] ?? [];
        if (entries.length === 0) break;
        for (const [entryId, fields] of entries) {
          cursor = entryId;
          await this.waitForRoom();
          void this.handle(stream, entryId, fields);
        }
      }
    }
  }

  private async waitForRoom(): Promise<void> {
    while (this.inFlight >= this.reading.maxInFlight) await new Promise<void>((res) => (this.wake = res));
  }

  private async loop(): Promise<void> {
    while (this.running) {
      await this.waitForRoom();
      if (!this.running) break;
      const streams = [...this.streams];
      if (!streams.length) {
        await Bun.sleep(200);
        continue;
      }
      let res: Array<[string, Array<[string, string[]]>]> | null;
      try {
        res = (await this.reader.xreadgroup(
          "GROUP", this.reading.group, this.reading.consumer,
          "COUNT", Math.max(1, Math.min(READ_BATCH, this.reading.maxInFlight - this.inFlight)),
          "BLOCK", 500,
          "STREAMS", ...streams, ...streams.map(() => ">"),
        )) as typeof res;
      } catch (e) {
        if (!this.running) break;
        if (String((e as Error).message).includes("NOGROUP")) {
          // The stream was deleted (Redis emptied): join again.
          this.streams.clear();
          await this.refreshStreams().catch(() => {});
        } else {
          this.warn(e, "read");
          await Bun.sleep(500);
        }
        continue;
      }
      for (const [stream, entries] of res ?? []) for (const [entryId, fields] of entries) void this.handle(stream, entryId, fields);
    }
  }

  private async handle(stream: string, entryId: string, fields: string[] | null): Promise<void> {
    const key = `${stream} ${entryId}`;
    if (this.active.has(key)) return;
    let retryScheduled = false;
    this.active.add(key);
    this.onInFlight(++this.inFlight);
    try {
      await this.process(stream, entryId, fields);
    } catch (e) {
      // Left pending (a crash now loses nothing: the entry is reclaimed), and tried again here
      // soon: a Redis that was restarted should not leave work waiting for the reclaim.
      this.warn(e, "handle");
      const n = this.retries.get(key) ?? 0;
      this.retries.set(key, n + 1);
      const t = setTimeout(() => {
        this.timeouts.delete(t);
        if (this.running) void this.handle(stream, entryId, fields);
      }, Math.min(30_000, 1000 * 2 ** Math.min(5, n)));
      this.timeouts.add(t);
      retryScheduled = true;
    } finally {
      if (!retryScheduled) this.retries.delete(key);
      this.active.delete(key);
      this.onInFlight(--this.inFlight);
      const w = this.wake;
      this.wake = null;
      w?.();
    }
  }
}
