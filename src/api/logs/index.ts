import { Elysia } from "elysia";
import type { Gateway } from "../../gateway.ts";
import { emailMetrics, getLog, listLogs, providerStats, providerUsage } from "../../logs/service.ts";
import { messageIdOfLog } from "../../logs/view.ts";
import { authenticate, requireFull, storageUnavailable } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { ok, withEtag } from "../http.ts";
import { parseListQuery, parseMetricsQuery, readQuery } from "./model.ts";

/**
 * Delivery logs and metrics (sendmux-openapi-app.json "/emails/logs…", "/emails/metrics",
 * "/providers/usage", "/providers/stats"). Management API: a `full` key only (the document:
 * "Use a root API key for Management API routes"). Schemas: src/api/openapi/logs.ts.
 */
export function logRoutes(gw: Gateway) {
  const storage = <T>(p: Promise<T>): Promise<T> =>
    p.catch((e) => {
      throw storageUnavailable(e);
    });
  return new Elysia()
    .get("/emails/logs", async ({ request, set }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      const q = parseListQuery(new URL(request.url));
      const page = await storage(listLogs(gw, ctx.accountId, q));
      const pagination = page.nextCursor ? { has_more: page.hasMore, next_cursor: page.nextCursor } : { has_more: page.hasMore };
      return ok(set, page.items, 200, {}, { pagination });
    })
    .get("/emails/logs/:public_id", async ({ request, set, params }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      readQuery(new URL(request.url), []);
      const messageId = messageIdOfLog(params.public_id);
      const log = messageId ? await storage(getLog(gw, ctx.accountId, messageId)) : null;
      if (!log) throw new ApiError("not_found", `delivery log ${params.public_id} was not found (logs are kept ${gw.cfg.retentionDays} days after a message settles)`);
      return withEtag(request, set, log);
    })
    .get("/emails/metrics", async ({ request, set }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      const q = parseMetricsQuery(new URL(request.url), gw.clock.now());
      return ok(set, await storage(emailMetrics(gw, ctx.accountId, q)));
    })
    .get("/providers/usage", async ({ request, set }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      readQuery(new URL(request.url), []);
      return ok(set, await storage(providerUsage(gw, ctx.accountId)));
    })
    .get("/providers/stats", async ({ request, set }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      readQuery(new URL(request.url), []);
      return ok(set, providerStats(await storage(gw.providers.list(ctx.accountId))));
    });
}
