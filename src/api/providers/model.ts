import type { FieldIssue } from "../errors.ts";
import type { ProviderFields, ProviderSecrets } from "../../store/providers.ts";
import type { ProviderRecord, ProviderType, QuotaValue, Quotas, SmtpProtocol } from "../../types.ts";
import { checkAddress } from "../emails/address.ts";
import { parseProviderConfig } from "../../providers/config.ts";

/** Types this gateway can create today. gmail_api, outlook_api and amazon_ses arrive with their adapters. */
export const CREATABLE_TYPES: ProviderType[] = ["smtp", "capture", "amazon_ses", "gmail_api", "outlook_api"];
const PROTOCOLS: SmtpProtocol[] = ["tls", "ssl", "none", "starttls"];
const QUOTA_KEYS = ["per_second", "per_minute", "per_hour", "per_day"] as const;

const COMMON_KEYS = ["name", "type", "from_email", "from_name", "reply_to_email", "reply_to_name", "percentage", "quotas", "tracking_domain", "config"];
const SMTP_KEYS = ["smtp_host", "smtp_port", "smtp_protocol", "smtp_username", "smtp_password", "smtp_tls_verify"];

export interface ParsedProvider {
  fields: ProviderFields;
  secrets: ProviderSecrets | null;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function str(issues: FieldIssue[], body: Record<string, unknown>, key: string, opts: { min?: number; max: number; nullable?: boolean; required?: boolean }): string | null | undefined {
  const v = body[key];
  if (v === undefined) {
    if (opts.required) issues.push({ field: key, code: "invalid_type", message: "required" });
    return undefined;
  }
  if (v === null) {
    if (opts.nullable) return null;
    issues.push({ field: key, code: "invalid_type", message: "must not be null" });
    return undefined;
  }
  if (typeof v !== "string") {
    issues.push({ field: key, code: "invalid_type", message: `expected a string, got ${typeName(v)}` });
    return undefined;
  }
  if (v.length < (opts.min ?? 0)) issues.push({ field: key, code: "too_small", message: `must be at least ${opts.min} character(s)` });
  else if (v.length > opts.max) issues.push({ field: key, code: "too_big", message: `must be at most ${opts.max} characters` });
  else if (/[\r\n\u0000]/.test(v) || !v.isWellFormed()) issues.push({ field: key, code: "invalid_string", message: "must not contain line breaks, NUL or invalid Unicode" });
  else return v;
  return undefined;
}

/** The largest cap (or range bound) for one window: far above any provider's limit, well inside 2^53. */
export const MAX_QUOTA = 1_000_000_000;

/** One cap value: a whole number from 1 to MAX_QUOTA, else an issue naming `field`; undefined when refused. */
function capNumber(issues: FieldIssue[], field: string, v: unknown, what: string): number | undefined {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    issues.push({ field, code: "invalid_type", message: v === undefined ? `required: ${what}` : `expected ${what}; got ${typeof v === "number" ? v : typeName(v)}` });
    return undefined;
  }
  if (v > MAX_QUOTA) {
    issues.push({ field, code: "too_big", message: `must be at most ${MAX_QUOTA} sends per window (got ${v}); leave the cap out (null) for no cap at all` });
    return undefined;
  }
  return v;
}

function quota(issues: FieldIssue[], field: string, v: unknown): QuotaValue | undefined {
  if (v === null) return null;
  if (typeof v === "number") return capNumber(issues, field, v, "a whole number above 0, a {min, max} range, or null");
  if (typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== "min" && k !== "max");
    if (extra.length) issues.push({ field: `${field}.${extra[0]}`, code: "unrecognized_keys", message: "a range takes only min and max" });
    const min = capNumber(issues, `${field}.min`, o.min, "a whole number above 0");
    const max = capNumber(issues, `${field}.max`, o.max, "a whole number above 0");
    if (min !== undefined && max !== undefined && min > max) issues.push({ field, code: "invalid_range", message: `min (${min}) must not be above max (${max})` });
    if (extra.length || min === undefined || max === undefined || min > max) return undefined;
    return { min, max };
  }
  issues.push({ field, code: "invalid_type", message: `expected a whole number above 0, a {min, max} range, or null; got ${typeName(v)}` });
  return undefined;
}

/**
 * smtp_username and smtp_password exist together or not at all (an upstream without AUTH), after
 * a create and after a PATCH alike: the state a PATCH leaves (what it gives, else what is stored)
 * must be one create allows. Removing the credentials takes both as null in one PATCH.
 */
function credentialPair(issues: FieldIssue[], body: Record<string, unknown>, mode: "create" | "update", user: string | null | undefined, pass: string | null | undefined, existing?: ProviderRecord): void {
  // A PATCH that leaves both alone changes nothing here (nor refuses a record saved before this check).
  if (mode === "update" && body.smtp_username === undefined && body.smtp_password === undefined) return;
  const stored = mode === "update" && existing;
  const hasUser = user !== undefined ? user !== null : !!(stored && existing.smtp_username);
  const hasPass = pass !== undefined ? pass !== null : !!(stored && existing.has_smtp_password);
  if (hasUser === hasPass) return;
  const missing = hasUser ? "smtp_password" : "smtp_username";
  const other = hasUser ? "smtp_username" : "smtp_password";
  if (body[missing] === null) {
    const why = body[other] !== undefined ? `${other} is given in the same request` : `the stored ${other} would stay`;
    issues.push({
      field: missing,
      code: "invalid_combination",
      message: `${missing} cannot be removed on its own: ${why}, and smtp_username and smtp_password go together. To remove the credentials (for an upstream without AUTH), send both smtp_username and smtp_password as null; to change ${missing}, send its new value instead of null`,
    });
  } else if (mode === "create") {
    issues.push({ field: missing, code: "invalid_type", message: "smtp_username and smtp_password go together: give both, or neither for an upstream without AUTH" });
  } else {
    issues.push({ field: missing, code: "invalid_type", message: `required with ${other}: this provider has no ${missing} stored, and smtp_username and smtp_password go together; give both in this request` });
  }
}

/**
 * Validates a create (all required fields present) or PATCH body for a provider. Unknown fields
 * are refused, not ignored. Secrets (smtp_password, config) come back apart from the public fields.
 */
export function parseProviderBody(body: Record<string, unknown>, mode: "create" | "update", existing?: ProviderRecord): { ok: true; value: ParsedProvider } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const fields: ProviderFields = {};
  let secrets: ProviderSecrets | null = null;

  let type: ProviderType = existing?.type ?? "smtp";
  if (body.type !== undefined) {
    if (mode === "update" && body.type !== existing?.type) issues.push({ field: "type", code: "immutable", message: "the type of a provider cannot change; create a new provider instead" });
    else if (typeof body.type !== "string" || !CREATABLE_TYPES.includes(body.type as ProviderType)) {
      issues.push({ field: "type", code: "invalid_enum_value", message: `expected one of ${CREATABLE_TYPES.join(", ")}` });
    } else type = body.type as ProviderType;
  }
  if (mode === "create") fields.type = type;

  const allowed = new Set([...COMMON_KEYS, ...(type === "smtp" ? SMTP_KEYS : [])]);
  for (const k of Object.keys(body)) {
    if (!allowed.has(k)) {
      issues.push({ field: k, code: "unrecognized_keys", message: SMTP_KEYS.includes(k) ? `${k} applies only to smtp providers` : `unknown property "${k}"` });
    }
  }

  const name = str(issues, body, "name", { min: 1, max: 255, required: mode === "create" });
  if (typeof name === "string") fields.name = name;

  for (const key of ["from_email", "reply_to_email"] as const) {
    const v = str(issues, body, key, { max: 255, nullable: true });
    if (typeof v === "string") {
      const c = checkAddress(v);
      if (!c.ok) issues.push({ field: key, code: "invalid_string", message: `not a valid email address: ${c.reason}` });
      else fields[key] = c.address;
    } else if (v === null) fields[key] = null;
  }
  for (const key of ["from_name", "reply_to_name", "tracking_domain"] as const) {
    const v = str(issues, body, key, { max: 255, nullable: true });
    if (v !== undefined) fields[key] = v;
  }

  if (body.percentage !== undefined) {
    const p = body.percentage;
    if (p === null) fields.percentage = null;
    else if (typeof p !== "number" || !Number.isInteger(p)) {
      issues.push({ field: "percentage", code: "invalid_type", message: `expected a whole number (a relative routing weight; 0 = never chosen), got ${typeof p === "number" ? p : typeName(p)}` });
    } else if (p < 0) issues.push({ field: "percentage", code: "too_small", message: `must not be negative (got ${p}); 0 means never chosen` });
    else if (p > 1_000_000) issues.push({ field: "percentage", code: "too_big", message: "must be at most 1000000" });
    else fields.percentage = p;
  }

  if (body.quotas !== undefined) {
    const q = body.quotas;
    if (typeof q !== "object" || q === null || Array.isArray(q)) issues.push({ field: "quotas", code: "invalid_type", message: "expected an object with per_second, per_minute, per_hour, per_day" });
    else {
      const out: Partial<Quotas> = {};
      for (const k of Object.keys(q)) {
        if (!(QUOTA_KEYS as readonly string[]).includes(k)) issues.push({ field: `quotas.${k}`, code: "unrecognized_keys", message: `unknown quota window; use ${QUOTA_KEYS.join(", ")}` });
      }
      for (const k of QUOTA_KEYS) {
        const v = (q as Record<string, unknown>)[k];
        if (v === undefined) continue;
        const parsed = quota(issues, `quotas.${k}`, v);
        if (parsed !== undefined) out[k] = parsed;
      }
      fields.quotas = out as Quotas;
    }
  }

  if (type === "smtp" || type === "capture") {
    if (body.config !== undefined) issues.push({ field: "config", code: "unrecognized_keys", message: `${type} providers take no config object` });
  } else if (body.config !== undefined || mode === "create") {
    // PATCH with config replaces the whole config (give it complete); without, it is kept.
    if (body.config === undefined) issues.push({ field: "config", code: "invalid_type", message: `required: the ${type} credentials` });
    else {
      const parsed = parseProviderConfig(type, body.config, issues);
      if (parsed) {
        secrets = { config: parsed.secrets };
        fields.oauth_email = parsed.oauth_email;
        fields.has_refresh_token = parsed.has_refresh_token;
      }
    }
  }

  if (type === "smtp") {
    const host = str(issues, body, "smtp_host", { min: 1, max: 255, required: mode === "create" });
    if (typeof host === "string") {
      if (!/^[A-Za-z0-9.:\[\]-]+$/.test(host)) issues.push({ field: "smtp_host", code: "invalid_string", message: "expected a host name or IP address" });
      else fields.smtp_host = host;
    }
    if (body.smtp_port !== undefined) {
      const p = body.smtp_port;
      if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) issues.push({ field: "smtp_port", code: "invalid_type", message: "expected a port number from 1 to 65535" });
      else fields.smtp_port = p;
    } else if (mode === "create") issues.push({ field: "smtp_port", code: "invalid_type", message: "required" });
    if (body.smtp_protocol !== undefined) {
      if (typeof body.smtp_protocol !== "string" || !PROTOCOLS.includes(body.smtp_protocol as SmtpProtocol)) {
        issues.push({ field: "smtp_protocol", code: "invalid_enum_value", message: `expected one of ${PROTOCOLS.join(", ")} (tls/ssl: TLS from the first byte, usually port 465; starttls: upgrade required, usually 587; none: no TLS)` });
      } else fields.smtp_protocol = body.smtp_protocol as SmtpProtocol;
    } else if (mode === "create") issues.push({ field: "smtp_protocol", code: "invalid_type", message: "required" });
    // EXT: username and password may be left out together, for an upstream that takes mail without AUTH.
    const user = str(issues, body, "smtp_username", { min: 1, max: 255, nullable: true });
    if (user !== undefined) fields.smtp_username = user;
    if (body.smtp_tls_verify !== undefined) {
      if (typeof body.smtp_tls_verify !== "boolean") issues.push({ field: "smtp_tls_verify", code: "invalid_type", message: "expected true or false" });
      else fields.smtp_tls_verify = body.smtp_tls_verify;
    }
    // null is "not given" at create; in a PATCH it removes the stored value (with the username).
    const pass = str(issues, body, "smtp_password", { min: 1, max: 500, nullable: true });
    if (typeof pass === "string") secrets = { smtp_password: pass };
    else if (pass === null && mode === "update") secrets = { smtp_password: null };
    if (!issues.some((i) => i.field === "smtp_username" || i.field === "smtp_password" || (mode === "create" && i.field.startsWith("smtp_")))) {
      credentialPair(issues, body, mode, user, pass, existing);
    }
  }

  if (issues.length) return { ok: false, issues };
  return { ok: true, value: { fields, secrets } };
}

/** The documented ProviderItem, plus EXT `type: capture`. Credentials never appear here. */
export function providerItem(p: ProviderRecord) {
  const editable = !p.is_shared;
  return {
    id: p.id,
    name: p.name,
    type: p.type,
    status: p.status,
    status_reason: p.status_reason,
    is_active: p.status === "active",
    is_shared: p.is_shared,
    is_editable: editable,
    allowed_actions: {
      update: editable,
      delete: editable,
      activate: p.status !== "active",
      deactivate: p.status === "active",
      test: editable,
    },
    smtp_host: p.smtp_host,
    smtp_port: p.smtp_port,
    smtp_protocol: p.smtp_protocol,
    smtp_username: p.smtp_username,
    smtp_tls_verify: p.type === "smtp" ? p.smtp_tls_verify !== false : null,
    has_smtp_password: p.has_smtp_password,
    from_email: p.from_email,
    from_name: p.from_name,
    reply_to_email: p.reply_to_email,
    reply_to_name: p.reply_to_name,
    oauth_email: p.oauth_email ?? null,
    has_refresh_token: p.has_refresh_token ?? false,
    quotas: {
      per_second: asRange(p.quotas.per_second),
      per_minute: asRange(p.quotas.per_minute),
      per_hour: asRange(p.quotas.per_hour),
      per_day: asRange(p.quotas.per_day),
    },
    percentage: p.percentage,
    tracking_domain: p.tracking_domain,
    created_at: p.created_at,
    updated_at: p.updated_at,
    last_tested_at: p.last_tested_at,
    last_used_at: p.last_used_at,
  };
}

/** The documents return every quota as a {min, max} range (or null); a fixed cap N is {N, N}. */
export function asRange(q: QuotaValue): { min: number; max: number } | null {
  if (q === null || q === undefined) return null;
  return typeof q === "number" ? { min: q, max: q } : q;
}
