/**
 * A local Microsoft Entra token endpoint and Microsoft Graph mail endpoint, following their
 * documented wire contracts closely enough that MSAL and the outlook_api adapter run unchanged
 * with only authority_url and graph_base_url pointed here:
 * - POST /{tenant}/oauth2/v2.0/token (client_credentials, form body): 200 {token_type, expires_in,
 *   access_token} with a JWT whose `roles` claim lists the app's permissions; or the documented
 *   OAuth errors {error, error_description, error_codes}: 401 invalid_client (AADSTS7000215 wrong
 *   secret), 400 unauthorized_client (AADSTS700016 unknown app), 400 invalid_request (AADSTS90002
 *   unknown tenant).
 * - Graph (Authorization: Bearer required, else 401 InvalidAuthenticationToken; bodies over 4 MB
 *   413 "Maximum request length exceeded."; error bodies {error:{code, message}}):
 *   GET /v1.0/users/{id}; POST /v1.0/users/{id}/sendMail (text/plain base64 MIME → 202, no body);
 *   POST /v1.0/users/{id}/messages (MIME draft → 201 message); POST …/messages/{mid}/attachments
 *   (fileAttachment JSON → 201); POST …/attachments/createUploadSession → 201 {uploadUrl,
 *   expirationDateTime, nextExpectedRanges:["0-"]}; PUT {uploadUrl} with Content-Range →
 *   200 {nextExpectedRanges:["<next>"]} or 201 + Location for the last range;
 *   POST …/messages/{mid}/send → 202; DELETE …/messages/{mid} → 204.
 * - Delivery as Exchange does it: to the To, Cc and Bcc addresses of the message, with the Bcc
 *   field removed from the copy that is delivered; a draft's attachments are added as parts.
 * Faults are scripted with `fail()`; `delayMs` holds each Graph request to make overlap visible.
 */
import addressparser from "nodemailer/lib/addressparser/index.js";

export const GRAPH_MAX_REQUEST = 4_194_304;

export interface GraphDelivery {
  raw: Buffer;
  envelope: { from: string; to: string[] };
  via: "sendMail" | "draft";
}

export interface ScriptedFault {
  /** Which requests it applies to (default every Graph request). */
  when?: (method: string, path: string) => boolean;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many requests it answers (default 1). */
  times?: number;
}

export interface SeenRequest {
  method: string;
  path: string;
  bytes: number;
  contentType: string | null;
  authorization: string | null;
  contentRange: string | null;
  at: number;
}

interface Draft {
  sender: string;
  mime: Buffer;
  attachments: Array<{ name: string; contentType: string; bytes: Buffer; isInline: boolean; contentId?: string }>;
}

interface Session {
  messageId: string;
  item: { name: string; size: number; contentType?: string; isInline?: boolean; contentId?: string };
  received: Buffer[];
  next: number;
}

export interface FakeGraphOptions {
  tenant?: string;
  clientId?: string;
  clientSecret?: string;
  /** Mailboxes that exist; sends as anything else get 404 ErrorInvalidUser. */
  mailboxes?: string[];
  /** Roles in issued tokens (default Mail.Send and Mail.ReadWrite). */
  roles?: string[];
  /** Whether the app may read users (GET /users/{id}); without it 403 Authorization_RequestDenied. */
  userRead?: boolean;
}

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString("base64url");
}

function graphError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code, message, innerError: { date: new Date().toISOString(), "request-id": crypto.randomUUID() } } }), { status, headers: { "content-type": "application/json", ...headers } });
}

function oauthError(status: number, error: string, aadsts: number, description: string): Response {
  return Response.json({ error, error_description: `AADSTS${aadsts}: ${description} Trace ID: ${crypto.randomUUID()} Correlation ID: ${crypto.randomUUID()} Timestamp: ${new Date().toISOString()}`, error_codes: [aadsts], timestamp: new Date().toISOString(), trace_id: crypto.randomUUID(), correlation_id: crypto.randomUUID() }, { status });
}

/** Header field addresses of a MIME message (To, Cc, Bcc), groups flattened. */
function recipientsOf(mime: Buffer): string[] {
  const text = mime.toString("latin1");
  const headEnd = text.indexOf("\r\n\r\n");
  const head = (headEnd < 0 ? text : text.slice(0, headEnd + 2)).replace(/\r\n(?=[ \t])/g, "");
  const out: string[] = [];
  const walk = (list: ReturnType<typeof addressparser>) => {
    for (const a of list) {
      if ("group" in a && a.group) walk(a.group as ReturnType<typeof addressparser>);
      else if ("address" in a && a.address) out.push(a.address);
    }
  };
  for (const line of head.split("\r\n")) {
    const m = /^(to|cc|bcc):(.*)$/i.exec(line);
    if (m) walk(addressparser(m[2]!));
  }
  return out;
}

/** Exchange never shows Bcc: the delivered copy has no Bcc field. */
function withoutBcc(mime: Buffer): Buffer {
  const text = mime.toString("latin1");
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) return mime;
  const head = text.slice(0, headEnd + 2).replace(/^bcc:.*\r\n([ \t].*\r\n)*/gim, "");
  return Buffer.from(head + text.slice(headEnd + 2), "latin1");
}

/** The draft as sent: its MIME with the uploaded attachments as further parts of a multipart/mixed. */
function render(d: Draft): Buffer {
  let mime = withoutBcc(d.mime).toString("latin1");
  if (!d.attachments.length) return Buffer.from(mime, "latin1");
  const boundary = `=_graph_${crypto.randomUUID()}`;
  const headEnd = mime.indexOf("\r\n\r\n");
  const head = mime.slice(0, headEnd + 2);
  const body = mime.slice(headEnd + 4);
  const contentFields = (head.match(/^content-[a-z-]+:.*\r\n([ \t].*\r\n)*/gim) ?? []).join("");
  const otherFields = head.replace(/^content-[a-z-]+:.*\r\n([ \t].*\r\n)*/gim, "");
  const parts = [contentFields + "\r\n" + body];
  for (const a of d.attachments) {
    const b64 = a.bytes.toString("base64").replace(/.{76}/g, "$&\r\n");
    parts.push(`Content-Type: ${a.contentType}; name="${a.name}"\r\nContent-Disposition: ${a.isInline ? "inline" : "attachment"}; filename="${a.name}"\r\n${a.contentId ? `Content-ID: <${a.contentId}>\r\n` : ""}Content-Transfer-Encoding: base64\r\n\r\n${b64}`);
  }
  mime = `${otherFields}Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join("")}--${boundary}--\r\n`;
  return Buffer.from(mime, "latin1");
}

export interface FakeGraph {
  /** http://127.0.0.1:<port> — use as graph_base_url. */
  graphBase: string;
  /** http://127.0.0.1:<port>/<tenant> — use as authority_url. */
  authority: string;
  tenant: string;
  clientId: string;
  clientSecret: string;
  delivered: GraphDelivery[];
  requests: SeenRequest[];
  tokenRequests: number;
  /** Most Graph requests seen in flight at once, per mailbox. */
  maxInFlight: Map<string, number>;
  /** The largest request body Graph (or an upload URL) received. */
  maxRequestBytes: number;
  drafts: Map<string, Draft>;
  delayMs: number;
  /** Invalid recipients: sends naming one get 400 ErrorInvalidRecipients. */
  invalidRecipients: Set<string>;
  /** Mailboxes the app may not send as (an application access policy): 403 ErrorAccessDenied. */
  deniedMailboxes: Set<string>;
  opts: Required<FakeGraphOptions>;
  fail(f: ScriptedFault): void;
  /** Revokes every issued token (the next Graph call answers 401). */
  revokeTokens(): void;
  stop(): Promise<void>;
}

export async function startFakeGraph(o: FakeGraphOptions = {}): Promise<FakeGraph> {
  const opts: Required<FakeGraphOptions> = {
    tenant: o.tenant ?? "contoso-tenant-id",
    clientId: o.clientId ?? "11111111-2222-3333-4444-555555555555",
    clientSecret: o.clientSecret ?? "secret-value~abc",
    mailboxes: o.mailboxes ?? ["sender@contoso.example"],
    roles: o.roles ?? ["Mail.Send", "Mail.ReadWrite"],
    userRead: o.userRead ?? true,
  };
  const tokens = new Set<string>();
  const faults: ScriptedFault[] = [];
  const sessions = new Map<string, Session>();
  const inFlight = new Map<string, number>();
  let origin = "";

  const state: FakeGraph = {
    graphBase: "",
    authority: "",
    tenant: opts.tenant,
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
    delivered: [],
    requests: [],
    tokenRequests: 0,
    maxInFlight: new Map(),
    maxRequestBytes: 0,
    drafts: new Map(),
    delayMs: 0,
    invalidRecipients: new Set(),
    deniedMailboxes: new Set(),
    opts,
    fail: (f) => faults.push({ times: 1, ...f }),
    revokeTokens: () => tokens.clear(),
    stop: async () => {
      server.stop(true);
    },
  };

  const mailbox = (id: string) => opts.mailboxes.find((m) => m.toLowerCase() === decodeURIComponent(id).toLowerCase());

  async function token(req: Request, tenant: string): Promise<Response> {
    state.tokenRequests++;
    const form = new URLSearchParams(await req.text());
    if (tenant !== opts.tenant) return oauthError(400, "invalid_request", 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    if (form.get("grant_type") !== "client_credentials") return oauthError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
    if (form.get("client_id") !== opts.clientId) return oauthError(400, "unauthorized_client", 700016, `Application with identifier '${form.get("client_id")}' was not found in the directory '${tenant}'.`);
    if (form.get("client_secret") !== opts.clientSecret) return oauthError(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + opts.clientId + "'.");
    const scope = form.get("scope") ?? "";
    if (!scope.endsWith("/.default")) return oauthError(400, "invalid_scope", 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    const now = Math.floor(Date.now() / 1000);
    const jwt = `${b64url({ typ: "JWT", alg: "RS256" })}.${b64url({ aud: scope.replace(/\/\.default$/, ""), iss: `https://sts.windows.net/${tenant}/`, iat: now, exp: now + 3599, appid: opts.clientId, roles: opts.roles, tid: tenant, jti: crypto.randomUUID() })}.${Buffer.from(crypto.randomUUID()).toString("base64url")}`;
    tokens.add(jwt);
    return Response.json({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: jwt });
  }

  async function graph(req: Request, url: URL, body: Buffer): Promise<Response> {
    const path = url.pathname;
    const m = /^\/v1\.0\/users\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) return graphError(400, "BadRequest", `Resource not found for the segment '${path.split("/")[2] ?? ""}'.`);
    const auth = req.headers.get("authorization") ?? "";
    if (!auth.startsWith("Bearer ") || !tokens.has(auth.slice(7))) return graphError(401, "InvalidAuthenticationToken", auth ? "Lifetime validation failed, the token is expired." : "Access token is empty.");
    const who = mailbox(m[1]!);
    const rest = m[2] ?? "";
    if (rest === "" && req.method === "GET") {
      if (!opts.userRead) return graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
      if (!who) return graphError(404, "Request_ResourceNotFound", `Resource '${decodeURIComponent(m[1]!)}' does not exist or one of its queried reference-property objects are not present.`);
      return Response.json({ "@odata.context": `${origin}/v1.0/$metadata#users/$entity`, id: crypto.randomUUID(), mail: who, userPrincipalName: who });
    }
    if (!who) return graphError(404, "ErrorInvalidUser", `The requested user '${decodeURIComponent(m[1]!)}' is invalid.`);
    if (state.deniedMailboxes.has(who)) return graphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");

    const decodeMime = (): Buffer | null => {
      const t = body.toString("latin1").replace(/\s+/g, "");
      if (!t || !/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 !== 0) return null;
      return Buffer.from(t, "base64");
    };
    const checkRecipients = (mime: Buffer): Response | null => {
      const rcpts = recipientsOf(mime);
      if (!rcpts.length) return graphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be sent because it contains no recipients.");
      const bad = rcpts.find((r) => state.invalidRecipients.has(r.toLowerCase()));
      if (bad) return graphError(400, "ErrorInvalidRecipients", `At least one recipient isn't valid., Recipient '${bad}' isn't resolved. All recipients must be resolved before a message can be submitted.`);
      return null;
    };

    if (rest === "/sendMail" && req.method === "POST") {
      if (!/^text\/plain/i.test(req.headers.get("content-type") ?? "")) return graphError(400, "ErrorInvalidRequest", "This fake takes only the MIME form of sendMail (Content-Type: text/plain).");
      const mime = decodeMime();
      if (!mime) return graphError(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.");
      const bad = checkRecipients(mime);
      if (bad) return bad;
      state.delivered.push({ raw: withoutBcc(mime), envelope: { from: who, to: recipientsOf(mime) }, via: "sendMail" });
      return new Response(null, { status: 202 });
    }
    if (rest === "/messages" && req.method === "POST") {
      const mime = decodeMime();
      if (!mime) return graphError(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.");
      const id = `AAMk${crypto.randomUUID().replace(/-/g, "")}=`;
      state.drafts.set(id, { sender: who, mime, attachments: [] });
      return Response.json({ "@odata.context": `${origin}/v1.0/$metadata#users('${who}')/messages/$entity`, id, isDraft: true }, { status: 201 });
    }
    const mm = /^\/messages\/([^/]+)(\/.*)?$/.exec(rest);
    if (mm) {
      const id = decodeURIComponent(mm[1]!);
      const d = state.drafts.get(id);
      if (!d || d.sender !== who) return graphError(404, "ErrorItemNotFound", "The specified object was not found in the store.");
      const sub = mm[2] ?? "";
      if (sub === "" && req.method === "DELETE") {
        state.drafts.delete(id);
        return new Response(null, { status: 204 });
      }
      if (sub === "/attachments" && req.method === "POST") {
        const j = JSON.parse(body.toString("utf8")) as { "@odata.type"?: string; name: string; contentType?: string; contentBytes: string; isInline?: boolean; contentId?: string };
        if (j["@odata.type"] !== "#microsoft.graph.fileAttachment") return graphError(400, "ErrorInvalidRequest", "@odata.type must be #microsoft.graph.fileAttachment");
        d.attachments.push({ name: j.name, contentType: j.contentType ?? "application/octet-stream", bytes: Buffer.from(j.contentBytes, "base64"), isInline: !!j.isInline, contentId: j.contentId });
        return Response.json({ id: `AAMkAtt${d.attachments.length}`, name: j.name }, { status: 201 });
      }
      if (sub === "/attachments/createUploadSession" && req.method === "POST") {
        const j = JSON.parse(body.toString("utf8")) as { AttachmentItem?: Session["item"] & { attachmentType?: string } };
        const item = j.AttachmentItem;
        if (!item || item.attachmentType !== "file" || !item.name || !(item.size > 0)) return graphError(400, "ErrorInvalidRequest", "AttachmentItem with attachmentType file, name and size is required.");
        if (item.size > 150 * 1024 * 1024) return graphError(400, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize", "The attachment size exceeds the 150 MB limit.");
        const sid = crypto.randomUUID();
        sessions.set(sid, { messageId: id, item, received: [], next: 0 });
        return Response.json({ "@odata.context": `${origin}/v1.0/$metadata#microsoft.graph.uploadSession`, uploadUrl: `${origin}/upload/AttachmentSessions/${sid}?authtoken=${crypto.randomUUID()}`, expirationDateTime: new Date(Date.now() + 3600_000).toISOString(), nextExpectedRanges: ["0-"] }, { status: 201 });
      }
      if (sub === "/send" && req.method === "POST") {
        const bad = checkRecipients(d.mime);
        if (bad) return bad;
        const raw = render(d);
        state.drafts.delete(id);
        state.delivered.push({ raw, envelope: { from: who, to: recipientsOf(d.mime) }, via: "draft" });
        return new Response(null, { status: 202 });
      }
    }
    return graphError(400, "BadRequest", `Unsupported request ${req.method} ${path}`);
  }

  function upload(req: Request, sid: string, body: Buffer): Response {
    const s = sessions.get(sid);
    if (!s) return graphError(404, "ErrorItemNotFound", "The upload session was not found or has expired.");
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(req.headers.get("content-range") ?? "");
    if (!range) return graphError(400, "ErrorInvalidContentRange", "Content-Range is required: bytes {start}-{end}/{total}.");
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (start !== s.next || end < start || total !== s.item.size || end - start + 1 !== body.length) return graphError(400, "ErrorInvalidContentRange", `Expected the range starting at ${s.next} of ${s.item.size} bytes, got ${start}-${end}/${total} with ${body.length} bytes.`);
    s.received.push(body);
    s.next = end + 1;
    if (s.next < total) return Response.json({ expirationDateTime: new Date(Date.now() + 3600_000).toISOString(), nextExpectedRanges: [String(s.next)] });
    const d = state.drafts.get(s.messageId);
    if (!d) return graphError(404, "ErrorItemNotFound", "The specified object was not found in the store.");
    d.attachments.push({ name: s.item.name, contentType: s.item.contentType ?? "application/octet-stream", bytes: Buffer.concat(s.received), isInline: !!s.item.isInline, contentId: s.item.contentId });
    sessions.delete(sid);
    return new Response(null, { status: 201, headers: { location: `${origin}/v1.0/users('${d.sender}')/messages('${s.messageId}')/attachments('AAMkAtt${d.attachments.length}')` } });
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 200 * 1024 * 1024,
    async fetch(req) {
      const url = new URL(req.url);
      const tm = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
      if (tm && req.method === "POST") return token(req, decodeURIComponent(tm[1]!));
      const body = Buffer.from(await req.arrayBuffer());
      const seen: SeenRequest = { method: req.method, path: url.pathname, bytes: body.length, contentType: req.headers.get("content-type"), authorization: req.headers.get("authorization"), contentRange: req.headers.get("content-range"), at: Date.now() };
      state.requests.push(seen);
      state.maxRequestBytes = Math.max(state.maxRequestBytes, body.length);
      const who = /^\/v1\.0\/users\/([^/]+)/.exec(url.pathname)?.[1] ?? "upload";
      const key = decodeURIComponent(who).toLowerCase();
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
      state.maxInFlight.set(key, Math.max(state.maxInFlight.get(key) ?? 0, inFlight.get(key)!));
      try {
        if (state.delayMs) await Bun.sleep(state.delayMs);
        if (body.length > GRAPH_MAX_REQUEST) return graphError(413, "BadRequest", "Maximum request length exceeded.");
        const f = faults.find((x) => (x.times ?? 1) > 0 && (!x.when || x.when(req.method, url.pathname)));
        if (f) {
          f.times = (f.times ?? 1) - 1;
          if (f.times <= 0) faults.splice(faults.indexOf(f), 1);
          return new Response(f.body === undefined ? null : JSON.stringify(f.body), { status: f.status, headers: { "content-type": "application/json", ...(f.headers ?? {}) } });
        }
        const um = /^\/upload\/AttachmentSessions\/([^/]+)$/.exec(url.pathname);
        if (um && req.method === "PUT") return upload(req, um[1]!, body);
        return await graph(req, url, body);
      } finally {
        inFlight.set(key, inFlight.get(key)! - 1);
      }
    },
  });
  origin = `http://127.0.0.1:${server.port}`;
  state.graphBase = origin;
  state.authority = `${origin}/${opts.tenant}`;
  return state;
}
