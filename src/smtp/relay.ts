import { SMTPServer, type SMTPServerAuthentication, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import type { Gateway } from "../gateway.ts";
import { checkAddress } from "../api/emails/address.ts";
import { NoActiveProviders, submit } from "../submit.ts";
import { newId } from "../ids.ts";
import { headerValue, parseHeaderBlock, rewriteHeaders } from "../mime/headers.ts";
import type { KeyContext } from "../types.ts";

export const MAX_MESSAGE_BYTES = 26_214_400;

export interface RelayOptions {
  host: string;
  port: number;
  /** true: implicit TLS (465); false: STARTTLS (587), AUTH only after the upgrade. */
  secure: boolean;
  cert: string;
  key: string;
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  const e = new Error(message) as Error & { responseCode: number };
  e.responseCode = code;
  return e;
}

/**
 * The SMTP relay (SPEC "SMTP relay"): submission with AUTH (the password is the API key), the
 * envelope decides who receives, a Bcc header is never relayed, Message-ID and Date are added
 * where missing, and the message is queued durably before the 250.
 */
export async function startRelay(gw: Gateway, opts: RelayOptions): Promise<{ server: SMTPServer; port: number; close(): Promise<void> }> {
  const server = new SMTPServer({
    secure: opts.secure,
    key: opts.key,
    cert: opts.cert,
    name: gw.cfg.hostname,
    banner: "Sendmux relay",
    size: MAX_MESSAGE_BYTES,
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: false,
    disabledCommands: opts.secure ? ["STARTTLS"] : [],
    socketTimeout: gw.cfg.smtpIdleTimeoutMs,
    logger: false,
    onAuth(auth: SMTPServerAuthentication, _session: SMTPServerSession, cb) {
      const password = auth.password ?? "";
      if (!password) return cb(smtpError(535, "5.7.8 Authentication credentials invalid"));
      gw.keys.authenticate(password).then(
        (ctx) => (ctx ? cb(null, { user: ctx as unknown as string }) : cb(smtpError(535, "5.7.8 Authentication credentials invalid"))),
        () => cb(smtpError(451, "4.3.0 Temporary failure: message store unavailable")),
      );
    },
    onRcptTo(address, _session, cb) {
      const c = checkAddress(address.address);
      if (!c.ok) return cb(smtpError(553, `5.1.3 Recipient address rejected: ${c.reason}`));
      cb();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        if (stream.sizeExceeded) return cb(smtpError(552, `5.3.4 Message size exceeds fixed maximum message size ${MAX_MESSAGE_BYTES}`));
        const ctx = session.user as unknown as KeyContext;
        let raw: Buffer = Buffer.concat(chunks);
        const block = parseHeaderBlock(raw);
        const id = newId("eml");
        const add: Array<[string, string]> = [];
        let mid = headerValue(block, "message-id");
        if (!mid) {
          mid = `<${id}@${gw.cfg.hostname}>`;
          add.push(["Message-ID", mid]);
        }
        if (!headerValue(block, "date")) add.push(["Date", new Date(gw.clock.now()).toUTCString().replace("GMT", "+0000")]);
        raw = rewriteHeaders(raw, block, ["bcc"], add);
        const from = (session.envelope.mailFrom && session.envelope.mailFrom.address) || "";
        const rcpts = session.envelope.rcptTo.map((r) => checkAddress(r.address)).filter((c) => c.ok).map((c) => (c as { address: string }).address);
        submit(gw, ctx, [
          {
            id,
            source: "smtp",
            envelope: { from, to: rcpts },
            from: headerValue(block, "from") ?? from,
            to: (headerValue(block, "to") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
            subject: headerValue(block, "subject") ?? "",
            message_id_header: mid.replace(/^<|>$/g, ""),
            size_bytes: raw.byteLength,
            body: { kind: "raw", raw },
          },
        ]).then(
          () => cb(null, `Ok: queued as ${id}`),
          (e) => {
            if (e instanceof NoActiveProviders) return cb(smtpError(550, "5.7.1 no_active_providers: no active provider in this key's scope"));
            gw.log.error({ component: "relay", err: e }, "enqueue failed");
            cb(smtpError(451, "4.3.0 Temporary failure: message store unavailable, try again"));
          },
        );
      });
    },
  });
  server.on("error", (err) => gw.log.warn({ component: "relay", err }, "relay connection error"));
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(opts.port, opts.host, () => res());
  });
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return { server, port, close: () => new Promise<void>((res) => server.close(() => res())) };
}
