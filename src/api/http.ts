import type { Context } from "elysia";
import { ApiError } from "./errors.ts";

type SetLike = Context["set"];

export function requestIdOf(set: SetLike): string {
  return String(set.headers["x-request-id"] ?? "");
}

/** A JSON response with the conventions every API response follows. */
export function json(set: SetLike, status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-request-id": requestIdOf(set),
      ...headers,
    },
  });
}

export function ok(set: SetLike, data: unknown, status = 200, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Response {
  return json(set, status, { ok: true, data, ...extra, meta: { request_id: requestIdOf(set) } }, headers);
}

export function errorResponse(set: SetLike, err: ApiError): Response {
  const headers: Record<string, string> = { ...(err.opts.headers ?? {}) };
  if (err.opts.retryAfter !== undefined) headers["retry-after"] = String(err.opts.retryAfter);
  return json(set, err.status, err.body(requestIdOf(set)), headers);
}

export function weakEtag(v: unknown): string {
  return `W/"${Bun.hash(JSON.stringify(v)).toString(36)}"`;
}

/**
 * Whether If-None-Match names the current representation (RFC 9110 §13.1.2): `*` always does,
 * and tags are compared weakly (§8.8.3.2), so W/"x" and "x" are the same.
 */
export function ifNoneMatchHits(inm: string | null, tag: string): boolean {
  if (!inm) return false;
  if (inm.trim() === "*") return true;
  const bare = tag.replace(/^W\//, "");
  return inm.split(",").some((t) => t.trim().replace(/^W\//, "") === bare);
}

/**
 * Weak ETag of a JSON body, and 304 when the client already has it. `tagOf` is what the tag
 * covers when part of the body is a live reading (a provider's usage counters) that should not
 * make every ETag stale.
 */
export function withEtag(request: Request, set: SetLike, data: unknown, tagOf: unknown = data): Response {
  const body = { ok: true, data, meta: { request_id: requestIdOf(set) } };
  const tag = weakEtag(tagOf);
  if (ifNoneMatchHits(request.headers.get("if-none-match"), tag)) {
    return new Response(null, { status: 304, headers: { etag: tag, "x-request-id": requestIdOf(set), "cache-control": "no-store" } });
  }
  return json(set, 200, body, { etag: tag });
}

/** A whole-number query parameter in [min, max] (default when absent), else 400 naming it. */
export function intParam(v: string | undefined, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined || v === "") return dflt;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ApiError("invalid_parameter", `${name} must be a whole number from ${min} to ${max}`, { param: name });
  }
  return Number(v);
}

/**
 * The `pagination` member of a list answer, as the Management API document's CursorPagination
 * says: `next_cursor` (a string) only when there is a next page; left out, never null, otherwise.
 */
export function cursorPagination(next: string | null | undefined): { has_more: boolean; next_cursor?: string } {
  return next ? { has_more: true, next_cursor: next } : { has_more: false };
}
