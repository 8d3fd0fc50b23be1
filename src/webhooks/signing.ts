import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Signing of webhook requests. The reference document says only "HMAC-SHA256"; the header and what
 * is signed follow Stripe's well-known scheme, and the Standard Webhooks headers are sent as well so
 * off-the-shelf verifiers (svix, standardwebhooks) work unchanged:
 *
 * - `X-Sendmux-Signature: t=<unix seconds>,v1=<hex>` where hex = HMAC-SHA256(key = the secret
 *   exactly as returned, "whsec_…" included, as UTF-8; message = `<t>.<raw body>`).
 * - `webhook-id: <event id>`, `webhook-timestamp: <t>`, `webhook-signature: v1,<base64>` where
 *   base64 = HMAC-SHA256(key = base64-decoded part after "whsec_"; message = `<id>.<t>.<raw body>`).
 *
 * Both are computed over the raw bytes sent; receivers must verify before parsing the JSON.
 */
export const SIGNATURE_HEADER = "X-Sendmux-Signature";

/** A new signing secret: "whsec_" + base64 of 32 random bytes (the Standard Webhooks form). */
export function newSigningSecret(): string {
  return "whsec_" + randomBytes(32).toString("base64");
}

export interface SignedHeaders {
  "X-Sendmux-Signature": string;
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

export function sendmuxSignature(secret: string, t: number, body: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(`${t}.${body}`, "utf8").digest("hex");
}

export function standardSignature(secret: string, id: string, t: number, body: string): string {
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
  return createHmac("sha256", key).update(`${id}.${t}.${body}`, "utf8").digest("base64");
}

/** The signature headers of one request; `t` is whole seconds since the epoch. */
export function signRequest(secret: string, eventId: string, t: number, body: string): SignedHeaders {
  return {
    "X-Sendmux-Signature": `t=${t},v1=${sendmuxSignature(secret, t, body)}`,
    "webhook-id": eventId,
    "webhook-timestamp": String(t),
    "webhook-signature": `v1,${standardSignature(secret, eventId, t, body)}`,
  };
}

/**
 * Checks an `X-Sendmux-Signature` header against a raw body (what a receiver does; used by the
 * tests and shown in docs/webhooks.md). `toleranceSec` bounds the age of `t` against `nowSec`.
 */
export function verifySendmuxSignature(secret: string, header: string | null, body: string, nowSec: number, toleranceSec = 300): boolean {
  if (!header) return false;
  let t = NaN;
  const sigs: string[] = [];
  for (const part of header.split(",")) {
    const [k, v] = part.split("=", 2);
    if (k?.trim() === "t") t = Number(v);
    else if (k?.trim() === "v1" && v) sigs.push(v.trim());
  }
  if (!Number.isInteger(t) || Math.abs(nowSec - t) > toleranceSec) return false;
  const want = Buffer.from(sendmuxSignature(secret, t, body), "hex");
  return sigs.some((s) => {
    const got = Buffer.from(s, "hex");
    return got.length === want.length && timingSafeEqual(got, want);
  });
}
