import type { Clock } from "./clock.ts";
import { newId } from "./ids.ts";
import { K } from "./store/keys.ts";
import type { SendmuxRedis } from "./store/redis.ts";

/**
 * Lifecycle events of an account, appended to a Redis stream per account (kept to about
 * EVENTS_KEEP entries). Webhook delivery reads them with its own consumer group; nothing is lost
 * if no webhook is listening yet.
 *
 * Types (EXT, beyond the documented message.* feedback events):
 * - message.sent        a provider accepted the message (data: message_id, provider_id, response)
 * - message.deferred    an attempt failed and a retry is scheduled (data: …, next_attempt_at)
 * - message.failed      the message will not be sent (data: …, response)
 * - provider.paused     the circuit took a provider out of rotation for a while (data: provider_id, class, until, reason)
 * - provider.disabled   an auth or config fault took it out until /activate (data: provider_id, class, reason)
 * - provider.resumed    it is back in rotation (data: provider_id, how: "pause_ended" | "activated")
 */
export type EventType = "message.sent" | "message.deferred" | "message.failed" | "provider.paused" | "provider.disabled" | "provider.resumed";

export interface GatewayEvent {
  id: string;
  type: EventType;
  occurred_at: string;
  account_id: string;
  data: Record<string, unknown>;
}

export const EVENTS_KEEP = 100_000;

export class EventBus {
  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock) {}

  async emit(accountId: string, type: EventType, data: Record<string, unknown>): Promise<GatewayEvent> {
    const ev: GatewayEvent = { id: newId("evt"), type, occurred_at: new Date(this.clock.now()).toISOString(), account_id: accountId, data };
    await this.redis.xadd(K.events(accountId), "MAXLEN", "~", EVENTS_KEEP, "*", "event", JSON.stringify(ev));
    return ev;
  }
}
