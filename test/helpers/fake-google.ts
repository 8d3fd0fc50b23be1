/**
 * A local Google: the OAuth 2.0 token endpoint and the parts of the Gmail API v1 the gmail_api
 * provider uses, on 127.0.0.1, following Google's documented wire contract closely enough that
 * google-auth-library and @googleapis/gmail run unchanged with only their base URLs pointed here.
 *
 * - `POST /token` (https://developers.google.com/identity/protocols/oauth2/web-server#offline and
 *   …/oauth2/service-account#httprest): form-encoded `grant_type=refresh_token` (client_id,
 *   client_secret, refresh_token) or `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
 *   (an RS256 JWT assertion: iss = the service account, sub = the impersonated user, scope,
 *   aud = https://oauth2.googleapis.com/token, exp ≤ iat + 1 h). Answers `{access_token,
 *   expires_in, scope, token_type:"Bearer"}` or an RFC 6749 §5.2 error body: `invalid_grant`
 *   ("Token has been expired or revoked.", "Invalid JWT Signature.") with 400, `invalid_client`
 *   with 401, `unauthorized_client` (no domain-wide delegation for the scope) with 401.
 * - `POST /gmail/v1/users/{userId}/messages/send` with `{raw}` (base64url RFC 5322), and the upload
 *   URI `POST /upload/gmail/v1/users/{userId}/messages/send?uploadType=media|multipart`
 *   (https://developers.google.com/gmail/api/guides/uploads; media type message/rfc822).
 * - `GET /gmail/v1/users/{userId}/profile` (users.getProfile).
 *
 * Errors use Google's JSON error envelope `{error:{code, message, errors:[{message, domain, reason}],
 * status}}` (https://developers.google.com/gmail/api/guides/handle-errors). Like Gmail, the send
 * takes its recipients from the To, Cc and Bcc headers and removes Bcc from the copy the
 * recipients get; `sent[].delivered` is that copy.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify as verifySig } from "node:crypto";
import addressparser from "nodemailer/lib/addressparser";

export const GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token";
export const SCOPE_SEND = "https://www.googleapis.com/auth/gmail.send";
export const SCOPE_READONLY = "https://www.googleapis.com/auth/gmail.readonly";
const SEND_SCOPES = ["https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.compose", SCOPE_SEND];
const PROFILE_SCOPES = ["https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.compose", SCOPE_READONLY, "https://www.googleapis.com/auth/gmail.metadata"];

/** The metadata endpoint's request limit. Reports differ (1 MiB in google-api-dotnet-client#856,
 * 5 MiB in others); this fake holds the client to the lowest one seen. */
export const METADATA_LIMIT = 1_048_576;
/** Simple upload: "5 MB or less" (uploads guide); multipart and resumable: the method's maxSize. */
export const MEDIA_LIMIT = 5 * 1_048_576;
export const MAX_SIZE = 36_700_160;

export interface FakeResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Google's JSON error envelope. */
export function googleError(code: number, status: string, message: string, reason: string, domain = "global"): FakeResponse {
  return { status: code, body: { error: { code, message, errors: [{ message, domain, reason }], status } } };
}

/** The documented Gmail API error bodies (research §1.2), ready to queue with failSends(). */
export const GMAIL_ERRORS = {
  /** 429 daily mail-sending limit ("Resolve a 429 error"; gmail-tester#23 for the Retry after text). */
  mailSending: (retryAfter: Date) => googleError(429, "RESOURCE_EXHAUSTED", `User-rate limit exceeded.  Retry after ${retryAfter.toISOString()} (Mail sending)`, "rateLimitExceeded", "usageLimits"),
  /** 429 per-minute limit, "Resource has been exhausted" (mxngls/gmail-cleaner#5). */
  resourceExhausted: () => googleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", "rateLimitExceeded", "usageLimits"),
  /** 403 per-user per-minute quota (inbox-zero#480). */
  queriesPerMinute: () =>
    googleError(403, "PERMISSION_DENIED", "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer 'project_number:1'.", "userRateLimitExceeded", "usageLimits"),
  dailyLimitExceeded: () => googleError(403, "PERMISSION_DENIED", "Daily Limit Exceeded", "dailyLimitExceeded", "usageLimits"),
  domainPolicy: () => googleError(403, "PERMISSION_DENIED", "The domain administrators have disabled Gmail apps.", "domainPolicy"),
  invalidTo: () => googleError(400, "INVALID_ARGUMENT", "Invalid To header", "invalidArgument"),
  recipientRequired: () => googleError(400, "INVALID_ARGUMENT", "Recipient address required", "invalidArgument"),
  mailServiceNotEnabled: () => googleError(400, "FAILED_PRECONDITION", "Mail service not enabled", "failedPrecondition"),
  backendError: () => googleError(500, "INTERNAL", "Backend Error", "backendError"),
  unavailable: () => googleError(503, "UNAVAILABLE", "The service is currently unavailable.", "backendError"),
};

const UNAUTHENTICATED: FakeResponse = {
  ...googleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "authError"),
  headers: { "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
};
const INSUFFICIENT_SCOPES = googleError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.", "insufficientPermissions");

export interface SentMessage {
  /** Which endpoint took it: the metadata URI, or the upload URI with its uploadType. */
  via: "metadata" | "media" | "multipart";
  userId: string;
  /** The mailbox the token belongs to (the sender). */
  mailbox: string;
  /** The message exactly as the client sent it. */
  raw: Buffer;
  /** Recipients Gmail takes from To, Cc and Bcc. */
  recipients: string[];
  /** The copy recipients get: `raw` without its Bcc header fields. */
  delivered: Buffer;
  id: string;
}

export interface TokenRequest {
  grant_type: string;
  client_id?: string;
  /** jwt-bearer: the assertion's claims. */
  claims?: Record<string, unknown>;
  status: number;
  error?: string;
}

interface IssuedToken {
  mailbox: string;
  scopes: string[];
  expires: number;
}

export interface ServiceAccount {
  client_email: string;
  private_key: string;
  private_key_id: string;
  /** The key file's JSON, as Google Cloud hands it out. */
  json: string;
}

export interface FakeGoogle {
  /** http://127.0.0.1:<port>/ — the Gmail API root (api_base_url). */
  url: string;
  /** The token endpoint (token_url). */
  tokenUrl: string;
  /** Mailboxes that exist (others answer failedPrecondition "Mail service not enabled"). */
  mailboxes: Set<string>;
  /** Lifetime of issued access tokens, seconds (Google: 3599). */
  tokenTtl: number;
  tokenRequests: TokenRequest[];
  /** Every API request: method, path with query, the status answered. */
  apiRequests: Array<{ method: string; path: string; status: number; bytes: number }>;
  sent: SentMessage[];
  addClient(clientId: string, clientSecret: string): void;
  /** A refresh token the user granted to this client for these scopes. */
  addRefreshToken(token: string, o: { clientId: string; mailbox: string; scopes?: string[] }): void;
  revokeRefreshToken(token: string): void;
  /** A new service account key; `delegate` grants it domain-wide delegation for the scopes. */
  addServiceAccount(email: string): ServiceAccount;
  delegate(clientEmail: string, scopes: string[]): void;
  /** Invalidates every access token issued so far (as a password change does). */
  revokeAccessTokens(): void;
  /** Answers the next send calls with these responses, in order (then sends normally again). */
  failSends(...r: FakeResponse[]): void;
  /** Answers the next token requests with these responses, in order. */
  failTokens(...r: FakeResponse[]): void;
  close(): Promise<void>;
}

const json = (r: FakeResponse) => new Response(JSON.stringify(r.body), { status: r.status, headers: { "content-type": "application/json; charset=UTF-8", ...(r.headers ?? {}) } });
const oauthError = (status: number, error: string, error_description: string): FakeResponse => ({ status, body: { error, error_description } });

function b64urlDecode(s: string): Buffer {
  return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/** Header fields of a message (unfolded), with their byte ranges so Bcc can be cut out. */
function headerFields(raw: Buffer): Array<{ name: string; value: string; start: number; end: number }> {
  const text = raw.toString("latin1");
  let endOfHeader = text.indexOf("\r\n\r\n");
  if (endOfHeader < 0) endOfHeader = text.length;
  const out: Array<{ name: string; value: string; start: number; end: number }> = [];
  const re = /([!-9;-~]+):([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)\r\n/y;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (re.lastIndex < endOfHeader + 2 && (m = re.exec(text))) {
    out.push({ name: m[1]!.toLowerCase(), value: m[2]!.replace(/\r\n/g, ""), start: m.index, end: re.lastIndex });
  }
  return out;
}

function addresses(value: string): string[] {
  const out: string[] = [];
  const walk = (list: ReturnType<typeof addressparser>) => {
    for (const a of list) {
      if ("group" in a && a.group) walk(a.group);
      else if (a.address) out.push(a.address);
    }
  };
  walk(addressparser(value));
  return out;
}

/** Parses multipart/related (the SDK's multipart upload) into its parts. */
function multipartParts(body: Buffer, boundary: string): Array<{ type: string; content: Buffer }> {
  const delim = Buffer.from(`--${boundary}`);
  const parts: Array<{ type: string; content: Buffer }> = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const after = pos + delim.length;
    if (body.subarray(after, after + 2).toString() === "--") break;
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delim]), after);
    if (next < 0) break;
    const part = body.subarray(after + 2, next);
    const sep = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, sep).toString("latin1");
    parts.push({ type: /content-type:\s*([^\r\n;]+)/i.exec(head)?.[1]?.trim().toLowerCase() ?? "", content: part.subarray(sep + 4) });
    pos = next + 2;
  }
  return parts;
}

export async function startFakeGoogle(): Promise<FakeGoogle> {
  const clients = new Map<string, string>();
  const refreshTokens = new Map<string, { clientId: string; mailbox: string; scopes: string[]; revoked: boolean }>();
  const serviceAccounts = new Map<string, { publicKey: ReturnType<typeof createPublicKey>; delegated: string[] }>();
  const tokens = new Map<string, IssuedToken>();
  const sendFailures: FakeResponse[] = [];
  const tokenFailures: FakeResponse[] = [];

  const fake: FakeGoogle = {
    url: "",
    tokenUrl: "",
    mailboxes: new Set(),
    tokenTtl: 3599,
    tokenRequests: [],
    apiRequests: [],
    sent: [],
    addClient: (id, secret) => void clients.set(id, secret),
    addRefreshToken: (token, o) => {
      refreshTokens.set(token, { clientId: o.clientId, mailbox: o.mailbox, scopes: o.scopes ?? [SCOPE_SEND], revoked: false });
      fake.mailboxes.add(o.mailbox);
    },
    revokeRefreshToken: (token) => {
      const t = refreshTokens.get(token);
      if (t) t.revoked = true;
    },
    addServiceAccount: (email) => {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const private_key = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      const private_key_id = randomBytes(20).toString("hex");
      serviceAccounts.set(email, { publicKey, delegated: [] });
      const file = { type: "service_account", project_id: "sendmux-test", private_key_id, private_key, client_email: email, client_id: "1234567890", token_uri: GOOGLE_TOKEN_AUD };
      return { client_email: email, private_key, private_key_id, json: JSON.stringify(file) };
    },
    delegate: (email, scopes) => {
      const sa = serviceAccounts.get(email);
      if (sa) sa.delegated = scopes;
    },
    revokeAccessTokens: () => tokens.clear(),
    failSends: (...r) => void sendFailures.push(...r),
    failTokens: (...r) => void tokenFailures.push(...r),
    close: async () => {},
  };

  function issue(mailbox: string, scopes: string[]): FakeResponse {
    const access_token = `ya29.fake-${randomBytes(18).toString("base64url")}`;
    tokens.set(access_token, { mailbox, scopes, expires: Date.now() + fake.tokenTtl * 1000 });
    return { status: 200, body: { access_token, expires_in: fake.tokenTtl, scope: scopes.join(" "), token_type: "Bearer" } };
  }

  function tokenGrant(form: URLSearchParams, rec: TokenRequest): FakeResponse {
    const failure = tokenFailures.shift();
    if (failure) return failure;
    if (rec.grant_type === "refresh_token") {
      const id = form.get("client_id") ?? "";
      if (!clients.has(id) || clients.get(id) !== form.get("client_secret")) return oauthError(401, "invalid_client", "The OAuth client was not found.");
      const rt = refreshTokens.get(form.get("refresh_token") ?? "");
      if (!rt || rt.revoked || rt.clientId !== id) return oauthError(400, "invalid_grant", "Token has been expired or revoked.");
      return issue(rt.mailbox, rt.scopes);
    }
    if (rec.grant_type === "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      const parts = (form.get("assertion") ?? "").split(".");
      if (parts.length !== 3) return oauthError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
      let header: Record<string, unknown>;
      let claims: Record<string, unknown>;
      try {
        header = JSON.parse(b64urlDecode(parts[0]!).toString("utf8"));
        claims = JSON.parse(b64urlDecode(parts[1]!).toString("utf8"));
      } catch {
        return oauthError(400, "invalid_grant", "Invalid JWT Signature.");
      }
      rec.claims = claims;
      const sa = serviceAccounts.get(String(claims.iss));
      if (!sa) return oauthError(401, "invalid_client", "The OAuth client was not found.");
      if (header.alg !== "RS256" || !verifySig("RSA-SHA256", Buffer.from(`${parts[0]}.${parts[1]}`), sa.publicKey, b64urlDecode(parts[2]!))) return oauthError(400, "invalid_grant", "Invalid JWT Signature.");
      const now = Math.floor(Date.now() / 1000);
      const iat = Number(claims.iat);
      const exp = Number(claims.exp);
      if (claims.aud !== GOOGLE_TOKEN_AUD || !(exp > now) || exp - iat > 3600 || iat > now + 300) {
        return oauthError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
      }
      const scopes = String(claims.scope ?? "").split(" ").filter(Boolean);
      if (typeof claims.sub !== "string") return issue(String(claims.iss), scopes);
      if (!scopes.length || !scopes.every((s) => sa.delegated.includes(s))) {
        return oauthError(401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.");
      }
      if (!fake.mailboxes.has(claims.sub)) return oauthError(400, "invalid_grant", "Invalid email or User ID");
      return issue(claims.sub, scopes);
    }
    return oauthError(400, "unsupported_grant_type", `Invalid grant_type: ${rec.grant_type}`);
  }

  /** The mailbox a request acts for, or the error to answer. */
  function authorize(req: Request, userId: string, needed: string[]): { mailbox: string } | FakeResponse {
    const m = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "");
    const t = m ? tokens.get(m[1]!) : undefined;
    if (!t || t.expires <= Date.now()) return UNAUTHENTICATED;
    if (!t.scopes.some((s) => needed.includes(s))) return INSUFFICIENT_SCOPES;
    if (userId !== "me" && userId.toLowerCase() !== t.mailbox.toLowerCase()) return googleError(403, "PERMISSION_DENIED", `Delegation denied for ${t.mailbox}`, "forbidden");
    return { mailbox: t.mailbox };
  }

  function accept(raw: Buffer, via: SentMessage["via"], userId: string, mailbox: string): FakeResponse {
    const fields = headerFields(raw);
    const recipients = fields.filter((f) => f.name === "to" || f.name === "cc" || f.name === "bcc").flatMap((f) => addresses(f.value));
    if (recipients.length === 0) return GMAIL_ERRORS.recipientRequired();
    if (recipients.some((a) => !/^[^\s@]+@[^\s@]+$/.test(a))) return GMAIL_ERRORS.invalidTo();
    if (!fake.mailboxes.has(mailbox)) return GMAIL_ERRORS.mailServiceNotEnabled();
    const keep: Buffer[] = [];
    let at = 0;
    for (const f of fields.filter((x) => x.name === "bcc")) {
      keep.push(raw.subarray(at, f.start));
      at = f.end;
    }
    keep.push(raw.subarray(at));
    const id = randomBytes(8).toString("hex");
    fake.sent.push({ via, userId, mailbox, raw, recipients: [...new Set(recipients.map((a) => a.toLowerCase()))], delivered: Buffer.concat(keep), id });
    return { status: 200, body: { id, threadId: id, labelIds: ["SENT"] } };
  }

  async function send(req: Request, url: URL, userId: string, upload: boolean): Promise<FakeResponse> {
    const body = Buffer.from(await req.arrayBuffer());
    const who = authorize(req, userId, SEND_SCOPES);
    if ("status" in who) return who;
    const failure = sendFailures.shift();
    if (failure) return failure;
    if (!upload) {
      if (body.length > METADATA_LIMIT) return googleError(400, "INVALID_ARGUMENT", `Request payload size exceeds the limit: ${METADATA_LIMIT} bytes.`, "badRequest");
      let raw: unknown;
      try {
        raw = JSON.parse(body.toString("utf8")).raw;
      } catch {
        return googleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", "badRequest");
      }
      if (typeof raw !== "string" || raw.length === 0) return googleError(400, "INVALID_ARGUMENT", "'raw' RFC822 payload message string or uploading message via /upload/* URL required", "badRequest");
      return accept(b64urlDecode(raw), "metadata", userId, who.mailbox);
    }
    const uploadType = url.searchParams.get("uploadType");
    const type = (req.headers.get("content-type") ?? "").toLowerCase();
    if (uploadType === "media") {
      if (body.length > MEDIA_LIMIT) return googleError(413, "INVALID_ARGUMENT", "Media upload too large for uploadType=media; use multipart or resumable.", "uploadTooLarge");
      if (!type.startsWith("message/rfc822")) return googleError(400, "INVALID_ARGUMENT", `Media type '${type}' is not supported. Valid media types: [message/*]`, "badContent");
      return accept(body, "media", userId, who.mailbox);
    }
    if (uploadType === "multipart") {
      if (body.length > MAX_SIZE + 64 * 1024) return googleError(413, "INVALID_ARGUMENT", `Request too large: the maximum is ${MAX_SIZE} bytes.`, "uploadTooLarge");
      const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
      if (!type.startsWith("multipart/related") || !boundary) return googleError(400, "INVALID_ARGUMENT", "Multipart upload needs Content-Type multipart/related with a boundary.", "badContent");
      const parts = multipartParts(body, boundary);
      if (parts.length !== 2 || parts[0]!.type !== "application/json" || !parts[1]!.type.startsWith("message/")) return googleError(400, "INVALID_ARGUMENT", "Multipart upload must be a JSON metadata part and a message/rfc822 part.", "badContent");
      return accept(parts[1]!.content, "multipart", userId, who.mailbox);
    }
    return googleError(400, "INVALID_ARGUMENT", `Invalid value for uploadType: ${uploadType}`, "invalidArgument");
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 64 * 1024 * 1024,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/token" && req.method === "POST") {
        const form = new URLSearchParams(await req.text());
        const rec: TokenRequest = { grant_type: form.get("grant_type") ?? "", client_id: form.get("client_id") ?? undefined, status: 0 };
        const r = tokenGrant(form, rec);
        rec.status = r.status;
        rec.error = (r.body as { error?: string }).error;
        fake.tokenRequests.push(rec);
        return json(r);
      }
      let r: FakeResponse;
      const sendPath = /^\/(upload\/)?gmail\/v1\/users\/([^/]+)\/messages\/send$/.exec(url.pathname);
      const profilePath = /^\/gmail\/v1\/users\/([^/]+)\/profile$/.exec(url.pathname);
      const bytes = Number(req.headers.get("content-length") ?? 0);
      if (sendPath && req.method === "POST") {
        r = await send(req, url, decodeURIComponent(sendPath[2]!), !!sendPath[1]);
      } else if (profilePath && req.method === "GET") {
        const who = authorize(req, decodeURIComponent(profilePath[1]!), PROFILE_SCOPES);
        r = "status" in who ? who : { status: 200, body: { emailAddress: who.mailbox, messagesTotal: fake.sent.filter((s) => s.mailbox === who.mailbox).length, threadsTotal: 0, historyId: "1" } };
      } else {
        r = googleError(404, "NOT_FOUND", `The requested URL ${url.pathname} was not found on this server.`, "notFound");
      }
      fake.apiRequests.push({ method: req.method, path: url.pathname + url.search, status: r.status, bytes });
      return json(r);
    },
  });
  fake.url = `http://127.0.0.1:${server.port}/`;
  fake.tokenUrl = `http://127.0.0.1:${server.port}/token`;
  fake.close = async () => void server.stop(true);
  return fake;
}
