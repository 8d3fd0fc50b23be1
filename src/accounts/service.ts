import type { Gateway } from "../gateway.ts";
import type { Account } from "../types.ts";
import { apiKeyItem } from "../api/apikeys/index.ts";
import { checkAddress } from "../api/emails/address.ts";
import type { FieldIssue } from "../api/errors.ts";
import { thresholdOf } from "./requests.ts";

/** An account as the operator and signup show it. */
export function accountItem(a: Account) {
  return { id: a.id, name: a.name, email: a.email, status: a.status, status_reason: a.status_reason ?? null, suspended_at: a.suspended_at ?? null, created_at: a.created_at };
}

/** Validates {email, name} (signup: email required; operator: optional). */
export function parseAccountBody(body: Record<string, unknown>, emailRequired: boolean): { ok: true; name: string; email: string | null } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  for (const k of Object.keys(body)) if (k !== "email" && k !== "name") issues.push({ field: k, code: "unrecognized_keys", message: `unknown property "${k}"; an account takes email and name` });
  let name = "";
  if (typeof body.name !== "string") issues.push({ field: "name", code: "invalid_type", message: body.name === undefined ? "required" : "expected a string" });
  else if (body.name.trim().length < 1) issues.push({ field: "name", code: "too_small", message: "must not be empty (1 to 255 characters)" });
  else if (body.name.length > 255) issues.push({ field: "name", code: "too_big", message: `must be at most 255 characters (got ${body.name.length})` });
  else if (/[\r\n\u0000]/.test(body.name) || !body.name.isWellFormed()) issues.push({ field: "name", code: "invalid_string", message: "must not contain line breaks, NUL or invalid Unicode" });
  else name = body.name.trim();
  let email: string | null = null;
  if (body.email === undefined || body.email === null) {
    if (emailRequired) issues.push({ field: "email", code: "invalid_type", message: "required: the address that receives the account's notices" });
  } else if (typeof body.email !== "string") issues.push({ field: "email", code: "invalid_type", message: "expected a string" });
  else if (body.email.length > 254) issues.push({ field: "email", code: "too_big", message: "must be at most 254 characters" });
  else {
    const c = checkAddress(body.email);
    if (!c.ok) issues.push({ field: "email", code: "invalid_string", message: `not a valid email address: ${c.reason}` });
    else email = c.address;
  }
  return issues.length ? { ok: false, issues } : { ok: true, name, email };
}

/**
 * Creates an account and its first key (`full`, scope `all`: the managed route is in it at once).
 * Null when the email address already has an account.
 */
export async function createAccountWithKey(gw: Gateway, name: string, email: string | null) {
  const account = await gw.accounts.tryCreate(name, email);
  if (!account) return null;
  const { record, token } = await gw.keys.create(account.id, { name: "default", permission: "full", scope: { type: "all" } });
  return { account: accountItem(account), api_key: { ...apiKeyItem(record), token } };
}

/** The documented SharedAmazonSesLimit of an account. */
export async function sharedLimitView(gw: Gateway, accountId: string) {
  const [limit, pending] = await Promise.all([gw.managed.limitOf(accountId), gw.limitRequests.pending(accountId)]);
  if (!limit) {
    return { provider_id: null, daily_limit: null, sent_today: 0, threshold_usage: null, usage_ratio: null, is_near_limit: false, can_request_increase: false, pending_request_id: pending?.id ?? null };
  }
  const threshold = thresholdOf(limit.daily_limit);
  const near = limit.sent_today >= threshold;
  return {
    provider_id: limit.provider_id,
    daily_limit: limit.daily_limit,
    sent_today: limit.sent_today,
    threshold_usage: threshold,
    usage_ratio: limit.daily_limit > 0 ? Math.round((limit.sent_today / limit.daily_limit) * 10_000) / 10_000 : 0,
    is_near_limit: near,
    can_request_increase: near && !pending,
    pending_request_id: pending?.id ?? null,
  };
}
