import { SMTPServer } from "smtp-server";
import { freePort } from "../../test/helpers/net.ts";

export interface CountingSink {
  port: number;
  count: number;
  firstAt: number;
  lastAt: number;
  reset(): void;
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
    get lastAt() {
      return state.lastAt;
    },
    reset() {
      Object.assign(state, { count: 0, firstAt: 0, lastAt: 0 });
    },
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}
