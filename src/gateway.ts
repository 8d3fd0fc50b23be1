import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import { SecretBox } from "./crypto.ts";
import { Metrics } from "./metrics.ts";
import type { Logger } from "./log.ts";
import { AccountStore } from "./store/accounts.ts";
import { ApiKeyStore } from "./store/apikeys.ts";
import { K, MANAGED_OWNER } from "./store/keys.ts";
import { MessageStore } from "./store/messages.ts";
import { LogCounters } from "./store/logs.ts";
import { OutboxStore } from "./store/outbox.ts";
import { ProviderStore } from "./store/providers.ts";
import { GroupStore } from "./store/groups.ts";
import { CapStore } from "./routing/caps.ts";
import { CircuitStore } from "./routing/circuit.ts";
import { Router } from "./routing/router.ts";
import { RateLimiter } from "./ratelimit.ts";
import { IdempotencyStore } from "./idempotency.ts";
import { RedisSyncedClock } from "./clock.ts";
import { EventBus } from "./events.ts";
import type { SendmuxRedis } from "./store/redis.ts";
import { ManagedRoute } from "./accounts/managed.ts";
import { LimitRequestStore } from "./accounts/requests.ts";

/** Everything a request handler or the dispatcher needs, built once in main.ts (or by a test). */
export interface Gateway {
  cfg: Config;
  clock: Clock;
  log: Logger;
  redis: SendmuxRedis;
  box: SecretBox;
  accounts: AccountStore;
  keys: ApiKeyStore;
  providers: ProviderStore;
  messages: MessageStore;
  /** Per-day delivery-log counters (metrics, provider usage). */
  logCounters: LogCounters;
  outbox: OutboxStore;
  metrics: Metrics;
  groups: GroupStore;
  caps: CapStore;
  circuit: CircuitStore;
  router: Router;
  limiter: RateLimiter;
  idempotency: IdempotencyStore;
  events: EventBus;
  /** The operator's shared amazon_ses provider and each account's daily limit on it. */
  managed: ManagedRoute;
  limitRequests: LimitRequestStore;
}

export function createGateway(opts: { cfg: Config; clock: Clock; log: Logger; redis: SendmuxRedis; secretKey: Buffer; metrics?: Metrics; random?: () => number }): Gateway {
  const box = new SecretBox(opts.secretKey);
  const providers = new ProviderStore(opts.redis, opts.clock, box);
  const groups = new GroupStore(opts.redis, opts.clock);
  const caps = new CapStore(opts.redis, opts.clock, opts.cfg.managedDailyLimit);
  const circuit = new CircuitStore(opts.redis, opts.clock);
  const logCounters = new LogCounters(opts.redis, opts.clock, opts.cfg.countersRetentionDays);
  const router = new Router({
    providers,
    caps,
    circuit,
    groupMembers: (accountId, groupId) => groups.members(accountId, groupId),
    now: () => opts.clock.now(),
    random: opts.random,
  });
  const accounts = new AccountStore(opts.redis, opts.clock);
  const messages = new MessageStore(opts.redis, opts.clock, logCounters, opts.cfg.retentionDays);
  // A write to providers or groups can end a wait (room added, a provider back) or change what a
  // message waits for: waiting messages are looked at again at once. A change of the managed
  // route concerns every account. Best effort: a failure leaves them to their own wake-up time.
  const wake = async (accountId: string) => {
    try {
      if (accountId !== MANAGED_OWNER) await messages.wakeWaiters(accountId);
      else for (const a of await accounts.listIds()) await messages.wakeWaiters(a);
    } catch (err) {
      opts.log.warn({ component: "routing", err, account_id: accountId }, "could not wake waiting messages after a provider change; they go at their own time");
    }
  };
  providers.onWrite(wake);
  groups.onWrite(wake);
  const managed = new ManagedRoute(opts.redis, opts.clock, box, providers, caps, circuit, opts.cfg.managedDailyLimit);
  return {
    cfg: opts.cfg,
    clock: opts.clock,
    log: opts.log,
    redis: opts.redis,
    box,
    accounts,
    keys: new ApiKeyStore(opts.redis, opts.clock),
    providers,
    messages,
    logCounters,
    outbox: new OutboxStore(opts.redis, opts.cfg.captureMaxItems),
    metrics: opts.metrics ?? new Metrics(),
    groups,
    caps,
    circuit,
    router,
    // Production time for the limiter is Redis's own TIME (read inside the script); an injected
    // clock (tests) is passed through instead.
    // SENDMUX_BENCH_NO_RATE_LIMIT (benchmarking only) turns it off: bench/load measures its cost.
    limiter: new RateLimiter(opts.redis, opts.clock instanceof RedisSyncedClock ? null : () => opts.clock.now(), undefined, undefined, opts.cfg.benchNoRateLimit),
    idempotency: new IdempotencyStore(opts.redis, box),
    events: new EventBus(opts.redis, opts.clock),
    managed,
    limitRequests: new LimitRequestStore(opts.redis, opts.clock),
  };
}

/**
 * Other gateway processes announce key revocations and provider changes on a channel; this
 * subscriber drops the matching caches. Returns a function that unsubscribes.
 */
export async function subscribeChanges(gw: Gateway, sub: SendmuxRedis): Promise<() => Promise<void>> {
  await sub.subscribe(K.changes());
  sub.on("message", (_ch: string, msg: string) => {
    try {
      const m = JSON.parse(msg) as { kind: string; hash?: string; account_id?: string };
      if (m.kind === "apikey" && m.hash) gw.keys.forget(m.hash);
      if (m.kind === "provider" && m.account_id) gw.providers.invalidate(m.account_id);
      if (m.kind === "group" && m.account_id) gw.groups.invalidate(m.account_id);
      if (m.kind === "account" && m.account_id) gw.accounts.forget(m.account_id);
    } catch {
      /* not ours */
    }
  });
  return async () => {
    await sub.unsubscribe().catch(() => {});
    sub.disconnect();
  };
}
