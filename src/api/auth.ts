import type { Gateway } from "../gateway.ts";
import type { KeyContext } from "../types.ts";
import { ApiError } from "./errors.ts";
import { requestRate, type RateInfo } from "../ratelimit.ts";

/** The API key from `Authorization: Bearer smx_…`, resolved to its account and scope. */
/** Requests already authenticated (and counted): a second call for the same request is free. */
export const requestKey = new WeakMap<Request, KeyContext>();

export async function authenticate(gw: Gateway, request: Request): Promise<KeyContext> {
  const known = requestKey.get(request);
  if (known) return known;
  const h = request.headers.get("authorization");
  if (!h) throw new ApiError("authentication_required", "missing Authorization header; send `Authorization: Bearer smx_…` with an API key");
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new ApiError("authentication_required", "the Authorization header must be `Bearer smx_…`");
  let ctx: KeyContext | null;
  try {
    ctx = await gw.keys.authenticate(m[1]!);
  } catch (e) {
    throw storageUnavailable(e);
  }
  if (!ctx) throw new ApiError("authentication_required", "the API key is not valid (unknown or revoked)");
  let suspended;
  try {
    suspended = await gw.accounts.suspended(ctx.accountId);
  } catch (e) {
    throw storageUnavailable(e);
  }
  if (suspended) throw suspendedError(suspended.id, suspended.status_reason ?? null);
  // SPEC "Rate limit": every request with a key counts, HTTP and SMTP together; a batch is one.
  let rate: RateInfo;
  try {
    rate = await gw.limiter.take(ctx.keyId);
  } catch (e) {
    throw storageUnavailable(e);
  }
  requestRate.set(request, rate);
  requestKey.set(request, ctx);
  gw.keys.touch(ctx);
  if (!rate.allowed) {
    throw new ApiError("rate_limit_exceeded", `this API key made ${rate.limit} requests in the last 60 seconds (its limit, shared by HTTP and SMTP); retry in ${Math.max(1, rate.resetSec)} s`, {
      retryable: true,
      retryAfter: Math.max(1, rate.resetSec),
    });
  }
  return ctx;
}

/** 403 for every key of an account the operator suspended. */
export function suspendedError(accountId: string, reason: string | null): ApiError {
  return new ApiError(
    "insufficient_permissions",
    `account ${accountId} is suspended by the operator of this gateway${reason ? ` (${reason})` : ""}; its API keys cannot be used until the operator unsuspends it`,
  );
}

export function requireFull(ctx: KeyContext): void {
  if (ctx.permission !== "full") {
    throw new ApiError("insufficient_permissions", "this endpoint needs a key with permission `full`; this key has `send`");
  }
}

export function storageUnavailable(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError("service_unavailable", "the message store (Redis) is not answering; nothing was accepted, retry shortly", { retryAfter: 5 });
}
