import type { Clock } from "../clock.ts";
import type { SecretBox } from "../crypto.ts";
import { newId } from "../ids.ts";
import type { ProviderRecord, ProviderType, Quotas } from "../types.ts";
import { K, MANAGED_OWNER } from "./keys.ts";
import type { SendmuxRedis } from "./redis.ts";

export const EMPTY_QUOTAS: Quotas = { per_second: null, per_minute: null, per_hour: null, per_day: null };

/** Fields a caller may set; secrets travel separately and are sealed before they reach Redis. */
export type ProviderFields = Partial<Omit<ProviderRecord, "id" | "account_id" | "created_at" | "updated_at" | "sealed" | "version" | "has_smtp_password">> & {
  name?: string;
  type?: ProviderType;
};

export type ProviderSecrets = Record<string, unknown>;

/**
 * Providers (the documents' "sending accounts"). Records live in one hash per account; an
 * in-memory copy per account serves the hot path and is dropped on every change, here and, through
 * the changes channel, on other gateway processes.
 */
export class ProviderStore {
  private cache = new Map<string, ProviderRecord[]>();
  private lastTouch = new Map<string, number>();
  private listeners: Array<(accountId: string) => void> = [];
  private writeListeners: Array<(accountId: string) => Promise<unknown>> = [];
  /** Providers every account sees besides its own: the managed route (src/accounts/managed.ts). */
  private shared: ((accountId: string) => Promise<ProviderRecord[]>) | null = null;

  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock, private readonly box: SecretBox) {}

  onChange(fn: (accountId: string) => void): void {
    this.listeners.push(fn);
  }

  /** Called after each write made by this process (not for other processes' announcements). */
  onWrite(fn: (accountId: string) => Promise<unknown>): void {
    this.writeListeners.push(fn);
  }

  /** Sets where the shared providers come from; each account's list carries them after its own. */
  setSharedSource(fn: (accountId: string) => Promise<ProviderRecord[]>): void {
    this.shared = fn;
    this.cache.clear();
  }

  /** Called for local writes and for announcements from other processes. A change of the managed route (MANAGED_OWNER) drops every account's copy. */
  invalidate(accountId: string): void {
    if (accountId === MANAGED_OWNER) this.cache.clear();
    else this.cache.delete(accountId);
    for (const fn of this.listeners) fn(accountId);
  }

  /** After a write: drops the cached copies here, announces it to other processes, tells the write listeners. */
  async changed(accountId: string): Promise<void> {
    this.invalidate(accountId);
    await this.redis.publish(K.changes(), JSON.stringify({ kind: "provider", account_id: accountId }));
    for (const fn of this.writeListeners) await fn(accountId);
  }

  async create(accountId: string, fields: ProviderFields & { name: string; type: ProviderType }, secrets: ProviderSecrets | null): Promise<ProviderRecord> {
    const now = new Date(this.clock.now()).toISOString();
    const id = newId("dprov");
    const rec: ProviderRecord = {
      id,
      account_id: accountId,
      name: fields.name,
      type: fields.type,
      status: fields.status ?? "active",
      status_reason: fields.status_reason ?? null,
      is_shared: false,
      smtp_host: fields.smtp_host ?? null,
      smtp_port: fields.smtp_port ?? null,
      smtp_protocol: fields.smtp_protocol ?? null,
      smtp_username: fields.smtp_username ?? null,
      smtp_tls_verify: fields.smtp_tls_verify,
      oauth_email: fields.oauth_email ?? null,
      has_refresh_token: fields.has_refresh_token ?? false,
      has_smtp_password: !!secrets && typeof secrets.smtp_password === "string",
      from_email: fields.from_email ?? null,
      from_name: fields.from_name ?? null,
      reply_to_email: fields.reply_to_email ?? null,
      reply_to_name: fields.reply_to_name ?? null,
      tracking_domain: fields.tracking_domain ?? null,
      percentage: fields.percentage ?? null,
      quotas: { ...EMPTY_QUOTAS, ...(fields.quotas ?? {}) },
      created_at: now,
      updated_at: now,
      last_tested_at: null,
      last_used_at: null,
      sealed: secrets ? this.box.seal(secrets, id) : null,
      version: 1,
    };
    await this.redis.hset(K.providers(accountId), id, JSON.stringify(rec));
    await this.changed(accountId);
    return rec;
  }

  async list(accountId: string): Promise<ProviderRecord[]> {
    const hit = this.cache.get(accountId);
    if (hit) return hit;
    const all = (await this.redis.hvals(K.providers(accountId))).map((s) => JSON.parse(s) as ProviderRecord);
    if (this.shared && accountId !== MANAGED_OWNER) all.push(...(await this.shared(accountId)));
    all.sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1));
    this.cache.set(accountId, all);
    return all;
  }

  async get(accountId: string, id: string): Promise<ProviderRecord | null> {
    return (await this.list(accountId)).find((p) => p.id === id) ?? null;
  }

  /**
   * Applies a change; secrets, when given, replace the sealed ones (merged with the old ones; a
   * secret given as null is removed, e.g. `{smtp_password: null}`).
   */
  async update(accountId: string, id: string, fields: ProviderFields, secrets: ProviderSecrets | null): Promise<ProviderRecord | null> {
    const cur = await this.getFresh(accountId, id);
    if (!cur) return null;
    const next: ProviderRecord = {
      ...cur,
      ...stripUndefined(fields),
      quotas: fields.quotas ? { ...cur.quotas, ...fields.quotas } : cur.quotas,
      updated_at: new Date(this.clock.now()).toISOString(),
      version: cur.version + 1,
    };
    if (secrets) {
      const merged = { ...(cur.sealed ? this.box.open<ProviderSecrets>(cur.sealed, id) : {}), ...secrets };
      for (const [k, v] of Object.entries(secrets)) if (v === null) delete merged[k];
      next.sealed = this.box.seal(merged, id);
      next.has_smtp_password = typeof merged.smtp_password === "string";
    }
    await this.redis.hset(K.providers(accountId), id, JSON.stringify(next));
    await this.changed(accountId);
    return next;
  }

  /** Bookkeeping fields that do not change how the provider sends (no version bump). */
  /**
   * Bookkeeping times, kept apart from the record: writing them never races with a PATCH (a
   * read-modify-write of the record could undo one), never bumps the version (which would drop the
   * worker's warm connection) and never invalidates the hot-path cache. last_used_at is written at
   * most once a second per provider.
   */
  async touch(accountId: string, id: string, fields: Pick<Partial<ProviderRecord>, "last_used_at" | "last_tested_at">): Promise<void> {
    const now = this.clock.now();
    if (fields.last_used_at && !fields.last_tested_at) {
      const last = this.lastTouch.get(id) ?? 0;
      if (now - last < 1000 && now >= last) return;
      this.lastTouch.set(id, now);
    }
    const args: string[] = [];
    for (const [k, v] of Object.entries(fields)) if (v) args.push(`${id}:${k}`, v);
    if (args.length) await this.redis.hset(K.providerStamps(accountId), ...args);
  }

  /** A provider's record with its bookkeeping times filled in. */
  async withStamps(rec: ProviderRecord): Promise<ProviderRecord> {
    const [used, tested] = await this.redis.hmget(K.providerStamps(rec.account_id), `${rec.id}:last_used_at`, `${rec.id}:last_tested_at`);
    return { ...rec, last_used_at: used ?? rec.last_used_at, last_tested_at: tested ?? rec.last_tested_at };
  }

  async remove(accountId: string, id: string): Promise<boolean> {
    const n = await this.redis.hdel(K.providers(accountId), id);
    await this.redis.hdel(K.providerStamps(accountId), `${id}:last_used_at`, `${id}:last_tested_at`);
    if (n) await this.changed(accountId);
    return n > 0;
  }

  secretsOf(rec: ProviderRecord): ProviderSecrets {
    return rec.sealed ? this.box.open<ProviderSecrets>(rec.sealed, rec.id) : {};
  }

  private async getFresh(accountId: string, id: string): Promise<ProviderRecord | null> {
    const s = await this.redis.hget(K.providers(accountId), id);
    return s ? (JSON.parse(s) as ProviderRecord) : null;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
