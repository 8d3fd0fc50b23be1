/**
 * The SMTP relay (SPEC "SMTP relay"): message submission with AUTH, where the password is an API
 * key and the user name is ignored. The envelope decides who receives; the message is queued
 * durably (submit()) before the 250, through the same scope and routing as the HTTP API.
 *
 * Two listeners run this code: 587-style (`secure: false`: STARTTLS, AUTH refused before TLS with
 * 530 5.7.0) and 465-style (`secure: true`: implicit TLS). Every reply carries one enhanced
 * status code (see connection.ts, replies.ts).
 *
 * Policies where SPEC is silent (also in the README):
 * - MAIL FROM needs angle brackets, as RFC 5321 writes it: `MAIL FROM:a@b` and `MAIL FROM: a@b`
 *   get 501 5.1.7. A space between the colon and `<` is tolerated (common in the wild) and never
 *   becomes part of the address.
 * - The null sender `MAIL FROM:<>` is refused with 553 5.1.7: the relay submits new mail, which
 *   always has a sender providers can bounce to; a bounce of ours is not something to relay.
 * - At most 50 distinct recipients per message (the API's to+cc+bcc limit); the 51st RCPT gets
 *   452 4.5.3 and the client sends the rest in another transaction (RFC 5321 4.5.3.1.10).
 * - EHLO offers PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, SIZE 26214400, and STARTTLS (before TLS)
 *   or AUTH PLAIN LOGIN (after TLS). Not offered: SMTPUTF8 (addresses must be ASCII; IDN domains
 *   are taken and converted to A-labels), DSN (the relay sends no delivery reports; statuses are in
 *   the API and webhooks), REQUIRETLS (onward TLS cannot be promised for every provider type).
 *   Their parameters (SMTPUTF8, RET, ENVID, NOTIFY, ORCPT, REQUIRETLS, …) get 555 5.5.4.
 *   MAIL accepts SIZE, BODY=7BIT|8BITMIME and AUTH= (sent by MTAs relaying through us; ignored).
 * - A message over 26214400 bytes is read to its end, then refused with 552 5.3.4; the connection
 *   stays usable. MAIL … SIZE= over the limit gets 552 5.3.4 at once.
 * - Line ends: DATA ends only at CRLF.CRLF; bare LF or CR inside the message are rewritten to CRLF
 *   (as Postfix 3.9's smtpd_forbid_bare_newline=normalize). See message.ts for what else changes.
 * - Idle for SENDMUX_SMTP_IDLE_TIMEOUT_MS while the relay waits for the client (also in the middle
 *   of DATA): 421 4.4.2 and the connection is closed; a partial message is dropped, never queued.
 * - 10 failed logins on one connection: 421 4.7.0 and the connection is closed.
 * - The key is checked again at every MAIL: once revoked, the session gets 530 5.7.0 and may log
 *   in again with another key.
 */
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { checkAddress, type AddressCheck } from "../api/emails/address.ts";
import type { Gateway } from "../gateway.ts";
import { newId } from "../ids.ts";
import { assertCanSend, NoActiveProviders, submit } from "../submit.ts";
import type { KeyContext } from "../types.ts";
import { RelayServer } from "./connection.ts";
import { prepareRelayed } from "./message.ts";
import { fingerprint } from "../idempotency.ts";
import type { NewClaim } from "../api/idempotent.ts";
import { IdempotencyClaimLost } from "../store/messages.ts";
import { headerValue, parseHeaderBlock, rewriteHeaders } from "../mime/headers.ts";
import { MAX_AUTH_FAILURES, MAX_MESSAGE_BYTES, MAX_RECIPIENTS, replies, type SmtpReplyError } from "./replies.ts";

export { MAX_MESSAGE_BYTES };

/** Connections the relay serves at once (each listener). */
export const MAX_CLIENTS = 1000;

export interface RelayOptions {
  host: string;
  port: number;
  /** true: implicit TLS (465); false: STARTTLS (587), AUTH only after the upgrade. */
  secure: boolean;
  cert: string;
  key: string;
}

export interface Relay {
  server: RelayServer;
  port: number;
  close(): Promise<void>;
}

type Done = (err?: Error | null) => void;

/** Per-connection state of ours; smtp-server keeps the session object for the connection's life. */
interface RelaySession extends SMTPServerSession {
  authFailures?: number;
  /** The key the session logged in with, checked again for every message (revocation is at once). */
  apiKey?: string;
}

const MAIL_PARAMS = new Set(["SIZE", "BODY", "AUTH"]);

function paramsError(command: "MAIL" | "RCPT", addr: SMTPServerAddress): SmtpReplyError | null {
  for (const name of Object.keys(addr.args || {})) {
    if (command === "MAIL" && MAIL_PARAMS.has(name)) continue;
    const why = ["NOTIFY", "ORCPT", "RET", "ENVID"].includes(name)
      ? "delivery status notifications (DSN) are not offered; message statuses are in the API and webhooks"
      : name === "SMTPUTF8"
        ? "SMTPUTF8 is not offered; use ASCII addresses (internationalised domains are fine)"
        : "the relay does not offer that extension";
    return replies.unsupportedParam(command, name, why);
  }
  return null;
}

/** The API's address rules; a quoted local part gets its own reason (only SMTP can carry one). */
function checkPath(address: string): AddressCheck {
  if (address.startsWith('"')) return { ok: false, reason: "quoted local parts are not accepted; use a plain address like user@example.com" };
  return checkAddress(address);
}

/** Maps a failure of ours to its reply: scope without an active provider, else the store. */
function failureReply(gw: Gateway, e: unknown, what: string): SmtpReplyError {
  if (e instanceof NoActiveProviders) return replies.noActiveProviders();
  if (e instanceof Error && typeof (e as SmtpReplyError).responseCode === "number") return e as SmtpReplyError;
  if (e instanceof IdempotencyClaimLost) return replies.idempotencyInFlight();
  gw.log.warn({ component: "relay", err: e instanceof Error ? e.message : String(e) }, `${what} failed: message store unavailable`);
  return replies.storeUnavailable();
}

export async function startRelay(gw: Gateway, opts: RelayOptions): Promise<Relay> {
  const server: RelayServer = new RelayServer({
    secure: opts.secure,
    key: opts.key,
    cert: opts.cert,
    name: gw.cfg.hostname,
    banner: "Sendmux relay",
    size: MAX_MESSAGE_BYTES,
    authMethods: ["PLAIN", "LOGIN"],
    authRequiredMessage: replies.authRequired,
    allowInsecureAuth: false,
    disabledCommands: opts.secure ? ["STARTTLS"] : [],
    hideENHANCEDSTATUSCODES: false,
    hideSMTPUTF8: true,
    hideDSN: true,
    hideREQUIRETLS: true,
    // The client's host name is never used; a reverse lookup would only delay every greeting.
    disableReverseLookup: true,
    socketTimeout: gw.cfg.smtpIdleTimeoutMs,
    // On shutdown a client gets this long to finish what it is sending, then 421.
    closeTimeout: 5000,
    // Beyond this many connections at once a new client gets 421 "too many connected clients".
    maxClients: MAX_CLIENTS,
    logger: false,
    onAuth: (auth, session, cb) => onAuth(gw, auth, session as RelaySession, cb),
    onMailFrom: (addr, session, cb) => onMailFrom(gw, addr, session as RelaySession, cb),
    onRcptTo: (addr, session, cb) => onRcptTo(addr, session, cb),
    onData: (stream, session, cb) => onData(gw, stream, session, cb),
  });
  server.on("error", (err) => gw.log.debug({ component: "relay", err: err.message }, "relay connection error"));
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(opts.port, opts.host, () => {
      server.off("error", rej);
      res();
    });
  });
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return { server, port, close: () => new Promise<void>((res) => server.close(() => res())) };
}

function onAuth(gw: Gateway, auth: SMTPServerAuthentication, session: RelaySession, cb: (err: Error | null, res?: { user: KeyContext }) => void): void {
  const fail = () => {
    session.authFailures = (session.authFailures ?? 0) + 1;
    cb(session.authFailures >= MAX_AUTH_FAILURES ? replies.authTooManyFailures() : replies.authInvalid());
  };
  const password = (auth.password ?? "").trim();
  if (!password) return fail();
  gw.keys.authenticate(password).then(
    async (ctx) => {
      if (!ctx) return fail();
      if (await gw.accounts.suspended(ctx.accountId)) return cb(replies.accountSuspended());
      session.apiKey = password;
      cb(null, { user: ctx });
    },
  ).catch((e) => cb(failureReply(gw, e, "AUTH")));
}

function onMailFrom(gw: Gateway, addr: SMTPServerAddress, session: RelaySession, cb: Done): void {
  const bad = paramsError("MAIL", addr);
  if (bad) return cb(bad);
  if (!addr.address) return cb(replies.nullSender());
  const c = checkPath(addr.address);
  if (!c.ok) return cb(replies.badSender(c.reason));
  void (async () => {
    // The key may have been revoked since AUTH (a cached lookup; a revoke clears the cache).
    const ctx = await gw.keys.authenticate(session.apiKey ?? "");
    if (!ctx) {
      session.user = undefined;
      return cb(replies.keyRevoked());
    }
    // A suspension refuses each message but keeps the login: once the account is unsuspended the
    // same session sends again.
    if (await gw.accounts.suspended(ctx.accountId)) return cb(replies.accountSuspended("MAIL"));
    session.user = ctx;
    // Refuse at once when the key can reach no provider, before the client sends the message.
    await assertCanSend(gw, ctx);
    // Refuse at once when the key has no room left; the message itself is counted at its end.
    const rate = await gw.limiter.take(ctx.keyId, 0);
    if (rate.remaining <= 0) return cb(replies.rateLimited(rate.resetSec));
    cb();
  })().catch((e) => cb(failureReply(gw, e, "MAIL")));
}

function onRcptTo(addr: SMTPServerAddress, session: SMTPServerSession, cb: Done): void {
  const bad = paramsError("RCPT", addr);
  if (bad) return cb(bad);
  const c = checkPath(addr.address);
  if (!c.ok) return cb(replies.badRecipient(c.reason));
  const rcpts = session.envelope.rcptTo;
  const again = rcpts.some((r) => r.address.toLowerCase() === addr.address.toLowerCase());
  if (!again && rcpts.length >= MAX_RECIPIENTS) return cb(replies.tooManyRecipients());
  cb();
}

function onData(gw: Gateway, stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err: Error | null, message?: string) => void): void {
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => {
    // Past the limit the rest is only read (and counted by smtp-server), never kept.
    if (!stream.sizeExceeded) chunks.push(c);
  });
  // The client went away or timed out in the middle: the partial message is dropped.
  stream.on("error", () => void chunks.splice(0));
  stream.on("end", () => {
    if (stream.sizeExceeded) return cb(replies.tooBig());
    accept(gw, session, Buffer.concat(chunks)).then(
      (id) => cb(null, replies.queued(id)),
      (e) => cb(failureReply(gw, e, "enqueue")),
    );
  });
}

/** Queues one relayed message durably; resolves with its id once it is safe to answer 250. */
async function accept(gw: Gateway, session: SMTPServerSession, submitted: Buffer): Promise<string> {
  const ctx = session.user as KeyContext;
  // SPEC "Rate limit": one SMTP message is one request, counted with the key's HTTP requests.
  const rate = await gw.limiter.take(ctx.keyId);
  if (!rate.allowed) throw replies.rateLimited(rate.resetSec);
  gw.keys.touch(ctx);
  // EXT: an Idempotency-Key header gives SMTP the API's 24 h idempotency. The fingerprint covers
  // the envelope and the message as submitted (without that header).
  const idemKey = headerValue(parseHeaderBlock(submitted), "idempotency-key");
  let claim: NewClaim | null = null;
  if (idemKey !== null) {
    if (idemKey.length === 0 || idemKey.length > 255 || !/^[\x21-\x7e]+$/.test(idemKey)) throw replies.badIdempotencyKey();
    const envelope = [session.envelope.mailFrom ? session.envelope.mailFrom.address : "", ...session.envelope.rcptTo.map((r) => r.address)].join("\n");
    const block = parseHeaderBlock(submitted);
    const withoutKey = rewriteHeaders(submitted, block, ["idempotency-key"], []);
    const c = await gw.idempotency.claim(ctx.accountId, "smtp", idemKey, fingerprint([envelope, "\n\n", withoutKey]));
    if (c.kind === "replay") return c.body;
    if (c.kind === "conflict") throw replies.idempotencyConflict();
    if (c.kind === "inflight") throw replies.idempotencyInFlight();
    claim = c;
  }
  try {
    return await queueRelayed(gw, session, ctx, submitted, claim);
  } catch (e) {
    if (claim) await gw.idempotency.release(claim);
    throw e;
  }
}

async function queueRelayed(gw: Gateway, session: SMTPServerSession, ctx: KeyContext, submitted: Buffer, claim: NewClaim | null): Promise<string> {
  const id = newId("eml");
  const msg = prepareRelayed(submitted, { id, hostname: gw.cfg.hostname, nowMs: gw.clock.now() });
  const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
  const from = checkAddress(mailFrom);
  const to: string[] = [];
  for (const r of session.envelope.rcptTo) {
    const c = checkAddress(r.address);
    if (c.ok && !to.includes(c.address)) to.push(c.address);
  }
  await submit(gw, ctx, [
    {
      id,
      source: "smtp",
      envelope: { from: from.ok ? from.address : mailFrom, to },
      from: msg.from || mailFrom,
      to: msg.to,
      cc: msg.cc,
      subject: msg.subject,
      message_id_header: msg.messageIdHeader,
      size_bytes: msg.raw.byteLength,
      body: { kind: "raw", raw: msg.raw },
    },
  ], claim ? gw.idempotency.completion(claim, 250, id) : undefined);
  gw.log.info({ component: "relay", message_id: id, recipients: to.length, size_bytes: msg.raw.byteLength }, "message queued");
  return id;
}
