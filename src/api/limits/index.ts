import { Elysia } from "elysia";
import type { Gateway } from "../../gateway.ts";
import { sharedLimitView } from "../../accounts/service.ts";
import { thresholdOf } from "../../accounts/requests.ts";
import { authenticate, requireFull } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { ok } from "../http.ts";
import { idempotentRoute } from "../idempotent.ts";

/** A self-hosted gateway sets no limit on how many providers of its own an account keeps. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * The documented `/providers/limits` and `/providers/shared-amazon-ses-limit-request…`: an
 * account's daily limit on the managed route, and its requests to raise it. A request is accepted
 * once today's sends reach 80% of the limit, one pending at a time, cancellable while pending;
 * the operator approves or denies it under /admin/v1.
 */
export function limitRoutes(gw: Gateway) {
  const full = async (request: Request) => {
    const ctx = await authenticate(gw, request);
    requireFull(ctx);
    return ctx.accountId;
  };
  return new Elysia()
    .post(
      "/providers/limits/sending-accounts/request-increase",
      async ({ request }) => {
        await full(request);
        // Documented 422 "Increase request is not available": a self-hosted gateway puts no limit on
        // an account's own providers (max_allowed is unlimited), so there is nothing to raise.
        throw new ApiError("validation_error", "an increase is not available: this gateway sets no limit on an account's own sending accounts (sending_accounts.max_allowed is unlimited), so there is nothing to raise", { param: "sending_accounts" });
      },
      { parse: "none" },
    )
    .get("/providers/limits", async ({ request, set }) => {
      const accountId = await full(request);
      const [own, shared] = await Promise.all([gw.providers.list(accountId), sharedLimitView(gw, accountId)]);
      const usage = own.filter((p) => !p.is_shared).length;
      return ok(set, {
        sending_accounts: {
          resource_type: "sending_accounts",
          usage,
          max_allowed: NO_LIMIT,
          reserved: 0,
          threshold_usage: thresholdOf(NO_LIMIT),
          usage_ratio: usage / NO_LIMIT,
          is_at_limit: false,
          is_near_limit: false,
          can_request_increase: false,
          pending_request_id: null,
        },
        shared_amazon_ses: shared,
      });
    })
    .get("/providers/shared-amazon-ses-limit-request", async ({ request, set }) => {
      const accountId = await full(request);
      const [limit, pending] = await Promise.all([sharedLimitView(gw, accountId), gw.limitRequests.pending(accountId)]);
      return ok(set, { limit, pending_request: pending });
    })
    .post(
      "/providers/shared-amazon-ses-limit-request",
      idempotentRoute(gw, async ({ request, set }) => {
        const accountId = await full(request);
        const limit = await gw.managed.limitOf(accountId);
        if (!limit) throw new ApiError("not_found", "this gateway has no shared Amazon SES account (managed route); its operator has not configured one");
        const threshold = thresholdOf(limit.daily_limit);
        if (limit.sent_today < threshold) {
          const message = `an increase can be requested once today's sends through the managed route reach 80% of the daily limit (${threshold} of ${limit.daily_limit}); ${limit.sent_today} sent so far today (the count resets at 00:00 UTC)`;
          throw new ApiError("validation_error", message, { param: "sent_today", errors: [{ field: "sent_today", code: "below_threshold", message }] });
        }
        const r = await gw.limitRequests.create(accountId, limit);
        if (!r.ok) throw new ApiError("conflict", `a request is already pending (${r.pendingId}); wait for the operator's decision or cancel it with DELETE /api/v1/providers/shared-amazon-ses-limit-request/${r.pendingId}`);
        gw.log.info({ component: "limits", account_id: accountId, request_id: r.request.id }, "limit increase requested");
        return ok(set, { request: r.request, limit: await sharedLimitView(gw, accountId) });
      }),
      { parse: "none" },
    )
    .delete("/providers/shared-amazon-ses-limit-request/:request_id", async ({ request, set, params }) => {
      const accountId = await full(request);
      const r = await gw.limitRequests.settle(accountId, params.request_id, { status: "cancelled", approved_daily_limit: null, decision_note: null });
      if (!r.ok && r.reason === "not_found") throw new ApiError("not_found", `limit request ${params.request_id} was not found`);
      if (!r.ok) throw new ApiError("conflict", `limit request ${params.request_id} is already ${r.request?.status}; only a pending request can be cancelled`);
      return ok(set, { request: r.request, limit: await sharedLimitView(gw, accountId) });
    });
}
