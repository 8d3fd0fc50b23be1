import net from "node:net";
import tls from "node:tls";

/**
 * A raw SMTP client for replaying the byte-exact conversations of /work/shared/cases (see its
 * README): it writes exactly what it is given and reads whole replies (multi-line ones too),
 * so a test can assert reply codes in order, including the server closing the connection.
 */

export interface SmtpReply {
  code: number;
  /** Every line, with its code and separator. */
  lines: string[];
  /** The reply as one string, lines joined with "\n". */
  text: string;
}

/** A reply, or "closed" when the server closed the connection instead of replying. */
export type ReplyOrClosed = SmtpReply | "closed";

export class SmtpClient {
  /** Every client not yet closed, so a test file can close what a failed test left open. */
  private static live = new Set<SmtpClient>();
  private socket: net.Socket | tls.TLSSocket;
  private buf = "";
  private replies: SmtpReply[] = [];
  private waiter: (() => void) | null = null;
  private onData = (d: Buffer) => this.receive(d);
  private onEnd = () => this.markClosed();
  closed = false;
  greeting: SmtpReply | null = null;

  private constructor(socket: net.Socket | tls.TLSSocket) {
    this.socket = socket;
    this.attach(socket);
    SmtpClient.live.add(this);
  }

  /** Closes every client still open (call before stopping the gateway). */
  static closeAll(): void {
    for (const c of SmtpClient.live) c.close();
  }

  /** Connects (implicit TLS with `tls: true`) and waits for the greeting. */
  static async connect(port: number, opts: { tls?: boolean; host?: string; timeoutMs?: number } = {}): Promise<SmtpClient> {
    const host = opts.host ?? "127.0.0.1";
    const socket = await new Promise<net.Socket | tls.TLSSocket>((resolve, reject) => {
      const s = opts.tls ? tls.connect({ host, port, rejectUnauthorized: false }) : net.connect({ host, port });
      s.once(opts.tls ? "secureConnect" : "connect", () => resolve(s));
      s.once("error", reject);
    });
    const c = new SmtpClient(socket);
    const g = await c.read(opts.timeoutMs ?? 5000);
    if (g === "closed") throw new Error("the server closed the connection before greeting");
    c.greeting = g;
    return c;
  }

  private attach(s: net.Socket | tls.TLSSocket): void {
    s.on("data", this.onData);
    s.on("end", this.onEnd);
    s.on("close", this.onEnd);
    s.on("error", this.onEnd);
  }

  private detach(s: net.Socket | tls.TLSSocket): void {
    s.off("data", this.onData);
    s.off("end", this.onEnd);
    s.off("close", this.onEnd);
    s.off("error", this.onEnd);
  }

  private receive(d: Buffer): void {
    this.buf += d.toString("latin1");
    let lines: string[] = [];
    for (;;) {
      const nl = this.buf.indexOf("\r\n");
      if (nl < 0) break;
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 2);
      lines.push(line);
      if (!/^\d{3}-/.test(line)) {
        this.replies.push({ code: Number(line.slice(0, 3)), lines, text: lines.join("\n") });
        lines = [];
      }
    }
    if (lines.length) this.buf = lines.map((l) => l + "\r\n").join("") + this.buf;
    this.wake();
  }

  private markClosed(): void {
    this.closed = true;
    SmtpClient.live.delete(this);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** The next reply, or "closed"; throws after timeoutMs with neither. */
  async read(timeoutMs = 10_000): Promise<ReplyOrClosed> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.replies.shift();
      if (r) return r;
      if (this.closed) return "closed";
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SMTP reply within ${timeoutMs} ms (buffered: ${JSON.stringify(this.buf.slice(0, 200))})`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiter = () => {
          clearTimeout(t);
          res();
        };
      });
    }
  }

  /** Whether a reply is already waiting (for checking that nothing was answered). */
  pending(): number {
    return this.replies.length;
  }

  /** Writes exactly these bytes (a string as UTF-8). */
  write(bytes: string | Uint8Array): void {
    this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
  }

  /** Writes one command line (CRLF added) and reads its reply. */
  async command(line: string, timeoutMs?: number): Promise<ReplyOrClosed> {
    this.write(line + "\r\n");
    return this.read(timeoutMs);
  }

  /** TLS handshake on the open connection (after a 220 to STARTTLS). */
  async startTls(): Promise<void> {
    const plain = this.socket as net.Socket;
    this.detach(plain);
    this.buf = "";
    this.socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, rejectUnauthorized: false, servername: "localhost" });
      s.once("secureConnect", () => resolve(s));
      s.once("error", reject);
    });
    this.attach(this.socket);
  }

  /** Waits until the server closes the connection; false if it is still open after timeoutMs. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await Bun.sleep(20);
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
    this.markClosed();
  }
}

/** Logs in the usual way: EHLO (+ STARTTLS + EHLO on the submission port), AUTH PLAIN. */
export async function loginClient(port: number, key: string, opts: { tls: "implicit" | "starttls" }): Promise<SmtpClient> {
  const c = await SmtpClient.connect(port, { tls: opts.tls === "implicit" });
  expectCode(await c.command("EHLO client.example.com"), 250);
  if (opts.tls === "starttls") {
    expectCode(await c.command("STARTTLS"), 220);
    await c.startTls();
    expectCode(await c.command("EHLO client.example.com"), 250);
  }
  expectCode(await c.command(`AUTH PLAIN ${Buffer.from(`\0user@example.com\0${key}`).toString("base64")}`), 235);
  return c;
}

export function expectCode(r: ReplyOrClosed, code: number): SmtpReply {
  if (r === "closed") throw new Error(`expected ${code}, the server closed the connection`);
  if (r.code !== code) throw new Error(`expected ${code}, got: ${r.text}`);
  return r;
}

/** "closed" or the three-digit code. */
export function codeOf(r: ReplyOrClosed): string {
  return r === "closed" ? "closed" : String(r.code);
}

/**
 * Puts a real API key where the cases README says: every base64 token whose decoded form holds
 * `example-password` (AUTH PLAIN blobs, AUTH LOGIN password lines) is decoded, the password
 * replaced, and encoded again. Message content is left alone.
 */
export function substituteKey(script: Buffer, key: string): Buffer {
  const text = script.toString("latin1");
  const out = text.replace(/(?<=^|[ \n])([A-Za-z0-9+/]{8,}={0,2})(?=\r?\n)/g, (tok) => {
    if (tok.length > 400) return tok;
    const dec = Buffer.from(tok, "base64").toString("latin1");
    if (!dec.includes("example-password")) return tok;
    return Buffer.from(dec.split("example-password").join(key), "latin1").toString("base64");
  });
  return Buffer.from(out, "latin1");
}

export interface ReplayOptions {
  /** After the first 354, write the rest of the script in one write (cases' `one_write_after_354`). */
  oneWriteAfter354?: boolean;
  /** Stop after this many replies (or when the server closes). */
  maxReplies?: number;
  /** How long to wait for each reply. */
  replyTimeoutMs?: number;
}

/**
 * Replays a `.smtp` script as the cases README says: one command, wait for its reply, the next;
 * after 354 the message block (up to and including the line that is only ".") in one write.
 * Returns every reply in order, "closed" last if the server closed the connection.
 */
export async function replayScript(c: SmtpClient, script: Buffer, opts: ReplayOptions = {}): Promise<ReplyOrClosed[]> {
  const out: ReplyOrClosed[] = [];
  const max = opts.maxReplies ?? Infinity;
  const take = async () => {
    const r = await c.read(opts.replyTimeoutMs ?? 10_000);
    out.push(r);
    return r;
  };
  let pos = 0;
  while (pos < script.length && out.length < max) {
    const nl = script.indexOf(0x0a, pos);
    const end = nl < 0 ? script.length : nl + 1;
    c.write(script.subarray(pos, end));
    pos = end;
    const r = await take();
    if (r === "closed") return out;
    if (r.code !== 354) continue;
    let blockEnd: number;
    if (opts.oneWriteAfter354) blockEnd = script.length;
    else if (script.subarray(pos, pos + 3).toString("latin1") === ".\r\n") blockEnd = pos + 3;
    else {
      const term = script.indexOf("\r\n.\r\n", pos - 2, "latin1");
      blockEnd = term < 0 ? script.length : term + 5;
    }
    c.write(script.subarray(pos, blockEnd));
    pos = blockEnd;
    if (opts.oneWriteAfter354 || blockEnd === script.length) {
      while (out.length < max) if ((await take()) === "closed") return out;
      return out;
    }
    if ((await take()) === "closed") return out;
  }
  return out;
}
