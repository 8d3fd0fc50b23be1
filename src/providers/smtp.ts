import { isIP } from "node:net";
import nodemailer, { type Transporter } from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool/index.js";
import { classify, SMTP_TABLE, type ProviderError } from "../routing/classify.ts";
import { SevenBitError, toSevenBit } from "../mime/sevenbit.ts";
import type { OutgoingMessage, ProviderAdapter, ProviderSnapshot, SendOutcome, TestOutcome } from "./types.ts";

/** nodemailer options for a provider's SMTP fields. */
export function transportOptions(snap: ProviderSnapshot, pooled: boolean): SMTPPool.Options {
  const r = snap.record;
  const proto = r.smtp_protocol ?? "starttls";
  const password = typeof snap.secrets.smtp_password === "string" ? snap.secrets.smtp_password : undefined;
  return {
    pool: pooled as true,
    host: r.smtp_host ?? "localhost",
    port: r.smtp_port ?? 587,
    // tls and ssl: TLS from the first byte. starttls: the upgrade is required, and nothing
    // (AUTH, MAIL) is sent before it. none: plain text, the upgrade is never attempted.
    secure: proto === "tls" || proto === "ssl",
    requireTLS: proto === "starttls",
    ignoreTLS: proto === "none",
    auth: r.smtp_username && password ? { user: r.smtp_username, pass: password } : undefined,
    tls: { rejectUnauthorized: r.smtp_tls_verify !== false, servername: r.smtp_host && !isIP(r.smtp_host) ? r.smtp_host : undefined },
    maxConnections: 4,
    maxMessages: 100,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
    // close() destroys the socket at once instead of ending it gracefully: a worker thread that
    // is idle after its close task never flushed the graceful end, so the upstream kept the
    // connection (and the gateway's shutdown waited on it).
    socketCloseTimeout: 0,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

interface NodemailerError {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

/**
 * The attempt response for a failed send: nodemailer's message, which already carries the
 * upstream's reply where there was one ("Message failed: 550 5.7.1 …"), prefixed with what the
 * gateway was doing when it happened, so it reads without the code.
 */
export function describeFailure(err: unknown, snap: ProviderSnapshot): string {
  const e = err as NodemailerError;
  const where = `${snap.record.smtp_host}:${snap.record.smtp_port}`;
  const text = (e.message ?? String(err)).replace(/\s+/g, " ").trim();
  let lead = "";
  if (e.code === "ETLS") lead = `TLS with ${where} failed (smtp_protocol ${snap.record.smtp_protocol}): `;
  else if (e.code === "EAUTH" || e.code === "ENOAUTH") lead = `${where} refused the login${snap.record.smtp_username ? ` for ${snap.record.smtp_username}` : ""}: `;
  else if (!e.responseCode && ["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS"].includes(e.code ?? "")) lead = `could not reach ${where}: `;
  else if (e.responseCode) lead = `${where} answered ${e.command ? `${e.command} ` : ""}with an error: `;
  return (lead + text).slice(0, 1000);
}

function failure(err: unknown, snap: ProviderSnapshot): SendOutcome {
  const e = err as NodemailerError;
  const pe: ProviderError = { code: e.code, responseCode: e.responseCode, response: e.response ?? e.message, command: e.command };
  const { cls } = classify(SMTP_TABLE, pe);
  return { ok: false, class: cls, response: describeFailure(err, snap), code: e.code };
}

/**
 * The `smtp` provider type: any SMTP server, through a pooled nodemailer transport that the
 * owning worker keeps warm. The message goes out as it was stored, made 7-bit safe first where
 * it carries 8-bit bytes or over-long lines (an upstream without 8BITMIME, or strict about line
 * length, would otherwise mangle or refuse it).
 */
export class SmtpAdapter implements ProviderAdapter {
  readonly type = "smtp";
  private transport: Transporter;

  constructor(private readonly snap: ProviderSnapshot) {
    this.transport = nodemailer.createTransport(transportOptions(snap, true));
  }

  async send(msg: OutgoingMessage): Promise<SendOutcome> {
    let raw: Buffer;
    try {
      raw = toSevenBit(msg.raw);
    } catch (e) {
      // Not the provider's fault and not fixable by retrying: the message itself cannot go out.
      if (e instanceof SevenBitError) return { ok: false, class: "permanent_recipient", response: `message cannot be made 7-bit safe for SMTP: ${e.message}` };
      throw e;
    }
    try {
      // The message is 7-bit now, so MAIL FROM never declares BODY=8BITMIME (use8BitMime unset).
      const info = await this.transport.sendMail({ envelope: { from: msg.envelope.from, to: msg.envelope.to }, raw });
      const rejected = (info.rejected ?? []) as string[];
      if (rejected.length && rejected.length === msg.envelope.to.length) {
        return { ok: false, class: "permanent_recipient", response: String(info.response ?? "all recipients rejected") };
      }
      const note = rejected.length ? ` (rejected: ${rejected.join(", ")})` : "";
      return { ok: true, response: String(info.response ?? "250 OK") + note, providerMessageId: info.messageId, rejected };
    } catch (err) {
      return failure(err, this.snap);
    }
  }

  async verify(): Promise<TestOutcome> {
    const t = nodemailer.createTransport({ ...transportOptions(this.snap, false), pool: false } as never);
    try {
      await t.verify();
      return { success: true, message: `connected to ${this.snap.record.smtp_host}:${this.snap.record.smtp_port}${this.snap.record.smtp_username ? " and authenticated" : ""}` };
    } catch (err) {
      return { success: false, message: describeFailure(err, this.snap) };
    } finally {
      t.close();
    }
  }

  async close(): Promise<void> {
    this.transport.close();
    // Give the event loop a turn before returning: in a worker thread that goes idle once its
    // close task is done, Bun did not carry out the socket teardown otherwise, so the upstream
    // kept the warm connection open.
    await new Promise((r) => setTimeout(r, 20));
  }
}
