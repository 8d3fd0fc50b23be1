import nodemailer from "nodemailer";
import type { TestGateway } from "./gateway.ts";

import { CASES_DIR, caseBytes as readCase } from "./cases.ts";
export { CASES_DIR };

export async function caseBytes(name: string): Promise<Buffer> {
  return readCase(name);
}

/** Creates a provider through the API with the bootstrap key; returns its id (throws on non-201). */
export async function createProvider(g: TestGateway, body: Record<string, unknown>): Promise<string> {
  const r = await g.api("POST", "/api/v1/providers", body);
  if (r.status !== 201) throw new Error(`creating a provider failed: ${r.status} ${r.text}`);
  return r.json.data.id as string;
}

/** An smtp provider pointed at a local sink (self-signed TLS, so verification is off). */
export async function createSmtpProvider(g: TestGateway, port: number, extra: Record<string, unknown> = {}): Promise<string> {
  return createProvider(g, {
    name: `sink ${port}`,
    smtp_host: "127.0.0.1",
    smtp_port: port,
    smtp_protocol: "starttls",
    smtp_username: "gateway-user",
    smtp_password: "gateway-pass",
    smtp_tls_verify: false,
    ...extra,
  });
}

/** A new API key whose scope is exactly these providers; returns its token. */
export async function scopedKey(g: TestGateway, providers: string[], permission: "send" | "full" = "send"): Promise<string> {
  const r = await g.api("POST", "/api/v1/api-keys", { name: `scoped ${providers.join(",")}`, permission, scope: { type: "specific", providers } });
  if (r.status !== 201) throw new Error(`creating a key failed: ${r.status} ${r.text}`);
  return r.json.data.token as string;
}

/** POST /emails/send with another key; `body` may be raw bytes (sent as they are). */
export function sendWith(g: TestGateway, token: string, body: unknown) {
  return g.api("POST", "/api/v1/emails/send", body, { authorization: `Bearer ${token}` });
}

/**
 * Submits raw bytes through the relay's STARTTLS port with `token` as the AUTH password.
 * Returns the end-of-DATA reply, or the error's response when the relay refused.
 */
export async function relaySubmit(g: TestGateway, token: string, raw: Buffer, envelope: { from: string; to: string[] }): Promise<{ ok: boolean; response: string; id: string | null }> {
  const t = nodemailer.createTransport({ host: "127.0.0.1", port: g.smtpPort, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: "ignored", pass: token } });
  try {
    const info = await t.sendMail({ envelope, raw });
    const response = String(info.response);
    return { ok: true, response, id: /queued as (eml_[a-z0-9]+)/.exec(response)?.[1] ?? null };
  } catch (e) {
    const err = e as { response?: string; message: string };
    return { ok: false, response: err.response ?? err.message, id: null };
  } finally {
    t.close();
  }
}
