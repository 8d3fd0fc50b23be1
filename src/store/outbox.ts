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
export const OUTBOX_KEEP_MS = 7 * 86_400_000;
/** The default for SENDMUX_CAPTURE_MAX_ITEMS. */
export const OUTBOX_MAX_ITEMS = 10_000;

export class OutboxStore {
  constructor(private readonly redis: SendmuxRedis, private readonly maxItems: number = OUTBOX_MAX_ITEMS) {}

  /**
   * Stores one captured message. The outbox is for development and tests, so it is bounded: an
   * item is kept OUTBOX_KEEP_MS (7 days) and at most `maxItems` (SENDMUX_CAPTURE_MAX_ITEMS) per provider (the oldest
   * go first).
   */
  async put(accountId: string, providerId: string, item: OutboxItem, raw: Uint8Array, atMs: number): Promise<void> {
    const itemKey = K.outboxItem(accountId, providerId, item.message_id);
    const setKey = K.outbox(accountId, providerId);
    const res = await this.redis
      .multi()
      .hset(itemKey, "meta", JSON.stringify(item), "raw", Buffer.from(raw))
      .pexpire(itemKey, OUTBOX_KEEP_MS)
      .zadd(setKey, atMs, item.message_id)
      .zremrangebyscore(setKey, "-inf", atMs - OUTBOX_KEEP_MS)
      .zcard(setKey)
      .exec();
    const count = Number(res?.[4]?.[1] ?? 0);
    if (count > this.maxItems) {
      const over = await this.redis.zrange(setKey, 0, count - this.maxItems - 1);
      if (over.length) {
        const m = this.redis.multi().zrem(setKey, ...over);
        for (const id of over) m.del(K.outboxItem(accountId, providerId, id));
        await m.exec();
      }
    }
  }

  /**
   * Newest first. `cursor` is the opaque next_cursor of the previous page: the capture time and
   * id of its last item, so messages captured while a client pages never shift what it sees.
   * Returns null for a cursor this store did not make.
   */
  async list(accountId: string, providerId: string, limit: number, cursor: string | null): Promise<{ items: OutboxItem[]; next: string | null } | null> {
    const key = K.outbox(accountId, providerId);
    let ids: Array<[string, number]>;
    if (cursor === null) {
      ids = pairs(await this.redis.zrevrange(key, 0, limit, "WITHSCORES"));
    } else {
      const c = parseOutboxCursor(cursor);
      if (!c) return null;
      // Same capture time (same millisecond): Redis orders those by id, so take the smaller ids.
      const same = (await this.redis.zrangebyscore(key, c.at, c.at)).filter((id) => id < c.id).sort().reverse();
      const older = pairs(await this.redis.zrevrangebyscore(key, `(${c.at}`, "-inf", "WITHSCORES", "LIMIT", 0, limit + 1));
      ids = [...same.map((id): [string, number] => [id, c.at]), ...older].slice(0, limit + 1);
    }
    const page = ids.slice(0, limit);
    const metas = page.length ? await Promise.all(page.map(([id]) => this.redis.hget(K.outboxItem(accountId, providerId, id), "meta"))) : [];
    const items = metas.filter((m): m is string => !!m).map((m) => JSON.parse(m) as OutboxItem);
    const last = page[page.length - 1];
    return { items, next: ids.length > limit && last ? outboxCursor(last[1], last[0]) : null };
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

function pairs(flat: string[]): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
  return out;
}

export function outboxCursor(at: number, id: string): string {
  return Buffer.from(`${at}:${id}`, "utf8").toString("base64url");
}

export function parseOutboxCursor(cursor: string): { at: number; id: string } | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  const m = /^(\d{1,16}):(eml_[a-z0-9]{1,64})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  return m ? { at: Number(m[1]), id: m[2]! } : null;
}
