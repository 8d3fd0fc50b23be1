import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

const base = { from: { email: "a@example.com" }, subject: "limits", text_body: "x" };

test("a request with 300,000 bad recipients gets a small 422: errors lists at most 100 and the message says so", async () => {
  const r = await g.api("POST", "/api/v1/emails/send", { ...base, to: Array.from({ length: 300_000 }, () => ({ email: "x" })) });
  expect(r.status).toBe(422);
  expect(r.json.error.errors.length).toBe(100);
  expect(r.json.error.message).toMatch(/errors lists the first 100/);
  expect(r.text.length).toBeLessThan(50_000);
});

test("at most 50 custom headers", async () => {
  const headers = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`X-H${i}`, "v"]));
  const r = await g.api("POST", "/api/v1/emails/send", { ...base, to: { email: "b@example.com" }, custom_headers: headers });
  expect(r.status).toBe(422);
  expect(r.json.error.errors[0].field).toBe("custom_headers");
  const ok = await g.api("POST", "/api/v1/emails/send", { ...base, to: { email: "b@example.com" }, custom_headers: Object.fromEntries(Object.entries(headers).slice(0, 50)) });
  expect(ok.status).toBe(200);
});

test("API keys: the list pages with limit and cursor and refuses bad ones; last_used_at is recorded", async () => {
  const made: string[] = [];
  for (let i = 0; i < 3; i++) made.push((await g.api("POST", "/api/v1/api-keys", { name: `k${i}` })).json.data.id);
  const p1 = await g.api("GET", "/api/v1/api-keys?limit=2");
  expect(p1.json.data).toHaveLength(2);
  expect(p1.json.pagination.has_more).toBe(true);
  const p2 = await g.api("GET", `/api/v1/api-keys?limit=2&cursor=${p1.json.pagination.next_cursor}`);
  const all = [...p1.json.data, ...p2.json.data].map((k: { id: string }) => k.id);
  expect(new Set(all).size).toBe(4);
  expect(p2.json.pagination.has_more).toBe(false);
  for (const q of ["limit=0", "limit=abc", "limit=101", "cursor=garbage"]) {
    const r = await g.api("GET", `/api/v1/api-keys?${q}`);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_parameter");
  }
  const mine = await waitFor(async () => {
    const r = await g.api("GET", "/api/v1/api-keys?limit=100");
    const boot = r.json.data.find((k: { name: string }) => k.name === "bootstrap");
    return boot.last_used_at ? boot : null;
  }, "the bootstrap key's last_used_at");
  expect(Date.parse(mine.last_used_at)).toBeGreaterThan(0);
  const unused = await g.api("GET", `/api/v1/api-keys/${made[0]}`);
  expect(unused.json.data.last_used_at).toBeNull();
});

test("the documented request for more sending accounts answers 422: there is no limit to raise", async () => {
  const r = await g.api("POST", "/api/v1/providers/limits/sending-accounts/request-increase", {});
  expect(r.status).toBe(422);
  expect(r.json.error.code).toBe("validation_error");
  expect(r.json.error.message).toMatch(/no limit/);
});

test("a webhook URL with a user name or password is refused (it would be shown in the clear)", async () => {
  const r = await g.api("POST", "/api/v1/webhooks", { url: "https://user:pw@hooks.example.com/x", event_types: ["message.delivered"] });
  expect(r.status).toBe(422);
  expect(JSON.stringify(r.json.error)).toMatch(/user name or password/);
});
