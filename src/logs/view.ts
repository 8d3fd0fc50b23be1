import type { MessageView } from "../store/messages.ts";
import type { LogStatus } from "../store/logs.ts";
import { logStatusOf } from "./status.ts";

/**
 * Delivery logs (sendmux-openapi-app.json DeliveryLogItem / DeliveryLogDetail) are views of the
 * message records the gateway keeps: one log per accepted message, `dlog_<x>` for message
 * `eml_<x>` (the same 24 characters), so a log id and a message id name each other without a
 * lookup and a log lives exactly as long as its message record.
 */
export const LOG_ID = /^dlog_([a-z0-9]{24})$/;

export const logIdOf = (messageId: string): string => `dlog_${messageId.slice("eml_".length)}`;
export const messageIdOfLog = (logId: string): string | null => {
  const m = LOG_ID.exec(logId);
  return m ? `eml_${m[1]}` : null;
};

/** The documents cap recipient snapshots at 50 (the Sending API's limit over to+cc+bcc). */
export const MAX_SNAPSHOT = 50;

export interface DeliveryLogRecipient {
  email: string;
  type: "to" | "cc" | "bcc" | null;
  status: "accepted" | "rejected";
  reason: string | null;
}

export interface DeliveryLogItem {
  id: string;
  provider_id: string | null;
  provider_name: string | null;
  message_id: string | null;
  from_email: string | null;
  sent_from_email: string | null;
  to_email: string | null;
  subject: string | null;
  status: LogStatus;
  status_reason: string | null;
  attempts: number;
  sent_at: string | null;
  size_bytes: number | null;
  created_at: string;
  recipient_count: number | null;
  accepted_recipient_count: number | null;
  rejected_recipient_count: number | null;
}

export type DeliveryLogDetail = DeliveryLogItem & { recipients: DeliveryLogRecipient[] | null };

/** The address of a header mailbox summary ("Name <a@b>" or "a@b"). */
export function addressOf(mailbox: string): string {
  const m = /<([^<>]*)>\s*$/.exec(mailbox);
  return (m ? m[1]! : mailbox).trim();
}

function statusReason(v: MessageView, status: LogStatus): string | null {
  const last = v.attempts.at(-1) ?? null;
  if (v.status === "canceled") {
    return last ? `canceled before it was sent; the last attempt said: ${last.response}` : "canceled before it was sent";
  }
  if (status === "failed" || status === "rejected") return last?.response ?? null;
  if (status === "sent") {
    const refused = last?.rejected ?? [];
    return refused.length ? `the provider refused ${refused.length} of ${v.meta.envelope.to.length} recipients: ${refused.join(", ")}` : null;
  }
  // pending
  if (v.status === "deferred" && last) {
    const at = v.next_attempt_at ? ` at ${new Date(v.next_attempt_at).toISOString()}` : "";
    return `retrying${at} after: ${last.response}`;
  }
  const w = v.waiting;
  if (w?.reason === "cap") return `waiting for provider ${w.provider_id}'s cap window until ${new Date(w.until).toISOString()}`;
  if (w?.reason === "no_healthy_provider") return `waiting for a provider in scope to be back in rotation (until ${new Date(w.until).toISOString()})`;
  if (w?.reason === "no_active_provider") return "waiting: no provider in scope is active (activate one, or add one)";
  if (v.status === "sending") return "being handed to the provider";
  return null;
}

/**
 * Who the provider accepted and refused, once the log is settled by an attempt: every envelope
 * recipient, typed by the To and Cc headers (an envelope recipient in neither is Bcc). Null while
 * pending, for a message canceled before any attempt, and above 50 recipients.
 */
export function recipientsOf(v: MessageView, status: LogStatus): DeliveryLogRecipient[] | null {
  const last = v.attempts.at(-1);
  if (!last || status === "pending" || v.status === "canceled") return null;
  const rcpts = v.meta.envelope.to;
  if (rcpts.length > MAX_SNAPSHOT) return null;
  const to = new Set(v.meta.to.map((m) => addressOf(m).toLowerCase()));
  const cc = v.meta.cc ? new Set(v.meta.cc.map((m) => addressOf(m).toLowerCase())) : null;
  const refused = new Set((last.rejected ?? []).map((r) => r.toLowerCase()));
  return rcpts.map((email) => {
    const k = email.toLowerCase();
    const type = to.has(k) ? "to" : cc === null ? null : cc.has(k) ? "cc" : "bcc";
    if (status === "sent") {
      return refused.has(k)
        ? { email, type, status: "rejected", reason: `refused by the provider while it accepted the other recipients: ${last.response}` }
        : { email, type, status: "accepted", reason: null };
    }
    return { email, type, status: "rejected", reason: last.response };
  });
}

export function logDetail(v: MessageView, providerNames: ReadonlyMap<string, string>): DeliveryLogDetail {
  const last = v.attempts.at(-1) ?? null;
  const status = logStatusOf(v.status, last?.outcome ?? null);
  const recipients = recipientsOf(v, status);
  const toHeader = v.meta.to.map(addressOf).filter(Boolean);
  const toList = toHeader.length ? toHeader : v.meta.envelope.to;
  const from = v.meta.from ? addressOf(v.meta.from) : v.meta.envelope.from;
  const sent = v.status === "sent" ? v.attempts.findLast((a) => a.outcome === "sent") : undefined;
  const accepted = recipients ? recipients.filter((r) => r.status === "accepted").length : null;
  return {
    id: logIdOf(v.meta.id),
    provider_id: v.provider_id,
    provider_name: v.provider_id ? (providerNames.get(v.provider_id) ?? null) : null,
    message_id: v.meta.message_id_header ? `<${v.meta.message_id_header}>` : null,
    from_email: from || null,
    sent_from_email: null,
    to_email: toList.length ? toList.join(", ") : null,
    subject: v.meta.subject,
    status,
    status_reason: statusReason(v, status),
    attempts: v.attempts.length,
    sent_at: sent?.at ?? null,
    size_bytes: v.meta.size_bytes,
    created_at: v.meta.created_at,
    recipient_count: recipients ? recipients.length : null,
    accepted_recipient_count: accepted,
    rejected_recipient_count: recipients ? recipients.length - accepted! : null,
    recipients,
  };
}

export function logItem(v: MessageView, providerNames: ReadonlyMap<string, string>): DeliveryLogItem {
  const { recipients: _omitted, ...item } = logDetail(v, providerNames);
  return item;
}

/** Whether a log matches `search` (lower-cased): addresses, subject, Message-ID and both ids. */
export function matchesSearch(v: MessageView, needle: string): boolean {
  const m = v.meta;
  const hay = [m.from, m.envelope.from, ...m.to, ...(m.cc ?? []), ...m.envelope.to, m.subject, m.message_id_header, m.id, logIdOf(m.id)];
  return hay.some((s) => s.toLowerCase().includes(needle));
}
