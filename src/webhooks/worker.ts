import type { GatewayEvent } from "../events.ts";
import type { Gateway } from "../gateway.ts";
import { randomId } from "../ids.ts";
import { K, WEBHOOK_GROUP } from "../store/keys.ts";
import type { SendmuxRedis } from "../store/redis.ts";
import { accountOfStream, StreamGroupConsumer } from "../store/streamConsumer.ts";
import { postWebhook } from "./deliver.ts";
import { toWebhookPayload, type WebhookEventPayload } from "./payload.ts";
import { signRequest } from "./signing.ts";
import { DELIVERY_RETENTION_MS, WebhookStore, type DeliveryRecord, type DeliveryResult, type WebhookRecord } from "./store.ts";

/**
 * When each retry of a failed delivery goes, counted from the attempt before it: 8 attempts in
 * all, the last about 21.6 h after the first, inside the documented 24-hour retry window.
 */
export const WEBHOOK_RETRY_DELAYS_MS = [60_000, 5 * 60_000, 30 * 60_000, 3_600_000, 2 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000];
export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_DELAYS_MS.length + 1;

/** A scheduled retry's state lives this long in Redis (real time); far past the last retry. */
const JOB_TTL_MS = 2 * 24 * 3_600_000;

export interface WebhookWorkerOptions {
  /** Consumer name in the group; the same after a restart, so the node finds its own pending events. */
  consumer: string;
  /** Events handled at once. */
  maxInFlight?: number;
  /** Events idle this long in another consumer's pending list are taken over (that node died). */
  reclaimIdleMs?: number;
  reclaimEveryMs?: number;
  /** How often (real time) due retries are looked for; their due time is by the gateway clock. */
  pollEveryMs?: number;
  /** A process running a retry holds it this long (real time); a crash frees it after that. */
  leaseMs?: number;
}

/**
 * One delivery attempt of one event to one webhook, recorded, with the next retry scheduled or
 * the webhook marked failing. Used by the worker and by POST /webhooks/{id}/test.
 */
export class WebhookDeliverer {
  readonly store: WebhookStore;
  constructor(private readonly gw: Gateway) {
    this.store = new WebhookStore(gw.redis, gw.clock, gw.box);
  }

  /** The first attempt of an event for a webhook: the body is kept for the retries and the payload endpoint. */
  async first(accountId: string, rec: WebhookRecord, payload: WebhookEventPayload, body = JSON.stringify(payload)): Promise<DeliveryRecord> {
    await this.store.savePayload(accountId, rec.id, payload.id, body);
    return this.attempt(accountId, rec, payload.id, payload.type, body, 1);
  }

  async attempt(accountId: string, rec: WebhookRecord, eventId: string, eventType: string, body: string, n: number): Promise<DeliveryRecord> {
    const gw = this.gw;
    const id = `whda_${randomId()}`;
    const startedAt = gw.clock.now();
    const t = Math.floor(startedAt / 1000);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "Sendmux-Webhooks/1",
      "X-Sendmux-Event-Id": eventId,
      "X-Sendmux-Event-Type": eventType,
      "X-Sendmux-Delivery-Id": id,
      "X-Sendmux-Delivery-Attempt": String(n),
      ...signRequest(this.store.secretOf(rec), eventId, t, body),
    };
    const out = await postWebhook(rec.url, headers, body, { timeoutMs: gw.cfg.webhookTimeoutMs, allowHttpLoopback: gw.cfg.webhookAllowHttpLoopback });
    let result: DeliveryResult;
    let nextAt: number | null = null;
    if (out.ok) result = "success";
    else if (out.permanent) result = "permanent_failure";
    else if (n >= WEBHOOK_MAX_ATTEMPTS) result = "failed";
    else {
      result = "retrying";
      // Counted from the start of this attempt, so a slow endpoint does not stretch the schedule.
      nextAt = startedAt + WEBHOOK_RETRY_DELAYS_MS[n - 1]!;
    }
    const rec2: DeliveryRecord = {
      id,
      webhook_id: rec.id,
      event_id: eventId,
      event_type: eventType,
      result,
      response_status: out.status,
      response_ms: out.ms,
      delivery_attempt: n,
      max_attempts: WEBHOOK_MAX_ATTEMPTS,
      next_retry_at: nextAt === null ? null : new Date(nextAt).toISOString(),
      error_message: out.error,
      response_body: out.body,
      created_at: new Date(startedAt).toISOString(),
      payload_expires_at: new Date(startedAt + DELIVERY_RETENTION_MS).toISOString(),
      request_payload_bytes: Buffer.byteLength(body, "utf8"),
      request_payload_sha256: new Bun.CryptoHasher("sha256").update(body).digest("hex"),
    };
    await this.store.recordAttempt(accountId, rec2);
    const member = `${rec.id}|${eventId}`;
    if (result === "retrying") {
      await gw.redis
        .multi()
        .set(K.webhookJob(accountId, rec.id, eventId), JSON.stringify({ attempt: n + 1, event_type: eventType }), "PX", JOB_TTL_MS)
        .zadd(K.webhookRetries(accountId), nextAt!, member)
        .exec();
    } else {
      await gw.redis.multi().zrem(K.webhookRetries(accountId), member).del(K.webhookJob(accountId, rec.id, eventId)).exec();
    }
    if (result === "success") await this.store.clearFailing(accountId, rec.id);
    else if (result === "failed" || result === "permanent_failure") {
      await this.store.markFailing(accountId, rec.id);
      gw.log.warn({ component: "webhooks", webhook_id: rec.id, event_id: eventId, result, attempt: n }, "webhook marked failing: new events are skipped until its URL is changed, it is re-enabled or a delivery succeeds");
    }
    return rec2;
  }
}

/**
 * Webhook delivery: reads every account's events stream with its own consumer group (so events
 * survive restarts, and a crash leaves them pending to be reclaimed), POSTs each event to every
 * matching webhook of that account, and runs the scheduled retries. An event is acknowledged once
 * each matching webhook has had its first attempt (and, failing that, has a retry scheduled).
 */
export class WebhookWorker extends StreamGroupConsumer {
  readonly deliverer: WebhookDeliverer;
  /** Retries being run by this process now, as "account webhook|event". */
  private readonly retriesRunning = new Set<string>();

  constructor(gw: Gateway, reader: SendmuxRedis, private readonly opts: WebhookWorkerOptions) {
    super(gw, reader, {
      group: WEBHOOK_GROUP,
      consumer: opts.consumer,
      streamOf: K.events,
      maxInFlight: opts.maxInFlight ?? 64,
      reclaimIdleMs: opts.reclaimIdleMs ?? 60_000,
      reclaimEveryMs: opts.reclaimEveryMs ?? 15_000,
      component: "webhooks",
    });
    this.deliverer = new WebhookDeliverer(gw);
  }

  async start(): Promise<void> {
    await this.startReading();
    this.every(this.opts.pollEveryMs ?? 500, "retries", () => this.runDueRetries());
  }

  async stop(): Promise<void> {
    await this.stopReading(this.gw.cfg.webhookTimeoutMs + 2000, () => this.retriesRunning.size > 0);
  }

  protected async process(stream: string, entryId: string, fields: string[] | null): Promise<void> {
    const accountId = accountOfStream(stream);
    const i = fields ? fields.indexOf("event") : -1;
    const ev = i >= 0 ? (JSON.parse(fields![i + 1]!) as GatewayEvent) : null;
    const payload = ev ? toWebhookPayload(ev) : null;
    if (ev && payload) {
      const store = this.deliverer.store;
      const doneKey = K.webhookEventDone(accountId, ev.id);
      const [hooks, failing, done] = await Promise.all([store.list(accountId), store.failingSet(accountId), this.gw.redis.smembers(doneKey)]);
      // Enabled, not failing, subscribed to the type, existing when the event happened, not
      // already attempted for this event (a reclaimed entry after a crash).
      const targets = hooks.filter((h) => h.enabled && !failing.has(h.id) && h.event_types.includes(payload.type) && h.created_at <= ev.occurred_at && !done.includes(h.id));
      if (targets.length) {
        const body = JSON.stringify(payload);
        await Promise.all(
          targets.map(async (h) => {
            await this.deliverer.first(accountId, h, payload, body);
            await this.gw.redis.multi().sadd(doneKey, h.id).pexpire(doneKey, DELIVERY_RETENTION_MS).exec();
          }),
        );
      }
    }
    await this.gw.redis.xack(stream, WEBHOOK_GROUP, entryId);
  }

  /** Runs the retries whose time has come (by the gateway clock), each under a lease. */
  async runDueRetries(): Promise<void> {
    const now = this.gw.clock.now();
    for (const stream of this.streams) {
      const accountId = accountOfStream(stream);
      const due = await this.gw.redis.zrangebyscore(K.webhookRetries(accountId), "-inf", now, "LIMIT", 0, 100);
      for (const member of due) {
        const key = `${accountId} ${member}`;
        if (this.retriesRunning.has(key) || !this.running) continue;
        const [whk, evt] = member.split("|") as [string, string];
        const lease = K.webhookJobLease(accountId, whk, evt);
        const got = await this.gw.redis.set(lease, this.opts.consumer, "PX", this.opts.leaseMs ?? 60_000, "NX");
        if (got !== "OK") continue;
        this.retriesRunning.add(key);
        void this.retry(accountId, member, whk, evt)
          .catch((e) => this.warn(e, "retry"))
          .finally(async () => {
            this.retriesRunning.delete(key);
            await this.gw.redis.del(lease).catch(() => {});
          });
      }
    }
  }

  private async retry(accountId: string, member: string, whk: string, evt: string): Promise<void> {
    const store = this.deliverer.store;
    const [rec, jobRaw, body] = await Promise.all([store.get(accountId, whk), this.gw.redis.get(K.webhookJob(accountId, whk, evt)), store.payload(accountId, whk, evt)]);
    // Deleted or disabled since ("when false, no events are delivered"), or its state expired: dropped.
    if (!rec || !rec.enabled || !jobRaw || body === null) {
      await this.gw.redis.multi().zrem(K.webhookRetries(accountId), member).del(K.webhookJob(accountId, whk, evt)).exec();
      return;
    }
    const job = JSON.parse(jobRaw) as { attempt: number; event_type: string };
    await this.deliverer.attempt(accountId, rec, evt, job.event_type, body, job.attempt);
  }
}
