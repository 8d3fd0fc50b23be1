import { SMTPServer } from "smtp-server";
import { waitFor } from "./net.ts";
import { freePort } from "./net.ts";
import type { TestGateway } from "./gateway.ts";
import { testTls } from "./sink.ts";

/** An SMTP reply a scripted sink answers with instead of accepting. */
export interface Reply {
  code: number;
  message: string;
}

/** What a scripted sink does now; change it at any time (the next command sees the change). */
export interface SinkScript {
  auth: Reply | null;
  rcpt: Reply | null;
  data: Reply | null;
}

export interface OfferedMessage {
  from: string;
  to: string[];
  raw: Buffer;
  /** Whether the sink accepted it (250) or answered with the scripted DATA reply. */
  accepted: boolean;
}

/**
 * An upstream whose answers a test changes as it goes: it can refuse AUTH, RCPT or DATA with a
 * given reply, and it records every message whose bytes it read (`offered`, refused ones too),
 * so a test can compare what one provider was offered with what the next one received.
 * `accepted` are the ones it answered 250 to.
 */
export interface ScriptedSink {
  port: number;
  script: SinkScript;
  offered: OfferedMessage[];
  readonly accepted: OfferedMessage[];
  /** AUTH attempts seen (refused ones too). */
  auths: number;
  close(): Promise<void>;
}

function smtpError(r: Reply): Error {
  const e = new Error(r.message) as Error & { responseCode: number };
  e.responseCode = r.code;
  return e;
}

export async function startScriptedSink(opts: { port?: number } = {}): Promise<ScriptedSink> {
  const tls = await testTls();
  const sink: ScriptedSink = {
    port: 0,
    script: { auth: null, rcpt: null, data: null },
    offered: [],
    get accepted() {
      return this.offered.filter((m) => m.accepted);
    },
    auths: 0,
    close: async () => {},
  };
  const server = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, cb) {
      sink.auths++;
      if (sink.script.auth) return cb(smtpError(sink.script.auth));
      cb(null, { user: auth.username ?? "" });
    },
    onRcptTo(_addr, _session, cb) {
      if (sink.script.rcpt) return cb(smtpError(sink.script.rcpt));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const refuse = sink.script.data;
        const mf = session.envelope.mailFrom;
        sink.offered.push({ from: mf ? mf.address : "", to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks), accepted: !refuse });
        if (refuse) return cb(smtpError(refuse));
        cb();
      });
    },
  });
  const port = opts.port ?? (await freePort());
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(port, "127.0.0.1", () => res());
  });
  server.on("error", () => {});
  sink.port = port;
  sink.close = () =>
    new Promise<void>((res) => {
      // Warm connections from the gateway's pool would hold close() for its 30 s timeout.
      for (const c of (server as unknown as { connections: Set<{ close(): void }> }).connections ?? []) c.close();
      server.close(() => res());
    });
  return sink;
}

/** Provider-side failures (they count towards the circuit), as real upstreams word them. */
export const QUOTA_AT_DATA: Reply = { code: 554, message: "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception" };
export const AUTH_REFUSED: Reply = { code: 535, message: "5.7.8 Error: authentication failed" };
export const TRY_LATER: Reply = { code: 451, message: "4.3.0 Temporary local problem, try again later" };
/** Failures that are the message's own (they never count). */
export const NO_SUCH_USER: Reply = { code: 550, message: "5.1.1 <nobody@example.net>: Recipient address rejected: User unknown" };
export const CONTENT_REJECTED: Reply = { code: 550, message: "5.7.1 Message rejected as spam by Content Filtering" };

export async function emailView(g: TestGateway, id: string): Promise<any> {
  const r = await g.api("GET", `/api/v1/emails/${id}`);
  if (r.status !== 200) throw new Error(`GET /emails/${id}: ${r.status} ${r.text}`);
  return r.json.data;
}

export async function providerView(g: TestGateway, id: string): Promise<any> {
  const r = await g.api("GET", `/api/v1/providers/${id}`);
  if (r.status !== 200) throw new Error(`GET /providers/${id}: ${r.status} ${r.text}`);
  return r.json.data;
}

/** Waits until a message has one more attempt than `before` and is no longer sending; returns its view. */
export async function nextAttempt(g: TestGateway, id: string, before: number, timeoutMs = 15_000): Promise<any> {
  return waitFor(async () => {
    const v = await emailView(g, id);
    return v.attempts.length > before && v.status !== "sending" && v.status !== "queued" ? v : null;
  }, `message ${id} to finish attempt ${before + 1}`, timeoutMs);
}

/** Waits until a message is in one of the statuses and (when given) shows this waiting reason. */
export async function waitStatus(g: TestGateway, id: string, statuses: string[], waitingReason?: string, timeoutMs = 15_000): Promise<any> {
  return waitFor(async () => {
    const v = await emailView(g, id);
    if (!statuses.includes(v.status)) return null;
    if (waitingReason && v.waiting?.reason !== waitingReason) return null;
    return v;
  }, `message ${id} to be ${statuses.join("/")}${waitingReason ? ` waiting for ${waitingReason}` : ""}`, timeoutMs);
}

/**
 * Real time for the dispatcher to act on a clock move (it checks the scheduled queue every
 * second of real time). Used only to show that nothing happens: that a message does not go out
 * before its time.
 */
export const QUIET_MS = 2_500;
