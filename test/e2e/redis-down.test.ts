import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestRedis } from "../helpers/redis.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let g: TestGateway;
let redis: Awaited<ReturnType<typeof startTestRedis>>;
beforeAll(async () => {
  redis = await startTestRedis();
  g = await startTestGateway({ redisUrl: redis.url });
});
afterAll(async () => {
  await g?.stop();
  await redis?.stop();
});

const msg = { from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "down", text_body: "x" };

test("with Redis gone, sends get 503 service_unavailable (retryable, Retry-After) quickly and /readyz says not ready", async () => {
  // Warm the key cache first, so the failure is the enqueue, not the key lookup.
  expect((await g.api("POST", "/api/v1/emails/send", msg)).status).toBe(200);
  redis.server.kill();
  await Bun.sleep(200);
  const t0 = Date.now();
  const r = await g.api("POST", "/api/v1/emails/send", msg);
  expect(Date.now() - t0).toBeLessThan(15_000);
  expect(r.status).toBe(503);
  expect(r.json.error.code).toBe("service_unavailable");
  expect(r.json.error.retryable).toBe(true);
  expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
  const ready = await fetch(`${g.base}/readyz`);
  expect(ready.status).toBe(503);
  const live = await fetch(`${g.base}/healthz`);
  expect(live.status).toBe(200);
});
