import type { Gateway } from "./gateway.ts";
import type { IdempotencyCompletion, NewMessage } from "./store/messages.ts";
import type { KeyContext, MessageBody, MessageMeta } from "./types.ts";

/** The key's scope holds no provider that could send right now (SPEC "Routing" rule 6). */
export class NoActiveProviders extends Error {
  constructor() {
    super("no_active_providers: no active provider in this key's scope can send; activate or add one");
    this.name = "NoActiveProviders";
  }
}

export type Submission = Omit<MessageMeta, "account_id" | "key_id" | "created_at" | "scope"> & { body: MessageBody };

/**
 * Accepts messages for delivery: the one path shared by the HTTP API and the SMTP relay.
 * When this resolves, every message is in Redis and on the ready queue (durable); only then may
 * the caller answer 200 or 250.
 */
export async function submit(gw: Gateway, ctx: KeyContext, subs: Submission[], idem?: IdempotencyCompletion): Promise<string[]> {
  await assertCanSend(gw, ctx);
  const createdAt = new Date(gw.clock.now()).toISOString();
  const msgs: NewMessage[] = subs.map((s) => {
    const { body, ...rest } = s;
    const meta: MessageMeta = {
      ...rest,
      account_id: ctx.accountId,
      key_id: ctx.keyId,
      created_at: createdAt,
      scope: ctx.scope,
    };
    return { meta, body };
  });
  await gw.messages.enqueue(ctx.accountId, msgs, idem);
  for (const m of msgs) gw.metrics.accepted.inc({ source: m.meta.source });
  return msgs.map((m) => m.meta.id);
}

/**
 * Refuses at once when no provider in the key's scope is active (SPEC "Routing" rule 6). A provider
 * that is only paused still counts: the message waits for it rather than being refused.
 */
export async function assertCanSend(gw: Gateway, ctx: KeyContext): Promise<void> {
  const cands = await gw.router.candidates(ctx.accountId, ctx.scope);
  if (!cands.some((c) => c.p.status === "active" && c.weight !== 0)) throw new NoActiveProviders();
}
