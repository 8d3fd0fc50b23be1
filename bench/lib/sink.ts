import { SMTPServer } from "smtp-server";
import { freePort } from "../../test/helpers/net.ts";

/** Arrivals counted somewhere (a sink, an outbox): how many, and when the first and the last came. */
export interface ArrivalCounter {
  count: number;
  /** performance.now() of the first arrival seen, and how many had arrived by then. */
  firstAt: number;
  firstCount: number;
  lastAt: number;
  reset(): void;
}

export interface CountingSink extends ArrivalCounter {
  port: number;
  close(): Promise<void>;
}

/** An smtp-server sink that only counts what it accepts and when (no TLS, no AUTH, bodies dropped). */
export async function startCountingSink(): Promise<CountingSink> {
  const state = { count: 0, firstAt: 0, lastAt: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, cb) {
      stream.on("data", () => {});
      stream.on("end", () => {
        const now = performance.now();
        if (state.count === 0) state.firstAt = now;
        state.count++;
        state.lastAt = now;
        cb();
      });
    },
  });
  server.on("error", () => {});
  const port = await freePort();
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(port, "127.0.0.1", () => res());
  });
  return {
    port,
    get count() {
      return state.count;
    },
    get firstAt() {
      return state.firstAt;
    },
    firstCount: 1,
    get lastAt() {
      return state.lastAt;
    },
    reset() {
      Object.assign(state, { count: 0, firstAt: 0, lastAt: 0 });
    },
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

/**
 * Counts arrivals by polling `read` (e.g. a capture outbox's size) every `everyMs` until stopped.
 * The first poll that sees any sets firstAt and firstCount; lastAt is the poll that saw the count grow.
 */
export function pollingCounter(read: () => Promise<number>, everyMs = 10): ArrivalCounter & { stop(): void } {
  const state = { count: 0, firstAt: 0, firstCount: 0, lastAt: 0 };
  let running = true;
  void (async () => {
    while (running) {
      const n = await read().catch(() => state.count);
      const now = performance.now();
      if (n > state.count) {
        if (state.count === 0) Object.assign(state, { firstAt: now, firstCount: n });
        state.count = n;
        state.lastAt = now;
      }
      await Bun.sleep(everyMs);
    }
  })();
  return {
    get count() {
      return state.count;
    },
    get firstAt() {
      return state.firstAt;
    },
    get firstCount() {
      return state.firstCount;
    },
    get lastAt() {
      return state.lastAt;
    },
    reset() {
      Object.assign(state, { count: 0, firstAt: 0, firstCount: 0, lastAt: 0 });
    },
    stop() {
      running = false;
    },
  };
}
