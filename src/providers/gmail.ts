import { Readable } from "node:stream";
import { gmail, type gmail_v1 } from "@googleapis/gmail";
import { classify } from "../routing/classify.ts";
import { GMAIL_TABLE, isKeyError, type GmailSignal } from "../routing/classify-gmail.ts";
import { DEFAULT_API_BASE_URL, GMAIL_SEND_SCOPE, gmailAuth, type GmailAuth, type GmailConfig } from "./gmail-auth.ts";
import { gmailCopy } from "./gmail-message.ts";
import type { OutgoingMessage, ProviderAdapter, ProviderSnapshot, SendOutcome, TestOutcome } from "./types.ts";

/**
 * Largest request body for the metadata URI (`{"raw": base64url}`). Google documents "5 MB or
 * less" for simple uploads (https://developers.google.com/gmail/api/guides/uploads), but accounts
 * have been seen refused at 1,048,576 bytes ("Request payload size exceeds the limit",
 * google-api-dotnet-client#856), so larger messages take the upload URI.
 */
export const METADATA_BODY_LIMIT = 1_048_576;
/** users.messages.send maxSize in the discovery document: 35 MiB (research §1.1, second-hand). */
export const GMAIL_MAX_SIZE = 36_700_160;
const SEND_TIMEOUT_MS = 120_000;
const PROBE_TIMEOUT_MS = 30_000;

/** What went wrong, in the table's terms, with the HTTP details kept for the message. */
interface Failure {
  sig: GmailSignal;
  row: string;
}

interface GaxiosLikeError {
  message?: string;
  code?: string | number;
  status?: number;
  cause?: { code?: string; message?: string };
  config?: { url?: string | URL };
  response?: { status?: number; data?: unknown; headers?: unknown };
}

/** Google's error body: `{error:{code, message, errors:[{reason}], status}}`, or the OAuth `{error, error_description}`. */
function errorBody(data: unknown): { reason?: string; message?: string } {
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      return { message: (data as string).slice(0, 300) };
    }
  }
  const d = data as { error?: unknown; error_description?: string } | null;
  if (!d || typeof d !== "object") return {};
  if (typeof d.error === "string") return { reason: d.error, message: d.error_description };
  const e = d.error as { message?: string; status?: string; errors?: Array<{ reason?: string; message?: string }> } | undefined;
  if (!e || typeof e !== "object") return {};
  return { reason: e.errors?.[0]?.reason ?? e.status, message: e.message ?? e.errors?.[0]?.message };
}

/** Turns a google-auth-library / gaxios error into a table signal. */
export function gmailSignal(err: unknown, command: "TOKEN" | "SEND" | "PROFILE", tokenUrl: string, now: number): GmailSignal {
  const e = (err ?? {}) as GaxiosLikeError;
  const url = e.config?.url ? String(e.config.url) : "";
  // A refresh that happens inside an API call still fails at the token endpoint.
  const where = url && url.startsWith(tokenUrl) ? "TOKEN" : command;
  const status = e.response?.status;
  if (!status) {
    const code = String(e.cause?.code ?? e.code ?? "ENETWORK");
    return { command: where, code, response: (e.cause?.message ?? e.message ?? String(err)).replace(/\s+/g, " ").slice(0, 300) };
  }
  const body = errorBody(e.response?.data);
  const sig: GmailSignal = { command: where, status, reason: body.reason, response: (body.message ?? e.message ?? "").replace(/\s+/g, " ").slice(0, 500) };
  const retryAt = /Retry after (\d{4}-\d\d-\d\dT[\d:.]+Z)/i.exec(sig.response ?? "")?.[1];
  if (retryAt && Number.isFinite(Date.parse(retryAt))) sig.retryAfterMs = Date.parse(retryAt) - now;
  return sig;
}

function base64url(b: Buffer): string {
  return b.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The `gmail_api` provider type: Gmail API `users.messages.send` with the finished RFC 5322
 * message, through @googleapis/gmail, authorised by an OAuth client's refresh token or by a
 * service account with domain-wide delegation. One instance per provider per worker thread:
 * the access token stays cached between sends.
 */
export class GmailAdapter implements ProviderAdapter {
  readonly type = "gmail_api";
  private readonly auth: GmailAuth;
  private readonly api: gmail_v1.Gmail;
  private readonly rootUrl: string;

  constructor(snap: ProviderSnapshot) {
    const cfg = (snap.secrets.config ?? {}) as GmailConfig;
    this.auth = gmailAuth(cfg);
    this.rootUrl = cfg.api_base_url ?? DEFAULT_API_BASE_URL;
    // The generated methods build both the metadata and the upload URL from the per-call rootUrl
    // (a global rootUrl would not reach the upload URL), so it is passed on every call.
    // googleapis-common bundles its own google-auth-library copy, so the two OAuth2Client types
    // differ nominally though the object is the one it expects.
    this.api = gmail({ version: "v1", auth: this.auth.client as never });
  }

  private who(): string {
    return this.auth.mailbox ? `${this.auth.mailbox}` : "the Google account that granted the refresh token";
  }

  /** A user-facing sentence for a failure, led by what it means and what to check. */
  private describe(f: Failure): string {
    const s = f.sig;
    const detail = [s.status, s.reason, s.response].filter((x) => x !== undefined && x !== "").join(" ");
    const sa = this.auth.kind === "service_account";
    const at = `${s.command === "TOKEN" ? `Google's token endpoint (${this.auth.tokenUrl})` : `the Gmail API (${this.rootUrl})`}`;
    let lead: string;
    if (s.command === "GATEWAY") return `not sent through Gmail: ${s.response}`;
    if (isKeyError(s))
      lead = "the private_key in config.service_account_json cannot be read, so no token could be requested (nothing was sent to Google): replace config with the key file's contents unchanged, private_key from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY----- with its line breaks, or create a new key for the service account";
    else if (!s.status) lead = `could not reach ${at}: ${s.code}; check the network and ${s.command === "TOKEN" ? "config.token_url" : "config.api_base_url"}`;
    else if (s.command === "TOKEN" && s.reason === "invalid_grant")
      lead = sa
        ? `Google refused the service account's grant for ${this.auth.mailbox}: check that the key in service_account_json is still active and that impersonate is a user of the Workspace domain`
        : "Google refused the refresh token: it was revoked, expired (a consent screen in Testing issues 7-day tokens) or belongs to another client; authorise again with the gmail.send scope and update config.refresh_token";
    else if (s.command === "TOKEN" && s.reason === "invalid_client")
      lead = sa ? "Google does not know this service account key: check service_account_json (the key may have been deleted)" : "Google refused the OAuth client: check config.client_id and config.client_secret";
    else if (s.command === "TOKEN" && s.reason === "unauthorized_client")
      lead = `the service account may not act for ${this.auth.mailbox}: in the Workspace Admin console, grant its client ID domain-wide delegation with the scope ${GMAIL_SEND_SCOPE}`;
    else if (s.command === "TOKEN") lead = `${at} refused to issue an access token`;
    else if (s.status === 401) lead = `Gmail refused a freshly issued access token for ${this.who()}: check that the grant includes ${GMAIL_SEND_SCOPE} and that the Gmail API is enabled in the Google Cloud project`;
    else if (f.row.includes("Mail sending") || (f.row.includes("Retry after") && s.retryAfterMs !== undefined))
      lead = `Gmail's daily sending limit for ${this.who()} is reached${s.retryAfterMs !== undefined ? ` (sending resumes in about ${Math.max(1, Math.round(s.retryAfterMs / 60_000))} min)` : ""}`;
    else if (s.reason === "dailyLimitExceeded") lead = "the Google Cloud project's daily Gmail API quota is used up";
    else if (s.status === 429 || /RateLimitExceeded$/i.test(s.reason ?? "")) lead = `Gmail is throttling requests for ${this.who()}`;
    else if (s.reason === "domainPolicy") lead = "the Workspace domain does not allow this app to use Gmail: ask the domain administrator to allow it (Admin console → Security → API controls)";
    else if (s.reason === "insufficientPermissions") lead = `the access token lacks the scope ${GMAIL_SEND_SCOPE}: authorise again${sa ? " (and add it to the domain-wide delegation)" : ""} with that scope`;
    else if (s.status === 403) lead = `Gmail refused to act for ${this.who()}: check impersonate and the delegation`;
    else if (s.status === 400 && /failedPrecondition/.test(f.row)) lead = `Gmail is not enabled for ${this.who()}: use a mailbox with a Gmail licence`;
    else if (s.status === 400 || s.status === 413) lead = "Gmail refused the message";
    else lead = `${at} failed`;
    const said = s.status ? `${s.command === "TOKEN" ? "token endpoint" : "Gmail API"} answered ${detail}` : s.response;
    return `${lead} (${said})`.slice(0, 1000);
  }

  private fail(sig: GmailSignal): SendOutcome & { ok: false } {
    const { cls, row } = classify(GMAIL_TABLE, sig);
    return { ok: false, class: cls, response: this.describe({ sig, row }), code: sig.reason ?? sig.code };
  }

  /** The current access token, fetched or refreshed when needed (one refresh for concurrent callers). */
  private async token(now: number): Promise<{ ok: true; token: string } | { ok: false; sig: GmailSignal }> {
    try {
      const t = await this.auth.client.getAccessToken();
      if (!t.token) return { ok: false, sig: { command: "TOKEN", status: 200, reason: "no_token", response: "the token endpoint answered without an access_token" } };
      return { ok: true, token: t.token };
    } catch (e) {
      return { ok: false, sig: gmailSignal(e, "TOKEN", this.auth.tokenUrl, now) };
    }
  }

  /** Forgets the cached token if it is still `used`, so the next call fetches a new one. */
  private expire(used: string): void {
    const c = this.auth.client.credentials;
    if (c.access_token === used) this.auth.client.credentials = { ...c, expiry_date: 1 };
  }

  private callSend(raw: Buffer): Promise<{ data: gmail_v1.Schema$Message }> {
    const options = { rootUrl: this.rootUrl, retry: false, timeout: SEND_TIMEOUT_MS };
    const encoded = base64url(raw);
    if (encoded.length + 12 <= METADATA_BODY_LIMIT) {
      return this.api.users.messages.send({ userId: this.auth.userId, requestBody: { raw: encoded } }, options);
    }
    // Upload URI, uploadType=multipart (the SDK's choice when there is metadata): an empty
    // Message resource and the message itself as message/rfc822, in one request. The body is a
    // stream because the SDK pipes non-string media.
    return this.api.users.messages.send({ userId: this.auth.userId, requestBody: {}, media: { mimeType: "message/rfc822", body: Readable.from([raw]) } }, options);
  }

  async send(msg: OutgoingMessage): Promise<SendOutcome> {
    const copy = gmailCopy(msg.raw, msg.envelope);
    if (!copy.ok) return this.fail({ command: "GATEWAY", code: "EHEADERRCPT", response: copy.reason });
    if (copy.raw.length > GMAIL_MAX_SIZE) {
      return this.fail({ command: "GATEWAY", code: "ETOOBIG", response: `the message is ${(copy.raw.length / 1_048_576).toFixed(1)} MiB; Gmail takes at most 35 MiB` });
    }
    for (let attempt = 0; ; attempt++) {
      const t = await this.token(msg.now);
      if (!t.ok) return this.fail(t.sig);
      try {
        const res = await this.callSend(copy.raw);
        const id = res.data.id ?? "";
        const note = copy.bcc.length ? `; Bcc for ${copy.bcc.length} envelope-only recipient${copy.bcc.length === 1 ? "" : "s"}` : "";
        return { ok: true, response: `Gmail accepted it as message ${id}${res.data.threadId ? ` in thread ${res.data.threadId}` : ""}${note}`, providerMessageId: id };
      } catch (e) {
        const sig = gmailSignal(e, "SEND", this.auth.tokenUrl, msg.now);
        // 401 authError: refresh the token once, then try again (research §1.4).
        if (sig.command === "SEND" && sig.status === 401 && attempt === 0) {
          this.expire(t.token);
          continue;
        }
        return this.fail(sig);
      }
    }
  }

  /**
   * `/test`: obtains an access token, reads the mailbox's profile where the grant allows it
   * (gmail.send alone does not, which is fine), and asks users.messages.send for nothing: an
   * empty Message, which Gmail refuses with 400 "'raw' RFC822 payload message string or
   * uploading message via /upload/* URL required" once the token is accepted for sending
   * (google-api-dotnet-client#856). No mail is sent.
   */
  async verify(): Promise<TestOutcome> {
    const now = Date.now();
    const t = await this.token(now);
    if (!t.ok) return { success: false, message: this.fail(t.sig).response };
    const opts = { rootUrl: this.rootUrl, retry: false, timeout: PROBE_TIMEOUT_MS };
    let profile = "";
    try {
      const p = await this.api.users.getProfile({ userId: this.auth.userId }, opts);
      profile = ` for ${p.data.emailAddress} (${p.data.messagesTotal ?? 0} messages in the mailbox)`;
    } catch (e) {
      const sig = gmailSignal(e, "PROFILE", this.auth.tokenUrl, now);
      if (!(sig.status === 403 && sig.reason === "insufficientPermissions")) return { success: false, message: this.fail(sig).response };
      profile = this.auth.mailbox ? ` for ${this.auth.mailbox}` : "";
    }
    try {
      await this.api.users.messages.send({ userId: this.auth.userId, requestBody: {} }, opts);
      return { success: false, message: `the Gmail API at ${this.rootUrl} accepted an empty message; check config.api_base_url` };
    } catch (e) {
      const sig = gmailSignal(e, "SEND", this.auth.tokenUrl, now);
      if (sig.status === 400 && sig.reason === "badRequest" && /raw|upload/i.test(sig.response ?? "")) {
        return { success: true, message: `${this.auth.kind === "service_account" ? "service account token" : "access token"} obtained${profile}; Gmail accepts it for messages.send (checked without sending mail)` };
      }
      return { success: false, message: this.fail(sig).response };
    }
  }

  async close(): Promise<void> {
    this.auth.client.credentials = {};
  }
}
