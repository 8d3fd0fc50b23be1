import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import selfsigned from "selfsigned";

export interface SinkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  /** The MAIL FROM parameters the client sent (e.g. BODY=8BITMIME). */
  mailParams: Record<string, string>;
  /** Whether the connection was TLS when the message came. */
  secure: boolean;
  authUser: string | null;
}

export interface Sink {
  port: number;
  messages: SinkMessage[];
  /** Every AUTH seen, and whether TLS was up at the time. */
  auths: Array<{ user: string; secure: boolean }>;
  close(): Promise<void>;
}

let tlsPair: { key: string; cert: string } | null = null;
export async function testTls(): Promise<{ key: string; cert: string }> {
  if (!tlsPair) {
    const p = await selfsigned.generate([{ name: "commonName", value: "localhost" }], { keyType: "ec", curve: "P-256", algorithm: "sha256" });
    tlsPair = { key: p.private, cert: p.cert };
  }
  return tlsPair;
}

/**
 * A real SMTP server (smtp-server) that records what it receives. Options pass through to
 * SMTPServer, so a test can hide STARTTLS or 8BITMIME, require AUTH, or answer with errors.
 */
export async function startSink(opts: Partial<SMTPServerOptions> & { rejectData?: { code: number; message: string } } = {}): Promise<Sink> {
  const tls = await testTls();
  const messages: SinkMessage[] = [];
  const auths: Sink["auths"] = [];
  const { rejectData, ...rest } = opts;
  const server = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, session, cb) {
      auths.push({ user: auth.username ?? "", secure: !!session.secure });
      cb(null, { user: auth.username ?? "" });
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        if (rejectData) {
          const e = new Error(rejectData.message) as Error & { responseCode: number };
          e.responseCode = rejectData.code;
          return cb(e);
        }
        const mf = session.envelope.mailFrom;
        messages.push({
          from: mf ? mf.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          mailParams: (mf && (mf.args as Record<string, string>)) || {},
          secure: !!session.secure,
          authUser: session.user ? String(session.user) : null,
        });
        cb();
      });
    },
    ...rest,
  });
  // Port 0: the kernel picks a free port at bind time (a port looked up first can be taken by
  // another test process before we bind it).
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(0, "127.0.0.1", () => res());
  });
  server.on("error", () => {});
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { port, messages, auths, close: () => new Promise<void>((res) => server.close(() => res())) };
}
