import type { FieldIssue } from "../errors.ts";
import type { GroupRecord } from "../../store/groups.ts";

/** The largest member weight override, the same bound as a provider's own `percentage`. */
const MAX_WEIGHT = 1_000_000;

export type GroupMember = GroupRecord["members"][number];

export interface ParsedGroup {
  name?: string;
  members?: GroupMember[];
}

/** What validating a group body needs to know about the account. */
export interface GroupContext {
  /** Ids of the account's providers. */
  providerIds: Set<string>;
  /** For each provider that is a member of another group: that group (the one being edited excluded). */
  memberOf: Map<string, { id: string; name: string }>;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function parseMembers(issues: FieldIssue[], v: unknown, ctx: GroupContext): GroupMember[] | undefined {
  if (!Array.isArray(v)) {
    issues.push({ field: "members", code: "invalid_type", message: `expected a list of {provider_id, percentage?}, got ${typeName(v)}` });
    return undefined;
  }
  const out: GroupMember[] = [];
  const seen = new Map<string, number>();
  const before = issues.length;
  v.forEach((m, i) => {
    const at = `members.${i}`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      issues.push({ field: at, code: "invalid_type", message: `expected {provider_id, percentage?}, got ${typeName(m)}` });
      return;
    }
    const o = m as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k !== "provider_id" && k !== "percentage") issues.push({ field: `${at}.${k}`, code: "unrecognized_keys", message: `unknown property "${k}"; a member takes provider_id and percentage` });
    }
    let providerId: string | null = null;
    const id = o.provider_id;
    if (typeof id !== "string") {
      issues.push({ field: `${at}.provider_id`, code: "invalid_type", message: id === undefined ? "required" : `expected a provider id (dprov_…), got ${typeName(id)}` });
    } else if (!ctx.providerIds.has(id)) {
      issues.push({ field: `${at}.provider_id`, code: "not_found", message: `provider ${id.slice(0, 100)} was not found in this account` });
    } else if (seen.has(id)) {
      issues.push({ field: `${at}.provider_id`, code: "duplicate", message: `provider ${id} is already listed as members.${seen.get(id)}; a provider appears in a group once` });
    } else if (ctx.memberOf.has(id)) {
      const other = ctx.memberOf.get(id)!;
      issues.push({
        field: `${at}.provider_id`,
        code: "in_other_group",
        message: `provider ${id} is already a member of group ${other.id} ("${other.name}"); groups never share a provider, so remove it from that group first`,
      });
    } else {
      seen.set(id, i);
      providerId = id;
    }
    let percentage: number | null = null;
    const p = o.percentage;
    if (p !== undefined && p !== null) {
      if (typeof p !== "number" || !Number.isInteger(p)) {
        issues.push({ field: `${at}.percentage`, code: "invalid_type", message: `expected a whole number (the provider's routing weight within this group; 0 = never chosen) or null, got ${typeof p === "number" ? p : typeName(p)}` });
      } else if (p < 0) {
        issues.push({ field: `${at}.percentage`, code: "too_small", message: `must not be negative (got ${p}); 0 means never chosen within this group` });
      } else if (p > MAX_WEIGHT) {
        issues.push({ field: `${at}.percentage`, code: "too_big", message: `must be at most ${MAX_WEIGHT}` });
      } else percentage = p;
    }
    if (providerId !== null) out.push({ provider_id: providerId, percentage });
  });
  return issues.length === before ? out : undefined;
}

/**
 * Validates a create or PATCH body for a group: `{name, members:[{provider_id, percentage?}]}`.
 * Unknown fields are refused. On create, `name` is required and `members` defaults to an empty
 * list (a group may exist empty; a key scoped to it then has nothing to send through). A PATCH
 * that gives `members` replaces the whole list.
 */
export function parseGroupBody(body: Record<string, unknown>, mode: "create" | "update", ctx: GroupContext): { ok: true; value: ParsedGroup } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const value: ParsedGroup = {};
  for (const k of Object.keys(body)) {
    if (k !== "name" && k !== "members") issues.push({ field: k, code: "unrecognized_keys", message: `unknown property "${k}"; allowed: name, members` });
  }
  const name = body.name;
  if (name === undefined) {
    if (mode === "create") issues.push({ field: "name", code: "invalid_type", message: "required" });
  } else if (typeof name !== "string") {
    issues.push({ field: "name", code: "invalid_type", message: `expected a string, got ${typeName(name)}` });
  } else if (name.length < 1) {
    issues.push({ field: "name", code: "too_small", message: "must be at least 1 character" });
  } else if ([...name].length > 255) {
    issues.push({ field: "name", code: "too_big", message: "must be at most 255 characters" });
  } else if (/[\r\n\u0000]/.test(name) || !name.isWellFormed()) {
    issues.push({ field: "name", code: "invalid_string", message: "must not contain line breaks, NUL or invalid Unicode" });
  } else value.name = name;

  if (body.members !== undefined) {
    const members = parseMembers(issues, body.members, ctx);
    if (members) value.members = members;
  } else if (mode === "create") value.members = [];

  if (mode === "update" && body.name === undefined && body.members === undefined && issues.length === 0) {
    issues.push({ field: "", code: "too_small", message: "nothing to change: give name, members or both" });
  }
  if (issues.length) return { ok: false, issues };
  return { ok: true, value };
}

/** A group as the API shows it. */
export function groupItem(g: GroupRecord) {
  return {
    id: g.id,
    name: g.name,
    members: g.members.map((m) => ({ provider_id: m.provider_id, percentage: m.percentage })),
    created_at: g.created_at,
    updated_at: g.updated_at,
  };
}
