import type { GatewayEvent } from "../events.ts";

/** Event types of the reference document (WebhookCreateBody.event_types items). */
export const DOCUMENTED_EVENT_TYPES = [
  "message.delivered",
  "message.bounced",
  "message.complained",
  "message.rejected",
  "message.delivery_delayed",
  "message.received",
  "message.received.spam",
  "sendmux.test",
] as const;

/** EXT: the gateway's own provider lifecycle, for which the document has no type. */
export const EXT_EVENT_TYPES = ["provider.paused", "provider.disabled", "provider.resumed"] as const;

export const WEBHOOK_EVENT_TYPES: readonly string[] = [...DOCUMENTED_EVENT_TYPES, ...EXT_EVENT_TYPES];

/** WebhookEventData: every field present, null where it does not apply. */
export interface WebhookEventData {
  message_id: string | null;
  message_id_kind: "provider" | "rfc5322" | null;
  sendmux_message_id: string | null;
  sender: string | null;
  recipients: string[];
  mailbox_id: string | null;
  bounce_type: "Permanent" | "Transient" | "Undetermined" | null;
  bounce_subtype: string | null;
  complaint_type: string | null;
  complaint_subtype: string | null;
  reject_reason: string | null;
  delay_type: string | null;
  delay_expires_at: string | null;
  is_spam: boolean | null;
  webhook_id: string | null;
}

/** The JSON body POSTed to an endpoint (WebhookEventPayload; EXT provider.* events carry their own data). */
export interface WebhookEventPayload {
  id: string;
  type: string;
  team_public_id: string;
  occurred_at: string;
  data: WebhookEventData | Record<string, unknown>;
}

export function emptyData(): WebhookEventData {
  return {
    message_id: null,
    message_id_kind: null,
    sendmux_message_id: null,
    sender: null,
    recipients: [],
    mailbox_id: null,
    bounce_type: null,
    bounce_subtype: null,
    complaint_type: null,
    complaint_subtype: null,
    reject_reason: null,
    delay_type: null,
    delay_expires_at: null,
    is_spam: null,
    webhook_id: null,
  };
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/**
 * Maps a recorded lifecycle event (src/events.ts) to what webhooks receive:
 * - message.sent      → message.delivered (a provider accepted the message)
 * - message.deferred  → message.delivery_delayed (delay_type: the failure class; a retry is scheduled)
 * - message.failed    → message.bounced: bounce_type `Permanent` when the recipient was refused
 *                       (permanent_recipient), `Transient` when the gateway gave up after its retries;
 *                       bounce_subtype is the failure class
 * - provider.*        → the same EXT type, data {provider_id, class, until, reason, how}
 * The event id is kept, so every webhook and every retry of one event carries the same `id`.
 */
export function toWebhookPayload(ev: GatewayEvent): WebhookEventPayload | null {
  const base = { id: ev.id, team_public_id: ev.account_id, occurred_at: ev.occurred_at };
  const d = ev.data;
  const message = (): WebhookEventData => ({
    ...emptyData(),
    message_id: str(d.message_id_header),
    message_id_kind: str(d.message_id_header) ? "rfc5322" : null,
    sendmux_message_id: str(d.message_id),
    sender: str(d.sender),
    recipients: list(d.recipients),
  });
  switch (ev.type) {
    case "message.sent":
      return { ...base, type: "message.delivered", data: message() };
    case "message.deferred":
      return { ...base, type: "message.delivery_delayed", data: { ...message(), delay_type: str(d.outcome) } };
    case "message.failed": {
      const permanent = d.outcome === "permanent_recipient";
      return { ...base, type: "message.bounced", data: { ...message(), bounce_type: permanent ? "Permanent" : "Transient", bounce_subtype: str(d.outcome) } };
    }
    case "provider.paused":
    case "provider.disabled":
    case "provider.resumed":
      return {
        ...base,
        type: ev.type,
        data: { provider_id: str(d.provider_id), class: str(d.class), until: str(d.until), reason: str(d.reason), how: str(d.how) },
      };
    default:
      return null;
  }
}
