import { afterAll, beforeAll, expect, test } from "bun:test";
import { K } from "../../src/store/keys.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway({ env: { SENDMUX_RETENTION_DAYS: "2" } });
});
afterAll(async () => {
  await g?.stop();
});

test("a settled message drops its body and its record expires after SENDMUX_RETENTION_DAYS", async () => {
  const r = g.running.gw.redis;
  const s = await g.api("POST", "/api/v1/emails/send", { from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "kept", text_body: "x" });
  const id = s.json.data.message_id;
  await g.settle(id);
  expect(await r.hexists(K.msg(g.accountId, id), "body")).toBe(0);
  const ttl = await r.pttl(K.msg(g.accountId, id));
  expect(ttl).toBeGreaterThan(2 * 86_400_000 - 60_000);
  expect(ttl).toBeLessThanOrEqual(2 * 86_400_000);
  expect(await r.pttl(K.attempts(g.accountId, id))).toBeGreaterThan(0);
  // The status is still there to read until then.
  expect((await g.api("GET", `/api/v1/emails/${id}`)).json.data.status).toBe("sent");
  // The capture outbox copy is bounded too (7 days).
  expect(await r.pttl(K.outboxItem(g.accountId, g.captureId, id))).toBeGreaterThan(6 * 86_400_000);

});

test("SENDMUX_RETENTION_DAYS is checked at start", async () => {
  const { loadConfig, ConfigError } = await import("../../src/config.ts");
  expect(() => loadConfig({ SENDMUX_RETENTION_DAYS: "0" })).toThrow(ConfigError);
  expect(() => loadConfig({ SENDMUX_RETENTION_DAYS: "ten" })).toThrow(/SENDMUX_RETENTION_DAYS: expected a whole number from 1 to 3650/);
});
