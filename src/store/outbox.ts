import { K } from "./keys.ts";
import type { SendmuxRedis } from "./redis.ts";

export interface OutboxItem {
  message_id: string;
  envelope: { from: string; to: string[] };
  from: string;
  to: string[];
  subject: string;
  received_at: string;
  size_bytes: number;
}

/**
 * The capture provider's outbox: what it "sent", kept in Redis so it survives restarts and can be
 * read back through the API. Newest first; a message captured again (a retry after a crash)
 * replaces its earlier copy.
 */
export class OutboxStore {
  constructor(private readonly redis: SendmuxRedis) {}

  async put(accountId: string, providerId: string, item: OutboxItem, raw: Uint8Array, atMs: number): Promise<void> {
    await this.redis
      .multi()
      .hset(K.outboxItem(accountId, providerId, item.message_id), "meta", JSON.stringify(item), "raw", Buffer.from(raw))
      .zadd(K.outbox(accountId, providerId), atMs, item.message_id)
      .exec();
  }

  /** Newest first. `cursor` is the opaque next_cursor of the previous page. */
  async list(accountId: string, providerId: string, limit: number, cursor: string | null): Promise<{ items: OutboxItem[]; next: string | null }> {
    const start = cursor ? Number(cursor) : 0;
    const ids = await this.redis.zrevrange(K.outbox(accountId, providerId), start, start + limit);
    const page = ids.slice(0, limit);
    const metas = page.length
      ? await Promise.all(page.map((id) => this.redis.hget(K.outboxItem(accountId, providerId, id), "meta")))
      : [];
    const items = metas.filter((m): m is string => !!m).map((m) => JSON.parse(m) as OutboxItem);
    return { items, next: ids.length > limit ? String(start + limit) : null };
  }

  async raw(accountId: string, providerId: string, messageId: string): Promise<Buffer | null> {
    return this.redis.hgetBuffer(K.outboxItem(accountId, providerId, messageId), "raw");
  }

  async clear(accountId: string, providerId: string): Promise<void> {
    const ids = await this.redis.zrange(K.outbox(accountId, providerId), 0, -1);
    const m = this.redis.multi().del(K.outbox(accountId, providerId));
    for (const id of ids) m.del(K.outboxItem(accountId, providerId, id));
    await m.exec();
  }
}
