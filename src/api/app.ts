import { Elysia } from "elysia";
import type { Gateway } from "../gateway.ts";
import { newId } from "../ids.ts";
import { ApiError } from "./errors.ts";
import { errorResponse, json } from "./http.ts";
import { emailRoutes } from "./emails/index.ts";
import { uploadRoutes } from "./emails/uploads.ts";
import { openApiRoutes } from "./openapi/index.ts";
import { providerRoutes } from "./providers/index.ts";
import { apiKeyRoutes } from "./apikeys/index.ts";
import { groupRoutes } from "./groups/index.ts";
import { healthRoutes } from "./health.ts";
import type { ShardPool } from "../dispatch/pool.ts";

/**
 * The HTTP API: one Elysia app. Route tests call `app.handle(new Request(...))` without a port.
 * Every response carries X-Request-Id; every error is the documented envelope; nothing a client
 * sends can produce a stack trace.
 */
export function createApp(gw: Gateway, pool: ShardPool | null = null) {
  return new Elysia()
    .onRequest(({ set }) => {
      set.headers["x-request-id"] = newId("req");
    })
    .onError(({ code, error, set, request }) => {
      if (error instanceof ApiError) return errorResponse(set, error);
      if (code === "NOT_FOUND") {
        return errorResponse(set, new ApiError("not_found", `no endpoint ${request.method} ${new URL(request.url).pathname}; see GET /api/v1/openapi.json`));
      }
      if (code === "PARSE") return errorResponse(set, new ApiError("invalid_parameter", "request body could not be parsed"));
      if (code === "VALIDATION") return errorResponse(set, new ApiError("invalid_parameter", "request is malformed"));
      gw.log.error({ component: "api", err: error, path: new URL(request.url).pathname }, "unhandled error");
      return json(set, 500, new ApiError("internal_error", "internal error; the request id identifies it in the gateway's log").body(String(set.headers["x-request-id"])));
    })
    .use(healthRoutes(gw))
    .use(openApiRoutes())
    .group("/api/v1", (app) => app.use(uploadRoutes(gw)).use(emailRoutes(gw)).use(providerRoutes(gw, pool)).use(apiKeyRoutes(gw)).use(groupRoutes(gw)));
}

export type App = ReturnType<typeof createApp>;
