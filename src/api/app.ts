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

/** The path of an absolute request URL, without parsing all of it (runs for every request). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  const h = url.indexOf("#", start);
  const end = q < 0 ? (h < 0 ? url.length : h) : h < 0 ? q : Math.min(q, h);
  return url.slice(start, end);
}

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
  let fixedPaths: Map<string, Set<string>> | null = null;
  /**
   * The methods of a path written out in full (/emails/send) when the request's method is not one
   * of them, else null. Without this check the router would hand such a request to a pattern of
   * that method (GET /emails/send to GET /emails/:message_id) and answer a misleading 404.
   */
  const wrongMethodOnFixedPath = (method: string, path: string): string[] | null => {
    if (!fixedPaths) {
      fixedPaths = new Map();
      for (const r of app.routes) {
        if (r.path.includes(":")) continue;
        let methods = fixedPaths.get(r.path);
        if (!methods) fixedPaths.set(r.path, (methods = new Set()));
        methods.add(r.method);
      }
    }
    const methods = fixedPaths.get(path.length > 1 ? path.replace(/\/+$/, "") : path);
    if (!methods || methods.has(method) || (method === "HEAD" && methods.has("GET"))) return null;
    return [...methods];
  };
  const methodNotAllowed = (set: Parameters<typeof errorResponse>[0], method: string, path: string, allow: string[]) =>
    errorResponse(set, new ApiError("method_not_allowed", `${path} does not take ${method}; it takes ${allow.join(", ")}`, { headers: { allow: allow.join(", ") } }));
  const app = new Elysia()
    .onRequest(({ set, request }) => {
      set.headers["x-request-id"] = newId("req");
      const path = pathOf(request.url);
      const allow = wrongMethodOnFixedPath(request.method, path);
      if (allow) return methodNotAllowed(set, request.method, path, allow);
    })
    .onError(({ code, error, set, request }) => {
      if (error instanceof ApiError) return errorResponse(set, error);
      if (code === "NOT_FOUND") {
        const path = pathOf(request.url);
        const allow = allowedMethods(path);
        if (allow.length) return methodNotAllowed(set, request.method, path, allow);
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
