import type { Context } from "elysia";
import type { Gateway } from "../gateway.ts";
import { canonicalJson, conflictError, fingerprint, idempotencyKeyOf, type Claim } from "../idempotency.ts";
import { requestRate } from "../ratelimit.ts";
import type { KeyContext } from "../types.ts";
import { authenticate, requestKey, storageUnavailable } from "./auth.ts";
import { readBodyBytes } from "./body.ts";
import { requestIdOf } from "./http.ts";

type Ctx = Pick<Context, "request" | "set">;
export type NewClaim = Extract<Claim, { kind: "new" }>;

/** The first response, byte for byte with its status, answered again for a replay. */
function replay(set: Ctx["set"], status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-request-id": requestIdOf(set),
      "idempotent-replayed": "true",
    },
  });
}

/**
 * SPEC "Conventions": Idempotency-Key on a mutating POST. Per account + endpoint + key for 24 h:
 * the same body replays the first response (same status, same bytes); another body is 409
 * `idempotency_conflict` (not retryable); the first request still running is 409 retryable with
 * Retry-After; a request that ends in an error releases the key. `run` gets the claim (null
 * without a key) and may complete it itself in the same Redis step as its writes (the sends do);
 * otherwise a 2xx response is stored here when it is done.
 */
export async function idempotent(
  gw: Gateway,
  c: Ctx,
  ctx: KeyContext,
  endpoint: string,
  body: unknown,
  run: (claim: NewClaim | null) => Promise<Response>,
): Promise<Response> {
  const key = idempotencyKeyOf(c.request.headers);
  if (!key) return run(null);
  let claim: Claim;
  try {
    claim = await gw.idempotency.claim(ctx.accountId, endpoint, key, fingerprint([canonicalJson(body)]));
  } catch (e) {
    throw storageUnavailable(e);
  }
  if (claim.kind === "replay") return replay(c.set, claim.status, claim.body);
  if (claim.kind !== "new") throw conflictError(claim);
  let res: Response;
  try {
    res = await run(claim);
  } catch (e) {
    await gw.idempotency.release(claim);
    throw e;
  }
  if (res.status >= 200 && res.status < 300) await gw.idempotency.complete(claim, res.status, await res.clone().text());
  else await gw.idempotency.release(claim);
  return res;
}

/**
 * The same for a handler that reads its own body (management POSTs): the body is read once here
 * (25 MB limit), fingerprinted, and handed to the handler in a fresh Request.
 */
/** What the wrapped handlers use of Elysia's context. */
export type RouteCtx = Ctx & { params: Record<string, string> };

export function idempotentRoute(gw: Gateway, handler: (c: RouteCtx) => Promise<Response>) {
  return async (c: RouteCtx): Promise<Response> => {
    if (c.request.headers.get("idempotency-key") === null) return handler(c);
    const ctx = await authenticate(gw, c.request);
    const bytes = await readBodyBytes(c.request);
    // A JSON body is fingerprinted by its canonical form; anything else (an uploaded file) by its
    // bytes, so two different files never share a fingerprint. The query string counts too.
    let parsed: unknown = null;
    if (bytes.byteLength) {
      try {
        parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
      } catch {
        parsed = { bytes_sha256: fingerprint([bytes]) };
      }
    }
    parsed = { query: new URL(c.request.url).search, body: parsed };
    const inner = new Request(c.request.url, { method: c.request.method, headers: c.request.headers, body: bytes.byteLength ? (bytes as unknown as BodyInit) : undefined });
    requestKey.set(inner, ctx);
    const rate = requestRate.get(c.request);
    if (rate) requestRate.set(inner, rate);
    const endpoint = `${c.request.method} ${new URL(c.request.url).pathname}`;
    return idempotent(gw, c, ctx, endpoint, parsed, () => handler({ ...c, request: inner }));
  };
}
