import type { Gateway } from "../gateway.ts";
import { CIRCUIT_THRESHOLD } from "../routing/circuit.ts";
import { isPermanent } from "../routing/classify.ts";
import { logStatusOf } from "../logs/status.ts";
import { DISPATCH_GROUP, K } from "../store/keys.ts";
import type { SendmuxRedis } from "../store/redis.ts";
import { accountOfStream, StreamGroupConsumer } from "../store/streamConsumer.ts";
import type { Attempt, FailureClass, MessageMeta, MessageStatus, ProviderRecord } from "../types.ts";
import type { ShardPool } from "./pool.ts";
import type { SendJobResult } from "./protocol.ts";

/** Transient failures are retried this long after each failed attempt; then the message fails. */
export const RETRY_SCHEDULE_MS = [5 * 60_000, 2 * 3600_000, 12 * 3600_000];
/** Scheduled messages moved back to the ready queue per Redis call. */
const PROMOTE_BATCH = 1000;
/** How long a new message gives way to promoted ones this process has not routed yet. */
const PROMOTED_NOTE_MS = 5000;

export interface DispatcherOptions {
  /** Consumer name in the group; the same after a restart, so the node finds its own pending work. */
  consumer: string;
  /** Messages in flight at once (read from the streams, not yet recorded). */
  maxInFlight?: number;
  /** Entries idle this long in another consumer's pending list are taken over (that node died). */
  reclaimIdleMs?: number;
  /** How often the scheduled queue is checked for messages whose time has come. */
  promoteEveryMs?: number;
}

/**
 * The dispatcher reads the ready queues (one Redis stream per account, one consumer group), picks
 * a provider for each message through the routing seam, hands the message to the worker that
 * owns that provider, and records the outcome. An entry is acknowledged only in the same Redis
 * step that records the outcome, so a crash at any point leaves it pending, and it is reclaimed
 * and sent after restart (at least once).
 */
export class Dispatcher extends StreamGroupConsumer {
  /**
   * Messages of each account moved back to the ready queue and not routed yet, with when this
   * note lapses (real time: another gateway process may route them, and we would never hear).
   */
  private readonly promoted = new Map<string, Map<string, number>>();

  constructor(
    gw: Gateway,
    reader: SendmuxRedis,
    private readonly pool: ShardPool,
    private readonly opts: DispatcherOptions,
  ) {
    super(gw, reader, {
      group: DISPATCH_GROUP,
      consumer: opts.consumer,
      streamOf: K.ready,
      maxInFlight: opts.maxInFlight ?? 1024,
      reclaimIdleMs: opts.reclaimIdleMs ?? 60_000,
      reclaimEveryMs: 15_000,
      component: "dispatch",
    });
  }

  async start(): Promise<void> {
    await this.startReading();
    this.every(this.opts.promoteEveryMs ?? 1000, "promote", () => this.promoteDue());
    this.every(60_000, "retention", () => this.trimIndexes());
    this.every(1000, "pauses", () => this.sweepPauses());
  }

  async stop(): Promise<void> {
    await this.stopReading(10_000);
  }

  protected override onInFlight(n: number): void {
    this.gw.metrics.inFlight.set(n);
  }

  /** Drops an entry whose message is gone (expired, or deleted while it waited). */
  private async drop(stream: string, entryId: string): Promise<void> {
    await this.gw.redis.multi().xack(stream, DISPATCH_GROUP, entryId).xdel(stream, entryId).exec();
  }

  protected async process(stream: string, entryId: string, fields: string[] | null): Promise<void> {
    if (!fields) return this.drop(stream, entryId);
    await this.send(accountOfStream(stream), stream, entryId, fields[fields.indexOf("id") + 1]!);
  }

  private async send(accountId: string, stream: string, entryId: string, id: string): Promise<void> {
    const gw = this.gw;
    const msgKey = K.msg(accountId, id);
    const [metaRaw, lastFailed, nextAttemptAt] = await gw.redis.hmget(msgKey, "meta", "last_failed_provider", "next_attempt_at");
    if (!metaRaw) {
      return this.drop(stream, entryId);
    }
    // Waiting messages keep their place: a message routed for the first time goes behind older
    // ones that are due (moved back to the ready queue, but not routed yet), so it never takes
    // the slot of a cap window they were waiting for.
    const wasPromoted = this.forgetPromoted(accountId, id);
    if (!wasPromoted && !lastFailed && !nextAttemptAt) {
      // One check at a time per account, so that of several new messages in flight together the
      // first one to find due messages puts all the others behind them too.
      const gaveWay = await this.serialised(accountId, async () => {
        if (this.promotedPending(accountId)) {
          await gw.redis.multi().xadd(stream, "*", "id", id).xack(stream, DISPATCH_GROUP, entryId).xdel(stream, entryId).exec();
          return true;
        }
        const moved = await gw.redis.yieldToDue_v1(K.scheduled(accountId), stream, msgKey, gw.clock.now(), PROMOTE_BATCH, entryId, DISPATCH_GROUP, id);
        this.notePromoted(accountId, moved);
        return moved.length > 0;
      });
      if (gaveWay) return;
    }
    const meta = JSON.parse(metaRaw) as MessageMeta;
    const decision = await gw.router.route(accountId, meta.scope, { avoid: lastFailed });
    const now = gw.clock.now();
    if (decision.kind === "wait") {
      // Every provider in scope is paused or at its cap: the message waits; it does not fail.
      await gw.redis.requeue_v1(msgKey, stream, K.scheduled(accountId), entryId, DISPATCH_GROUP, id, decision.waiting.until, now, JSON.stringify(decision.waiting));
      return;
    }
    const provider = decision.provider;
    const may = await gw.redis.markSending_v1(msgKey, provider.id, now, decision.why);
    if (may !== 1) {
      return this.drop(stream, entryId);
    }
    let result: SendJobResult;
    try {
      result = await this.pool.send({ messageId: id, accountId, provider: { record: provider, secrets: gw.providers.secretsOf(provider) }, now });
    } catch (e) {
      result = { messageId: id, ok: false, cls: "transient", response: `gateway error: worker failed: ${(e as Error).message}`, durationMs: 0, gatewayFault: true };
    }
    if (result.cls === "missing") {
      return this.drop(stream, entryId);
    }
    const at = gw.clock.now();
    const attempt: Attempt = {
      at: new Date(at).toISOString(),
      provider_id: provider.id,
      outcome: result.ok ? "sent" : result.cls!,
      response: result.response,
      duration_ms: result.durationMs,
    };
    if (result.ok && result.rejected?.length) attempt.rejected = result.rejected;
    let status: MessageStatus;
    let nextAt: number | null = null;
    if (result.ok) status = "sent";
    else if (isPermanent(result.cls!)) status = "failed";
    else {
      const attemptsBefore = await gw.redis.llen(K.attempts(accountId, id));
      if (attemptsBefore < RETRY_SCHEDULE_MS.length) {
        status = "deferred";
        nextAt = at + RETRY_SCHEDULE_MS[attemptsBefore]!;
      } else status = "failed";
    }
    const slot = gw.logCounters.slot(accountId, meta.created_at);
    await gw.redis.recordAttempt_v1(
      msgKey, K.attempts(accountId, id), stream, K.scheduled(accountId), slot.key,
      entryId, DISPATCH_GROUP, status, JSON.stringify(attempt), nextAt === null ? "" : String(nextAt), id, at, provider.id, result.ok ? "0" : "1", gw.messages.retentionMs,
      slot.hour, logStatusOf(status, attempt.outcome), slot.expireAt,
    );
    const evData = { message_id: id, message_id_header: meta.message_id_header, provider_id: provider.id, recipients: meta.envelope.to, sender: meta.envelope.from, response: result.response };
    if (status === "sent") void gw.events.emit(accountId, "message.sent", evData).catch(() => {});
    else if (status === "failed") void gw.events.emit(accountId, "message.failed", { ...evData, outcome: attempt.outcome }).catch(() => {});
    else if (status === "deferred") void gw.events.emit(accountId, "message.deferred", { ...evData, outcome: attempt.outcome, next_attempt_at: new Date(nextAt!).toISOString() }).catch(() => {});
    gw.metrics.attempts.inc({ provider_type: provider.type, outcome: attempt.outcome });
    gw.metrics.attemptSeconds.observe({ provider_type: provider.type }, result.durationMs / 1000);
    if (result.ok) void gw.providers.touch(accountId, provider.id, { last_used_at: attempt.at }).catch(() => {});
    else if (!result.gatewayFault && result.cls !== "permanent_recipient") await this.countFailure(accountId, provider, result);
    gw.log.debug({ component: "dispatch", message_id: id, provider_id: provider.id, status, response: result.response }, "attempt recorded");
  }

  /**
   * A provider-side failure counts towards the circuit (SPEC "Routing" step 4). When it opens, the
   * provider leaves rotation: paused until a time, or — for an auth or config fault — disabled
   * (status `error`) until POST /providers/{id}/activate.
   */
  private async countFailure(accountId: string, provider: ProviderRecord, result: SendJobResult): Promise<void> {
    const gw = this.gw;
    const h = await gw.circuit.recordFailure(provider.id, result.cls as FailureClass, result.response);
    if (h.state === "ok") return;
    if (h.state === "disabled" && provider.status === "active") {
      await gw.providers.update(accountId, provider.id, { status: "error", status_reason: `disabled after ${CIRCUIT_THRESHOLD} failures inside 5 minutes (${h.cls}): ${result.response.slice(0, 300)}; fix the settings, then POST /api/v1/providers/${provider.id}/activate` }, null);
    }
    await gw.events.emit(accountId, h.state === "disabled" ? "provider.disabled" : "provider.paused", {
      provider_id: provider.id,
      class: h.cls,
      until: h.until ? new Date(h.until).toISOString() : null,
      reason: result.response.slice(0, 500),
    });
    gw.log.warn({ component: "routing", provider_id: provider.id, state: h.state, cls: h.cls, until: h.until ? new Date(h.until).toISOString() : null, reason: result.response.slice(0, 300) }, `provider ${h.state}`);
  }

  /** Moves scheduled messages whose time has come (by the gateway clock) back to the ready queue. */
  async promoteDue(): Promise<number> {
    let moved = 0;
    const now = this.gw.clock.now();
    for (const stream of this.streams) {
      const acct = accountOfStream(stream);
      // Drain everything due (in batches), not 1,000 a second: a backlog may use a cap above that.
      for (let i = 0; i < 100; i++) {
        const ids = await this.gw.redis.promoteDue_v1(K.scheduled(acct), stream, now, PROMOTE_BATCH);
        this.notePromoted(acct, ids);
        moved += ids.length;
        if (ids.length < PROMOTE_BATCH) break;
      }
    }
    return moved;
  }

  /** Announces providers whose pause has ended (provider.resumed), once across all processes. */
  private async sweepPauses(): Promise<void> {
    for (const stream of this.streams) {
      const acct = accountOfStream(stream);
      for (const p of await this.gw.providers.list(acct)) {
        if ((await this.gw.circuit.get(p.id)).state !== "ok") continue;
        if (await this.gw.circuit.endPauseIfDue(p.id)) {
          await this.gw.events.emit(acct, "provider.resumed", { provider_id: p.id, how: "pause_ended" });
          this.gw.log.info({ component: "routing", provider_id: p.id }, "provider pause ended; back in rotation");
        }
      }
    }
  }

  private readonly locks = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier call for the same account has finished. */
  private serialised<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(accountId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => {});
    this.locks.set(accountId, settled);
    void settled.then(() => {
      if (this.locks.get(accountId) === settled) this.locks.delete(accountId);
    });
    return next;
  }

  private notePromoted(accountId: string, ids: string[]): void {
    if (!ids.length) return;
    let m = this.promoted.get(accountId);
    if (!m) this.promoted.set(accountId, (m = new Map()));
    const lapse = Date.now() + PROMOTED_NOTE_MS;
    for (const id of ids) m.set(id, lapse);
  }

  private forgetPromoted(accountId: string, id: string): boolean {
    return this.promoted.get(accountId)?.delete(id) ?? false;
  }

  private promotedPending(accountId: string): boolean {
    const m = this.promoted.get(accountId);
    if (!m) return false;
    const now = Date.now();
    for (const [id, lapse] of m) if (lapse <= now) m.delete(id);
    return m.size > 0;
  }

  /** Drops message-index entries past the retention time (the records themselves expire in Redis). */
  private async trimIndexes(): Promise<void> {
    for (const stream of this.streams) await this.gw.messages.trimIndex(accountOfStream(stream));
  }
}
