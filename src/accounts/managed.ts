import type { Clock } from "../clock.ts";
import type { SecretBox } from "../crypto.ts";
import { newId } from "../ids.ts";
import type { CapStore } from "../routing/caps.ts";
import type { CircuitStore } from "../routing/circuit.ts";
import { K, MANAGED_OWNER } from "../store/keys.ts";
import { EMPTY_QUOTAS, type ProviderStore } from "../store/providers.ts";
import type { SendmuxRedis } from "../store/redis.ts";
import type { ProviderRecord } from "../types.ts";

/** What the operator gives in PUT /admin/v1/managed-route (validated by the admin API). */
export interface ManagedRouteInput {
  region: string;
  access_key_id: string;
  secret_access_key: string;
  endpoint: string | null;
  default_daily_limit: number | null;
}

/** An account's daily limit on the managed route, and how much of it is used today. */
export interface AccountDailyLimit {
  provider_id: string;
  daily_limit: number;
  sent_today: number;
}

/**
 * The managed route: ONE amazon_ses provider the operator configures, shared by every account
 * (SPEC "Managed route and accounts"). Its record lives under MANAGED_OWNER; each account sees it
 * in its provider list (ProviderStore.list, through setSharedSource) with `is_shared: true` and
 * its own `status` (an account may deactivate it for itself). Each account's sends through it are
 * counted per UTC day and held to a daily limit (CapStore.reserve, atomically with the route's
 * own windows); the limits live in one Redis hash next to the counters.
 */
export class ManagedRoute {
  constructor(
    private readonly redis: SendmuxRedis,
    private readonly clock: Clock,
    private readonly box: SecretBox,
    private readonly providers: ProviderStore,
    private readonly caps: CapStore,
    private readonly circuit: CircuitStore,
    /** SENDMUX_MANAGED_DAILY_LIMIT: the default when the operator gave no default_daily_limit. */
    private readonly configuredDefault: number,
  ) {
    providers.setSharedSource((accountId) => this.viewFor(accountId));
  }

  /** The route's stored record, or null before the operator has configured it. */
  async record(): Promise<ProviderRecord | null> {
    const all = await this.redis.hvals(K.providers(MANAGED_OWNER));
    return all.length ? (JSON.parse(all[0]!) as ProviderRecord) : null;
  }

  /** The route as `accountId` sees it: its own status over the operator's. */
  private async viewFor(accountId: string): Promise<ProviderRecord[]> {
    const [rec, state] = await Promise.all([this.record(), this.redis.hmget(K.managedState(accountId), "status", "status_reason")]);
    if (!rec) return [];
    if (state[0] === "inactive" && rec.status === "active") return [{ ...rec, status: "inactive", status_reason: state[1] ?? "deactivated by this account" }];
    return [rec];
  }

  /**
   * Creates or replaces the route. Its id stays the same across changes (keys' specific scopes,
   * groups and the per-account counters name it); the version moves so warm clients reconnect,
   * and its circuit is reset: new credentials deserve a fresh start.
   */
  async put(input: ManagedRouteInput): Promise<{ record: ProviderRecord; created: boolean }> {
    const cur = await this.record();
    const now = new Date(this.clock.now()).toISOString();
    const id = cur?.id ?? newId("dprov");
    const config: Record<string, unknown> = { region: input.region, access_key_id: input.access_key_id, secret_access_key: input.secret_access_key };
    if (input.endpoint) config.endpoint = input.endpoint;
    const rec: ProviderRecord = {
      id,
      account_id: MANAGED_OWNER,
      name: "Managed Amazon SES",
      type: "amazon_ses",
      status: "active",
      status_reason: null,
      is_shared: true,
      smtp_host: null,
      smtp_port: null,
      smtp_protocol: null,
      smtp_username: null,
      has_smtp_password: false,
      from_email: null,
      from_name: null,
      reply_to_email: null,
      reply_to_name: null,
      tracking_domain: null,
      percentage: null,
      quotas: { ...EMPTY_QUOTAS },
      created_at: cur?.created_at ?? now,
      updated_at: now,
      last_tested_at: null,
      last_used_at: null,
      sealed: this.box.seal({ config }, id),
      version: (cur?.version ?? 0) + 1,
      detected_quotas: null,
    };
    const m = this.redis.multi().del(K.providers(MANAGED_OWNER)).hset(K.providers(MANAGED_OWNER), id, JSON.stringify(rec));
    if (input.default_daily_limit !== null) m.hset(K.sharedLimits(id), "_default", String(input.default_daily_limit));
    await m.exec();
    await this.circuit.reset(id);
    await this.providers.changed(MANAGED_OWNER);
    return { record: rec, created: !cur };
  }

  /** The operator's view: credentials masked (the secret is never returned). */
  async describe(): Promise<Record<string, unknown> | null> {
    const rec = await this.record();
    if (!rec) return null;
    const cfg = (this.box.open<{ config: Record<string, string> }>(rec.sealed!, rec.id).config ?? {}) as Record<string, string>;
    const key = cfg.access_key_id ?? "";
    const health = await this.circuit.get(rec.id);
    return {
      provider_id: rec.id,
      type: rec.type,
      region: cfg.region ?? null,
      endpoint: cfg.endpoint ?? null,
      access_key_id: key.length > 8 ? `${key.slice(0, 4)}${"*".repeat(key.length - 8)}${key.slice(-4)}` : "*".repeat(key.length),
      secret_access_key: "********",
      default_daily_limit: await this.defaultLimit(rec.id),
      status: rec.status,
      status_reason: rec.status_reason,
      health: { state: health.state, reason: health.reason, until: health.until ? new Date(health.until).toISOString() : null, recent_failures: health.recent_failures },
      detected_quotas: rec.detected_quotas ?? null,
      created_at: rec.created_at,
      updated_at: rec.updated_at,
    };
  }

  async defaultLimit(providerId: string): Promise<number> {
    const v = await this.redis.hget(K.sharedLimits(providerId), "_default");
    return v === null ? this.configuredDefault : Number(v);
  }

  /** The account's limit and today's count, or null while no route is configured. */
  async limitOf(accountId: string): Promise<AccountDailyLimit | null> {
    const rec = await this.record();
    if (!rec) return null;
    const [own, dflt, sent] = await Promise.all([this.redis.hget(K.sharedLimits(rec.id), accountId), this.defaultLimit(rec.id), this.caps.sharedSentToday(rec.id, accountId)]);
    return { provider_id: rec.id, daily_limit: own === null ? dflt : Number(own), sent_today: sent };
  }

  /** Sets the account's own daily limit (an approved request); 0 means no per-account limit. */
  async setLimit(accountId: string, limit: number): Promise<void> {
    const rec = await this.record();
    if (!rec) throw new Error("no managed route is configured");
    await this.redis.hset(K.sharedLimits(rec.id), accountId, String(limit));
  }

  /** Activates or deactivates the route for one account only. */
  async setAccountStatus(accountId: string, status: "active" | "inactive", reason: string | null): Promise<void> {
    if (status === "active") await this.redis.del(K.managedState(accountId));
    else await this.redis.hset(K.managedState(accountId), "status", "inactive", "status_reason", reason ?? "deactivated by this account");
    await this.providers.changed(accountId);
  }
}
