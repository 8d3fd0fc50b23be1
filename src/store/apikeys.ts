import type { Clock } from "../clock.ts";
import { hashApiKey } from "../crypto.ts";
import { newApiToken, newId } from "../ids.ts";
import type { ApiKeyRecord, KeyContext, Permission, Scope } from "../types.ts";
import { K } from "./keys.ts";
import type { SendmuxRedis } from "./redis.ts";

interface HashEntry {
  account_id: string;
  key_id: string;
  permission: Permission;
  scope: Scope;
}

/**
 * API keys. Only the SHA-256 of a token is stored; the token itself is returned once, at creation.
 * Lookups are cached in memory for a few seconds; a revoke clears the local cache at once and is
 * announced on the changes channel for other gateway processes.
 */
export class ApiKeyStore {
  private cache = new Map<string, { ctx: KeyContext | null; until: number }>();
  private lastTouch = new Map<string, number>();
  private static readonly CACHE_MS = 5000;

  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock) {}

  async create(accountId: string, input: { name: string; permission: Permission; scope: Scope }): Promise<{ record: ApiKeyRecord; token: string }> {
    const token = newApiToken();
    const hash = hashApiKey(token);
    const record: ApiKeyRecord = {
      id: newId("key"),
      name: input.name,
      permission: input.permission,
      scope: input.scope,
      token_prefix: token.slice(0, 10),
      hash,
      created_at: new Date(this.clock.now()).toISOString(),
      last_used_at: null,
    };
    const entry: HashEntry = { account_id: accountId, key_id: record.id, permission: record.permission, scope: record.scope };
    await this.redis
      .multi()
      .hset(K.apiKeys(accountId), record.id, JSON.stringify(record))
      .set(K.apiKeyByHash(hash), JSON.stringify(entry))
      .exec();
    return { record, token };
  }

  /** Newest first (ties by id), with last_used_at filled in. */
  async list(accountId: string): Promise<ApiKeyRecord[]> {
    const [all, used] = await Promise.all([this.redis.hvals(K.apiKeys(accountId)), this.redis.hgetall(K.apiKeyStamps(accountId))]);
    return all
      .map((s) => JSON.parse(s) as ApiKeyRecord)
      .map((k) => ({ ...k, last_used_at: used[k.id] ?? k.last_used_at }))
      .sort((x, y) => (x.created_at === y.created_at ? (x.id < y.id ? 1 : -1) : x.created_at < y.created_at ? 1 : -1));
  }

  async get(accountId: string, keyId: string): Promise<ApiKeyRecord | null> {
    const [s, used] = await Promise.all([this.redis.hget(K.apiKeys(accountId), keyId), this.redis.hget(K.apiKeyStamps(accountId), keyId)]);
    if (!s) return null;
    const k = JSON.parse(s) as ApiKeyRecord;
    return { ...k, last_used_at: used ?? k.last_used_at };
  }

  /** Records that a key was used; written at most once a second per key. */
  touch(ctx: KeyContext): void {
    const now = this.clock.now();
    const last = this.lastTouch.get(ctx.keyId) ?? 0;
    if (now - last < 1000 && now >= last) return;
    this.lastTouch.set(ctx.keyId, now);
    if (this.lastTouch.size > 50_000) this.lastTouch.clear();
    void this.redis.hset(K.apiKeyStamps(ctx.accountId), ctx.keyId, new Date(now).toISOString()).catch(() => {});
  }

  /** Revokes at once: the next request with the token is refused. */
  async revoke(accountId: string, keyId: string): Promise<boolean> {
    const rec = await this.get(accountId, keyId);
    if (!rec) return false;
    await this.redis.multi().hdel(K.apiKeys(accountId), keyId).hdel(K.apiKeyStamps(accountId), keyId).del(K.apiKeyByHash(rec.hash)).exec();
    this.forget(rec.hash);
    await this.redis.publish(K.changes(), JSON.stringify({ kind: "apikey", hash: rec.hash }));
    return true;
  }

  forget(hash?: string): void {
    if (hash) this.cache.delete(hash);
    else this.cache.clear();
  }

  /** The key's context, or null for an unknown or revoked token. */
  async authenticate(token: string): Promise<KeyContext | null> {
    if (!token.startsWith("smx_") || token.length < 36 || token.length > 200) return null;
    const hash = hashApiKey(token);
    const now = this.clock.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.ctx;
    const raw = await this.redis.get(K.apiKeyByHash(hash));
    let ctx: KeyContext | null = null;
    if (raw) {
      const e = JSON.parse(raw) as HashEntry;
      ctx = { accountId: e.account_id, keyId: e.key_id, permission: e.permission, scope: e.scope };
    }
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(hash, { ctx, until: now + ApiKeyStore.CACHE_MS });
    return ctx;
  }
}
