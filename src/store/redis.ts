import Redis, { type RedisOptions } from "ioredis";
import enqueueMessages from "./lua/enqueueMessages.lua" with { type: "text" };
import markSending from "./lua/markSending-1.lua" with { type: "text" };
import recordAttempt from "./lua/recordAttempt-5.lua" with { type: "text" };
import promoteDue from "./lua/promoteDue-2.lua" with { type: "text" };
import cancelMessage from "./lua/cancelMessage-4.lua" with { type: "text" };
import requeue from "./lua/requeue-3.lua" with { type: "text" };
import reserveCaps from "./lua/reserveCaps-4.lua" with { type: "text" };
import reserveSharedCaps from "./lua/reserveSharedCaps-6.lua" with { type: "text" };
import recordFailure from "./lua/recordFailure-2.lua" with { type: "text" };
import rateLimit from "./lua/rateLimit-1.lua" with { type: "text" };
import endPause from "./lua/endPause-1.lua" with { type: "text" };
import yieldToDue from "./lua/yieldToDue-3.lua" with { type: "text" };
import claimIdempotency from "./lua/claimIdempotency-1.lua" with { type: "text" };
import finishIdempotency from "./lua/finishIdempotency-1.lua" with { type: "text" };

/** Script name → source and key count (null: variable, the caller passes numberOfKeys first). */
const SCRIPTS: Record<string, [string, number | null]> = {
  enqueueMessages: [enqueueMessages, null],
  markSending: [markSending, 1],
  recordAttempt: [recordAttempt, 5],
  promoteDue: [promoteDue, 2],
  cancelMessage: [cancelMessage, 4],
  requeue: [requeue, 3],
  reserveCaps: [reserveCaps, 4],
  reserveSharedCaps: [reserveSharedCaps, 6],
  recordFailure: [recordFailure, 2],
  rateLimit: [rateLimit, 1],
  endPause: [endPause, 1],
  yieldToDue: [yieldToDue, 3],
  claimIdempotency: [claimIdempotency, 1],
  finishIdempotency: [finishIdempotency, 1],
};

/** Version in the registered name, so a changed script never meets a cached old one by name. */
const SCRIPT_VERSION = "v1";

export interface SendmuxRedis extends Redis {
  enqueueMessages_v1(numKeys: number, ...args: Array<string | Buffer | number>): Promise<number>;
  markSending_v1(key: string, providerId: string, now: number, why: string): Promise<number>;
  recordAttempt_v1(...args: Array<string | number>): Promise<number>;
  promoteDue_v1(scheduled: string, ready: string, now: number, limit: number): Promise<string[]>;
  cancelMessage_v1(msg: string, scheduled: string, attempts: string, counters: string, id: string, now: number, retentionMs: number, hour: string, countersExpireAt: number): Promise<[number, string]>;
  reserveCaps_v1(...args: Array<string | number>): Promise<number[]>;
  reserveSharedCaps_v1(...args: Array<string | number>): Promise<number[]>;
  recordFailure_v1(...args: Array<string | number>): Promise<[string, string, number, number]>;
  endPause_v1(health: string, now: number): Promise<number>;
  yieldToDue_v1(scheduled: string, ready: string, msg: string, now: number, limit: number, entry: string, group: string, id: string): Promise<string[]>;
  rateLimit_v1(key: string, limit: number, windowMs: number, now: string, member: string, cost: number): Promise<[number, number, number]>;
  claimIdempotency_v1(key: string, fp: string, pendingMs: number): Promise<string[]>;
  finishIdempotency_v1(key: string, fp: string, what: "done" | "release", status: string, body: string, ttlMs: number): Promise<number>;
  requeue_v1(msg: string, ready: string, scheduled: string, entry: string, group: string, id: string, at: number, now: number, waiting: string): Promise<number>;
}

/** Connects to REDIS_URL or the managed server, with every script registered (EVALSHA, EVAL on NOSCRIPT). */
export function connectRedis(target: string | { path: string } | { host: string; port: number }, extra: RedisOptions = {}): SendmuxRedis {
  const base: RedisOptions = {
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    // Fail fast when Redis is gone instead of queueing commands forever: callers answer 451/503.
    enableOfflineQueue: true,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    ...extra,
  };
  let r: Redis;
  if (typeof target === "string") {
    if (target.startsWith("unix://")) r = new Redis({ ...base, path: target.slice("unix://".length) });
    else r = new Redis(target, base);
  } else {
    r = new Redis({ ...base, ...target });
  }
  for (const [name, [lua, keys]] of Object.entries(SCRIPTS)) {
    r.defineCommand(`${name}_${SCRIPT_VERSION}`, keys === null ? { lua } : { lua, numberOfKeys: keys });
  }
  return r as SendmuxRedis;
}
