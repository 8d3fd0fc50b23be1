import { Elysia } from "elysia";
import type { Gateway } from "../gateway.ts";
import { json } from "./http.ts";

export function healthRoutes(gw: Gateway) {
  return new Elysia()
    .get("/healthz", ({ set }) => json(set, 200, { ok: true, status: "live" }))
    .get("/metrics", async () => new Response(await gw.metrics.text(), { headers: { "content-type": gw.metrics.registry.contentType } }))
    .get("/readyz", async ({ set }) => {
      try {
        const pong = await Promise.race([gw.redis.ping(), Bun.sleep(1000).then(() => "timeout")]);
        if (pong === "PONG") return json(set, 200, { ok: true, status: "ready", redis: "ok" });
        return json(set, 503, { ok: false, status: "not_ready", redis: String(pong) });
      } catch (e) {
        return json(set, 503, { ok: false, status: "not_ready", redis: (e as Error).message });
      }
    });
}
