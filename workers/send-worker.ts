/**
 * Worker thread entry. Each worker owns the providers of its shard: it keeps one warm adapter per
 * provider (pooled SMTP connections, cached clients), rebuilds it when the provider's version
 * moves, builds each message (MIME composition runs here, off the HTTP thread) and sends it.
 */
import { workerData } from "node:worker_threads";
import { composeRaw } from "../src/mime/compose.ts";
import { createAdapter } from "../src/providers/registry.ts";
import { saveDetected } from "../src/providers/ses-account.ts";
import type { ProviderAdapter, ProviderSnapshot } from "../src/providers/types.ts";
import type { DetectedQuotas } from "../src/types.ts";
import type { SendJob, SendJobResult, WorkerInit, WorkerTask } from "../src/dispatch/protocol.ts";
import { MessageStore } from "../src/store/messages.ts";
import { LogCounters } from "../src/store/logs.ts";
import { OutboxStore } from "../src/store/outbox.ts";
import { connectRedis } from "../src/store/redis.ts";
import { systemClock } from "../src/clock.ts";

const init = workerData as WorkerInit;
const redis = connectRedis(init.redis, { enableAutoPipelining: true });
redis.on("error", () => {});
const messages = new MessageStore(redis, systemClock, new LogCounters(redis, systemClock));
const outbox = new OutboxStore(redis, init.captureMaxItems);
const adapters = new Map<string, { version: number; adapter: ProviderAdapter }>();
// amazon_ses adapters read GetAccount at most hourly while they send; the reading is stored on the
// provider record (without a version bump), where the caps pick it up.
const sesAccountRead = async (accountId: string, providerId: string, d: DetectedQuotas, region: string) => {
  await saveDetected(redis, accountId, providerId, d, region);
};

function adapterFor(snap: ProviderSnapshot, now: number): ProviderAdapter {
  const cur = adapters.get(snap.record.id);
  if (cur && cur.version === snap.record.version) return cur.adapter;
  if (cur) void cur.adapter.close().catch(() => {});
  const adapter = createAdapter(snap, { outbox, clock: { now: () => now }, sesAccountRead });
  adapters.set(snap.record.id, { version: snap.record.version, adapter });
  return adapter;
}

async function sendOne(job: SendJob): Promise<SendJobResult> {
  const t0 = performance.now();
  try {
    const loaded = await messages.loadForSend(job.accountId, job.messageId);
    if (!loaded) return { messageId: job.messageId, ok: false, cls: "missing", response: "message no longer exists", durationMs: 0 };
    const raw = loaded.body.kind === "raw" ? Buffer.from(loaded.body.raw) : await composeRaw(loaded.body.mail);
    const adapter = adapterFor(job.provider, job.now);
    const r = await adapter.send({
      id: job.messageId,
      accountId: job.accountId,
      envelope: loaded.meta.envelope,
      raw,
      now: job.now,
      from: loaded.meta.from,
      to: loaded.meta.to,
      subject: loaded.meta.subject,
    });
    const durationMs = Math.round(performance.now() - t0);
    return r.ok
      ? { messageId: job.messageId, ok: true, response: r.response, durationMs, ...(r.rejected?.length ? { rejected: r.rejected } : {}) }
      : { messageId: job.messageId, ok: false, cls: r.class, response: r.response, durationMs };
  } catch (e) {
    // A failure of ours (building the message, Redis), not the provider's: retried, never counted.
    return { messageId: job.messageId, ok: false, cls: "transient", response: `gateway error: ${(e as Error).message}`, durationMs: Math.round(performance.now() - t0), gatewayFault: true };
  }
}

export default async function run(task: WorkerTask): Promise<unknown> {
  switch (task.kind) {
    case "send":
      return Promise.all(task.jobs.map(sendOne));
    case "verify": {
      const t0 = performance.now();
      const a = createAdapter(task.provider, { outbox, clock: systemClock });
      try {
        const r = await a.verify();
        return { ...r, latency_ms: Math.round(performance.now() - t0) };
      } finally {
        await a.close().catch(() => {});
      }
    }
    case "close": {
      const cur = adapters.get(task.providerId);
      adapters.delete(task.providerId);
      if (cur) await cur.adapter.close().catch(() => {});
      return true;
    }
    case "closeAll": {
      const all = [...adapters.values()];
      adapters.clear();
      await Promise.all(all.map((a) => a.adapter.close().catch(() => {})));
      return true;
    }
  }
}
