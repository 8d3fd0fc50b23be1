import type { Clock } from "../clock.ts";
import type { SecretBox } from "../crypto.ts";
import { randomId } from "../ids.ts";
import { K } from "../store/keys.ts";
import type { SendmuxRedis } from "../store/redis.ts";
import { newSigningSecret } from "./signing.ts";

/** Delivery metadata and payloads are kept this long (the document says 7 days). */
export const DELIVERY_RETENTION_MS = 7 * 24 * 3_600_000;

export interface WebhookRecord {
  id: string;
  name: string | null;
  url: string;
  event_types: string[];
  filters: { mailbox_ids: string[] };
  enabled: boolean;
  created_at: string;
  updated_at: string;
  /** The signing secret, sealed with the gateway's secret key (AAD: the webhook id). Never returned. */
  secret_sealed: string;
}

/** WebhookSubscription: the record without its secret, with `failing`. */
export interface WebhookView extends Omit<WebhookRecord, "secret_sealed"> {
  failing: boolean;
}

export type DeliveryResult = "success" | "retrying" | "failed" | "permanent_failure";

/** One delivery attempt as stored (WebhookDeliveryAttempt without payload_available, plus webhook_id). */
export interface DeliveryRecord {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  result: DeliveryResult;
  response_status: number | null;
  response_ms: number;
  delivery_attempt: number;
  max_attempts: number;
  next_retry_at: string | null;
  error_message: string | null;
  response_body: string | null;
  created_at: string;
  payload_expires_at: string;
  request_payload_bytes: number;
  request_payload_sha256: string | null;
}

export type WebhookInput = Pick<WebhookRecord, "url" | "event_types" | "filters" | "enabled" | "name">;

const secretAad = (id: string) => `webhook-secret:${id}`;

/** Webhook subscriptions and their delivery records, per account, in Redis. */
export class WebhookStore {
  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock, private readonly box: SecretBox) {}

  private iso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  async list(accountId: string): Promise<WebhookRecord[]> {
    const all = (await this.redis.hvals(K.webhooks(accountId))).map((s) => JSON.parse(s) as WebhookRecord);
    // Newest first (the document's order), ties broken by id so paging is stable.
    all.sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1));
    return all;
  }

  async count(accountId: string): Promise<number> {
    return this.redis.hlen(K.webhooks(accountId));
  }

  async get(accountId: string, id: string): Promise<WebhookRecord | null> {
    const s = await this.redis.hget(K.webhooks(accountId), id);
    return s ? (JSON.parse(s) as WebhookRecord) : null;
  }

  async failingSet(accountId: string): Promise<Set<string>> {
    return new Set(await this.redis.hkeys(K.webhookFailing(accountId)));
  }

  async isFailing(accountId: string, id: string): Promise<boolean> {
    return (await this.redis.hexists(K.webhookFailing(accountId), id)) === 1;
  }

  view(rec: WebhookRecord, failing: boolean): WebhookView {
    return {
      id: rec.id,
      name: rec.name,
      url: rec.url,
      event_types: rec.event_types,
      filters: rec.filters,
      enabled: rec.enabled,
      failing,
      created_at: rec.created_at,
      updated_at: rec.updated_at,
    };
  }

  /** The plain signing secret, for signing a request. Never logged, never returned after create/rotate. */
  secretOf(rec: WebhookRecord): string {
    return this.box.open<string>(rec.secret_sealed, secretAad(rec.id));
  }

  /** Seals a secret for a webhook (also used to keep idempotent replays free of plain secrets). */
  seal(id: string, secret: string): string {
    return this.box.seal(secret, secretAad(id));
  }

  open(id: string, sealed: string): string {
    return this.box.open<string>(sealed, secretAad(id));
  }

  async create(accountId: string, input: WebhookInput): Promise<{ rec: WebhookRecord; secret: string }> {
    const id = `whk_${randomId()}`;
    const secret = newSigningSecret();
    const now = this.iso();
    const rec: WebhookRecord = { id, ...input, created_at: now, updated_at: now, secret_sealed: this.seal(id, secret) };
    await this.redis.hset(K.webhooks(accountId), id, JSON.stringify(rec));
    return { rec, secret };
  }

  /**
   * Applies a PATCH. `failing` is cleared when the URL changes or `enabled` turns from false to
   * true (the document: "Reset by updating the subscription (e.g. fixing the URL) and re-enabling").
   */
  async update(accountId: string, rec: WebhookRecord, patch: Partial<WebhookInput>): Promise<WebhookRecord> {
    const next: WebhookRecord = { ...rec, ...patch, updated_at: this.iso() };
    const clears = (patch.url !== undefined && patch.url !== rec.url) || (patch.enabled === true && !rec.enabled);
    const m = this.redis.multi().hset(K.webhooks(accountId), rec.id, JSON.stringify(next));
    if (clears) m.hdel(K.webhookFailing(accountId), rec.id);
    await m.exec();
    return next;
  }

  /** A new secret; the old one stops signing at once (the document: "immediately invalidated"). */
  async rotate(accountId: string, rec: WebhookRecord): Promise<{ rec: WebhookRecord; secret: string }> {
    const secret = newSigningSecret();
    const next: WebhookRecord = { ...rec, secret_sealed: this.seal(rec.id, secret), updated_at: this.iso() };
    await this.redis.hset(K.webhooks(accountId), rec.id, JSON.stringify(next));
    return { rec: next, secret };
  }

  /** Removes a subscription, its scheduled retries and its delivery index ("in-flight retries are dropped"). */
  async remove(accountId: string, id: string): Promise<boolean> {
    const n = await this.redis.hdel(K.webhooks(accountId), id);
    if (!n) return false;
    await this.redis.hdel(K.webhookFailing(accountId), id);
    const retries = K.webhookRetries(accountId);
    let cursor = "0";
    do {
      const [next, members] = await this.redis.zscan(retries, cursor, "MATCH", `${id}|*`, "COUNT", 500);
      cursor = next;
      const mine = members.filter((_, i) => i % 2 === 0);
      if (mine.length) {
        const m = this.redis.multi().zrem(retries, ...mine);
        for (const member of mine) m.del(K.webhookJob(accountId, id, member.slice(id.length + 1)));
        await m.exec();
      }
    } while (cursor !== "0");
    await this.redis.del(K.webhookDeliveries(accountId, id));
    return true;
  }

  async markFailing(accountId: string, id: string): Promise<void> {
    // Only a webhook that still exists (a late retry of a deleted one must not leave a flag).
    if (await this.redis.hexists(K.webhooks(accountId), id)) await this.redis.hset(K.webhookFailing(accountId), id, this.iso());
  }

  async clearFailing(accountId: string, id: string): Promise<void> {
    await this.redis.hdel(K.webhookFailing(accountId), id);
  }

  /** Stores an attempt and trims the index past the retention time (by the gateway clock). */
  async recordAttempt(accountId: string, rec: DeliveryRecord): Promise<void> {
    const at = Date.parse(rec.created_at);
    const idx = K.webhookDeliveries(accountId, rec.webhook_id);
    await this.redis
      .multi()
      .set(K.webhookDelivery(accountId, rec.id), JSON.stringify(rec), "PX", DELIVERY_RETENTION_MS)
      .zadd(idx, at, rec.id)
      .zremrangebyscore(idx, "-inf", `(${at - DELIVERY_RETENTION_MS}`)
      .pexpire(idx, DELIVERY_RETENTION_MS)
      .exec();
  }

  async getAttempt(accountId: string, id: string): Promise<DeliveryRecord | null> {
    const s = await this.redis.get(K.webhookDelivery(accountId, id));
    return s ? (JSON.parse(s) as DeliveryRecord) : null;
  }

  /**
   * A page of a webhook's attempts, newest first, filtered; `after` is the (time, id) of the last
   * attempt of the previous page. Returns the page and whether more follow.
   */
  async listAttempts(
    accountId: string,
    webhookId: string,
    opts: { limit: number; after: { at: number; id: string } | null; eventType?: string; result?: string },
  ): Promise<{ items: DeliveryRecord[]; more: boolean }> {
    const idx = K.webhookDeliveries(accountId, webhookId);
    const horizon = this.clock.now() - DELIVERY_RETENTION_MS;
    const out: DeliveryRecord[] = [];
    let max = opts.after ? String(opts.after.at) : "+inf";
    let skipAtMax = opts.after;
    const BATCH = 200;
    for (;;) {
      const rows = await this.redis.zrevrangebyscore(idx, max, `(${horizon}`, "WITHSCORES", "LIMIT", 0, BATCH);
      if (rows.length === 0) return { items: out, more: false };
      const ids: string[] = [];
      const scores: number[] = [];
      for (let i = 0; i < rows.length; i += 2) {
        const id = rows[i]!;
        const score = Number(rows[i + 1]);
        // Same time as the cursor: members come in descending id order; keep those after it.
        if (skipAtMax && score === skipAtMax.at && id >= skipAtMax.id) continue;
        ids.push(id);
        scores.push(score);
      }
      const recs = ids.length ? await this.redis.mget(ids.map((id) => K.webhookDelivery(accountId, id))) : [];
      for (let i = 0; i < recs.length; i++) {
        const s = recs[i];
        if (!s) continue;
        const r = JSON.parse(s) as DeliveryRecord;
        if (opts.eventType && r.event_type !== opts.eventType) continue;
        if (opts.result && r.result !== opts.result) continue;
        if (out.length === opts.limit) return { items: out, more: true };
        out.push(r);
      }
      if (rows.length < BATCH * 2) return { items: out, more: false };
      // Continue below the last row of this batch (ids at that same time are skipped above it).
      const lastId = rows[rows.length - 2]!;
      const lastScore = Number(rows[rows.length - 1]);
      max = String(lastScore);
      skipAtMax = { at: lastScore, id: lastId };
    }
  }

  /** The body sent for an event to a webhook (the same for every attempt). */
  async savePayload(accountId: string, webhookId: string, eventId: string, body: string): Promise<void> {
    await this.redis.set(K.webhookPayload(accountId, webhookId, eventId), body, "PX", DELIVERY_RETENTION_MS);
  }

  async payload(accountId: string, webhookId: string, eventId: string): Promise<string | null> {
    return this.redis.get(K.webhookPayload(accountId, webhookId, eventId));
  }
}
