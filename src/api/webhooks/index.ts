import { Elysia } from "elysia";
import type { Gateway } from "../../gateway.ts";
import { randomId } from "../../ids.ts";
import { K } from "../../store/keys.ts";
import { emptyData, WEBHOOK_EVENT_TYPES, type WebhookEventPayload } from "../../webhooks/payload.ts";
import type { DeliveryRecord, WebhookRecord } from "../../webhooks/store.ts";
import { WebhookDeliverer } from "../../webhooks/worker.ts";
import { authenticate, requireFull, storageUnavailable } from "../auth.ts";
import { readJsonObject } from "../body.ts";
import { ApiError, validationError } from "../errors.ts";
import { intParam, ok, weakEtag, withEtag } from "../http.ts";
import { idempotent, idempotentRoute, type RouteCtx } from "../idempotent.ts";
import { parseWebhookBody } from "./model.ts";

/** At most this many webhooks per account. */
export const MAX_WEBHOOKS = 100;
const RESULTS = ["success", "retrying", "failed", "permanent_failure"];
/** Marks a sealed secret inside a response body until the last moment (see reveal). */
const SEALED = "sealed:";

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64url");
}

function unb64(c: string): string | null {
  return /^[A-Za-z0-9_-]{1,300}$/.test(c) ? Buffer.from(c, "base64url").toString("utf8") : null;
}

/**
 * `/api/v1/webhooks…` (sendmux-openapi-app.json, tag Webhooks). Every route needs a `full` key;
 * another account's webhook ids answer 404. The signing secret appears only in the answers of
 * create and rotate-secret; it is stored sealed (AES-256-GCM). An Idempotency-Key replay of those
 * two answers the same secret again: the stored replay holds it sealed, and it is opened here.
 */
export function webhookRoutes(gw: Gateway, deliverer: WebhookDeliverer = new WebhookDeliverer(gw)) {
  const store = deliverer.store;

  async function load(request: Request, id: string): Promise<{ w: WebhookRecord; accountId: string }> {
    const ctx = await authenticate(gw, request);
    requireFull(ctx);
    const w = await store.get(ctx.accountId, id);
    if (!w) throw new ApiError("not_found", `webhook ${id} was not found`);
    return { w, accountId: ctx.accountId };
  }
  const view = async (accountId: string, w: WebhookRecord) => store.view(w, await store.isFailing(accountId, w.id));

  /** The subscription with its secret, the secret still sealed (opened by reveal). */
  const withSealedSecret = (v: object, id: string, secret: string) => ({ ...v, secret: SEALED + store.seal(id, secret) });

  async function reveal(res: Response): Promise<Response> {
    if (res.status < 200 || res.status >= 300) return res;
    const j = JSON.parse(await res.text()) as { data?: { id?: string; secret?: string } };
    if (j.data?.id && j.data.secret?.startsWith(SEALED)) j.data.secret = store.open(j.data.id, j.data.secret.slice(SEALED.length));
    return new Response(JSON.stringify(j), { status: res.status, headers: res.headers });
  }

  /**
   * Idempotency for rotate-secret and test: the key is per account + operation + key, and the
   * webhook id is the fingerprinted "body", so the same key against another webhook is 409
   * idempotency_conflict (as the document says) instead of a second, unrelated operation.
   */
  async function perWebhookIdempotent(c: RouteCtx, op: string, run: () => Promise<Response>): Promise<Response> {
    const ctx = await authenticate(gw, c.request);
    requireFull(ctx);
    return idempotent(gw, c, ctx, `POST /webhooks/${op}`, { public_id: c.params.public_id }, run);
  }

  async function attemptViews(accountId: string, items: DeliveryRecord[]) {
    const now = gw.clock.now();
    const exists = items.length
      ? ((await gw.redis.pipeline(items.map((r) => ["exists", K.webhookPayload(accountId, r.webhook_id, r.event_id)])).exec()) ?? [])
      : [];
    return items.map((r, i) => {
      const { webhook_id: _w, ...rest } = r;
      return { ...rest, payload_available: exists[i]?.[1] === 1 && now < Date.parse(r.payload_expires_at) };
    });
  }

  return new Elysia()
    .get("/webhooks", async ({ request, set, query }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      const limit = intParam(query.limit, "limit", 50, 1, 100);
      let all = await store.list(ctx.accountId);
      // Newest first; the cursor is the (created_at, id) of the last item returned.
      if (query.cursor) {
        const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|(whk_[a-z0-9]{24})$/.exec(unb64(query.cursor) ?? "");
        if (!m) throw new ApiError("invalid_parameter", "cursor is not a next_cursor from this listing", { param: "cursor" });
        const [at, id] = [m[1]!, m[2]!];
        all = all.filter((w) => w.created_at < at || (w.created_at === at && w.id < id));
      }
      const page = all.slice(0, limit);
      const failing = await store.failingSet(ctx.accountId);
      const more = all.length > limit;
      const last = page[page.length - 1];
      const pagination = more && last ? { has_more: true, next_cursor: b64(`${last.created_at}|${last.id}`) } : { has_more: false };
      return ok(set, page.map((w) => store.view(w, failing.has(w.id))), 200, {}, { pagination });
    })
    .post(
      "/webhooks",
      async (c) =>
        reveal(
          await idempotentRoute(gw, async ({ request, set }) => {
            const ctx = await authenticate(gw, request);
            requireFull(ctx);
            const body = await readJsonObject(request);
            const r = parseWebhookBody(body, "create", gw.cfg.webhookAllowHttpLoopback);
            if (!r.ok) throw validationError(r.issues);
            if ((await store.count(ctx.accountId)) >= MAX_WEBHOOKS) {
              throw new ApiError("limit_exceeded", `an account has at most ${MAX_WEBHOOKS} webhooks; delete one first`);
            }
            const { rec, secret } = await store.create(ctx.accountId, r.value);
            return ok(set, withSealedSecret(store.view(rec, false), rec.id, secret), 201, { location: `/api/v1/webhooks/${rec.id}` });
          })(c as RouteCtx),
        ),
      { parse: "none" },
    )
    .get("/webhooks/:public_id", async ({ request, set, params }) => {
      const { w, accountId } = await load(request, params.public_id);
      return withEtag(request, set, await view(accountId, w));
    })
    .patch(
      "/webhooks/:public_id",
      async ({ request, set, params }) => {
        const { w, accountId } = await load(request, params.public_id);
        const ifMatch = request.headers.get("if-match");
        if (ifMatch && ifMatch.trim() !== "*") {
          const cur = weakEtag(await view(accountId, w));
          if (!ifMatch.split(",").map((t) => t.trim()).includes(cur)) {
            throw new ApiError("conflict", `the webhook changed since your GET (If-Match does not match its current ETag ${cur}); fetch it again and retry`, { headers: { etag: cur } });
          }
        }
        const body = await readJsonObject(request);
        const r = parseWebhookBody(body, "update", gw.cfg.webhookAllowHttpLoopback);
        if (!r.ok) throw validationError(r.issues);
        const next = await store.update(accountId, w, r.value);
        const v = await view(accountId, next);
        return ok(set, v, 200, { etag: weakEtag(v) });
      },
      { parse: "none" },
    )
    .delete("/webhooks/:public_id", async ({ request, set, params }) => {
      const { w, accountId } = await load(request, params.public_id);
      await store.remove(accountId, w.id);
      return ok(set, { deleted: true, id: w.id });
    })
    .post(
      "/webhooks/:public_id/rotate-secret",
      async (c) =>
        reveal(
          await perWebhookIdempotent(c as RouteCtx, "rotate-secret", async () => {
            const { w, accountId } = await load(c.request, c.params.public_id);
            const { rec, secret } = await store.rotate(accountId, w);
            return ok(c.set, withSealedSecret(await view(accountId, rec), rec.id, secret));
          }),
        ),
      { parse: "none" },
    )
    .post(
      "/webhooks/:public_id/test",
      async (c) =>
        perWebhookIdempotent(c as RouteCtx, "test", async () => {
          const { w, accountId } = await load(c.request, c.params.public_id);
          // "When false, no events are delivered": a test event is an event too.
          if (!w.enabled) {
            throw new ApiError("conflict", `webhook ${w.id} is disabled (enabled: false), so it receives no events, test events included; enable it with PATCH /api/v1/webhooks/${w.id} {"enabled": true}, then send the test again`);
          }
          if (!w.event_types.includes("sendmux.test")) {
            throw new ApiError("conflict", `webhook ${w.id} is not subscribed to sendmux.test; add it to event_types (PATCH) to send test events`);
          }
          const payload: WebhookEventPayload = {
            id: `evt_${randomId()}`,
            type: "sendmux.test",
            team_public_id: accountId,
            occurred_at: new Date(gw.clock.now()).toISOString(),
            data: { ...emptyData(), webhook_id: w.id },
          };
          // Sent now, within this request; the attempt is in GET …/deliveries before the answer.
          let rec: DeliveryRecord;
          try {
            rec = await deliverer.first(accountId, w, payload);
          } catch (e) {
            throw storageUnavailable(e);
          }
          return ok(c.set, { event_id: payload.id }, 200, { "x-sendmux-delivery-id": rec.id, "x-sendmux-delivery-result": rec.result });
        }),
      { parse: "none" },
    )
    .get("/webhooks/:public_id/deliveries", async ({ request, set, params, query }) => {
      const { w, accountId } = await load(request, params.public_id);
      const limit = intParam(query.limit, "limit", 25, 1, 100);
      if (query.event_type !== undefined && !WEBHOOK_EVENT_TYPES.includes(query.event_type)) {
        throw new ApiError("invalid_parameter", `event_type must be one of ${WEBHOOK_EVENT_TYPES.join(", ")}`, { param: "event_type" });
      }
      if (query.result !== undefined && !RESULTS.includes(query.result)) {
        throw new ApiError("invalid_parameter", `result must be one of ${RESULTS.join(", ")}`, { param: "result" });
      }
      let after: { at: number; id: string } | null = null;
      if (query.cursor) {
        const m = /^(\d{1,16})\|(whda_[a-z0-9]{24})$/.exec(unb64(query.cursor) ?? "");
        if (!m) throw new ApiError("invalid_parameter", "cursor is not a next_cursor from this listing", { param: "cursor" });
        after = { at: Number(m[1]), id: m[2]! };
      }
      const page = await store.listAttempts(accountId, w.id, { limit, after, eventType: query.event_type, result: query.result });
      const last = page.items[page.items.length - 1];
      const pagination = page.more && last ? { has_more: true, next_cursor: b64(`${Date.parse(last.created_at)}|${last.id}`) } : { has_more: false };
      return ok(set, await attemptViews(accountId, page.items), 200, {}, { pagination });
    })
    .get("/webhooks/:public_id/deliveries/:delivery_id/payload", async ({ request, set, params }) => {
      const { w, accountId } = await load(request, params.public_id);
      const rec = /^whda_[a-z0-9]{24}$/.test(params.delivery_id) ? await store.getAttempt(accountId, params.delivery_id) : null;
      if (!rec || rec.webhook_id !== w.id) throw new ApiError("not_found", `delivery ${params.delivery_id} of webhook ${w.id} was not found (deliveries are kept 7 days)`);
      const body = gw.clock.now() < Date.parse(rec.payload_expires_at) ? await store.payload(accountId, w.id, rec.event_id) : null;
      if (body === null) throw new ApiError("not_found", `the payload of delivery ${rec.id} is no longer available (payloads are kept 7 days, until ${rec.payload_expires_at})`);
      return ok(set, {
        id: rec.id,
        event_id: rec.event_id,
        event_type: rec.event_type,
        delivery_attempt: rec.delivery_attempt,
        created_at: rec.created_at,
        expires_at: rec.payload_expires_at,
        payload: JSON.parse(body) as unknown,
      });
    });
}
