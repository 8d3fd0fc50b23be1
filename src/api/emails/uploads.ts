import { createHash } from "node:crypto";
import { Elysia } from "elysia";
import { idempotentRoute } from "../idempotent.ts";
import { detectMimeType } from "nodemailer/lib/mime-funcs/index.js";
import type { Gateway } from "../../gateway.ts";
import { ATTACHMENT_TTL_MS, MAX_ATTACHMENT_BYTES, UPLOAD_URL_TTL_MS, attachmentsOf, type AttachmentMeta, type StoredAttachment } from "../../store/attachments.ts";
import type { ComposeAttachment } from "../../types.ts";
import { authenticate, storageUnavailable } from "../auth.ts";
import { MAX_BODY_BYTES, readJsonObject } from "../body.ts";
import { ApiError, validationError, type FieldIssue } from "../errors.ts";
import { ok, withEtag } from "../http.ts";
import { charLength, tooLong, type ValidatedSend } from "./validate.ts";

/**
 * The Sending API's attachment uploads (sendmux-openapi-sending.json, tag "Attachments"):
 * - POST /emails/attachments — bytes in one request (`sendingUploadAttachment`);
 * - POST /emails/attachment-uploads — an upload intent (`sendingCreateAttachmentUpload`);
 * - PUT /emails/attachment-uploads/{upload_id} — the bytes for an intent, authorised by its
 *   upload token rather than an API key (`sendingCompleteAttachmentUpload`);
 * - GET /emails/attachments/{attachment_id} — metadata (`sendingGetAttachment`).
 * Validation here is hand-written; the schemas it implements are AttachmentUploadIntentRequest
 * and the operations' parameters, served from src/api/openapi/sending.ts.
 *
 * Uploaded attachments belong to one account (another account's id is 404), live 24 h, and are
 * used in sends as `{"attachment_id": "att_…"}` (see `loadUploads` and `attachUploaded`).
 */

export const UPLOAD_TOKEN_HEADER = "X-Sendmux-Upload-Token";
/** What one message's attachments may add up to, inline and uploaded together (the 25 MB of a whole request). */
export const MAX_MESSAGE_ATTACHMENT_BYTES = MAX_BODY_BYTES;

const INTENT_KEYS = ["filename", "size_bytes", "content_type", "sha256"];
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]+=(?:[A-Za-z0-9!#$&^_.+-]+|"[^"\\\r\n]*"))*\s*;?$/;

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** A filename as the document allows it (1 to 255 characters), on one line, without control characters. */
function checkFilename(issues: FieldIssue[], field: string, v: unknown): string | null {
  if (typeof v !== "string") {
    issues.push({ field, code: "invalid_type", message: v === undefined ? "is required: the file name the recipient sees" : `expected a string, got ${typeName(v)}` });
  } else if (v.length < 1) issues.push({ field, code: "too_small", message: "the filename must not be empty" });
  else if (tooLong(v, 255)) issues.push({ field, code: "too_big", message: `the filename must be at most 255 characters (got ${charLength(v)})` });
  else if (!v.isWellFormed()) issues.push({ field, code: "invalid_string", message: "the filename contains invalid Unicode" });
  else if (/[\u0000-\u001f\u007f]/.test(v)) issues.push({ field, code: "invalid_string", message: "the filename must not contain line breaks or control characters" });
  else return v;
  return null;
}

function checkContentType(issues: FieldIssue[], field: string, v: unknown): string | null {
  if (typeof v !== "string") {
    issues.push({ field, code: "invalid_type", message: `expected a MIME type string like application/pdf, got ${typeName(v)}` });
  } else if (v.length > 255 || !MIME_TYPE.test(v)) issues.push({ field, code: "invalid_string", message: `"${v.slice(0, 80)}" is not a MIME type like application/pdf` });
  else if (/^\s*(multipart|message)\//i.test(v)) {
    issues.push({ field, code: "invalid_string", message: `an attachment cannot be ${v.split(";")[0]}; upload the file as application/octet-stream` });
  } else return v;
  return null;
}

/** The declared Content-Length of an upload: required, a whole number of at least 1. */
function declaredLength(request: Request): number {
  const h = request.headers.get("content-length");
  if (h === null) {
    throw new ApiError("missing_parameter", "the Content-Length header is required: send the file with its exact size (not chunked)", { param: "Content-Length" });
  }
  if (!/^\d{1,16}$/.test(h.trim())) throw new ApiError("invalid_parameter", `Content-Length must be a whole number of bytes, got "${h.slice(0, 40)}"`, { param: "Content-Length" });
  const n = Number(h.trim());
  if (n < 1) {
    throw new ApiError(
      "invalid_parameter",
      "the request body was empty (Content-Length: 0): the file to upload is empty or was not found (curl --data-binary @file sends nothing when it cannot read the file); send the file's bytes, at least 1",
      { param: "Content-Length" },
    );
  }
  return n;
}

function tooLarge(what: string, param: string): ApiError {
  return new ApiError("payload_too_large", `${what} is larger than the upload cap of ${MAX_ATTACHMENT_BYTES} bytes (18 MiB)`, { param, headers: { Connection: "close" } });
}

/**
 * Reads exactly `expected` bytes, hashing them on the way. More than that is refused as soon as
 * it arrives (the rest is not read); fewer is refused at the end. `mismatch` builds the error.
 */
async function readExactly(request: Request, expected: number, mismatch: (got: string) => ApiError): Promise<{ bytes: Buffer; sha256: string }> {
  if (!request.body) throw mismatch("no body");
  const reader = request.body.getReader();
  const out = Buffer.allocUnsafe(expected);
  const hash = createHash("sha256");
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > expected) {
      await reader.cancel().catch(() => {});
      throw mismatch("more bytes");
    }
    out.set(value, total);
    hash.update(value);
    total += value.byteLength;
  }
  if (total !== expected) throw mismatch(`${total} bytes`);
  return { bytes: out, sha256: hash.digest("hex") };
}

/** AttachmentUploadData: exactly the documented fields (the schema forbids others). */
export function attachmentView(m: AttachmentMeta) {
  return { attachment_id: m.id, filename: m.filename, content_type: m.content_type, size_bytes: m.size_bytes, expires_at: m.expires_at };
}

/** Where the client reached us, for the absolute upload_url (honouring a proxy's X-Forwarded-* headers). */
function publicOrigin(request: Request): string {
  const url = new URL(request.url);
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  const host = request.headers.get("x-forwarded-host")?.split(",")[0]?.trim() || request.headers.get("host") || url.host;
  const scheme = proto === "https" || proto === "http" ? proto : url.protocol.replace(":", "");
  return `${scheme}://${host}`;
}

const location = (id: string) => `/api/v1/emails/attachments/${id}`;

export function uploadRoutes(gw: Gateway) {
  const store = () => attachmentsOf(gw);
  const guard = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      throw storageUnavailable(e);
    }
  };

  return new Elysia()
    .post(
      "/emails/attachments",
      idempotentRoute(gw, async ({ request, set }) => {
        const ctx = await authenticate(gw, request);
        const q = new URL(request.url).searchParams;
        const filenameParam = q.get("filename");
        if (filenameParam === null) {
          throw new ApiError("missing_parameter", "the filename query parameter is required: POST /api/v1/emails/attachments?filename=report.pdf", { param: "filename" });
        }
        const issues: FieldIssue[] = [];
        const filename = checkFilename(issues, "filename", filenameParam);
        const typeParam = q.get("content_type");
        const contentType = typeParam === null || typeParam === "" ? null : checkContentType(issues, "content_type", typeParam);
        const length = declaredLength(request);
        if (issues.length) throw validationError(issues);
        if (length > MAX_ATTACHMENT_BYTES) throw tooLarge(`the file (Content-Length ${length})`, "Content-Length");
        const { bytes } = await readExactly(request, length, (got) => new ApiError("invalid_parameter", `the body does not match Content-Length ${length} (${got})`, { param: "Content-Length" }));
        const meta = await guard(store().create(ctx.accountId, { filename: filename!, content_type: contentType ?? detectMimeType(filename!), content: bytes }));
        return ok(set, attachmentView(meta), 201, { location: location(meta.id) });
      }),
      { parse: "none" },
    )
    .get("/emails/attachments/:attachment_id", async ({ request, set, params }) => {
      const ctx = await authenticate(gw, request);
      const meta = await guard(store().meta(ctx.accountId, params.attachment_id));
      if (!meta) throw new ApiError("not_found", `attachment ${params.attachment_id.slice(0, 100)} was not found or has expired (uploads live ${ATTACHMENT_TTL_MS / 3600_000} h)`);
      return withEtag(request, set, attachmentView(meta));
    })
    .post(
      "/emails/attachment-uploads",
      idempotentRoute(gw, async ({ request, set }) => {
        const ctx = await authenticate(gw, request);
        const body = await readJsonObject(request);
        const issues: FieldIssue[] = [];
        for (const k of Object.keys(body)) {
          if (!INTENT_KEYS.includes(k)) issues.push({ field: k, code: "unrecognized_keys", message: `unknown property "${k}"; allowed: ${INTENT_KEYS.join(", ")}` });
        }
        const filename = checkFilename(issues, "filename", body.filename);
        let size: number | null = null;
        const s = body.size_bytes;
        if (s === undefined) issues.push({ field: "size_bytes", code: "invalid_type", message: "is required: the exact number of bytes you will upload" });
        else if (typeof s !== "number" || !Number.isInteger(s)) issues.push({ field: "size_bytes", code: "invalid_type", message: `expected a whole number of bytes, got ${typeof s === "number" ? s : typeName(s)}` });
        else if (s <= 0) issues.push({ field: "size_bytes", code: "too_small", message: "must be at least 1 (empty files cannot be attached)" });
        else size = s;
        const contentType = body.content_type === undefined || body.content_type === null ? null : checkContentType(issues, "content_type", body.content_type);
        let sha: string | null = null;
        if (body.sha256 !== undefined && body.sha256 !== null) {
          if (typeof body.sha256 !== "string" || !/^[a-f0-9]{64}$/.test(body.sha256)) {
            issues.push({ field: "sha256", code: "invalid_string", message: "expected the SHA-256 of the file as 64 lowercase hexadecimal characters" });
          } else sha = body.sha256;
        }
        if (issues.length) throw validationError(issues);
        if (size! > MAX_ATTACHMENT_BYTES) throw tooLarge(`size_bytes ${size}`, "size_bytes");
        const { intent, token } = await guard(store().createIntent(ctx.accountId, { filename: filename!, size_bytes: size!, content_type: contentType, sha256: sha }));
        const path = `/api/v1/emails/attachment-uploads/${intent.id}`;
        const headers: Record<string, string> = { "Content-Length": String(intent.size_bytes) };
        if (intent.content_type) headers["Content-Type"] = intent.content_type;
        headers[UPLOAD_TOKEN_HEADER] = token;
        return ok(
          set,
          { upload_id: intent.id, upload_url: publicOrigin(request) + path, method: "PUT", expires_at: intent.expires_at, max_size_bytes: MAX_ATTACHMENT_BYTES, headers },
          201,
          { location: path },
        );
      }),
      { parse: "none" },
    )
    .put(
      "/emails/attachment-uploads/:upload_id",
      async ({ request, set, params }) => {
        const intent = await guard(store().intent(params.upload_id));
        const gone = () => new ApiError("not_found", `upload ${params.upload_id.slice(0, 100)} was not found or its URL has expired (upload URLs live ${UPLOAD_URL_TTL_MS / 60_000} minutes); create a new one with POST /api/v1/emails/attachment-uploads`);
        if (!intent) throw gone();
        const token = request.headers.get(UPLOAD_TOKEN_HEADER);
        if (!token) throw new ApiError("authentication_required", `the ${UPLOAD_TOKEN_HEADER} header is required: send the token from the headers of the upload's creation response`);
        if (!store().tokenMatches(intent, token.trim())) throw new ApiError("authentication_required", `the ${UPLOAD_TOKEN_HEADER} token is not the one issued for upload ${intent.id}`);
        if (!intent.done_id && store().intentExpired(intent)) throw gone();
        const length = declaredLength(request);
        const mismatch = (got: string) =>
          new ApiError("payload_too_large", `upload ${intent.id} was created for exactly ${intent.size_bytes} bytes; this request ${got === "declared" ? `declares Content-Length ${length}` : `sent ${got}`}`, {
            param: "Content-Length",
            headers: { Connection: "close" },
          });
        if (length !== intent.size_bytes) throw mismatch("declared");
        const { bytes, sha256 } = await readExactly(request, length, mismatch);
        if (intent.sha256 && intent.sha256 !== sha256) {
          throw validationError([{ field: "sha256", code: "mismatch", message: `the uploaded bytes have SHA-256 ${sha256}, but the upload was created with sha256 ${intent.sha256}` }]);
        }
        const r = await guard(store().complete(intent, bytes, intent.content_type ?? detectMimeType(intent.filename)));
        if (r.result === "gone") throw gone();
        let meta: AttachmentMeta | null;
        if (r.result === "stored") meta = r.meta;
        else {
          if (r.sha256 !== sha256) throw new ApiError("conflict", `upload ${intent.id} was already completed with different bytes (as ${r.id}); create a new upload for another file`);
          meta = await guard(store().meta(intent.account_id, r.id));
          if (!meta) throw gone();
        }
        return ok(set, attachmentView(meta), 201, { location: location(meta.id) });
      },
      { parse: "none" },
    );
}

/** attachment_id strings a send (or every message of a batch) names, at most `max` of them. */
function referencedIds(body: unknown, max = 1100): string[] {
  const out = new Set<string>();
  const scan = (msg: unknown) => {
    const atts = (msg as { attachments?: unknown } | null)?.attachments;
    if (!Array.isArray(atts)) return;
    for (const a of atts.slice(0, 11)) {
      const id = (a as { attachment_id?: unknown } | null)?.attachment_id;
      if (typeof id === "string" && out.size < max) out.add(id);
    }
  };
  const msgs = (body as { messages?: unknown } | null)?.messages;
  if (Array.isArray(msgs)) msgs.slice(0, 101).forEach(scan);
  else scan(body);
  return [...out];
}

/** Loads every uploaded attachment a send or batch body refers to, each once (one Redis round trip). */
export async function loadUploads(gw: Gateway, accountId: string, body: unknown): Promise<Map<string, StoredAttachment>> {
  const ids = referencedIds(body);
  if (ids.length === 0) return new Map();
  try {
    return await attachmentsOf(gw).load(accountId, ids);
  } catch (e) {
    throw storageUnavailable(e);
  }
}

/**
 * Puts a validated message's uploaded attachments in their places among the inline ones, as the
 * same ComposeAttachment an inline one becomes. Returns the issues (unknown or expired ids, each
 * as `attachments.N.attachment_id`; too many bytes in all); with none, `v` is ready to submit.
 */
export function attachUploaded(uploads: Map<string, StoredAttachment>, v: ValidatedSend): FieldIssue[] {
  if (v.attachmentRefs.length === 0) return [];
  const issues: FieldIssue[] = [];
  const byIndex = new Map(v.attachmentRefs.map((r) => [r.index, r.id]));
  const inline = [...v.attachments];
  const merged: ComposeAttachment[] = [];
  const count = v.attachments.length + v.attachmentRefs.length;
  for (let i = 0; i < count; i++) {
    const id = byIndex.get(i);
    if (id === undefined) {
      merged.push(inline.shift()!);
      continue;
    }
    const up = uploads.get(id);
    if (!up) {
      issues.push({ field: `attachments.${i}.attachment_id`, code: "not_found", message: `attachment ${id} does not exist or has expired (uploads live ${ATTACHMENT_TTL_MS / 3600_000} h); upload it again` });
      continue;
    }
    merged.push({ filename: up.meta.filename, content: up.content, contentType: up.meta.content_type });
  }
  if (issues.length) return issues;
  const total = merged.reduce((n, a) => n + a.content.byteLength, 0);
  if (total > MAX_MESSAGE_ATTACHMENT_BYTES) {
    return [{ field: "attachments", code: "too_big", message: `the attachments add up to ${total} bytes; one message may carry at most ${MAX_MESSAGE_ATTACHMENT_BYTES} bytes (25 MB) of attachments` }];
  }
  v.attachments = merged;
  v.attachmentRefs = [];
  return [];
}
