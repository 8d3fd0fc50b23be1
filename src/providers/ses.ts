import { domainToASCII } from "node:url";
import { GetAccountCommand, SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { classify, type ProviderError } from "../routing/classify.ts";
import { SES_TABLE } from "../routing/classify-ses.ts";
import type { DetectedQuotas, FailureClass } from "../types.ts";
import { describeAccount, detectedFromAccount, isStale, REFRESH_MS } from "./ses-account.ts";
import type { OutgoingMessage, ProviderAdapter, ProviderSnapshot, SendOutcome, TestOutcome } from "./types.ts";

/** SES takes at most 50 recipients (To + Cc + Bcc) per call (provider-specifics.md §3.1). */
export const MAX_RECIPIENTS_PER_CALL = 50;

export interface SesConfig {
  region: string;
  access_key_id: string;
  secret_access_key: string;
  endpoint?: string;
}

/** Called with each GetAccount reading the adapter makes while sending (at most hourly). */
export type AccountReadSink = (accountId: string, providerId: string, d: DetectedQuotas, region: string) => Promise<void>;

export function sesConfig(snap: ProviderSnapshot): SesConfig {
  const c = (snap.secrets.config ?? {}) as Partial<SesConfig>;
  if (typeof c.region !== "string" || typeof c.access_key_id !== "string" || typeof c.secret_access_key !== "string") {
    throw new Error("amazon_ses provider has no complete config (region, access_key_id, secret_access_key); set it again with PATCH");
  }
  return { region: c.region, access_key_id: c.access_key_id, secret_access_key: c.secret_access_key, endpoint: c.endpoint };
}

/**
 * The SDK client, configured so it never looks anywhere but the provider's config: static
 * credentials (no environment, profile, SSO or instance-metadata lookups), the config's region,
 * and every setting the SDK would otherwise read from the environment or ~/.aws/config given
 * here. The SDK does not retry (the gateway's own retries and circuit decide); connections are
 * kept alive between sends.
 */
export function sesClient(c: SesConfig): SESv2Client {
  return new SESv2Client({
    region: c.region,
    endpoint: c.endpoint,
    credentials: { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key },
    credentialDefaultProvider: () => async () => {
      throw new Error("amazon_ses credentials come from the provider's config only");
    },
    defaultsMode: "standard",
    maxAttempts: 1,
    retryMode: "standard",
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    userAgentAppId: "sendmux",
    authSchemePreference: [],
    sigv4aSigningRegionSet: [],
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000, httpAgent: { maxSockets: 16 }, httpsAgent: { maxSockets: 16 } },
  });
}

/** An address as SES takes it: the domain as its A-label (Punycode); null when it cannot be. */
export function asciiAddress(addr: string): string | null {
  const at = addr.lastIndexOf("@");
  if (at < 1) return null;
  const local = addr.slice(0, at);
  // SES has no SMTPUTF8: a local part must be 7-bit (a domain can be converted, a local part cannot).
  if (/[^\x20-\x7e]/.test(local)) return null;
  const domain = domainToASCII(addr.slice(at + 1));
  return domain ? `${local}@${domain}` : null;
}

/** The raw message's header block (up to the first empty line). */
function headerBlock(raw: Buffer): string {
  const end = raw.indexOf("\r\n\r\n");
  const end2 = raw.indexOf("\n\n");
  const cut = end < 0 ? end2 : end2 < 0 ? end : Math.min(end, end2);
  return raw.subarray(0, cut < 0 ? raw.length : cut).toString("latin1");
}

export function countHeader(raw: Buffer, name: string): number {
  const re = new RegExp(`^${name}[ \\t]*:`, "gim");
  return headerBlock(raw).match(re)?.length ?? 0;
}

/** Addresses and domains that identify the sender (envelope and From), lower-cased. */
function senderIdentities(msg: OutgoingMessage): Set<string> {
  const out = new Set<string>();
  const add = (a: string) => {
    const addr = a.trim().toLowerCase();
    if (!addr.includes("@")) return;
    out.add(addr);
    out.add(addr.slice(addr.lastIndexOf("@") + 1));
    const ascii = asciiAddress(addr);
    if (ascii) {
      out.add(ascii);
      out.add(ascii.slice(ascii.lastIndexOf("@") + 1));
    }
  };
  if (msg.envelope.from) add(msg.envelope.from);
  for (const m of msg.from.matchAll(/[^\s<>,"]+@[^\s<>,"]+/g)) add(m[0]);
  const hdr = /^(?:From|Sender|Return-Path)[ \t]*:(.*(?:\r?\n[ \t].*)*)/gim;
  for (const h of headerBlock(msg.raw).matchAll(hdr)) for (const m of h[1]!.matchAll(/[^\s<>,"]+@[^\s<>,"]+/g)) add(m[0]);
  return out;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** An SDK error as the classification table reads it (src/routing/classify-ses.ts). */
export function sesProviderError(err: unknown, msg?: OutgoingMessage): ProviderError {
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const code = status ? e.name : (e.code ?? e.name);
  const pe: ProviderError = { code, status, response: (e.message ?? String(err)).replace(/\s+/g, " ").trim(), command: "API" };
  // "Email address is not verified. The following identities failed the check in region X: a, b"
  const nv = /not verified[\s\S]*?failed the check in region [^:]+:\s*(.+)$/i.exec(pe.response ?? "");
  if (nv && msg) {
    const listed = nv[1]!.split(/,\s*/).map((s) => s.trim().replace(/\.$/, "").toLowerCase());
    const senders = senderIdentities(msg);
    pe.reason = listed.some((id) => senders.has(id)) ? "sender_not_verified" : "recipient_not_verified";
  } else if (nv || /not verified/i.test(pe.response ?? "")) {
    pe.reason = "sender_not_verified";
  }
  return pe;
}

/** An attempt response a user can act on; never carries credentials. */
export function describeSesFailure(pe: ProviderError, cls: FailureClass, c: SesConfig): string {
  const where = c.endpoint ? `Amazon SES at ${c.endpoint}` : `Amazon SES (${c.region})`;
  const what = `${pe.code ?? "error"}${pe.status ? ` (HTTP ${pe.status})` : ""}: ${pe.response}`;
  let lead: string;
  if (cls === "connection") lead = `could not reach ${where}`;
  else if (cls === "auth_config" && pe.reason === "sender_not_verified") lead = `${where} refused the sender: verify the From address or its domain in SES`;
  else if (cls === "auth_config" && (pe.status === 401 || pe.status === 403 || /token|signature|denied|credential/i.test(pe.code ?? ""))) lead = `${where} refused the credentials: check access_key_id, secret_access_key and the IAM policy`;
  else if (cls === "auth_config") lead = `${where} cannot send for this account until it is fixed in SES`;
  else if (cls === "quota") lead = `${where}: the account's daily sending quota is used up`;
  else if (pe.reason === "recipient_not_verified") lead = `${where} refused the recipient: the account is in the SES sandbox, which only delivers to verified addresses`;
  else if (cls === "permanent_recipient") lead = `${where} refused the message`;
  else lead = `${where} could not take the message now`;
  return `${lead}: ${what}`.slice(0, 1000);
}

/**
 * The `amazon_ses` provider type: SES v2 `SendEmail` with the finished message as `Content.Raw`
 * and the envelope as `Destination`, so Bcc recipients are delivered without a Bcc header. One
 * warm client (keep-alive) per provider per worker. Envelopes above 50 recipients go out in
 * several calls. GetAccount is read by `verify()` and, while the provider sends, at most hourly,
 * so the default caps follow the account's quota.
 */
export class SesAdapter implements ProviderAdapter {
  readonly type = "amazon_ses";
  private readonly cfg: SesConfig;
  private readonly client: SESv2Client;
  private nextReadAt: number;
  private reading: Promise<void> | null = null;

  constructor(private readonly snap: ProviderSnapshot, private readonly onAccountRead?: AccountReadSink, private readonly now: () => number = Date.now) {
    this.cfg = sesConfig(snap);
    this.client = sesClient(this.cfg);
    const d = snap.record.detected_quotas;
    // A fresh reading on the record is good until it is an hour old; none means read at first use.
    this.nextReadAt = d && !isStale(d, now()) ? Date.parse(d.read_at) + REFRESH_MS : 0;
  }

  async send(msg: OutgoingMessage): Promise<SendOutcome> {
    this.maybeReadAccount(msg.now);
    // SES refuses a message that already carries more than one DKIM-Signature ("Duplicate header
    // 'DKIM-Signature'"); the gateway relays messages as they came, so it does not strip a
    // signature the sender added. One clear permanent failure instead of a retry loop.
    const dkim = countHeader(msg.raw, "DKIM-Signature");
    if (dkim > 1) {
      return { ok: false, class: "permanent_recipient", response: `Amazon SES does not accept a message with ${dkim} DKIM-Signature headers (it refuses it as "Duplicate header 'DKIM-Signature'"); sign it once, or let SES sign it, and send it again` };
    }
    const from = msg.envelope.from ? asciiAddress(msg.envelope.from) : undefined;
    if (from === null) return { ok: false, class: "permanent_recipient", response: `Amazon SES cannot send from ${msg.envelope.from}: SES takes only ASCII local parts (no SMTPUTF8)` };
    const rcpts: string[] = [];
    const bad: string[] = [];
    for (const r of msg.envelope.to) {
      const a = asciiAddress(r);
      if (a) rcpts.push(a);
      else bad.push(r);
    }
    if (!rcpts.length) return { ok: false, class: "permanent_recipient", response: `Amazon SES cannot deliver to ${bad.join(", ")}: SES takes only ASCII local parts (no SMTPUTF8)` };

    const sent: Array<{ id: string; n: number }> = [];
    for (let i = 0; i < rcpts.length; i += MAX_RECIPIENTS_PER_CALL) {
      const chunk = rcpts.slice(i, i + MAX_RECIPIENTS_PER_CALL);
      try {
        const out = await this.client.send(
          new SendEmailCommand({ FromEmailAddress: from, Destination: { ToAddresses: chunk }, Content: { Raw: { Data: msg.raw } } }),
        );
        sent.push({ id: out.MessageId ?? "", n: chunk.length });
      } catch (err) {
        const pe = sesProviderError(err, msg);
        const { cls } = classify(SES_TABLE, pe);
        const text = describeSesFailure(pe, cls, this.cfg);
        // Nothing went out yet: the whole message fails (or is retried) as one.
        if (!sent.length) return { ok: false, class: cls, response: text, code: pe.code };
        // Some recipients already have it: retrying the message would send it to them twice, so it
        // counts as sent, and the response names who did not get it and why.
        const missed = rcpts.slice(i);
        return { ok: true, response: `${okText(sent)}; NOT sent to ${missed.length} recipient(s) (${missed.join(", ")}): ${text}${badNote(bad)}`.slice(0, 2000), providerMessageId: sent[0]!.id };
      }
    }
    return { ok: true, response: okText(sent) + badNote(bad), providerMessageId: sent[0]!.id };
  }

  async verify(): Promise<TestOutcome> {
    try {
      const a = await this.client.send(new GetAccountCommand({}));
      const d = detectedFromAccount(a, this.now());
      return { success: d.sending_enabled, message: describeAccount(d, this.cfg.region), detected_quotas: d };
    } catch (err) {
      const pe = sesProviderError(err);
      const { cls } = classify(SES_TABLE, pe);
      return { success: false, message: `GetAccount failed: ${describeSesFailure(pe, cls, this.cfg)}` };
    }
  }

  async close(): Promise<void> {
    await this.reading?.catch(() => {});
    this.client.destroy();
  }

  /** Reads GetAccount in the background when the last reading is an hour old (never blocks a send). */
  private maybeReadAccount(now: number): void {
    if (!this.onAccountRead || this.reading || now < this.nextReadAt) return;
    // A failed reading is tried again in 5 minutes, a good one in an hour.
    this.nextReadAt = now + 300_000;
    const sink = this.onAccountRead;
    this.reading = (async () => {
      try {
        const a = await this.client.send(new GetAccountCommand({}));
        await sink(this.snap.record.account_id, this.snap.record.id, detectedFromAccount(a, now), this.cfg.region);
        this.nextReadAt = now + REFRESH_MS;
      } catch {
        /* the caps stay as they were; sends report their own errors */
      } finally {
        this.reading = null;
      }
    })();
  }
}

function okText(sent: Array<{ id: string; n: number }>): string {
  return sent.length === 1 ? `Amazon SES accepted it as ${sent[0]!.id}` : `Amazon SES accepted it in ${sent.length} calls: ${sent.map((s) => `${s.id} (${s.n} recipients)`).join(", ")}`;
}

function badNote(bad: string[]): string {
  return bad.length ? `; not sent to ${bad.join(", ")} (SES takes only ASCII local parts)` : "";
}
