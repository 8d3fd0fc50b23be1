import { ConfidentialClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from "@azure/msal-node";
import { classify } from "../routing/classify.ts";
import { OUTLOOK_TABLE, type OutlookError } from "../routing/classify-outlook.ts";
import { base64Length, prepareForGraph, splitOffAttachments, type GraphAttachment } from "./outlook-mime.ts";
import type { OutgoingMessage, ProviderAdapter, ProviderSnapshot, SendOutcome, TestOutcome } from "./types.ts";

/**
 * The `outlook_api` provider type: Microsoft 365 through Microsoft Graph.
 *
 * - Token: MSAL client credentials (tenant_id, client_id, client_secret) for
 *   `<graph_base_url>/.default`; MSAL caches the token and hands it out until shortly before it
 *   expires. MSAL is given the authority's metadata (knownAuthorities, authorityMetadata), so it never
 *   runs instance or OpenID discovery, and its HTTP goes through fetch (research §6.2).
 * - Send: `POST /v1.0/users/{sender}/sendMail` with the whole MIME message base64 encoded as
 *   text/plain (learn.microsoft.com/graph/outlook-send-mime-message); only 202 Accepted is sent.
 * - Larger than one 4 MB request: a draft from the message without its largest attachments
 *   (`POST /users/{sender}/messages`, MIME), each attachment added with `POST …/attachments`
 *   (under 3 MB) or an upload session (`…/attachments/createUploadSession`, then PUT byte ranges
 *   with Content-Range and no Authorization header), then `POST …/messages/{id}/send` (202).
 * - At most 4 Graph requests in flight per mailbox (Graph's Outlook concurrency limit), and 429 /
 *   503 answers wait out Retry-After — for every request to that mailbox, not just the one that got it.
 */

/** Graph refuses requests over 4 MB (graph-docs#85); no request body here is ever larger. */
export const MAX_REQUEST_BYTES = 4_194_304;
/** Graph's Outlook limit: 4 concurrent requests per app per mailbox. */
export const MAX_IN_FLIGHT = 4;
/** outlook-large-attachments: under 3 MB one POST to attachments, else an upload session. */
const SMALL_ATTACHMENT_BYTES = 3_000_000;
/** Upload ranges under 4 MB, in multiples of 320 KiB as Microsoft's upload sessions prefer. */
export const UPLOAD_RANGE_BYTES = 9 * 327_680;
/** A Retry-After up to this is waited out inside the send; longer ones fail the attempt. */
const MAX_WAIT_S = 60;
/** Tries per request when Graph throttles or is unavailable. */
const MAX_TRIES = 4;
const REQUEST_TIMEOUT_MS = 120_000;

export interface OutlookConfig {
  tenant_id: string;
  client_id: string;
  client_secret: string;
  sender: string;
  graph_base_url?: string;
  authority_url?: string;
}

/** A Graph answer that is not what the call expects. */
class GraphError extends Error {
  constructor(readonly what: string, readonly status: number, readonly code: string, readonly graphMessage: string, readonly retryAfterS?: number) {
    super(`${what}: ${status} ${code}: ${graphMessage}`);
  }
}
/** The token could not be had (an MSAL error). */
class TokenError extends Error {
  constructor(readonly kind: "msal_server" | "msal_client", readonly errorCode: string, readonly description: string, readonly aadsts?: string, readonly status?: number) {
    super(description);
  }
}
/** fetch failed before Graph answered. */
class NetworkError extends Error {
  constructor(readonly what: string, readonly cause: unknown) {
    super(`${what}: ${(cause as Error)?.message ?? String(cause)}`);
  }
}
/** A request the adapter refuses to make (it would break a Graph limit). */
class TooLargeError extends Error {}

/** Per-mailbox gate: counts requests in flight and holds them while Graph asks to wait. */
class MailboxGate {
  private active = 0;
  private waiting: Array<() => void> = [];
  blockedUntil = 0;

  async acquire(): Promise<void> {
    if (this.active < MAX_IN_FLIGHT) this.active++;
    else await new Promise<void>((r) => this.waiting.push(r));
    const wait = this.blockedUntil - Date.now();
    if (wait > 0) await sleep(wait);
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
/** One gate per mailbox per worker thread, shared by every provider sending as that mailbox. */
const gates = new Map<string, MailboxGate>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retry-After in seconds (delta-seconds or an HTTP date), or undefined. */
export function retryAfterSeconds(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, Math.ceil((t - Date.now()) / 1000));
}

/** MSAL's HTTP through fetch: no discovery is ever asked for, and plain http reaches loopback test servers. */
function fetchNetworkModule(): INetworkModule {
  const call = async <T>(method: "GET" | "POST", url: string, o?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const r = await fetch(url, { method, headers: o?.headers, body: method === "POST" ? o?.body : undefined, signal: AbortSignal.timeout(30_000) });
    const text = await r.text();
    let body: unknown = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { error: "invalid_response", error_description: `the token endpoint answered ${r.status} without JSON` };
    }
    return { status: r.status, headers: Object.fromEntries(r.headers), body: body as T };
  };
  return { sendGetRequestAsync: (url, o) => call("GET", url, o), sendPostRequestAsync: (url, o) => call("POST", url, o) };
}

function msalError(e: unknown): TokenError {
  const x = e as { name?: string; errorCode?: string; errorMessage?: string; errorNo?: string | number; status?: number; message?: string };
  const desc = /Description: (.*?)(?: - Correlation ID|$)/.exec(x.errorMessage ?? x.message ?? "")?.[1] ?? x.errorMessage ?? x.message ?? String(e);
  if (x.name === "ServerError") return new TokenError("msal_server", x.errorCode ?? "server_error", desc, x.errorNo !== undefined ? String(x.errorNo) : undefined, x.status);
  return new TokenError("msal_client", x.errorCode ?? "unknown", desc);
}

/** The roles claim of an app-only access token (informational: Graph does the real check). */
export function tokenRoles(token: string): string[] | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { roles?: unknown };
    return Array.isArray(claims.roles) ? claims.roles.map(String) : null;
  } catch {
    return null;
  }
}

export class OutlookAdapter implements ProviderAdapter {
  readonly type = "outlook_api";
  private readonly cfg: OutlookConfig;
  private readonly graphBase: string;
  private readonly scope: string;
  private readonly app: ConfidentialClientApplication;
  private readonly gate: MailboxGate;
  private readonly user: string;

  constructor(snap: ProviderSnapshot) {
    const c = snap.secrets.config as OutlookConfig | undefined;
    if (!c || typeof c.tenant_id !== "string" || typeof c.client_id !== "string" || typeof c.client_secret !== "string" || typeof c.sender !== "string") {
      throw new Error("outlook_api provider is missing tenant_id, client_id, client_secret or sender in its config");
    }
    this.cfg = c;
    this.graphBase = (c.graph_base_url ?? "https://graph.microsoft.com").replace(/\/+$/, "");
    this.scope = `${this.graphBase}/.default`;
    this.user = `/v1.0/users/${encodeURIComponent(c.sender)}`;
    const authorityUrl = new URL((c.authority_url ?? `https://login.microsoftonline.com/${encodeURIComponent(c.tenant_id)}`).replace(/\/+$/, ""));
    // MSAL takes only https authorities; a loopback http one (tests, config.ts allows no other)
    // is named as https to MSAL while the metadata's endpoints keep the real scheme.
    const realAuthority = authorityUrl.toString().replace(/\/+$/, "");
    const msalAuthority = realAuthority.replace(/^http:/, "https:");
    const metadata = {
      token_endpoint: `${realAuthority}/oauth2/v2.0/token`,
      authorization_endpoint: `${realAuthority}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${realAuthority}/oauth2/v2.0/logout`,
      issuer: `${realAuthority}/v2.0`,
      jwks_uri: `${authorityUrl.origin}/common/discovery/v2.0/keys`,
    };
    this.app = new ConfidentialClientApplication({
      auth: {
        clientId: c.client_id,
        clientSecret: c.client_secret,
        authority: msalAuthority,
        knownAuthorities: [authorityUrl.host],
        authorityMetadata: JSON.stringify(metadata),
      },
      system: { networkClient: fetchNetworkModule(), disableInternalRetries: true, loggerOptions: { piiLoggingEnabled: false, loggerCallback: () => {} } },
    });
    const key = `${this.graphBase}|${c.sender.toLowerCase()}`;
    let g = gates.get(key);
    if (!g) gates.set(key, (g = new MailboxGate()));
    this.gate = g;
  }

  private async token(fresh = false): Promise<string> {
    try {
      const r = await this.app.acquireTokenByClientCredential({ scopes: [this.scope], skipCache: fresh });
      if (!r?.accessToken) throw new TokenError("msal_server", "no_token", "the token endpoint answered without an access token");
      return r.accessToken;
    } catch (e) {
      throw e instanceof TokenError ? e : msalError(e);
    }
  }

  /**
   * One Graph request through the mailbox's gate. A 401 gets one fresh token; 429 and 503 wait
   * out Retry-After (or 1, 2, 4 s without one) up to MAX_TRIES; anything else not in `expect` throws.
   */
  private async request(what: string, url: string, init: { method: string; body?: string; contentType?: string; auth?: boolean }, expect: number[]): Promise<Response & { bodyText: string }> {
    const size = init.body === undefined ? 0 : Buffer.byteLength(init.body);
    if (size > MAX_REQUEST_BYTES) throw new TooLargeError(`${what} would be ${size} bytes, over Graph's ${MAX_REQUEST_BYTES}-byte request limit`);
    let fresh = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = {};
      if (init.auth !== false) headers.authorization = `Bearer ${await this.token(fresh)}`;
      if (init.contentType) headers["content-type"] = init.contentType;
      await this.gate.acquire();
      let res: Response;
      let bodyText: string;
      try {
        res = await fetch(url, { method: init.method, headers, body: init.body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        bodyText = await res.text();
      } catch (e) {
        throw new NetworkError(what, e);
      } finally {
        this.gate.release();
      }
      if (expect.includes(res.status)) return Object.assign(res, { bodyText });
      let code = `HTTP${res.status}`;
      let message = bodyText.slice(0, 500);
      try {
        const j = JSON.parse(bodyText) as { error?: { code?: string; message?: string } };
        if (j.error?.code) code = j.error.code;
        if (j.error?.message !== undefined) message = j.error.message;
      } catch {
        // not the documented JSON error body: keep the text
      }
      const ra = retryAfterSeconds(res.headers.get("retry-after"));
      if (res.status === 401 && init.auth !== false && !fresh) {
        fresh = true;
        continue;
      }
      if ((res.status === 429 || res.status === 503) && attempt < MAX_TRIES) {
        const wait = ra ?? 2 ** (attempt - 1);
        if (wait <= MAX_WAIT_S) {
          this.gate.blockedUntil = Math.max(this.gate.blockedUntil, Date.now() + wait * 1000);
          continue;
        }
      }
      throw new GraphError(what, res.status, code, message, ra);
    }
  }

  private json(r: { bodyText: string }): Record<string, unknown> {
    try {
      return JSON.parse(r.bodyText) as Record<string, unknown>;
    } catch {
      return {};
    }
  }

  async send(msg: OutgoingMessage): Promise<SendOutcome> {
    const prep = prepareForGraph(msg.raw, msg.envelope);
    if (!prep.ok) return { ok: false, class: "permanent_recipient", response: prep.reason };
    try {
      if (base64Length(prep.mime.length) <= MAX_REQUEST_BYTES) {
        await this.request("sendMail", `${this.graphBase}${this.user}/sendMail`, { method: "POST", body: prep.mime.toString("base64"), contentType: "text/plain" }, [202]);
        return { ok: true, response: `202 Accepted by Microsoft Graph sendMail as ${this.cfg.sender}` };
      }
      return await this.sendLarge(prep.mime);
    } catch (e) {
      return this.failure(e);
    }
  }

  private async sendLarge(mime: Buffer): Promise<SendOutcome> {
    // The draft's own request carries some headroom under the limit for nothing but the MIME.
    const split = splitOffAttachments(mime, MAX_REQUEST_BYTES);
    if (!split.ok) return { ok: false, class: "permanent_recipient", response: split.reason };
    const created = await this.request("creating the draft", `${this.graphBase}${this.user}/messages`, { method: "POST", body: split.mime.toString("base64"), contentType: "text/plain" }, [201]);
    const id = this.json(created).id;
    if (typeof id !== "string" || !id) throw new GraphError("creating the draft", created.status, "NoMessageId", "the created draft has no id");
    const msgUrl = `${this.graphBase}${this.user}/messages/${encodeURIComponent(id)}`;
    try {
      for (const a of split.attachments) await this.attach(msgUrl, a);
      await this.request("sending the draft", `${msgUrl}/send`, { method: "POST" }, [202]);
    } catch (e) {
      // Leave no half-built draft behind in the mailbox.
      await this.request("deleting the unsent draft", msgUrl, { method: "DELETE" }, [204, 404]).catch(() => {});
      throw e;
    }
    const total = split.attachments.reduce((n, a) => n + a.bytes.length, 0);
    return { ok: true, response: `202 Accepted by Microsoft Graph as ${this.cfg.sender} (draft plus ${split.attachments.length} attachment${split.attachments.length === 1 ? "" : "s"}, ${total} bytes uploaded)` };
  }

  private async attach(msgUrl: string, a: GraphAttachment): Promise<void> {
    const meta = { name: a.name, contentType: a.contentType, isInline: a.isInline, ...(a.contentId ? { contentId: a.contentId } : {}) };
    if (a.bytes.length < SMALL_ATTACHMENT_BYTES) {
      const body = JSON.stringify({ "@odata.type": "#microsoft.graph.fileAttachment", ...meta, contentBytes: a.bytes.toString("base64") });
      await this.request(`adding attachment ${a.name}`, `${msgUrl}/attachments`, { method: "POST", body, contentType: "application/json" }, [201]);
      return;
    }
    const session = await this.request(
      `creating an upload session for ${a.name}`,
      `${msgUrl}/attachments/createUploadSession`,
      { method: "POST", body: JSON.stringify({ AttachmentItem: { attachmentType: "file", size: a.bytes.length, ...meta } }), contentType: "application/json" },
      [201],
    );
    const uploadUrl = this.json(session).uploadUrl;
    if (typeof uploadUrl !== "string" || !/^https?:\/\//.test(uploadUrl)) throw new GraphError(`creating an upload session for ${a.name}`, session.status, "NoUploadUrl", "the upload session has no uploadUrl");
    let start = 0;
    while (start < a.bytes.length) {
      const end = Math.min(start + UPLOAD_RANGE_BYTES, a.bytes.length);
      const chunk = a.bytes.subarray(start, end);
      // The uploadUrl is pre-authenticated: no Authorization header (outlook-large-attachments).
      const r = await this.requestRange(`uploading ${a.name} bytes ${start}-${end - 1}`, uploadUrl, chunk, start, a.bytes.length);
      if (end === a.bytes.length) {
        if (r.status !== 201) throw new GraphError(`uploading ${a.name}`, r.status, "UploadIncomplete", `the last range was answered ${r.status}, not 201 Created`);
        break;
      }
      const next = Number(String((this.json(r).nextExpectedRanges as string[] | undefined)?.[0] ?? end).split("-")[0]);
      start = Number.isFinite(next) && next > start ? next : end;
    }
  }

  private requestRange(what: string, url: string, chunk: Uint8Array, start: number, total: number) {
    return this.requestWithHeaders(what, url, chunk, { "content-type": "application/octet-stream", "content-range": `bytes ${start}-${start + chunk.byteLength - 1}/${total}` });
  }

  /** A PUT to an upload session: same gate and throttling rules, no token. */
  private async requestWithHeaders(what: string, url: string, body: Uint8Array, headers: Record<string, string>) {
    if (body.byteLength > MAX_REQUEST_BYTES) throw new TooLargeError(`${what} would be ${body.byteLength} bytes, over Graph's request limit`);
    for (let attempt = 1; ; attempt++) {
      await this.gate.acquire();
      let res: Response;
      let bodyText: string;
      try {
        res = await fetch(url, { method: "PUT", headers, body: body as BodyInit, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        bodyText = await res.text();
      } catch (e) {
        throw new NetworkError(what, e);
      } finally {
        this.gate.release();
      }
      if (res.status === 200 || res.status === 201) return Object.assign(res, { bodyText });
      const ra = retryAfterSeconds(res.headers.get("retry-after"));
      if ((res.status === 429 || res.status === 503) && attempt < MAX_TRIES && (ra ?? 0) <= MAX_WAIT_S) {
        this.gate.blockedUntil = Math.max(this.gate.blockedUntil, Date.now() + (ra ?? 2 ** (attempt - 1)) * 1000);
        continue;
      }
      let code = `HTTP${res.status}`;
      let message = bodyText.slice(0, 500);
      try {
        const j = JSON.parse(bodyText) as { error?: { code?: string; message?: string } };
        code = j.error?.code ?? code;
        message = j.error?.message ?? message;
      } catch {
        // keep the text
      }
      throw new GraphError(what, res.status, code, message, ra);
    }
  }

  /** A failed send: classified by the outlook table, described for the person reading the attempt. */
  private failure(e: unknown): SendOutcome {
    const pe = this.providerError(e);
    const { cls } = classify(OUTLOOK_TABLE, pe);
    return { ok: false, class: cls, response: this.describe(e).slice(0, 1000), code: pe.reason ?? pe.code };
  }

  private providerError(e: unknown): OutlookError {
    if (e instanceof GraphError) return { code: "graph", status: e.status, reason: e.code, response: e.graphMessage, retryAfterS: e.retryAfterS };
    if (e instanceof TokenError) return { code: e.kind, reason: e.errorCode, response: e.description, aadsts: e.aadsts, status: e.status };
    if (e instanceof NetworkError) return { code: "network", response: e.message };
    if (e instanceof TooLargeError) return { code: "graph", status: 413, reason: "RequestEntityTooLarge", response: e.message };
    return { code: "internal", response: (e as Error)?.message ?? String(e) };
  }

  private describe(e: unknown): string {
    const who = this.cfg.sender;
    if (e instanceof TokenError) {
      const hint =
        e.kind === "msal_client"
          ? `could not reach the Microsoft Entra token endpoint (${e.errorCode}); check authority_url and the network`
          : e.errorCode === "invalid_client"
            ? "check that client_secret is the secret's Value (not its ID) and has not expired"
            : e.errorCode === "unauthorized_client"
              ? "check client_id: the app registration must exist in this tenant"
              : "check tenant_id, client_id and client_secret";
      return `Microsoft Entra refused the token request for app ${this.cfg.client_id} in tenant ${this.cfg.tenant_id} (${e.errorCode}${e.aadsts ? `, AADSTS${e.aadsts}` : ""}): ${e.description.replace(/\s+/g, " ").trim()} — ${hint}`;
    }
    if (e instanceof NetworkError) return `could not reach Microsoft Graph (${e.message}); check graph_base_url and the network`;
    if (e instanceof TooLargeError) return `not sent: ${e.message}`;
    if (e instanceof GraphError) {
      const hints: Record<string, string> = {
        ErrorAccessDenied: `grant the app the Mail.Send application permission with admin consent, and make sure any application access policy includes ${who}`,
        Authorization_RequestDenied: "the app lacks a directory permission for this call",
        ErrorInvalidRecipients: "a recipient address was not accepted",
        ErrorQuotaExceeded: `the mailbox ${who} is full`,
        ErrorSubmissionQuotaExceeded: `${who} reached Exchange Online's sending limit (10,000 recipients a day); sends resume as the 24-hour window moves`,
        ErrorInvalidUser: `${who} is not a mailbox in this tenant; check sender`,
        Request_ResourceNotFound: `${who} is not a user in this tenant; check sender`,
        InvalidAuthenticationToken: "Graph did not accept a freshly issued token; check that the app registration and tenant are the ones Graph expects",
      };
      let hint = hints[e.code] ?? "";
      if (e.status === 429) hint = e.retryAfterS !== undefined ? `throttled; Graph asked to wait ${e.retryAfterS} s` : "throttled";
      else if (e.status >= 500 && !hint) hint = "Microsoft Graph is failing; retried later";
      else if (/^(creating the draft|adding attachment|creating an upload session)/.test(e.what) && e.status === 403) hint = "messages over 3 MB go through a draft, which needs the Mail.ReadWrite application permission besides Mail.Send";
      return `Microsoft Graph answered ${e.status} ${e.code} to ${e.what} for ${who}: ${e.graphMessage.replace(/\s+/g, " ").trim()}${hint ? ` — ${hint}` : ""}`;
    }
    return `outlook_api send failed: ${(e as Error)?.message ?? String(e)}`;
  }

  async verify(): Promise<TestOutcome> {
    let token: string;
    try {
      token = await this.token(true);
    } catch (e) {
      return { success: false, message: this.describe(e) };
    }
    const roles = tokenRoles(token);
    if (roles && !roles.includes("Mail.Send")) {
      return { success: false, message: `got a token, but it carries no Mail.Send application permission (roles: ${roles.join(", ") || "none"}); add Mail.Send under API permissions → Microsoft Graph → Application permissions and grant admin consent` };
    }
    const granted = roles ? ` with ${roles.filter((r) => r.startsWith("Mail.")).join(", ")}` : "";
    try {
      const r = await this.request("looking up the sender", `${this.graphBase}${this.user}?$select=id,mail,userPrincipalName`, { method: "GET" }, [200]);
      const u = this.json(r);
      return { success: true, message: `got a token from Microsoft Entra${granted}; mailbox ${String(u.mail ?? u.userPrincipalName ?? this.cfg.sender)} found in Microsoft Graph (no mail sent)` };
    } catch (e) {
      if (e instanceof GraphError && e.status === 403 && e.code === "Authorization_RequestDenied") {
        // Reading users needs User.Read.All, which sending does not: the token itself was good.
        return { success: true, message: `got a token from Microsoft Entra${granted}; the mailbox ${this.cfg.sender} could not be looked up (${e.code}: the app has no User.Read.All, which sending does not need), so it is checked on the first send` };
      }
      return { success: false, message: this.describe(e) };
    }
  }

  async close(): Promise<void> {
    this.app.clearCache();
  }
}
