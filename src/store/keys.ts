/**
 * Every Redis key the gateway uses, in one place. Keys that belong to an account carry the hash tag
 * `{a:<account id>}` so that each Lua script only ever touches one slot and runs on Redis Cluster.
 */
export const PREFIX = "smx";

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
  /** Provider groups (EXT): hash of group id to JSON. */
  groups: (acct: string) => `${a(acct)}:groups`,
  /** Hash: meta (JSON, fixed at accept), body (msgpack), status, provider_id, updated_at, next_attempt_at. */
  msg: (acct: string, id: string) => `${a(acct)}:m:${id}`,
  /** List of attempt records (JSON), oldest first. */
  attempts: (acct: string, id: string) => `${a(acct)}:m:${id}:att`,
  /** Sorted set of message ids by acceptance time (ms). */
  msgIndex: (acct: string) => `${a(acct)}:msgs`,
  /** The ready queue: a stream read by the dispatch consumer group. */
  ready: (acct: string) => `${a(acct)}:ready`,
  /** The scheduled queue: message ids by the time (ms) they become ready again. */
  scheduled: (acct: string) => `${a(acct)}:scheduled`,
  /** Capture provider outbox: sorted set of message ids by capture time, and one hash per message. */
  outbox: (acct: string, provider: string) => `${a(acct)}:outbox:${provider}`,
  outboxItem: (acct: string, provider: string, id: string) => `${a(acct)}:outbox:${provider}:${id}`,

  /** Sends counted in one cap window of a provider (`usage` is second|minute|hour|day). */
  capCount: (provider: string, usage: string, winStart: number) => `${PREFIX}:{p:${provider}}:cap:${usage}:${winStart}`,
  /** Provider-side failures inside the circuit window: sorted set scored by time. */
  failures: (provider: string) => `${PREFIX}:{p:${provider}}:failures`,
  /** Circuit state of a provider: state, cls, reason, until, since. */
  health: (provider: string) => `${PREFIX}:{p:${provider}}:health`,
} as const;

export const DISPATCH_GROUP = "dispatch";

/** The account id inside a key built by K (the part between `{a:` and `}`). */
export function accountOfKey(key: string): string | null {
  const m = /\{a:([^}]+)\}/.exec(key);
  return m ? m[1]! : null;
}
