import type { FieldIssue } from "../errors.ts";
import { WEBHOOK_EVENT_TYPES } from "../../webhooks/payload.ts";
import type { WebhookInput } from "../../webhooks/store.ts";
import { targetProblem } from "../../webhooks/url.ts";

/**
 * Hand-written validation of WebhookCreateBody and WebhookUpdateBody (sendmux-openapi-app.json),
 * reporting every failing field at once. `event_types` also takes the EXT provider.* types.
 */
const CREATE_FIELDS = ["url", "event_types", "filters", "enabled", "name"];

export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

export function parseWebhookBody(body: Record<string, unknown>, mode: "create", allowHttpLoopback: boolean): Parsed<WebhookInput>;
export function parseWebhookBody(body: Record<string, unknown>, mode: "update", allowHttpLoopback: boolean): Parsed<Partial<WebhookInput>>;
export function parseWebhookBody(body: Record<string, unknown>, mode: "create" | "update", allowHttpLoopback: boolean): Parsed<Partial<WebhookInput>> {
  const issues: FieldIssue[] = [];
  const out: Partial<WebhookInput> = {};
  for (const k of Object.keys(body)) {
    if (!CREATE_FIELDS.includes(k)) issues.push({ field: k, code: "unknown_field", message: `unknown field; a webhook takes ${CREATE_FIELDS.join(", ")}` });
  }

  if (body.url !== undefined) {
    if (typeof body.url !== "string") issues.push({ field: "url", code: "invalid_type", message: "must be a string (an https:// URL)" });
    else {
      const p = targetProblem(body.url, allowHttpLoopback);
      if (p) issues.push({ field: "url", code: "invalid_url", message: p });
      else out.url = body.url;
    }
  } else if (mode === "create") issues.push({ field: "url", code: "required", message: "is required: the https:// endpoint that receives the events" });

  if (body.event_types !== undefined) {
    const v = body.event_types;
    if (!Array.isArray(v)) issues.push({ field: "event_types", code: "invalid_type", message: "must be an array of event types" });
    else if (v.length === 0) issues.push({ field: "event_types", code: "too_small", message: "must list at least one event type" });
    else {
      const seen: string[] = [];
      v.forEach((t, i) => {
        if (typeof t !== "string" || !WEBHOOK_EVENT_TYPES.includes(t)) {
          issues.push({ field: `event_types[${i}]`, code: "invalid_enum", message: `unknown event type ${JSON.stringify(t)}; one of ${WEBHOOK_EVENT_TYPES.join(", ")}` });
        } else if (!seen.includes(t)) seen.push(t);
      });
      out.event_types = seen;
    }
  } else if (mode === "create") issues.push({ field: "event_types", code: "required", message: "is required: at least one event type, e.g. [\"message.delivered\"]" });

  if (body.filters !== undefined) {
    const f = body.filters;
    if (typeof f !== "object" || f === null || Array.isArray(f)) issues.push({ field: "filters", code: "invalid_type", message: "must be an object {mailbox_ids: [...]}" });
    else {
      const fo = f as Record<string, unknown>;
      for (const k of Object.keys(fo)) if (k !== "mailbox_ids") issues.push({ field: `filters.${k}`, code: "unknown_field", message: "unknown field; filters takes mailbox_ids" });
      if (!("mailbox_ids" in fo)) issues.push({ field: "filters.mailbox_ids", code: "required", message: "is required in filters (an empty array means all)" });
      else if (!Array.isArray(fo.mailbox_ids) || fo.mailbox_ids.some((x) => typeof x !== "string")) {
        issues.push({ field: "filters.mailbox_ids", code: "invalid_type", message: "must be an array of mailbox ids" });
      } else if (fo.mailbox_ids.length > 0) {
        // This gateway sends; it has no mailboxes (the Mailbox API is out of its scope), so every
        // mailbox id is unknown. Accepting one would silently filter out nothing or everything.
        issues.push({ field: "filters.mailbox_ids", code: "not_found", message: `mailbox ${JSON.stringify(fo.mailbox_ids[0])} does not exist: this gateway has no mailboxes; pass an empty array or omit filters` });
      } else out.filters = { mailbox_ids: [] };
    }
  } else if (mode === "create") out.filters = { mailbox_ids: [] };

  if (body.enabled !== undefined) {
    if (typeof body.enabled !== "boolean") issues.push({ field: "enabled", code: "invalid_type", message: "must be true or false" });
    else out.enabled = body.enabled;
  } else if (mode === "create") out.enabled = true;

  if (body.name !== undefined) {
    const n = body.name;
    if (n === null) {
      if (mode === "create") issues.push({ field: "name", code: "invalid_type", message: "must be a string of 1 to 255 characters (omit it for no name)" });
      else out.name = null;
    } else if (typeof n !== "string") issues.push({ field: "name", code: "invalid_type", message: "must be a string" });
    else if (n.length > 255) issues.push({ field: "name", code: "too_big", message: "must be at most 255 characters" });
    else if (n.length === 0 && mode === "create") issues.push({ field: "name", code: "too_small", message: "must not be empty (omit it for no name)" });
    else out.name = n.length === 0 ? null : n;
  } else if (mode === "create") out.name = null;

  return issues.length ? { ok: false, issues } : { ok: true, value: out };
}
