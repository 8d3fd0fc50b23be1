import { createHash } from "node:crypto";
import { ApiError } from "./api/errors.ts";
import type { SecretBox } from "./crypto.ts";
import { K } from "./store/keys.ts";
import type { IdempotencyCompletion } from "./store/messages.ts";
import type { SendmuxRedis } from "./store/redis.ts";

/** SPEC: an Idempotency-Key is kept 24 h per account + endpoint + key. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** A claim whose request never finished (the gateway died) frees the key after this long. */
export const IDEMPOTENCY_PENDING_MS = 60_000;

/** JSON with object keys sorted at every level: equal bodies get equal fingerprints. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

export function fingerprint(parts: Array<string | Uint8Array>): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** The Idempotency-Key header, checked: at most 255 printable ASCII characters. */
export function idempotencyKeyOf(headers: Headers): string | null {
  const v = headers.get("idempotency-key");
  if (v === null) return null;
  if (v.length === 0 || v.length > 255 || !/^[\x21-\x7e]+$/.test(v)) {
    throw new ApiError("invalid_parameter", "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces", { param: "Idempotency-Key" });
  }
  return v;
}

export type Claim =
  | { kind: "new"; key: string; fp: string }
  | { kind: "replay"; status: number; body: string }
  | { kind: "conflict" }
  | { kind: "inflight"; retryAfterSec: number };

/**
 * Idempotency records, one per account + endpoint + key. The first answer is kept for replay
 * sealed with the gateway's secret key (AAD: the record's key): some answers carry a secret
 * shown once (a new API key's token, a webhook's signing secret), and nothing secret is kept in
 * Redis, or its append-only file, in the clear.
 */
export class IdempotencyStore {
  constructor(
    private readonly redis: SendmuxRedis,
    private readonly box: SecretBox,
  ) {}

  recordKey(accountId: string, endpoint: string, key: string): string {
    return K.idempotency(accountId, endpoint, fingerprint([key]).slice(0, 32));
  }

  async claim(accountId: string, endpoint: string, key: string, fp: string): Promise<Claim> {
    const rk = this.recordKey(accountId, endpoint, key);
    const r = await this.redis.claimIdempotency_v1(rk, fp, IDEMPOTENCY_PENDING_MS);
    switch (r[0]) {
      case "new":
        return { kind: "new", key: rk, fp };
      case "replay":
        return { kind: "replay", status: Number(r[1]), body: this.box.open<string>(String(r[2]), rk) };
      case "conflict":
        return { kind: "conflict" };
      default:
        // Most requests finish in milliseconds: retry soon rather than after the claim's 60 s lifetime.
        return { kind: "inflight", retryAfterSec: 1 };
    }
  }

  async complete(claim: { key: string; fp: string }, status: number, body: string): Promise<void> {
    await this.redis.finishIdempotency_v1(claim.key, claim.fp, "done", String(status), this.box.seal(body, claim.key), IDEMPOTENCY_TTL_MS);
  }

  async release(claim: { key: string; fp: string }): Promise<void> {
    await this.redis.finishIdempotency_v1(claim.key, claim.fp, "release", "", "", 0).catch(() => 0);
  }

  completion(claim: { key: string; fp: string }, status: number, body: string): IdempotencyCompletion {
    return { key: claim.key, fp: claim.fp, status, body: this.box.seal(body, claim.key), ttlMs: IDEMPOTENCY_TTL_MS };
  }
}

/** The 409 answers of SPEC "Conventions". */
export function conflictError(claim: Claim): ApiError {
  if (claim.kind === "inflight") {
    return new ApiError("idempotency_conflict", "a request with this Idempotency-Key is still being processed; retry after it finishes", {
      retryable: true,
      retryAfter: claim.retryAfterSec,
    });
  }
  return new ApiError("idempotency_conflict", "this Idempotency-Key was already used with a different request body; use a new key for a new request", {
    retryable: false,
    param: "Idempotency-Key",
  });
}
