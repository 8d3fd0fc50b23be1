import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

test("/healthz is liveness, /readyz answers 200 while Redis answers", async () => {
  const h = await fetch(`${g.base}/healthz`);
  expect(h.status).toBe(200);
  expect(h.headers.get("x-request-id")).toMatch(/^req_/);
  const r = await fetch(`${g.base}/readyz`);
  expect(r.status).toBe(200);
  expect((await r.json()).redis).toBe("ok");
});

test("/metrics is Prometheus text that counts accepted messages and attempts", async () => {
  const send = await g.api("POST", "/api/v1/emails/send", { from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "m", text_body: "x" });
  expect(send.status).toBe(200);
  await g.settle(send.json.data.message_id);
  const res = await fetch(`${g.base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const text = await res.text();
  expect(text).toMatch(/sendmux_messages_accepted_total\{source="api"\} 1\b/);
  expect(text).toMatch(/sendmux_delivery_attempts_total\{provider_type="capture",outcome="sent"\} 1\b/);
  expect(text).toMatch(/sendmux_http_requests_total\{method="POST",status="200"\} \d+/);
});

test("unknown paths get the documented 404 envelope with a request id", async () => {
  const r = await g.api("GET", "/api/v1/nothing-here");
  expect(r.status).toBe(404);
  expect(r.json.ok).toBe(false);
  expect(r.json.error.code).toBe("not_found");
  expect(r.json.meta.request_id).toBe(r.headers.get("x-request-id"));
});

test("a known path with the wrong method is 405 with Allow, not 404", async () => {
  const r = await g.api("PUT", "/api/v1/emails/send", {});
  expect(r.status).toBe(405);
  expect(r.json.error.code).toBe("method_not_allowed");
  expect(r.headers.get("allow")).toBe("POST");
  const p = await g.api("PUT", `/api/v1/providers/${g.captureId}`, {});
  expect(p.status).toBe(405);
  expect(p.headers.get("allow")!.split(", ").sort()).toEqual(["DELETE", "GET", "PATCH"]);
});
