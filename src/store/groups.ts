import type { Clock } from "../clock.ts";
import { newId } from "../ids.ts";
import { K } from "./keys.ts";
import type { SendmuxRedis } from "./redis.ts";

/** A named, isolated pool of providers (EXT); each member may override its routing weight. */
export interface GroupRecord {
  id: string;
  name: string;
  members: Array<{ provider_id: string; percentage: number | null }>;
  created_at: string;
  updated_at: string;
}

/** Groups live in one hash per account, cached in memory and dropped on every change. */
export class GroupStore {
  private cache = new Map<string, GroupRecord[]>();
  private writeListeners: Array<(accountId: string) => Promise<unknown>> = [];

  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock) {}

  invalidate(accountId: string): void {
    this.cache.delete(accountId);
  }

  /** Called after each write made by this process (not for other processes' announcements). */
  onWrite(fn: (accountId: string) => Promise<unknown>): void {
    this.writeListeners.push(fn);
  }

  private async changed(accountId: string): Promise<void> {
    this.invalidate(accountId);
    await this.redis.publish(K.changes(), JSON.stringify({ kind: "group", account_id: accountId }));
    for (const fn of this.writeListeners) await fn(accountId);
  }

  async list(accountId: string): Promise<GroupRecord[]> {
    const hit = this.cache.get(accountId);
    if (hit) return hit;
    const all = (await this.redis.hvals(K.groups(accountId))).map((s) => JSON.parse(s) as GroupRecord);
    all.sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1));
    this.cache.set(accountId, all);
    return all;
  }

  async get(accountId: string, id: string): Promise<GroupRecord | null> {
    return (await this.list(accountId)).find((g) => g.id === id) ?? null;
  }

  async members(accountId: string, id: string): Promise<GroupRecord["members"]> {
    return (await this.get(accountId, id))?.members ?? [];
  }

  async create(accountId: string, input: { name: string; members: GroupRecord["members"] }): Promise<GroupRecord> {
    const now = new Date(this.clock.now()).toISOString();
    const g: GroupRecord = { id: newId("grp"), name: input.name, members: input.members, created_at: now, updated_at: now };
    await this.redis.hset(K.groups(accountId), g.id, JSON.stringify(g));
    await this.changed(accountId);
    return g;
  }

  async update(accountId: string, id: string, patch: Partial<Pick<GroupRecord, "name" | "members">>): Promise<GroupRecord | null> {
    const s = await this.redis.hget(K.groups(accountId), id);
    if (!s) return null;
    const g: GroupRecord = { ...(JSON.parse(s) as GroupRecord), ...patch, updated_at: new Date(this.clock.now()).toISOString() };
    await this.redis.hset(K.groups(accountId), id, JSON.stringify(g));
    await this.changed(accountId);
    return g;
  }

  async remove(accountId: string, id: string): Promise<boolean> {
    const n = await this.redis.hdel(K.groups(accountId), id);
    if (n) await this.changed(accountId);
    return n > 0;
  }

  /** Drops a deleted provider from every group of the account. */
  async dropProvider(accountId: string, providerId: string): Promise<void> {
    for (const g of await this.list(accountId)) {
      if (g.members.some((m) => m.provider_id === providerId)) {
        await this.update(accountId, g.id, { members: g.members.filter((m) => m.provider_id !== providerId) });
      }
    }
  }
}
