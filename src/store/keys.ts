/**
 * Every Redis key the gateway uses, in one place. Keys that belong to an account carry the hash tag
 * `{a:<account id>}` so that each Lua script only ever touches one slot and runs on Redis Cluster.
 */
export const PREFIX = "smx";

/**
 * The owner id under which the operator's managed route (the shared amazon_ses provider) is
 * stored: `K.providers(MANAGED_OWNER)`. Not an account (account ids start with `acct_`); every
 * account sees the route through ProviderStore.list.
 */
export const MANAGED_OWNER = "operator";

const a = (account: string) => `${PREFIX}:{a:${account}}`;

export const K = {
  /** Set of all account ids. */
  accounts: () => `${PREFIX}:accounts`,
  /** Set once the first start has created the bootstrap account; holds its id. */
  bootstrap: () => `${PREFIX}:bootstrap`,
  /** Global lookup from an API key's SHA-256 to {account_id, key_id}. */
  apiKeyByHash: (hash: string) => `${PREFIX}:apikey:{h:${hash.slice(0, 16)}}:${hash}`,
  /** Sliding-window log of one API key's requests (rate limit). */
  rateLog: (keyId: string) => `${PREFIX}:{k:${keyId}}:rl`,
  /** Pub/sub channel on which changes to keys and providers are announced to every node. */
  changes: () => `${PREFIX}:changes`,

  account: (acct: string) => `${a(acct)}:account`,
  /** Lookup from an account's email address (lower-cased) to its id: one account per address. */
  accountByEmail: (emailLower: string) => `${PREFIX}:account_email:${emailLower}`,
  /** The internal account that sends the operator's notices (limit-request outcomes); holds its id. */
  noticeAccount: () => `${PREFIX}:notice_account`,
  /** This account's own state of the managed route: hash {status, status_reason}. */
  managedState: (acct: string) => `${a(acct)}:managed`,
  /** Shared Amazon SES limit-increase requests of an account: hash of request id to JSON. */
  limitRequests: (acct: string) => `${a(acct)}:slir`,
  /** The id of the account's pending limit request, while there is one. */
  limitPending: (acct: string) => `${a(acct)}:slir_pending`,
  /** Every limit request for the operator: sorted set of request ids by creation time (ms). */
  limitRequestIndex: () => `${PREFIX}:slir_index`,
  /** Which account owns a limit request: hash of request id to account id. */
  limitRequestOwner: () => `${PREFIX}:slir_owner`,
  /** An Idempotency-Key's record, per account + endpoint + key (the key is hashed). */
  idempotency: (acct: string, endpoint: string, keyHash: string) => `${a(acct)}:idem:${endpoint}:${keyHash}`,
  apiKeys: (acct: string) => `${a(acct)}:apikeys`,
  /** When each API key was last used (ISO time), apart from the key records. */
  apiKeyStamps: (acct: string) => `${a(acct)}:apikey_stamps`,
  providers: (acct: string) => `${a(acct)}:providers`,
  /** Bookkeeping times of providers (last_used_at, last_tested_at), apart from the records. */
  providerStamps: (acct: string) => `${a(acct)}:provider_stamps`,
  /** The account's lifecycle events (stream), read by webhook delivery. */
  events: (acct: string) => `${a(acct)}:events`,
  /** Webhook subscriptions: hash of webhook id to JSON (the signing secret sealed inside). */
  webhooks: (acct: string) => `${a(acct)}:webhooks`,
  /** Webhooks marked failing: hash of webhook id to the ISO time the last retry failed. */
  webhookFailing: (acct: string) => `${a(acct)}:webhooks:failing`,
  /** One webhook's delivery attempts: sorted set of attempt ids by attempt time (ms), kept 7 days. */
  webhookDeliveries: (acct: string, whk: string) => `${a(acct)}:wh:${whk}:deliveries`,
  /** One delivery attempt's record (JSON, 7-day TTL). */
  webhookDelivery: (acct: string, whda: string) => `${a(acct)}:whda:${whda}`,
  /** The exact body POSTed for one event to one webhook (7-day TTL); every attempt sends it. */
  webhookPayload: (acct: string, whk: string, evt: string) => `${a(acct)}:wh:${whk}:body:${evt}`,
  /** Webhook retries: sorted set of "<webhook id>|<event id>" by the time (ms) of the next attempt. */
  webhookRetries: (acct: string) => `${a(acct)}:webhooks:retries`,
  /** A scheduled retry's state (JSON {attempt, event_type}); its lease while one process runs it. */
  webhookJob: (acct: string, whk: string, evt: string) => `${a(acct)}:wh:${whk}:job:${evt}`,
  webhookJobLease: (acct: string, whk: string, evt: string) => `${a(acct)}:wh:${whk}:lease:${evt}`,
  /** Webhooks that already had the first attempt of an event (set, 7-day TTL): a reclaimed entry skips them. */
  webhookEventDone: (acct: string, evt: string) => `${a(acct)}:whdone:${evt}`,
  /** Provider groups (EXT): hash of group id to JSON. */
  groups: (acct: string) => `${a(acct)}:groups`,
  /** Hash: meta (JSON, fixed at accept), body (msgpack), status, provider_id, updated_at, next_attempt_at. */
  msg: (acct: string, id: string) => `${a(acct)}:m:${id}`,
  /** List of attempt records (JSON), oldest first. */
  attempts: (acct: string, id: string) => `${a(acct)}:m:${id}:att`,
  /** Sorted set of message ids by acceptance time (ms). */
  msgIndex: (acct: string) => `${a(acct)}:msgs`,
  /**
   * Delivery-log counters of one UTC day (`YYYY-MM-DD`), by the hour messages were accepted in:
   * fields `<HH>:<status>` and `p:<provider id>:<HH>:<status>` (src/store/logs.ts).
   */
  logCounters: (acct: string, day: string) => `${a(acct)}:logc:${day}`,
  /** The ready queue: a stream read by the dispatch consumer group. */
  ready: (acct: string) => `${a(acct)}:ready`,
  /** The scheduled queue: message ids by the time (ms) they become ready again. */
  scheduled: (acct: string) => `${a(acct)}:scheduled`,
  /** Capture provider outbox: sorted set of message ids by capture time, and one hash per message. */
  outbox: (acct: string, provider: string) => `${a(acct)}:outbox:${provider}`,
  outboxItem: (acct: string, provider: string, id: string) => `${a(acct)}:outbox:${provider}:${id}`,

  /** Sends counted in one cap window of a provider (`usage` is second|minute|hour|day). */
  capCount: (provider: string, usage: string, winStart: number) => `${PREFIX}:{p:${provider}}:cap:${usage}:${winStart}`,
  /** Sends of one account through a shared provider in one UTC day (the managed route's per-account cap). */
  sharedDay: (provider: string, acct: string, dayStart: number) => `${PREFIX}:{p:${provider}}:acct:${acct}:day:${dayStart}`,
  /** Daily limits of a shared provider: hash of account id to limit; `_default` for every other account. */
  sharedLimits: (provider: string) => `${PREFIX}:{p:${provider}}:limits`,
  /** Provider-side failures inside the circuit window: sorted set scored by time. */
  failures: (provider: string) => `${PREFIX}:{p:${provider}}:failures`,
  /** Circuit state of a provider: state, cls, reason, until, since. */
  health: (provider: string) => `${PREFIX}:{p:${provider}}:health`,
} as const;

export const DISPATCH_GROUP = "dispatch";
/** Consumer group of webhook delivery on every account's events stream. */
export const WEBHOOK_GROUP = "webhooks";

/** The account id inside a key built by K (the part between `{a:` and `}`). */
export function accountOfKey(key: string): string | null {
  const m = /\{a:([^}]+)\}/.exec(key);
  return m ? m[1]! : null;
}
