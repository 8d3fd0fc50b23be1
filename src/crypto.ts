import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API keys are stored only as SHA-256 digests. The tokens carry 240 bits of randomness, so a fast
 * hash is enough (no password stretching needed) and lookups stay O(1).
 */
export function hashApiKey(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/**
 * Provider credentials are sealed with AES-256-GCM under the gateway's secret key before they are
 * written to Redis. Format: "v1:" + base64(iv[12] | tag[16] | ciphertext). The provider id is bound
 * as additional authenticated data, so a sealed blob copied onto another provider does not open.
 */
export class SecretBox {
  private readonly key: Buffer;
  constructor(secretKey: Buffer) {
    if (secretKey.length !== 32) throw new Error("secret key must be 32 bytes");
    this.key = secretKey;
  }

  seal(plain: unknown, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.key, iv);
    c.setAAD(Buffer.from(aad, "utf8"));
    const body = Buffer.concat([c.update(JSON.stringify(plain), "utf8"), c.final()]);
    return "v1:" + Buffer.concat([iv, c.getAuthTag(), body]).toString("base64");
  }

  open<T = unknown>(sealed: string, aad: string): T {
    if (!sealed.startsWith("v1:")) throw new Error("unknown sealed format");
    const raw = Buffer.from(sealed.slice(3), "base64");
    const d = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(aad, "utf8"));
    d.setAuthTag(raw.subarray(12, 28));
    const plain = Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
    return JSON.parse(plain) as T;
  }
}
