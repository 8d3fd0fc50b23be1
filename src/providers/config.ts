import { createPrivateKey } from "node:crypto";
import { checkAddress } from "../api/emails/address.ts";
import type { FieldIssue } from "../api/errors.ts";
import type { ProviderType } from "../types.ts";

/**
 * The `config` object of the non-SMTP provider types (SPEC "Managing"): credentials and endpoint
 * overrides. The whole object is write-only and sealed at rest; only `oauth_email` (the mailbox a
 * Google or Microsoft provider sends as) and `has_refresh_token` are shown.
 */
export interface ParsedConfig {
  secrets: Record<string, unknown>;
  oauth_email: string | null;
  has_refresh_token: boolean;
}

const SPECS: Record<string, { required: string[][]; optional: string[]; urls: string[] }> = {
  gmail_api: {
    // Either an OAuth client with a refresh token, or a service account impersonating a user.
    required: [["client_id", "client_secret", "refresh_token"], ["service_account_json", "impersonate"]],
    optional: ["api_base_url", "token_url"],
    urls: ["api_base_url", "token_url"],
  },
  outlook_api: { required: [["tenant_id", "client_id", "client_secret", "sender"]], optional: ["graph_base_url", "authority_url"], urls: ["graph_base_url", "authority_url"] },
  amazon_ses: { required: [["region", "access_key_id", "secret_access_key"]], optional: ["endpoint"], urls: ["endpoint"] },
};

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** https anywhere; plain http only to this machine (local test servers). */
function checkUrl(v: string): string | null {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return "expected an absolute URL like https://example.com/";
  }
  if (u.protocol === "https:") return null;
  if (u.protocol === "http:" && LOOPBACK.test(u.hostname)) return null;
  return "expected an https:// URL (http:// only for localhost or 127.0.0.1)";
}

/**
 * Why a service account's private_key cannot be used to sign Google's grant (RS256), or null.
 * Parsed here, at create and PATCH, so that a damaged key is refused at once instead of failing
 * every send later. The message names the parser's code only, never any of the key.
 */
function privateKeyProblem(pem: string): string | null {
  const fix = "paste the key file's private_key unchanged, from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY----- with its line breaks (\\n in JSON), or create a new key for the service account in the Google Cloud console";
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "rsa") return `is a ${key.asymmetricKeyType ?? "non-RSA"} key, but a Google service account key is an RSA key: ${fix}`;
    return null;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return `the private key cannot be read${typeof code === "string" ? ` (${code})` : ""}: ${fix}`;
  }
}

export function parseProviderConfig(type: ProviderType, config: unknown, issues: FieldIssue[]): ParsedConfig | null {
  const spec = SPECS[type];
  if (!spec) {
    issues.push({ field: "config", code: "unrecognized_keys", message: `${type} providers take no config object` });
    return null;
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    issues.push({ field: "config", code: "invalid_type", message: `expected an object with ${spec.required.map((g) => g.join(", ")).join(" — or — ")}` });
    return null;
  }
  const c = config as Record<string, unknown>;
  const before = issues.length;
  const known = new Set([...spec.required.flat(), ...spec.optional]);
  for (const k of Object.keys(c)) if (!known.has(k)) issues.push({ field: `config.${k}`, code: "unrecognized_keys", message: `unknown property "${k}"; ${type} takes ${[...known].join(", ")}` });
  // Pick the credential set whose first field is present (or the first one, to report what is missing).
  const group = spec.required.find((g) => c[g[0]!] !== undefined) ?? spec.required[0]!;
  for (const g of spec.required) {
    if (g === group) continue;
    for (const k of g) if (c[k] !== undefined) issues.push({ field: `config.${k}`, code: "invalid_combination", message: `give either ${spec.required.map((x) => x.join(" + ")).join(" or ")}, not parts of both` });
  }
  const secrets: Record<string, unknown> = {};
  for (const k of [...group, ...spec.optional]) {
    const v = c[k];
    if (v === undefined) {
      if (group.includes(k)) issues.push({ field: `config.${k}`, code: "invalid_type", message: "required" });
      continue;
    }
    if (k === "service_account_json") {
      let sa: unknown = v;
      if (typeof v === "string") {
        try {
          sa = JSON.parse(v);
        } catch {
          issues.push({ field: `config.${k}`, code: "invalid_string", message: "not valid JSON; paste the service account key file's contents" });
          continue;
        }
      }
      const o = sa as Record<string, unknown> | null;
      if (!o || typeof o !== "object" || typeof o.client_email !== "string" || typeof o.private_key !== "string") {
        issues.push({ field: `config.${k}`, code: "invalid_type", message: "expected a service account key (JSON with client_email and private_key)" });
        continue;
      }
      const keyProblem = privateKeyProblem(o.private_key);
      if (keyProblem) {
        issues.push({ field: `config.${k}.private_key`, code: "invalid_string", message: keyProblem });
        continue;
      }
      secrets[k] = { client_email: o.client_email, private_key: o.private_key, private_key_id: typeof o.private_key_id === "string" ? o.private_key_id : undefined };
      continue;
    }
    if (typeof v !== "string" || v.length === 0 || v.length > 4096 || /[\r\n\u0000]/.test(v)) {
      issues.push({ field: `config.${k}`, code: "invalid_type", message: "expected a non-empty string without line breaks (at most 4096 characters)" });
      continue;
    }
    if (spec.urls.includes(k)) {
      const bad = checkUrl(v);
      if (bad) {
        issues.push({ field: `config.${k}`, code: "invalid_string", message: bad });
        continue;
      }
    }
    if (k === "impersonate" || k === "sender") {
      const a = checkAddress(v);
      if (!a.ok) {
        issues.push({ field: `config.${k}`, code: "invalid_string", message: `not a valid email address: ${a.reason}` });
        continue;
      }
      secrets[k] = a.address;
      continue;
    }
    if (k === "region" && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(v)) {
      issues.push({ field: `config.${k}`, code: "invalid_string", message: "expected an AWS region like us-east-1 or eu-west-1" });
      continue;
    }
    secrets[k] = v;
  }
  if (issues.length !== before) return null;
  return {
    secrets,
    oauth_email: (secrets.impersonate as string | undefined) ?? (secrets.sender as string | undefined) ?? null,
    has_refresh_token: typeof secrets.refresh_token === "string",
  };
}
