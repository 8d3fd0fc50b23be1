import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock.ts";
import { newId } from "../ids.ts";
import { PREFIX } from "./keys.ts";
import type { SendmuxRedis } from "./redis.ts";
import completeUploadLua from "./lua/completeUpload-2.lua" with { type: "text" };

/**
 * Uploaded attachments (the Sending API's `/emails/attachments` and `/emails/attachment-uploads`):
 * bytes a client stores once and then names by `attachment_id` in any number of sends.
 *
 * Lifetimes, fixed here and documented in the README and the OpenAPI document:
 * - an attachment lives 24 h from its upload (its `expires_at`), then Redis drops it;
 * - an upload intent's URL and token are valid for 1 h; once completed, the intent lives as long
 *   as its attachment, so a client retrying the same PUT gets the same attachment back.
 *
 * Keys (beside the others of src/store/keys.ts, in the same `{a:<account>}` hash tag so the
 * completing script touches one slot): the attachment hash holds `meta` (JSON) and `content`
 * (the bytes); the intent hash holds its fields plus `done_id`/`done_sha` once completed. The
 * upload URL carries only the upload id, so one global pointer maps it to its account.
 */
export const ATTACHMENT_TTL_MS = 24 * 3600_000;
export const UPLOAD_URL_TTL_MS = 3600_000;
/** The largest single attachment, and the most attachment bytes one message may carry (18 MiB, as the document's example says: base64 of it still fits a 25 MB message). */
export const MAX_ATTACHMENT_BYTES = 18 * 1024 * 1024;

const acct = (account: string) => `${PREFIX}:{a:${account}}`;
export const AK = {
  attachment: (account: string, id: string) => `${acct(account)}:att:${id}`,
  upload: (account: string, id: string) => `${acct(account)}:upl:${id}`,
  /** Global: upload id → account id (the PUT is authenticated by the upload token, not a key). */
  uploadOwner: (id: string) => `${PREFIX}:upload:{u:${id}}`,
} as const;

export const ATTACHMENT_ID = /^att_[a-z0-9]{24}$/;
export const UPLOAD_ID = /^upl_[a-z0-9]{24}$/;

export interface AttachmentMeta {
  id: string;
  account_id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  created_at: string;
  expires_at: string;
}

export interface StoredAttachment {
  meta: AttachmentMeta;
  content: Buffer;
}

export interface UploadIntent {
  id: string;
  account_id: string;
  filename: string;
  size_bytes: number;
  content_type: string | null;
  sha256: string | null;
  expires_at: string;
  token_hash: string;
  /** Set once the PUT completed it. */
  done_id: string | null;
  done_sha: string | null;
}

export type CompleteResult =
  | { result: "stored"; meta: AttachmentMeta }
  | { result: "already"; id: string; sha256: string }
  | { result: "gone" };

export function sha256Hex(b: Uint8Array | string): string {
  return createHash("sha256").update(b).digest("hex");
}

interface UploadRedis extends SendmuxRedis {
  completeUpload_v1(intent: string, attachment: string, sha: string, id: string, meta: string, content: Buffer, ttl: number): Promise<[number, string?, string?]>;
}

/** MULTI reports a failed command in its results rather than by rejecting. */
function failed(res: Array<[Error | null, unknown]> | null): void {
  const err = res === null ? new Error("MULTI was aborted") : res.find(([e]) => e)?.[0];
  if (err) throw err;
}

export class AttachmentStore {
  private r: UploadRedis;
  constructor(redis: SendmuxRedis, private clock: Clock) {
    this.r = redis as UploadRedis;
    // Registered here rather than in redis.ts: this script belongs to this store alone.
    if (typeof this.r.completeUpload_v1 !== "function") this.r.defineCommand("completeUpload_v1", { lua: completeUploadLua, numberOfKeys: 2 });
  }

  private iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  /** Stores bytes uploaded in one request; returns the new attachment's metadata. */
  async create(accountId: string, input: { filename: string; content_type: string; content: Uint8Array }): Promise<AttachmentMeta> {
    const now = this.clock.now();
    const meta: AttachmentMeta = {
      id: newId("att"),
      account_id: accountId,
      filename: input.filename,
      content_type: input.content_type,
      size_bytes: input.content.byteLength,
      sha256: sha256Hex(input.content),
      created_at: this.iso(now),
      expires_at: this.iso(now + ATTACHMENT_TTL_MS),
    };
    const key = AK.attachment(accountId, meta.id);
    const res = await this.r.multi().hset(key, "meta", JSON.stringify(meta), "content", Buffer.from(input.content.buffer, input.content.byteOffset, input.content.byteLength)).pexpire(key, ATTACHMENT_TTL_MS).exec();
    failed(res);
    return meta;
  }

  /** Metadata of an attachment of this account; null when unknown, another account's, or expired. */
  async meta(accountId: string, id: string): Promise<AttachmentMeta | null> {
    if (!ATTACHMENT_ID.test(id)) return null;
    const raw = await this.r.hget(AK.attachment(accountId, id), "meta");
    if (!raw) return null;
    const m = JSON.parse(raw) as AttachmentMeta;
    return this.live(m) ? m : null;
  }

  /** Metadata and bytes of each id that exists for this account (each loaded once). */
  async load(accountId: string, ids: Iterable<string>): Promise<Map<string, StoredAttachment>> {
    const wanted = [...new Set(ids)].filter((id) => ATTACHMENT_ID.test(id));
    const out = new Map<string, StoredAttachment>();
    const rows = await Promise.all(wanted.map((id) => this.r.hmgetBuffer(AK.attachment(accountId, id), "meta", "content")));
    rows.forEach(([meta, content], i) => {
      if (!meta || !content) return;
      const m = JSON.parse(meta.toString("utf8")) as AttachmentMeta;
      if (this.live(m)) out.set(wanted[i]!, { meta: m, content });
    });
    return out;
  }

  private live(m: { expires_at: string }): boolean {
    return Date.parse(m.expires_at) > this.clock.now();
  }

  /** Creates an upload intent; returns it and its token (shown once, stored as a hash). */
  async createIntent(accountId: string, input: { filename: string; size_bytes: number; content_type: string | null; sha256: string | null }): Promise<{ intent: UploadIntent; token: string }> {
    const now = this.clock.now();
    const token = "smx_upload_" + randomBytes(30).toString("base64url");
    const intent: UploadIntent = {
      id: newId("upl"),
      account_id: accountId,
      filename: input.filename,
      size_bytes: input.size_bytes,
      content_type: input.content_type,
      sha256: input.sha256,
      expires_at: this.iso(now + UPLOAD_URL_TTL_MS),
      token_hash: sha256Hex(token),
      done_id: null,
      done_sha: null,
    };
    const key = AK.upload(accountId, intent.id);
    const fields: Record<string, string> = {
      account_id: accountId,
      filename: intent.filename,
      size_bytes: String(intent.size_bytes),
      expires_at: intent.expires_at,
      token_hash: intent.token_hash,
    };
    if (intent.content_type) fields.content_type = intent.content_type;
    if (intent.sha256) fields.sha256 = intent.sha256;
    failed(await this.r.multi().hset(key, fields).pexpire(key, UPLOAD_URL_TTL_MS).exec());
    await this.r.set(AK.uploadOwner(intent.id), accountId, "PX", UPLOAD_URL_TTL_MS);
    return { intent, token };
  }

  /** The intent behind an upload URL, expired or not (the caller tells the two apart); null when unknown. */
  async intent(uploadId: string): Promise<UploadIntent | null> {
    if (!UPLOAD_ID.test(uploadId)) return null;
    const accountId = await this.r.get(AK.uploadOwner(uploadId));
    if (!accountId) return null;
    const h = await this.r.hgetall(AK.upload(accountId, uploadId));
    if (!h.token_hash) return null;
    return {
      id: uploadId,
      account_id: accountId,
      filename: h.filename!,
      size_bytes: Number(h.size_bytes),
      content_type: h.content_type ?? null,
      sha256: h.sha256 ?? null,
      expires_at: h.expires_at!,
      token_hash: h.token_hash,
      done_id: h.done_id ?? null,
      done_sha: h.done_sha ?? null,
    };
  }

  /** Whether `token` is this intent's upload token (constant time). */
  tokenMatches(intent: UploadIntent, token: string): boolean {
    const a = Buffer.from(sha256Hex(token), "hex");
    const b = Buffer.from(intent.token_hash, "hex");
    return a.length === b.length && timingSafeEqual(a, b);
  }

  intentExpired(intent: UploadIntent): boolean {
    return !this.live(intent);
  }

  /** Turns a completed PUT into an attachment, once per intent (a second PUT learns the first's id). */
  async complete(intent: UploadIntent, content: Buffer, contentType: string): Promise<CompleteResult> {
    const now = this.clock.now();
    const meta: AttachmentMeta = {
      id: newId("att"),
      account_id: intent.account_id,
      filename: intent.filename,
      content_type: contentType,
      size_bytes: content.byteLength,
      sha256: sha256Hex(content),
      created_at: this.iso(now),
      expires_at: this.iso(now + ATTACHMENT_TTL_MS),
    };
    const [code, id, sha] = await this.r.completeUpload_v1(
      AK.upload(intent.account_id, intent.id),
      AK.attachment(intent.account_id, meta.id),
      meta.sha256,
      meta.id,
      JSON.stringify(meta),
      content,
      ATTACHMENT_TTL_MS,
    );
    if (code === -1) return { result: "gone" };
    if (code === 0) return { result: "already", id: String(id), sha256: String(sha) };
    // The pointer lives as long as the attachment, so a retried PUT still finds the intent.
    await this.r.set(AK.uploadOwner(intent.id), intent.account_id, "PX", ATTACHMENT_TTL_MS);
    return { result: "stored", meta };
  }
}

const stores = new WeakMap<object, AttachmentStore>();

/** The attachment store of a gateway (one per Redis connection and clock). */
export function attachmentsOf(gw: { redis: SendmuxRedis; clock: Clock }): AttachmentStore {
  let s = stores.get(gw);
  if (!s) {
    s = new AttachmentStore(gw.redis, gw.clock);
    stores.set(gw, s);
  }
  return s;
}
