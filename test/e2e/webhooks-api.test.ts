/**
 * `/api/v1/webhooks…` as the Management API document says: shapes validated with ajv against
 * sendmux-openapi-app.json, the secret only in the create and rotate answers (and stored sealed),
 * every bad input named, ETags, If-Match, cursors, Idempotency-Key per webhook, and another
 * account's ids answering 404 on every endpoint.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { K } from "../../src/store/keys.ts";
import { targetProblem } from "../../src/webhooks/url.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { OasValidator, loadReference } from "../helpers/oas.ts";
import { appDocumentFixes } from "../helpers/webhook-receiver.ts";

const oas = new OasValidator(appDocumentFixes(loadReference("sendmux-openapi-app.json")), "https://schemas.sendmux.test/app-api.json");
let g: TestGateway;
let otherKey: string;
beforeAll(async () => {
  g = await startTestGateway({ env: { SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK: "true" } });
  const other = await g.running.gw.accounts.create("other", null);
  otherKey = (await g.running.gw.keys.create(other.id, { name: "k", permission: "full", scope: { type: "all" } })).token;
});
afterAll(async () => {
  await g?.stop();
});

// Never called: no test here triggers a delivery to it.
const URL_OK = "https://hooks.example.invalid/sendmux";

test("create answers 201 with the secret once and Location; GET and list never show it; it is stored sealed", async () => {
  const r = await g.api("POST", "/api/v1/webhooks", { url: URL_OK, event_types: ["message.delivered", "message.bounced"], name: "main" });
  expect(r.status).toBe(201);
  expect(oas.check("/webhooks", "post", 201, r.text)).toEqual([]);
  const d = r.json.data;
  expect(d).toMatchObject({ url: URL_OK, event_types: ["message.delivered", "message.bounced"], name: "main", enabled: true, failing: false, filters: { mailbox_ids: [] } });
  expect(d.id).toMatch(/^whk_[a-z0-9]{24}$/);
  expect(d.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(r.headers.get("location")).toBe(`/api/v1/webhooks/${d.id}`);
  const one = await g.api("GET", `/api/v1/webhooks/${d.id}`);
  expect(oas.check("/webhooks/{public_id}", "get", 200, one.text)).toEqual([]);
  expect(one.text).not.toContain(d.secret);
  expect(one.json.data.secret).toBeUndefined();
  const list = await g.api("GET", "/api/v1/webhooks");
  expect(oas.check("/webhooks", "get", 200, list.text)).toEqual([]);
  expect(list.text).not.toContain(d.secret);
  const raw = await g.running.gw.redis.hget(K.webhooks(g.accountId), d.id);
  expect(raw).not.toContain(d.secret);
  expect(raw).not.toContain(d.secret.slice(6, 30));
});

test("every bad input is refused naming the field", async () => {
  const cases: Array<[unknown, number, string]> = [
    [{ event_types: ["message.delivered"] }, 422, "url"],
    [{ url: URL_OK }, 422, "event_types"],
    [{ url: URL_OK, event_types: [] }, 422, "event_types"],
    [{ url: URL_OK, event_types: ["message.opened"] }, 422, "event_types[0]"],
    [{ url: "http://hooks.example.com/x", event_types: ["message.delivered"] }, 422, "url"],
    [{ url: "ftp://hooks.example.com/x", event_types: ["message.delivered"] }, 422, "url"],
    [{ url: "not a url", event_types: ["message.delivered"] }, 422, "url"],
    [{ url: URL_OK, event_types: ["message.delivered"], colour: "red" }, 422, "colour"],
    [{ url: URL_OK, event_types: ["message.delivered"], filters: { mailbox_ids: ["mbx_1"] } }, 422, "filters.mailbox_ids"],
    [{ url: URL_OK, event_types: ["message.delivered"], filters: {} }, 422, "filters.mailbox_ids"],
    [{ url: URL_OK, event_types: ["message.delivered"], name: "x".repeat(256) }, 422, "name"],
    [{ url: URL_OK, event_types: ["message.delivered"], enabled: "yes" }, 422, "enabled"],
    ["{not json", 400, "body"],
    [[1, 2], 400, "body"],
  ];
  for (const [body, status, field] of cases) {
    const r = await g.api("POST", "/api/v1/webhooks", body);
    expect(r.status, JSON.stringify(body)).toBe(status);
    expect(r.json.error.param, JSON.stringify(body)).toBe(field);
    expect(oas.check("/webhooks", "post", status, r.text)).toEqual([]);
  }
  // Loopback http is accepted only when the operator allows it.
  expect(targetProblem("http://127.0.0.1:9/x", true)).toBeNull();
  expect(targetProblem("http://127.0.0.1:9/x", false)).toContain("https://");
  expect(targetProblem("http://127.0.0.1:9/x", false)).toContain("SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK=true");
  expect(targetProblem("http://10.0.0.1/x", true)).toContain("loopback");
  expect(() => loadConfig({ SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK: "maybe" })).toThrow(ConfigError);
  const h = await g.api("POST", "/api/v1/webhooks", { url: URL_OK, event_types: ["sendmux.test"] });
  for (const [q, field] of [["limit=0", "limit"], ["limit=101", "limit"], ["cursor=%25%25", "cursor"], ["event_type=nope", "event_type"], ["result=ok", "result"]]) {
    const r = await g.api("GET", `/api/v1/webhooks/${h.json.data.id}/deliveries?${q}`);
    expect(r.status, q).toBe(400);
    expect(r.json.error.param).toBe(field);
  }
  const p = await g.api("PATCH", `/api/v1/webhooks/${h.json.data.id}`, { event_types: [], url: "http://example.com" });
  expect(p.status).toBe(422);
  expect(p.json.error.errors.map((e: any) => e.field).sort()).toEqual(["event_types", "url"]);
});

test("list pages newest first with a cursor", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await g.api("POST", "/api/v1/webhooks", { url: URL_OK, event_types: ["message.delivered"], name: `p${i}` })).json.data.id);
    // Ordered by created_at (ms), then id: webhooks created in the same millisecond have no order
    // of creation to keep, so each here gets its own millisecond.
    await Bun.sleep(3);
  }
  const seen: string[] = [];
  let cursor = "";
  for (;;) {
    const r = await g.api("GET", `/api/v1/webhooks?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    expect(oas.check("/webhooks", "get", 200, r.text)).toEqual([]);
    seen.push(...r.json.data.map((w: any) => w.id));
    if (!r.json.pagination.has_more) break;
    cursor = r.json.pagination.next_cursor;
  }
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen.slice(0, 3)).toEqual(ids.reverse());
});

test("ETag and 304; PATCH with If-Match; PATCH leaves the rest unchanged; DELETE", async () => {
  const c = await g.api("POST", "/api/v1/webhooks", { url: URL_OK, event_types: ["message.delivered"], name: "n" });
  const id = c.json.data.id;
  const a = await g.api("GET", `/api/v1/webhooks/${id}`);
  const tag = a.headers.get("etag")!;
  expect(tag).toMatch(/^W\/"/);
  const nm = await g.api("GET", `/api/v1/webhooks/${id}`, undefined, { "if-none-match": tag });
  expect(nm.status).toBe(304);
  expect(nm.text).toBe("");
  const p = await g.api("PATCH", `/api/v1/webhooks/${id}`, { enabled: false, name: null }, { "if-match": tag });
  expect(p.status).toBe(200);
  expect(oas.check("/webhooks/{public_id}", "patch", 200, p.text)).toEqual([]);
  expect(p.json.data).toMatchObject({ enabled: false, name: null, url: URL_OK, event_types: ["message.delivered"] });
  expect(p.headers.get("etag")).not.toBe(tag);
  const stale = await g.api("PATCH", `/api/v1/webhooks/${id}`, { enabled: true }, { "if-match": tag });
  expect(stale.status).toBe(409);
  expect(stale.json.error.code).toBe("conflict");
  expect(oas.check("/webhooks/{public_id}", "patch", 409, stale.text)).toEqual([]);
  expect((await g.api("GET", `/api/v1/webhooks/${id}`, undefined, { "if-none-match": tag })).status).toBe(200);
  const del = await g.api("DELETE", `/api/v1/webhooks/${id}`);
  expect(del.status).toBe(200);
  expect(oas.check("/webhooks/{public_id}", "delete", 200, del.text)).toEqual([]);
  expect(del.json.data).toEqual({ deleted: true, id });
  expect((await g.api("GET", `/api/v1/webhooks/${id}`)).status).toBe(404);
  expect((await g.api("DELETE", `/api/v1/webhooks/${id}`)).status).toBe(404);
});

test("rotate-secret returns a new secret once; Idempotency-Key replays it, and conflicts on another webhook", async () => {
  const c = await g.api("POST", "/api/v1/webhooks", { url: URL_OK, event_types: ["message.delivered"] }, { "idempotency-key": "create-1" });
  const again = await g.api("POST", "/api/v1/webhooks", { url: URL_OK, event_types: ["message.delivered"] }, { "idempotency-key": "create-1" });
  expect(again.status).toBe(201);
  expect(again.text).toBe(c.text);
  const id = c.json.data.id;
  const r1 = await g.api("POST", `/api/v1/webhooks/${id}/rotate-secret`, undefined, { "idempotency-key": "rot-1" });
  expect(r1.status).toBe(200);
  expect(oas.check("/webhooks/{public_id}/rotate-secret", "post", 200, r1.text)).toEqual([]);
  expect(r1.json.data.secret).not.toBe(c.json.data.secret);
  const r2 = await g.api("POST", `/api/v1/webhooks/${id}/rotate-secret`, undefined, { "idempotency-key": "rot-1" });
  expect(r2.text).toBe(r1.text);
  const raw = await g.running.gw.redis.hget(K.webhooks(g.accountId), id);
  expect(raw).not.toContain(r1.json.data.secret);
  const other = (await g.api("POST", "/api/v1/webhooks", { url: URL_OK, event_types: ["message.delivered"] })).json.data.id;
  const conflict = await g.api("POST", `/api/v1/webhooks/${other}/rotate-secret`, undefined, { "idempotency-key": "rot-1" });
  expect(conflict.status).toBe(409);
  expect(conflict.json.error.code).toBe("idempotency_conflict");
  // test needs sendmux.test among the event types.
  const t = await g.api("POST", `/api/v1/webhooks/${id}/test`);
  expect(t.status).toBe(409);
  expect(t.json.error.code).toBe("conflict");
  expect(oas.check("/webhooks/{public_id}/test", "post", 409, t.text)).toEqual([]);
});

test("another account's webhook ids answer 404 on every endpoint, and a send key gets 403", async () => {
  const c = await g.api("POST", "/api/v1/webhooks", { url: URL_OK, event_types: ["sendmux.test"] });
  const id = c.json.data.id;
  const as = { authorization: `Bearer ${otherKey}` };
  const calls: Array<[string, string, unknown?]> = [
    ["GET", `/api/v1/webhooks/${id}`],
    ["PATCH", `/api/v1/webhooks/${id}`, { enabled: false }],
    ["DELETE", `/api/v1/webhooks/${id}`],
    ["POST", `/api/v1/webhooks/${id}/rotate-secret`],
    ["POST", `/api/v1/webhooks/${id}/test`],
    ["GET", `/api/v1/webhooks/${id}/deliveries`],
    ["GET", `/api/v1/webhooks/${id}/deliveries/whda_aaaaaaaaaaaaaaaaaaaaaaaa/payload`],
  ];
  for (const [m, path, body] of calls) {
    const r = await g.api(m, path, body, as);
    expect(r.status, `${m} ${path}`).toBe(404);
    expect(r.json.error.code).toBe("not_found");
  }
  expect((await g.api("GET", "/api/v1/webhooks", undefined, as)).json.data).toEqual([]);
  expect((await g.api("GET", `/api/v1/webhooks/${id}`)).json.data.enabled).toBe(true);
  const send = (await g.running.gw.keys.create(g.accountId, { name: "s", permission: "send", scope: { type: "all" } })).token;
  const r = await g.api("GET", "/api/v1/webhooks", undefined, { authorization: `Bearer ${send}` });
  expect(r.status).toBe(403);
  expect(oas.check("/webhooks", "get", 403, r.text)).toEqual([]);
});
