import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Subprocess } from "bun";
import type { SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { freePort, waitFor } from "./net.ts";
import { startSink, type Sink } from "./sink.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUN = join(ROOT, "node_modules", ".bin", "bun");

export interface GatewayProcess {
  pid: number;
  /** http://127.0.0.1:<port> */
  base: string;
  smtpPort: number;
  smtpsPort: number;
  dataDir: string;
  /** The bootstrap key from <data dir>/bootstrap-key. */
  token: string;
  /** Everything the process wrote to stderr so far (for failure messages). */
  output(): string;
  /** fetch against the API with the bootstrap key. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** SIGKILL: no cleanup of any kind runs (workers, connections, the managed redis-server stay as they are). */
  kill9(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
}

export interface SpawnOptions {
  dataDir: string;
  /** Unset: the gateway runs its managed redis-server under the data dir. */
  redisUrl?: string;
  /** Extra settings; SENDMUX_NODE_ID should stay the same across restarts so own pending work is found. */
  env?: Record<string, string>;
  /** The command to run; default `node_modules/.bin/bun run src/main.ts` (e.g. dist/sendmux instead). */
  cmd?: string[];
  cwd?: string;
  readyTimeoutMs?: number;
}

/**
 * The real gateway as a child process (`bun run src/main.ts`), on free ports, so a test can kill -9
 * it and start it again on the same Redis and data dir. Resolves once it is fully started.
 */
export async function spawnGateway(opts: SpawnOptions): Promise<GatewayProcess> {
  const [http, smtp, smtps] = [await freePort(), await freePort(), await freePort()];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("SENDMUX_") && k !== "REDIS_URL" && k !== "LOG_LEVEL") env[k] = v;
  }
  Object.assign(env, {
    SENDMUX_HTTP_ADDR: `127.0.0.1:${http}`,
    SENDMUX_SMTP_ADDR: `127.0.0.1:${smtp}`,
    SENDMUX_SMTPS_ADDR: `127.0.0.1:${smtps}`,
    SENDMUX_DATA_DIR: opts.dataDir,
    SENDMUX_HOSTNAME: "gw.test",
    SENDMUX_NODE_ID: "durability-node",
    SENDMUX_WORKERS: "1",
    LOG_LEVEL: "warn",
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    ...(opts.env ?? {}),
  });
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(opts.cmd ?? [BUN, "run", join(ROOT, "src/main.ts")], {
    cwd: opts.cwd ?? ROOT,
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out += dec.decode(chunk, { stream: true });
  };
  void drain(proc.stdout);
  void drain(proc.stderr);
  const base = `http://127.0.0.1:${http}`;
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null || proc.signalCode) throw new Error(`gateway exited (${proc.exitCode ?? proc.signalCode}): ${out}`);
      // main.ts prints this line once every listener is up and its signal handlers are installed.
      if (!out.includes("sendmux: HTTP API on")) return false;
      const r = await fetch(`${base}/healthz`).catch(() => null);
      return r?.status === 200 && existsSync(join(opts.dataDir, "bootstrap-key"));
    }, "the gateway process to start and answer /healthz", opts.readyTimeoutMs ?? 30_000, 50);
  } catch (e) {
    proc.kill(9);
    await proc.exited;
    throw e;
  }
  const token = readFileSync(join(opts.dataDir, "bootstrap-key"), "utf8").trim();
  return {
    pid: proc.pid,
    base,
    smtpPort: smtp,
    smtpsPort: smtps,
    dataDir: opts.dataDir,
    token,
    output: () => out,
    async api(method, path, body) {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, json };
    },
    async kill9() {
      proc.kill(9);
      await proc.exited;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode) return proc.exitCode;
      proc.kill("SIGTERM");
      const code = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => "timeout" as const)]);
      if (code === "timeout") {
        proc.kill(9);
        await proc.exited;
        throw new Error(`the gateway did not stop within 15 s after SIGTERM: ${out}`);
      }
      return code;
    },
  };
}

export interface HoldingSink extends Sink {
  /** DATA transfers fully received whose reply is being held back (a running count). */
  held: number;
  /** Answers every held reply with 451 (their sender is gone anyway) and goes on holding. */
  refuseHeld(): void;
  /** Stop holding: replies already held get 451; later DATA is accepted. */
  release(): void;
  /** Stop holding: replies already held get 250 (and are recorded), as does later DATA. */
  acceptHeld(): void;
}

/**
 * An SMTP sink (test/helpers/sink.ts) that, while holding, reads each message to its end and then
 * withholds the reply to DATA: the sender has handed the message over but has no 250, so the
 * message is mid-send. Only messages answered with 250 are recorded in `messages`.
 */
export async function startHoldingSink(): Promise<HoldingSink> {
  let holding = true;
  const waiting: Array<{ accept(): void; refuse(): void }> = [];
  const state = { held: 0 };
  const sink = await startSink({
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null) => void) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const accept = () => {
          const mf = session.envelope.mailFrom;
          sink.messages.push({
            from: mf ? mf.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks),
            mailParams: {},
            secure: !!session.secure,
            authUser: null,
          });
          cb();
        };
        const refuse = () => {
          const e = new Error("4.3.0 try again later") as Error & { responseCode: number };
          e.responseCode = 451;
          try {
            cb(e);
          } catch {
            /* the connection is gone */
          }
        };
        if (!holding) return accept();
        state.held++;
        waiting.push({ accept, refuse });
      });
    },
  });
  const refuseHeld = () => {
    for (const w of waiting.splice(0)) w.refuse();
  };
  return {
    port: sink.port,
    messages: sink.messages,
    auths: sink.auths,
    close: sink.close,
    get held() {
      return state.held;
    },
    refuseHeld,
    release() {
      holding = false;
      refuseHeld();
    },
    acceptHeld() {
      holding = false;
      for (const w of waiting.splice(0)) w.accept();
    },
  };
}
