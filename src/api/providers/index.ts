import { Elysia } from "elysia";
import { idempotentRoute } from "../idempotent.ts";
import type { Gateway } from "../../gateway.ts";
import type { ShardPool } from "../../dispatch/pool.ts";
import type { ProviderRecord, ProviderStatus } from "../../types.ts";
import type { Health } from "../../routing/circuit.ts";
import { authenticate, requireFull } from "../auth.ts";
import { readJsonObject } from "../body.ts";
import { ApiError, validationError } from "../errors.ts";
import { cursorPagination, intParam, json, ok, weakEtag, withEtag } from "../http.ts";
import { asRange, providerItem, parseProviderBody } from "./model.ts";
import { effectiveQuotas } from "../../routing/windows.ts";
import { withGroupLock } from "../groups/service.ts";
import { storeReading } from "../../providers/ses-account.ts";

const STATUSES: ProviderStatus[] = ["active", "inactive", "error", "pending"];
const TYPES = ["smtp", "gmail_api", "outlook_api", "amazon_ses", "capture"];

function listCursor(p: ProviderRecord): string {
  return Buffer.from(`${p.created_at}|${p.id}`, "utf8").toString("base64url");
}

function parseListCursor(c: string): { created_at: string; id: string } | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(c)) return null;
  const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|(dprov_[a-z0-9]{24})$/.exec(Buffer.from(c, "base64url").toString("utf8"));
  return m ? { created_at: m[1]!, id: m[2]! } : null;
}

/** EXT `health` of a provider: its circuit state, as routing sees it now. */
export function healthView(h: Health) {
  return { state: h.state, reason: h.reason, class: h.cls, until: h.until ? new Date(h.until).toISOString() : null, recent_failures: h.recent_failures };
}

/** The caps routing applies (set ones, else the type's defaults), in the response form of `quotas`. */
function inForce(p: ProviderRecord) {
  const q = effectiveQuotas(p.type, p.quotas, p.detected_quotas);
  return { per_second: asRange(q.per_second), per_minute: asRange(q.per_minute), per_hour: asRange(q.per_hour), per_day: asRange(q.per_day) };
}

/** The ETag covers the stored provider and its health, not the live usage counters or last use. */
function tagged(v: { usage: unknown; last_used_at: unknown }): unknown {
  const { usage: _usage, last_used_at: _used, ...rest } = v;
  return rest;
}

export function providerRoutes(gw: Gateway, pool: ShardPool | null) {
  async function load(request: Request, id: string): Promise<{ p: ProviderRecord; accountId: string }> {
    const ctx = await authenticate(gw, request);
    requireFull(ctx);
    const p = await gw.providers.get(ctx.accountId, id);
    if (!p) throw new ApiError("not_found", `provider ${id} was not found`);
    return { p, accountId: ctx.accountId };
  }
  /**
   * The documented item plus EXT `health` and `usage` (sends counted in the current windows), as
   * `accountId` may see it. The managed route is shared by every account: an account sees its own
   * sends of the current UTC day and nothing of the others' (the shorter windows are counted for
   * the route as a whole, so they are null here), and its health without the upstream's reply
   * text, which can name another account's sender or recipients.
   */
  async function view(p: ProviderRecord, accountId: string) {
    const usage = p.is_shared
      ? gw.caps.sharedSentToday(p.id, accountId).then((day) => ({ second: null, minute: null, hour: null, day }))
      : gw.caps.usage(p.id);
    const [rec, health, used] = await Promise.all([gw.providers.withStamps(p), gw.circuit.get(p.id), usage]);
    const h = healthView(health);
    if (p.is_shared && h.reason) h.reason = `the managed route is ${h.state} (${h.class ?? "provider fault"}); the upstream's reply is in the operator's log`;
    return { ...providerItem(rec), quotas_in_force: inForce(p), health: h, usage: used };
  }
  const closeWarm = (id: string) => pool?.close(id).catch(() => {});
  const readingDeps = { redis: gw.redis, now: () => gw.clock.now(), invalidate: (a: string) => gw.providers.invalidate(a) };
  /**
   * amazon_ses: read GetAccount in the background when the provider is created or its config
   * changes, so the default caps follow the account's quota from the first send (the worker reads
   * it again hourly while the provider sends; /test reads it too).
   */
  const readAccount = (rec: ProviderRecord) => {
    if (rec.type !== "amazon_ses" || !pool) return;
    const secrets = gw.providers.secretsOf(rec);
    void pool
      .verify({ record: rec, secrets })
      .then((r) => storeReading(readingDeps, rec, secrets, r.detected_quotas))
      .catch(() => {});
  };

  return new Elysia()
    .get("/providers", async ({ request, set, query }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      const limit = intParam(query.limit, "limit", 50, 1, 100);
      if (query.status !== undefined && !STATUSES.includes(query.status as ProviderStatus)) {
        throw new ApiError("invalid_parameter", `status must be one of ${STATUSES.join(", ")}`, { param: "status" });
      }
      if (query.type !== undefined && !TYPES.includes(query.type)) throw new ApiError("invalid_parameter", `type must be one of ${TYPES.join(", ")}`, { param: "type" });
      let all = await gw.providers.list(ctx.accountId);
      if (query.status) all = all.filter((p) => p.status === query.status);
      if (query.type) all = all.filter((p) => p.type === query.type);
      // The cursor is the sort key (created_at, id) of the last item returned, so providers
      // created or deleted while a client pages never shift the pages it has not read yet.
      if (query.cursor) {
        const after = parseListCursor(query.cursor);
        if (!after) throw new ApiError("invalid_parameter", "cursor is not a next_cursor from this listing", { param: "cursor" });
        all = all.filter((p) => p.created_at > after.created_at || (p.created_at === after.created_at && p.id > after.id));
      }
      const page = all.slice(0, limit);
      const next = all.length > limit ? listCursor(page[page.length - 1]!) : null;
      return ok(set, await Promise.all(page.map((p) => view(p, ctx.accountId))), 200, {}, { pagination: cursorPagination(next) });
    })
    .post(
      "/providers",
      idempotentRoute(gw, async ({ request, set }) => {
        const ctx = await authenticate(gw, request);
        requireFull(ctx);
        const body = await readJsonObject(request);
        const r = parseProviderBody(body, "create");
        if (!r.ok) throw validationError(r.issues);
        const rec = await gw.providers.create(ctx.accountId, r.value.fields as Parameters<typeof gw.providers.create>[1], r.value.secrets);
        readAccount(rec);
        return ok(set, await view(rec, ctx.accountId), 201, { location: `/api/v1/providers/${rec.id}` });
      }),
      { parse: "none" },
    )
    .get("/providers/:id", async ({ request, set, params }) => {
      const { p, accountId } = await load(request, params.id);
      const v = await view(p, accountId);
      return withEtag(request, set, v, tagged(v));
    })
    .patch(
      "/providers/:id",
      async ({ request, set, params }) => {
        const { p, accountId } = await load(request, params.id);
        if (p.is_shared) throw new ApiError("validation_error", "the shared managed route cannot be edited; use activate or deactivate", { param: "id" });
        const ifMatch = request.headers.get("if-match");
        if (ifMatch && ifMatch.trim() !== "*") {
          const cur = weakEtag(tagged(await view(p, accountId)));
          const given = ifMatch.split(",").map((t) => t.trim());
          if (!given.includes(cur!)) throw new ApiError("conflict", "the provider changed since your GET (If-Match does not match its ETag); fetch it again and retry with the new ETag");
        }
        const body = await readJsonObject(request);
        const r = parseProviderBody(body, "update", p);
        if (!r.ok) throw validationError(r.issues);
        const rec = await gw.providers.update(accountId, p.id, r.value.fields, r.value.secrets);
        if (!rec) throw new ApiError("not_found", `provider ${params.id} was not found`);
        void closeWarm(p.id);
        if (r.value.secrets) readAccount(rec);
        // New caps, weights or status apply at once to waiting messages (ProviderStore wakes them).
        return ok(set, await view(rec, accountId));
      },
      { parse: "none" },
    )
    .delete("/providers/:id", async ({ request, set, params }) => {
      const { p, accountId } = await load(request, params.id);
      if (p.is_shared) throw new ApiError("validation_error", "the shared managed route cannot be deleted", { param: "id" });
      // A deleted provider leaves every group it was in (under the group lock, so a concurrent
      // group edit cannot put it back).
      await withGroupLock(accountId, async () => {
        await gw.providers.remove(accountId, p.id);
        await gw.groups.dropProvider(accountId, p.id);
      });
      if (p.type === "capture") await gw.outbox.clear(accountId, p.id);
      void closeWarm(p.id);
      return ok(set, { id: p.id, deleted: true });
    })
    .post(
      "/providers/:id/activate",
      idempotentRoute(gw, async ({ request, set, params }) => {
        const { p, accountId } = await load(request, params.id);
        if (p.is_shared) {
          // The managed route: only this account's own switch; its circuit is the operator's.
          await gw.managed.setAccountStatus(accountId, "active", null);
          return ok(set, await view((await gw.providers.get(accountId, p.id))!, accountId));
        }
        // Back into rotation: also clears a pause or an auth/config disable of the circuit.
        const h = await gw.circuit.get(p.id);
        await gw.circuit.reset(p.id);
        if (h.state !== "ok" || p.status !== "active") void gw.events.emit(accountId, "provider.resumed", { provider_id: p.id, how: "activated" }).catch(() => {});
        const rec = await gw.providers.update(accountId, p.id, { status: "active", status_reason: null }, null);
        return ok(set, await view(rec!, accountId));
      }),
      { parse: "none" },
    )
    .post(
      "/providers/:id/deactivate",
      idempotentRoute(gw, async ({ request, set, params }) => {
        const { p, accountId } = await load(request, params.id);
        if (p.is_shared) {
          await gw.managed.setAccountStatus(accountId, "inactive", "deactivated by this account through the API");
          return ok(set, await view((await gw.providers.get(accountId, p.id))!, accountId));
        }
        const rec = await gw.providers.update(accountId, p.id, { status: "inactive", status_reason: "deactivated through the API" }, null);
        return ok(set, await view(rec!, accountId));
      }),
      { parse: "none" },
    )
    .post(
      "/providers/:id/test",
      idempotentRoute(gw, async ({ request, set, params }) => {
        const { p, accountId } = await load(request, params.id);
        if (p.is_shared) throw new ApiError("validation_error", "the shared managed route cannot be tested through this endpoint; its operator tests it", { param: "id" });
        if (!pool) throw new ApiError("service_unavailable", "connection testing is unavailable: no worker threads are running", { retryAfter: 5 });
        const testedAt = new Date(gw.clock.now()).toISOString();
        const secrets = gw.providers.secretsOf(p);
        // Bounded: a host that takes the connection and never speaks must still get an answer.
        const limitMs = gw.cfg.providerTestTimeoutMs;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const r = await Promise.race([
          pool.verify({ record: p, secrets }),
          new Promise<Awaited<ReturnType<typeof pool.verify>>>((res) => {
            timer = setTimeout(() => res({ success: false, message: `no answer from the provider within ${limitMs / 1000} s (SENDMUX_PROVIDER_TEST_TIMEOUT_MS); check the host, port and protocol, and that a firewall lets the gateway through`, latency_ms: limitMs }), limitMs);
          }),
        ]).finally(() => clearTimeout(timer));
        await gw.providers.touch(accountId, p.id, { last_tested_at: testedAt });
        await storeReading(readingDeps, p, secrets, r.detected_quotas);
        return ok(set, { success: r.success, message: r.message, latency_ms: r.latency_ms, tested_at: testedAt });
      }),
      { parse: "none" },
    )
    .get("/providers/:id/outbox", async ({ request, set, params, query }) => {
      const { p, accountId } = await load(request, params.id);
      if (p.type !== "capture") throw new ApiError("not_found", `provider ${p.id} is a ${p.type} provider; only capture providers have an outbox`);
      const limit = intParam(query.limit, "limit", 50, 1, 1000);
      const page = await gw.outbox.list(accountId, p.id, limit, query.cursor || null);
      if (!page) throw new ApiError("invalid_parameter", "cursor is not a next_cursor from this listing", { param: "cursor" });
      return ok(set, page.items, 200, {}, { pagination: cursorPagination(page.next) });
    })
    .get("/providers/:id/outbox/:message_id", async ({ request, set, params }) => {
      const { p, accountId } = await load(request, params.id);
      if (p.type !== "capture") throw new ApiError("not_found", `provider ${p.id} is a ${p.type} provider; only capture providers have an outbox`);
      const raw = await gw.outbox.raw(accountId, p.id, params.message_id);
      if (!raw) throw new ApiError("not_found", `message ${params.message_id} is not in this outbox`);
      return new Response(new Uint8Array(raw), { status: 200, headers: { "content-type": "message/rfc822", "x-request-id": String(set.headers["x-request-id"]), "cache-control": "no-store" } });
    });
}

export { json };
