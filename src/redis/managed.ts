import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";

export class RedisBinaryMissing extends Error {
  constructor() {
    super(
      "redis-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install -y redis-server`; " +
        "macOS: `brew install redis`) or point the gateway at an existing Redis with REDIS_URL=redis://host:6379.",
    );
    this.name = "RedisBinaryMissing";
  }
}

export interface RedisServerOptions {
  /** Directory for the AOF, the pid file and the log. */
  dir: string;
  /** TCP port on 127.0.0.1; when omitted the server listens only on a Unix socket in `dir`. */
  port?: number;
  fsync?: "always" | "everysec" | "no";
  /** Reuse a server left running by an earlier process of ours (e.g. after kill -9 of the gateway). */
  adopt?: boolean;
}

/**
 * A redis-server we run ourselves: AOF on, RDB snapshots off, bound to loopback or a Unix socket.
 * Used by the gateway when REDIS_URL is unset, and by the tests and benches (never port 6379).
 */
export class RedisServer {
  private child: ChildProcess | null = null;
  private adoptedPid: number | null = null;
  readonly socketPath: string;

  private constructor(readonly opts: RedisServerOptions) {
    this.socketPath = join(opts.dir, "redis.sock");
  }

  /** ioredis connection options for this server. */
  get connection(): { path: string } | { host: string; port: number } {
    return this.opts.port ? { host: "127.0.0.1", port: this.opts.port } : { path: this.socketPath };
  }

  get url(): string {
    return this.opts.port ? `redis://127.0.0.1:${this.opts.port}` : `unix://${this.socketPath}`;
  }

  static async start(opts: RedisServerOptions): Promise<RedisServer> {
    const bin = Bun.which("redis-server");
    if (!bin) throw new RedisBinaryMissing();
    mkdirSync(opts.dir, { recursive: true });
    const s = new RedisServer(opts);
    const pidFile = join(opts.dir, "redis.pid");
    const args = [
      "--bind", "127.0.0.1",
      "--port", String(opts.port ?? 0),
      "--dir", opts.dir,
      "--appendonly", "yes",
      "--appendfsync", opts.fsync ?? "always",
      "--save", "",
      "--pidfile", pidFile,
      "--daemonize", "no",
      "--logfile", join(opts.dir, "redis.log"),
      "--protected-mode", "yes",
    ];
    if (!opts.port) args.push("--unixsocket", s.socketPath, "--unixsocketperm", "700");
    // Known before a server is adopted too: the supervisor starts a new one when it dies.
    s.bin = bin;
    s.args = args;
    if (opts.adopt && existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      if (pid > 0 && isAlive(pid) && (await s.ping(1000))) {
        s.adoptedPid = pid;
        return s;
      }
      rmSync(pidFile, { force: true });
    }
    await s.spawnAndWait();
    return s;
  }

  private bin = "";
  private args: string[] = [];
  private stopping = false;
  private supervisor: ReturnType<typeof setInterval> | null = null;

  private async spawnAndWait(): Promise<void> {
    if (!this.opts.port) rmSync(this.socketPath, { force: true });
    const child = spawn(this.bin, this.args, { stdio: "ignore", detached: false });
    this.child = child;
    this.adoptedPid = null;
    let exited: number | null = null;
    child.once("exit", (code) => (exited = code ?? -1));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (exited !== null) {
        throw new Error(`redis-server exited with code ${exited} while starting; see ${join(this.opts.dir, "redis.log")}`);
      }
      if (await this.ping(500)) return;
      await Bun.sleep(50);
    }
    child.kill("SIGKILL");
    throw new Error(`redis-server did not answer within 15 s; see ${join(this.opts.dir, "redis.log")}`);
  }

  /**
   * Keeps the server running: when it dies (killed, crashed, OOM) it is started again on the same
   * data dir — the append-only file brings back everything acknowledged — checking every
   * `everyMs`. A server adopted from an earlier gateway process is watched the same way.
   */
  supervise(onEvent: (what: "down" | "restarted" | "restart_failed", detail?: string) => void, everyMs = 1000): void {
    if (this.supervisor) return;
    let busy = false;
    this.supervisor = setInterval(() => {
      if (busy || this.stopping) return;
      busy = true;
      void (async () => {
        const alive = this.child ? this.child.exitCode === null && this.child.signalCode === null : this.adoptedPid !== null && isAlive(this.adoptedPid);
        if (alive && (await this.ping(2000))) return;
        if (this.stopping) return;
        onEvent("down");
        try {
          if (this.child && this.child.exitCode === null) this.child.kill("SIGKILL");
          await this.spawnAndWait();
          onEvent("restarted");
        } catch (e) {
          onEvent("restart_failed", (e as Error).message);
        }
      })().finally(() => (busy = false));
    }, everyMs);
    this.supervisor.unref?.();
  }

  private async ping(timeoutMs: number): Promise<boolean> {
    const r = new Redis({ ...this.connection, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    r.on("error", () => {});
    try {
      await r.connect();
      return (await r.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  }

  /** SHUTDOWN lets Redis flush the AOF; falls back to signals. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.supervisor) clearInterval(this.supervisor);
    const r = new Redis({ ...this.connection, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on("error", () => {});
    try {
      await r.connect();
      await r.call("SHUTDOWN").catch(() => {});
    } catch {
      /* already down */
    } finally {
      r.disconnect();
    }
    const child = this.child;
    if (child && child.exitCode === null) {
      await Promise.race([new Promise((res) => child.once("exit", res)), Bun.sleep(3000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
    } else if (this.adoptedPid && isAlive(this.adoptedPid)) {
      try { process.kill(this.adoptedPid, "SIGTERM"); } catch { /* gone */ }
    }
  }

  /** For crash tests: kill the server without letting it flush. */
  kill(): void {
    this.child?.kill("SIGKILL");
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
