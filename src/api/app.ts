import { Elysia } from "elysia";
import type { Gateway } from "../gateway.ts";
import { newId } from "../ids.ts";
import { ApiError } from "./errors.ts";
import { errorResponse, json } from "./http.ts";
import { emailRoutes } from "./emails/index.ts";
import { logRoutes } from "./logs/index.ts";
import { uploadRoutes } from "./emails/uploads.ts";
import { openApiRoutes } from "./openapi/index.ts";
import { providerRoutes } from "./providers/index.ts";
import { apiKeyRoutes } from "./apikeys/index.ts";
import { groupRoutes } from "./groups/index.ts";
import { healthRoutes } from "./health.ts";
import { webhookRoutes } from "./webhooks/index.ts";
import { adminRoutes } from "./admin/index.ts";
import { signupRoutes } from "./signup/index.ts";
import { limitRoutes } from "./limits/index.ts";
import type { ShardPool } from "../dispatch/pool.ts";

/**
 * The HTTP API: one Elysia app. Route tests call `app.handle(new Request(...))` without a port.
 * Every response carries X-Request-Id; every error is the documented envelope; nothing a client
 * sends can produce a stack trace.
 */
export function createApp(gw: Gateway, pool: ShardPool | null = null) {
  let patterns: Array<{ re: RegExp; method: string; fixed: boolean }> | null = null;
  /** The methods a path answers to, for a 405 with Allow instead of a misleading 404. */
  const allowedMethods = (path: string): string[] => {
    patterns ??= app.routes.map((r) => ({
      re: new RegExp("^" + r.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z_]+/g, "[^/]+") + "/?$"),
      method: r.method,
      fixed: !r.path.includes(":"),
    }));
    // A path written out in full (/emails/send) outranks a pattern that also matches it (/emails/:id).
    const hits = patterns.filter((p) => p.re.test(path));
    const fixed = hits.filter((p) => p.fixed);
    return [...new Set((fixed.length ? fixed : hits).map((p) => p.method))];
  };
  const app = new Elysia()
    .onRequest(({ set }) => {
      set.headers["x-request-id"] = newId("req");
    })
    .onError(({ code, error, set, request }) => {
      if (error instanceof ApiError) return errorResponse(set, error);
      if (code === "NOT_FOUND") {
        const path = new URL(request.url).pathname;
        const allow = allowedMethods(path);
        if (allow.length) {
          return errorResponse(set, new ApiError("method_not_allowed", `${path} does not take ${request.method}; it takes ${allow.join(", ")}`, { headers: { allow: allow.join(", ") } }));
        }
        return errorResponse(set, new ApiError("not_found", `no endpoint ${request.method} ${path}; see GET /api/v1/openapi.json`));
      }
      if (code === "PARSE") return errorResponse(set, new ApiError("invalid_parameter", "request body could not be parsed"));
      if (code === "VALIDATION") return errorResponse(set, new ApiError("invalid_parameter", "request is malformed"));
      gw.log.error({ component: "api", err: error, path: new URL(request.url).pathname }, "unhandled error");
      return json(set, 500, new ApiError("internal_error", "internal error; the request id identifies it in the gateway's log").body(String(set.headers["x-request-id"])));
    })
    .use(healthRoutes(gw))
    .use(openApiRoutes())
    .use(adminRoutes(gw, pool))
    .group("/api/v1", (app) => app.use(uploadRoutes(gw)).use(logRoutes(gw)).use(emailRoutes(gw)).use(signupRoutes(gw)).use(limitRoutes(gw)).use(providerRoutes(gw, pool)).use(apiKeyRoutes(gw)).use(groupRoutes(gw)).use(webhookRoutes(gw)));
  return app;
}

export type App = ReturnType<typeof createApp>;
