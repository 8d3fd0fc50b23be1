import { pack, unpack } from "msgpackr";
import type { Clock } from "../clock.ts";
import type { Waiting } from "../routing/router.ts";
import type { Attempt, MessageBody, MessageMeta, MessageStatus } from "../types.ts";
import { K } from "./keys.ts";
import type { LogCounters } from "./logs.ts";
import type { SendmuxRedis } from "./redis.ts";

/**
 * Bodies are msgpack, not JSON: attachment bytes stay binary (no base64 growth) and raw relay
 * messages need no re-encoding. Metadata is JSON: small, read by people, and 2-3x faster in Bun.
 */
export function encodeBody(body: MessageBody): Buffer {
  return pack(body);
}
export function decodeBody(buf: Buffer): MessageBody {
  return unpack(buf) as MessageBody;
}

export interface NewMessage {
  meta: MessageMeta;
  body: MessageBody;
}

export interface MessageView {
  meta: MessageMeta;
  status: MessageStatus;
  provider_id: string | null;
  next_attempt_at: number | null;
  updated_at: number;
  attempts: Attempt[];
  /** Why the last provider was chosen. */
  why: string | null;
  /** What the message waits for, while no provider can take it. */
  waiting: Waiting | null;
}

const VIEW_FIELDS = ["meta", "status", "provider_id", "next_attempt_at", "updated_at", "why", "waiting"] as const;

function toView(h: Array<string | null>, att: string[]): MessageView | null {
  if (!h[0]) return null;
  return {
    meta: JSON.parse(h[0]) as MessageMeta,
    status: h[1] as MessageStatus,
    provider_id: h[2] ?? null,
    next_attempt_at: h[3] ? Number(h[3]) : null,
    updated_at: Number(h[4] ?? 0),
    attempts: att.map((s) => JSON.parse(s) as Attempt),
    why: h[5] ?? null,
    waiting: h[6] ? (JSON.parse(h[6]) as Waiting) : null,
  };
}

export class DuplicateMessageId extends Error {}

/** The Idempotency-Key's claim expired or was taken over before the messages were stored. */
export class IdempotencyClaimLost extends Error {}

/** What completes an Idempotency-Key's record together with the enqueue. */
export interface IdempotencyCompletion {
  key: string;
  fp: string;
  status: number;
  body: string;
  ttlMs: number;
}

/** What a waiting message may be waiting for that a change of providers, groups or limits can end. */
const WAKE_REASONS = new Set(["cap", "no_healthy_provider", "no_active_provider"]);

export class MessageStore {
  /** How long a settled message's record is kept (its body is dropped when it settles). */
  readonly retentionMs: number;

  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock, private readonly counters: LogCounters, retentionDays = 30) {
    this.retentionMs = retentionDays * 86_400_000;
  }

  /**
   * Messages waiting for room (a cap window, a healthy or an active provider) are looked at again
   * now, not when their wait ends: after a limit was raised, a provider added, activated or
   * deleted, or a group changed, they go out through the new room before any newer message, or
   * say what they wait for now. Retries keep their schedule. Only entries still scheduled are
   * touched (ZADD XX). Returns how many.
   */
  async wakeWaiters(accountId: string): Promise<number> {
    const now = this.clock.now();
    const ids = await this.redis.zrangebyscore(K.scheduled(accountId), now, "+inf");
    if (!ids.length) return 0;
    const waits = await Promise.all(ids.map((id) => this.redis.hget(K.msg(accountId, id), "waiting")));
    const wake = ids.filter((_, i) => {
      try {
        return WAKE_REASONS.has((JSON.parse(waits[i] ?? "null") as { reason?: string } | null)?.reason ?? "");
      } catch {
        return false;
      }
    });
    if (wake.length) await this.redis.zadd(K.scheduled(accountId), "XX", ...wake.flatMap((id) => [now, id]));
    return wake.length;
  }

  /** Drops index entries of messages older than the retention time (their records have expired). */
  async trimIndex(accountId: string): Promise<number> {
    return this.redis.zremrangebyscore(K.msgIndex(accountId), "-inf", this.clock.now() - this.retentionMs);
  }

  /**
   * Stores and queues messages of one account in one atomic Redis step; with `idem`, the
   * Idempotency-Key's record is completed (the response to replay stored) in the same step.
   */
  async enqueue(accountId: string, msgs: NewMessage[], idem?: IdempotencyCompletion): Promise<void> {
    if (msgs.length === 0) return;
    // One call holds messages accepted together (submit gives them one created_at): they are
    // indexed at that time and counted as pending delivery logs of its hour.
    const createdAt = msgs[0]!.meta.created_at;
    const slot = this.counters.slot(accountId, createdAt);
    const keys = [K.ready(accountId), K.msgIndex(accountId), slot.key, ...msgs.map((m) => K.msg(accountId, m.meta.id))];
    if (idem) keys.push(idem.key);
    const args: Array<string | Buffer | number> = [Date.parse(createdAt), msgs.length, idem?.fp ?? "", idem?.status ?? "", idem?.body ?? "", idem?.ttlMs ?? 0, slot.hour, slot.expireAt];
    for (const m of msgs) args.push(m.meta.id, JSON.stringify(m.meta), encodeBody(m.body));
    const n = await this.redis.enqueueMessages_v1(keys.length, ...keys, ...args);
    if (n === -1) throw new DuplicateMessageId("message id collision");
    if (n === -2) throw new IdempotencyClaimLost();
  }

  async get(accountId: string, id: string): Promise<MessageView | null> {
    return (await this.getMany(accountId, [id]))[0]!;
  }

  /** Several messages in one pipelined round trip; null where a message does not exist (any more). */
  async getMany(accountId: string, ids: string[]): Promise<Array<MessageView | null>> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) {
      pipe.hmget(K.msg(accountId, id), ...VIEW_FIELDS);
      pipe.lrange(K.attempts(accountId, id), 0, -1);
    }
    const res = (await pipe.exec()) ?? [];
    return ids.map((_, i) => {
      const [e1, h] = res[2 * i]!;
      const [e2, att] = res[2 * i + 1]!;
      if (e1 || e2) throw e1 ?? e2;
      return toView(h as Array<string | null>, att as string[]);
    });
  }

  /** What a worker needs to send: the fixed metadata and the body. */
  async loadForSend(accountId: string, id: string): Promise<{ meta: MessageMeta; body: MessageBody } | null> {
    const [meta, body] = await this.redis.hmgetBuffer(K.msg(accountId, id), "meta", "body");
    if (!meta || !body) return null;
    return { meta: JSON.parse(meta.toString("utf8")) as MessageMeta, body: decodeBody(body) };
  }

  async cancel(accountId: string, id: string): Promise<{ result: "canceled" | "not_cancelable" | "not_found"; status: string }> {
    const metaRaw = await this.redis.hget(K.msg(accountId, id), "meta");
    if (!metaRaw) return { result: "not_found", status: "" };
    const slot = this.counters.slot(accountId, (JSON.parse(metaRaw) as MessageMeta).created_at);
    const [code, status] = await this.redis.cancelMessage_v1(K.msg(accountId, id), K.scheduled(accountId), K.attempts(accountId, id), slot.key, id, this.clock.now(), this.retentionMs, slot.hour, slot.expireAt);
    if (code === 1) return { result: "canceled", status };
    if (code === 0) return { result: "not_cancelable", status };
    return { result: "not_found", status: "" };
  }
}
