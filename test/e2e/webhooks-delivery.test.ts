/**
 * Webhook delivery end to end: a local receiver that verifies both signatures (and answers 401 to
 * a bad one) gets each event once per matching webhook, the same id again only on a retry; the
 * retry schedule runs on a ManualClock; the last failed retry marks the webhook failing, new events
 * are then skipped until it is fixed; filters hold; another account's events never arrive; an
 * event a dead node left pending is reclaimed and delivered.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { connectRedis } from "../../src/store/redis.ts";
import { K, WEBHOOK_GROUP } from "../../src/store/keys.ts";
import { WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_DELAYS_MS, WebhookWorker } from "../../src/webhooks/worker.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { OasValidator, loadReference } from "../helpers/oas.ts";
import { WebhookReceiver, appDocumentFixes } from "../helpers/webhook-receiver.ts";

const clock = new ManualClock(Date.UTC(2026, 6, 1, 8, 0, 0));
const oas = new OasValidator(appDocumentFixes(loadReference("sendmux-openapi-app.json")), "https://schemas.sendmux.test/app.json");
const eventPayload = oas.component("WebhookEventPayload");
let g: TestGateway;
let rx: WebhookReceiver;
const extraWorkers: WebhookWorker[] = [];

beforeAll(async () => {
  g = await startTestGateway({ clock, env: { SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK: "true", SENDMUX_WEBHOOK_TIMEOUT_MS: "2000" } });
  rx = new WebhookReceiver(() => Math.floor(clock.now() / 1000)).start();
});
afterAll(async () => {
  for (const w of extraWorkers) await w.stop();
  await g?.stop();
  rx?.stop();
});

const msg = (s: string) => ({ from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: s, text_body: "x" });

async function hook(path: string, eventTypes: string[], token = g.token): Promise<{ id: string; secret: string }> {
  const r = await g.api("POST", "/api/v1/webhooks", { url: rx.url(path), event_types: eventTypes }, { authorization: `Bearer ${token}` });
  expect(r.status).toBe(201);
  rx.secret(path, r.json.data.secret);
  return { id: r.json.data.id, secret: r.json.data.secret };
}

async function deliveries(id: string, token = g.token): Promise<any[]> {
  const r = await g.api("GET", `/api/v1/webhooks/${id}/deliveries?limit=100`, undefined, { authorization: `Bearer ${token}` });
  expect(r.status).toBe(200);
  expect(oas.check("/webhooks/{public_id}/deliveries", "get", 200, r.text)).toEqual([]);
  return r.json.data;
}

test("an event reaches each matching webhook once, signed, in the documented shape; filters and accounts are kept apart", async () => {
  const all = await hook("/all", ["message.delivered", "message.delivery_delayed", "message.bounced"]);
  await hook("/bounces", ["message.bounced"]);
  // Another account with its own provider, key and webhook.
  const gw = g.running.gw;
  const other = await gw.accounts.create("other", null);
  const otherKey = (await gw.keys.create(other.id, { name: "k", permission: "full", scope: { type: "all" } })).token;
  const op = await g.api("POST", "/api/v1/providers", { name: "cap", type: "capture" }, { authorization: `Bearer ${otherKey}` });
  expect(op.status).toBe(201);
  await hook("/other", ["message.delivered"], otherKey);
  await g.running.webhooks.refreshStreams();

  const s = await g.api("POST", "/api/v1/emails/send", msg("to the hooks"));
  const id = s.json.data.message_id;
  await g.settle(id);
  const os = await g.api("POST", "/api/v1/emails/send", msg("other account"), { authorization: `Bearer ${otherKey}` });
  await waitFor(() => rx.at("/other").length === 1, "the other account's event at its own webhook");
  const got = await waitFor(() => rx.at("/all")[0], "message.delivered at /all");
  // Nothing more arrives for the same event.
  await Bun.sleep(1500);
  expect(rx.at("/all")).toHaveLength(1);
  expect(got.verified).toBe(true);
  expect(got.status).toBe(200);
  expect(eventPayload(got.body), JSON.stringify(eventPayload.errors)).toBe(true);
  expect(got.body.type).toBe("message.delivered");
  expect(got.body.id).toMatch(/^evt_[a-z0-9]{24}$/);
  expect(got.body.team_public_id).toBe(g.accountId);
  expect(got.body.data.sendmux_message_id).toBe(id);
  expect(got.body.data.recipients).toEqual(["b@example.com"]);
  expect(got.body.data.message_id_kind).toBe("rfc5322");
  expect(got.headers["x-sendmux-event-id"]).toBe(got.body.id);
  expect(got.headers["x-sendmux-event-type"]).toBe("message.delivered");
  expect(got.headers["x-sendmux-delivery-attempt"]).toBe("1");
  expect(got.headers["x-sendmux-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  expect(got.headers["webhook-id"]).toBe(got.body.id);
  // Filters: a webhook for bounces only got nothing; accounts never see each other's events.
  expect(rx.at("/bounces")).toHaveLength(0);
  expect(rx.at("/other")[0]!.body.team_public_id).toBe(other.id);
  expect(rx.at("/other")[0]!.body.data.sendmux_message_id).toBe(os.json.data.message_id);
  expect(rx.received.filter((r) => r.path !== "/other").every((r) => r.body.team_public_id === g.accountId)).toBe(true);

  // The attempt is recorded, and its payload is the exact body that was sent.
  const [d] = await deliveries(all.id);
  expect(d).toMatchObject({ event_id: got.body.id, event_type: "message.delivered", result: "success", response_status: 200, delivery_attempt: 1, max_attempts: WEBHOOK_MAX_ATTEMPTS, next_retry_at: null, error_message: null, response_body: "ok", payload_available: true });
  expect(d.request_payload_bytes).toBe(Buffer.byteLength(got.raw));
  expect(d.request_payload_sha256).toBe(new Bun.CryptoHasher("sha256").update(got.raw).digest("hex"));
  const p = await g.api("GET", `/api/v1/webhooks/${all.id}/deliveries/${d.id}/payload`);
  expect(p.status).toBe(200);
  expect(oas.check("/webhooks/{public_id}/deliveries/{delivery_id}/payload", "get", 200, p.text)).toEqual([]);
  expect(p.json.data.payload).toEqual(got.body);
  // Another account cannot read it.
  const cross = await g.api("GET", `/api/v1/webhooks/${all.id}/deliveries/${d.id}/payload`, undefined, { authorization: `Bearer ${otherKey}` });
  expect(cross.status).toBe(404);
});

test("a bad signature is refused by the receiver and retried; a rotated secret signs the next attempt", async () => {
  const h = await hook("/rot", ["sendmux.test"]);
  rx.secret("/rot", "whsec_" + Buffer.alloc(32, 7).toString("base64")); // the receiver holds a wrong secret
  const t = await g.api("POST", `/api/v1/webhooks/${h.id}/test`);
  expect(t.status).toBe(200);
  expect(t.headers.get("x-sendmux-delivery-result")).toBe("retrying");
  expect(rx.at("/rot")[0]!.verified).toBe(false);
  expect(rx.at("/rot")[0]!.status).toBe(401);
  // Rotate: the old secret stops at once; the retry is signed with the new one.
  const r = await g.api("POST", `/api/v1/webhooks/${h.id}/rotate-secret`);
  expect(r.status).toBe(200);
  expect(r.json.data.secret).not.toBe(h.secret);
  rx.secret("/rot", r.json.data.secret);
  clock.advance(WEBHOOK_RETRY_DELAYS_MS[0]!);
  const second = await waitFor(() => rx.at("/rot")[1], "the retry");
  expect(second.verified).toBe(true);
  expect(second.body.id).toBe(t.json.data.event_id);
  expect(second.headers["x-sendmux-delivery-attempt"]).toBe("2");
});

test("retries follow the schedule on the injected clock: 500 then 200, the same event id", async () => {
  const h = await hook("/r", ["sendmux.test"]);
  rx.answer("/r", (n) => (n === 1 ? 500 : 200));
  const t0 = clock.now();
  const t = await g.api("POST", `/api/v1/webhooks/${h.id}/test`);
  expect(t.status).toBe(200);
  expect(oas.check("/webhooks/{public_id}/test", "post", 200, t.text)).toEqual([]);
  const [first] = await deliveries(h.id);
  expect(first).toMatchObject({ result: "retrying", response_status: 500, delivery_attempt: 1, next_retry_at: new Date(t0 + 60_000).toISOString() });
  clock.advance(59_000);
  await Bun.sleep(1200);
  expect(rx.at("/r")).toHaveLength(1);
  clock.advance(1000);
  const again = await waitFor(() => rx.at("/r")[1], "the retry after 1 min");
  expect(again.body.id).toBe(t.json.data.event_id);
  expect(again.headers["x-sendmux-event-id"]).toBe(t.json.data.event_id);
  expect(again.status).toBe(200);
  const list = await waitFor(async () => ((await deliveries(h.id)).length === 2 ? await deliveries(h.id) : null), "two attempts");
  expect(list.map((d: any) => [d.delivery_attempt, d.result])).toEqual([[2, "success"], [1, "retrying"]]);
  expect(list[0].created_at).toBe(new Date(t0 + 60_000).toISOString());
  await Bun.sleep(1000);
  expect(rx.at("/r")).toHaveLength(2);
  // Filters on the list.
  const ok = await g.api("GET", `/api/v1/webhooks/${h.id}/deliveries?result=success`);
  expect(ok.json.data.map((d: any) => d.delivery_attempt)).toEqual([2]);
  const page = await g.api("GET", `/api/v1/webhooks/${h.id}/deliveries?limit=1`);
  expect(page.json.pagination.has_more).toBe(true);
  const page2 = await g.api("GET", `/api/v1/webhooks/${h.id}/deliveries?limit=1&cursor=${page.json.pagination.next_cursor}`);
  expect(page2.json.data.map((d: any) => d.delivery_attempt)).toEqual([1]);
  expect(page2.json.pagination).toEqual({ has_more: false });
});

test("after the last retry fails the webhook is failing; new events are skipped until the URL is fixed", async () => {
  const h = await hook("/f", ["sendmux.test", "message.delivered"]);
  rx.answer("/f", () => 503);
  const t = await g.api("POST", `/api/v1/webhooks/${h.id}/test`);
  for (let n = 1; n < WEBHOOK_MAX_ATTEMPTS; n++) {
    clock.advance(WEBHOOK_RETRY_DELAYS_MS[n - 1]!);
    await waitFor(() => rx.at("/f").length === n + 1, `attempt ${n + 1}`);
  }
  const list = await waitFor(async () => {
    const l = await deliveries(h.id);
    return l.length === WEBHOOK_MAX_ATTEMPTS ? l : null;
  }, "every attempt recorded");
  expect(list[0]).toMatchObject({ delivery_attempt: WEBHOOK_MAX_ATTEMPTS, result: "failed", next_retry_at: null, response_status: 503 });
  expect(new Set(rx.at("/f").map((r) => r.body.id))).toEqual(new Set([t.json.data.event_id]));
  const w = await g.api("GET", `/api/v1/webhooks/${h.id}`);
  expect(w.json.data.failing).toBe(true);
  // No more retries.
  clock.advance(48 * 3_600_000);
  await Bun.sleep(1000);
  expect(rx.at("/f")).toHaveLength(WEBHOOK_MAX_ATTEMPTS);

  // A failing webhook skips new events.
  const s1 = await g.api("POST", "/api/v1/emails/send", msg("while failing"));
  await g.settle(s1.json.data.message_id);
  await waitFor(() => rx.at("/all").some((r) => r.body.data.sendmux_message_id === s1.json.data.message_id), "the event at a healthy webhook");
  await Bun.sleep(500);
  expect(rx.at("/f")).toHaveLength(WEBHOOK_MAX_ATTEMPTS);

  // Fixing the URL clears failing; the next event arrives.
  rx.secret("/f2", h.secret);
  const fixed = await g.api("PATCH", `/api/v1/webhooks/${h.id}`, { url: rx.url("/f2") });
  expect(fixed.status).toBe(200);
  expect(fixed.json.data.failing).toBe(false);
  const s2 = await g.api("POST", "/api/v1/emails/send", msg("after the fix"));
  await g.settle(s2.json.data.message_id);
  const got = await waitFor(() => rx.at("/f2")[0], "the event after the fix");
  expect(got.body.data.sendmux_message_id).toBe(s2.json.data.message_id);
  expect(got.verified).toBe(true);
});

test("a disabled webhook gets no test event: 409 conflict saying how to enable it; once enabled it does", async () => {
  const h = await hook("/disabled", ["sendmux.test"]);
  const off = await g.api("PATCH", `/api/v1/webhooks/${h.id}`, { enabled: false });
  expect(off.status).toBe(200);
  expect(off.json.data.enabled).toBe(false);
  const r = await g.api("POST", `/api/v1/webhooks/${h.id}/test`);
  expect(r.status).toBe(409);
  expect(oas.check("/webhooks/{public_id}/test", "post", 409, r.text)).toEqual([]);
  expect(r.json.error.code).toBe("conflict");
  expect(r.json.error.retryable).toBe(false);
  expect(r.json.error.message).toContain("disabled");
  expect(r.json.error.message).toContain('"enabled": true');
  expect(r.json.error.message).toContain("PATCH");
  await Bun.sleep(300);
  expect(rx.at("/disabled")).toHaveLength(0);
  expect(await deliveries(h.id)).toEqual([]);
  // Enabled again, the test event goes out.
  expect((await g.api("PATCH", `/api/v1/webhooks/${h.id}`, { enabled: true })).status).toBe(200);
  const t = await g.api("POST", `/api/v1/webhooks/${h.id}/test`);
  expect(t.status).toBe(200);
  const got = await waitFor(() => rx.at("/disabled")[0], "the test event once enabled");
  expect(got.body.id).toBe(t.json.data.event_id);
});

test("an event a dead node left pending is reclaimed by another and delivered once", async () => {
  const gw = g.running.gw;
  await g.running.webhooks.stop();
  const ev = await gw.events.emit(g.accountId, "message.sent", { message_id: "eml_reclaimreclaimreclaimrecl", recipients: ["x@example.com"], sender: "a@example.com" });
  // A node reads it and dies before acknowledging.
  const read = (await gw.redis.xreadgroup("GROUP", WEBHOOK_GROUP, "dead-node", "COUNT", 10, "STREAMS", K.events(g.accountId), ">")) as any[];
  expect(read[0][1].length).toBeGreaterThan(0);
  const reader = connectRedis(g.redisUrl, { enableAutoPipelining: false, maxRetriesPerRequest: null });
  const w = new WebhookWorker(gw, reader, { consumer: "node-2", reclaimIdleMs: 200, reclaimEveryMs: 100, pollEveryMs: 100 });
  extraWorkers.push(w);
  await w.start();
  const got = await waitFor(() => rx.at("/all").find((r) => r.body.id === ev.id), "the reclaimed event", 10_000);
  expect(got.verified).toBe(true);
  await Bun.sleep(1000);
  expect(rx.at("/all").filter((r) => r.body.id === ev.id)).toHaveLength(1);
  const pending = (await gw.redis.xpending(K.events(g.accountId), WEBHOOK_GROUP)) as [number, ...unknown[]];
  expect(pending[0]).toBe(0);
});
