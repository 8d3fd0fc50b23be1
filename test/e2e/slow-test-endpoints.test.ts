/**
 * The two test endpoints wait for an upstream: POST /providers/{id}/test for the provider and
 * POST /webhooks/{id}/test for the receiver. An upstream that takes the connection and never
 * answers must still get the caller a JSON answer, after the configured time, not a connection
 * the HTTP server dropped at its 10-second idle limit (an empty reply).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let g: TestGateway;
let silent: Server;
const sockets = new Set<Socket>();
let port = 0;

beforeAll(async () => {
  // Takes every connection and says nothing: neither an SMTP greeting nor an HTTP answer.
  silent = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((res) => silent.listen(0, "127.0.0.1", res));
  port = (silent.address() as { port: number }).port;
  g = await startTestGateway({
    env: { SENDMUX_PROVIDER_TEST_TIMEOUT_MS: "12000", SENDMUX_WEBHOOK_TIMEOUT_MS: "12000", SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK: "true" },
  });
});
afterAll(async () => {
  await g?.stop();
  for (const s of sockets) s.destroy();
  silent?.close();
});

test("a provider and a webhook receiver that never answer: both test endpoints answer in JSON after their time limit, past the 10 s idle limit", async () => {
  const p = await g.api("POST", "/api/v1/providers", { name: "silent", type: "smtp", smtp_host: "127.0.0.1", smtp_port: port, smtp_protocol: "none" });
  expect(p.status).toBe(201);
  const w = await g.api("POST", "/api/v1/webhooks", { url: `http://127.0.0.1:${port}/hook`, event_types: ["sendmux.test"] });
  expect(w.status).toBe(201);

  const t0 = Date.now();
  const [pt, wt] = await Promise.all([
    g.api("POST", `/api/v1/providers/${p.json.data.id}/test`).then((r) => ({ r, ms: Date.now() - t0 })),
    g.api("POST", `/api/v1/webhooks/${w.json.data.id}/test`).then((r) => ({ r, ms: Date.now() - t0 })),
  ]);

  expect(pt.r.status).toBe(200);
  expect(pt.r.json.data.success).toBe(false);
  expect(pt.r.json.data.message).toMatch(/no answer from the provider within 12 s/);
  expect(pt.r.json.data.latency_ms).toBeGreaterThanOrEqual(12_000);
  expect(pt.ms).toBeGreaterThanOrEqual(11_500);

  expect(wt.r.status).toBe(200);
  expect(wt.r.json.data.event_id).toMatch(/^evt_/);
  expect(wt.r.headers.get("x-sendmux-delivery-result")).toBe("retrying");
  expect(wt.ms).toBeGreaterThanOrEqual(11_500);
}, 45_000);
