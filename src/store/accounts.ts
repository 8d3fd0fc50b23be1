import type { Clock } from "../clock.ts";
import { newId } from "../ids.ts";
import type { Account } from "../types.ts";
import { K } from "./keys.ts";
import type { SendmuxRedis } from "./redis.ts";

/**
 * Accounts (the documents' teams). Whether an account is suspended is asked on every request, so
 * it is cached in memory for a few seconds; a suspension clears the local copy at once and is
 * announced on the changes channel for other gateway processes.
 */
export class AccountStore {
  private statusCache = new Map<string, { account: Account | null; until: number }>();
  private static readonly CACHE_MS = 5000;

  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock) {}

  /**
   * Creates an account. With an email address, the address is claimed first (one account per
   * address); null is returned when another account has it.
   */
  async create(name: string, email: string | null): Promise<Account> {
    const acct = await this.tryCreate(name, email);
    if (!acct) throw new Error(`an account with the email address ${email} already exists`);
    return acct;
  }

  async tryCreate(name: string, email: string | null): Promise<Account | null> {
    const acct: Account = { id: newId("acct"), name, email, status: "active", created_at: new Date(this.clock.now()).toISOString() };
    if (email) {
      const won = await this.redis.set(K.accountByEmail(email.toLowerCase()), acct.id, "NX");
      if (won !== "OK") return null;
    }
    await this.redis.multi().set(K.account(acct.id), JSON.stringify(acct)).sadd(K.accounts(), acct.id).exec();
    return acct;
  }

  async get(id: string): Promise<Account | null> {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(id)) return null;
    const raw = await this.redis.get(K.account(id));
    return raw ? (JSON.parse(raw) as Account) : null;
  }

  async listIds(): Promise<string[]> {
    return this.redis.smembers(K.accounts());
  }

  /** Every account, oldest first (ties by id). */
  async listAll(): Promise<Account[]> {
    const ids = await this.listIds();
    if (!ids.length) return [];
    const raws = await this.redis.mget(...ids.map((id) => K.account(id)));
    const all = raws.filter((r): r is string => !!r).map((r) => JSON.parse(r) as Account);
    return all.sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1));
  }

  /** Suspends (with a reason) or unsuspends an account; null for an unknown id. */
  async setStatus(id: string, status: Account["status"], reason: string | null): Promise<Account | null> {
    const cur = await this.get(id);
    if (!cur) return null;
    const next: Account = {
      ...cur,
      status,
      status_reason: status === "suspended" ? reason : null,
      suspended_at: status === "suspended" ? (cur.status === "suspended" ? cur.suspended_at ?? null : new Date(this.clock.now()).toISOString()) : null,
    };
    await this.redis.set(K.account(id), JSON.stringify(next));
    this.forget(id);
    await this.redis.publish(K.changes(), JSON.stringify({ kind: "account", account_id: id }));
    return next;
  }

  /** The account when it is suspended (for the message its keys get), else null. Cached a few seconds. */
  async suspended(id: string): Promise<Account | null> {
    const now = this.clock.now();
    const hit = this.statusCache.get(id);
    let acct: Account | null;
    if (hit && hit.until > now && now >= hit.until - AccountStore.CACHE_MS) acct = hit.account;
    else {
      acct = await this.get(id);
      if (this.statusCache.size > 50_000) this.statusCache.clear();
      this.statusCache.set(id, { account: acct, until: now + AccountStore.CACHE_MS });
    }
    return acct?.status === "suspended" ? acct : null;
  }

  forget(id?: string): void {
    if (id) this.statusCache.delete(id);
    else this.statusCache.clear();
  }
}
