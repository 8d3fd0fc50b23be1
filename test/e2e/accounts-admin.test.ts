/**
 * The operator's accounts API and isolation: create (with a first full key), list with a cursor,
 * get, suspend (403 over HTTP, refused by the relay) and unsuspend; signup is 403 while open signup
 * is off; and the isolation sweep — every route of the API that takes an id answers 404 to another
 * account's key for this account's ids.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../../src/api/app.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { relaySubmit } from "../helpers/providers.ts";

setDefaultTimeout(60_000);
let g: TestGateway;
let admin: string;
beforeAll(async () => {
  g = await startTestGateway();
  admin = readFileSync(join(g.dataDir, "admin-token"), "utf8").trim();
});
afterAll(async () => {
  await g?.stop();
});

const op = (method: string, path: string, body?: unknown) => g.api(method, path, body, { authorization: `Bearer ${admin}` });
const as = (token: string) => (method: string, path: string, body?: unknown) => g.api(method, path, body, { authorization: `Bearer ${token}` });
const mail = { from: { email: "a@example.com" }, to: { email: "b@example.net" }, subject: "s", text_body: "t" };

test("signup answers 403 while open signup is off", async () => {
  const r = await g.api("POST", "/api/v1/signup", { email: "x@example.org", name: "x" }, { authorization: "" });
  expect(r.status).toBe(403);
  expect(r.json.error.message).toContain("SENDMUX_OPEN_SIGNUP");
});

test("create, list with a cursor, get; bad input names the field; unknown ids 404", async () => {
  const bad = await op("POST", "/admin/v1/accounts", { name: "", email: "nope", plan: "x" });
  expect(bad.status).toBe(422);
  expect(bad.json.error.errors.map((e: { field: string }) => e.field).sort()).toEqual(["email", "name", "plan"]);
  const made: string[] = [];
  for (const n of ["one", "two", "three"]) {
    const r = await op("POST", "/admin/v1/accounts", { name: n, email: `${n}@example.org` });
    expect(r.status).toBe(201);
    expect(r.json.data.api_key.permission).toBe("full");
    expect(r.json.data.api_key.token).toMatch(/^smx_/);
    made.push(r.json.data.account.id);
  }
  expect((await op("POST", "/admin/v1/accounts", { name: "dup", email: "ONE@example.org" })).status).toBe(409);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const r = await op("GET", `/admin/v1/accounts?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    expect(r.status).toBe(200);
    expect(r.json.data.length).toBeLessThanOrEqual(2);
    seen.push(...r.json.data.map((a: { id: string }) => a.id));
    cursor = r.json.pagination.next_cursor;
    // As the Management API document's CursorPagination: a next_cursor only while there is more.
    if (r.json.pagination.has_more) expect(typeof cursor).toBe("string");
    else expect(r.json.pagination).toEqual({ has_more: false });
  } while (cursor);
  expect(seen).toEqual(expect.arrayContaining([g.accountId, ...made]));
  expect(new Set(seen).size).toBe(seen.length);
  expect((await op("GET", "/admin/v1/accounts?cursor=garbage")).status).toBe(400);
  const one = await op("GET", `/admin/v1/accounts/${made[0]}`);
  expect(one.json.data).toMatchObject({ id: made[0], name: "one", email: "one@example.org", status: "active" });
  expect((await op("GET", "/admin/v1/accounts/acct_aaaaaaaaaaaaaaaaaaaaaaaa")).status).toBe(404);
  expect((await g.api("GET", "/admin/v1/accounts")).status).toBe(401);
  const requests = await op("GET", "/admin/v1/limit-requests");
  expect(requests.status).toBe(200);
  expect(requests.json.pagination).toEqual({ has_more: false });
});

test("a name too long is too_big (as every other length error), an empty one too_small", async () => {
  const long = await op("POST", "/admin/v1/accounts", { name: "x".repeat(5000) });
  expect(long.status).toBe(422);
  expect(long.json.error.errors).toEqual([{ field: "name", code: "too_big", message: expect.stringContaining("at most 255 characters") }]);
  expect(long.json.error.errors[0].message).toContain("5000");
  const empty = await op("POST", "/admin/v1/accounts", { name: "   " });
  expect(empty.status).toBe(422);
  expect(empty.json.error.errors).toEqual([{ field: "name", code: "too_small", message: expect.stringContaining("empty") }]);
});

test("a suspended account's keys get 403 over HTTP and are refused by the relay; unsuspend restores them", async () => {
  const r = await op("POST", "/admin/v1/accounts", { name: "susp", email: "susp@example.org" });
  const token = r.json.data.api_key.token as string;
  const id = r.json.data.account.id as string;
  const own = await as(token)("POST", "/api/v1/providers", { type: "capture", name: "outbox" });
  expect(own.status).toBe(201);
  expect((await as(token)("POST", "/api/v1/emails/send", mail)).status).toBe(200);
  const s = await op("POST", `/admin/v1/accounts/${id}/suspend`, { reason: "unpaid invoice" });
  expect(s.status).toBe(200);
  expect(s.json.data.status).toBe("suspended");
  const refused = await as(token)("POST", "/api/v1/emails/send", mail);
  expect(refused.status).toBe(403);
  expect(refused.json.error.message).toContain("suspended");
  expect(refused.json.error.message).toContain("unpaid invoice");
  expect((await as(token)("GET", "/api/v1/providers")).status).toBe(403);
  const relay = await relaySubmit(g, token, Buffer.from("From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\n\r\nt\r\n"), { from: "a@example.com", to: ["b@example.net"] });
  expect(relay.ok).toBe(false);
  expect(relay.response).toMatch(/^535 5\.7\.8 .*suspended/);
  // Other accounts are not affected.
  expect((await g.api("POST", "/api/v1/emails/send", mail)).status).toBe(200);
  expect((await op("POST", `/admin/v1/accounts/${id}/unsuspend`)).json.data.status).toBe("active");
  expect((await as(token)("POST", "/api/v1/emails/send", mail)).status).toBe(200);
  const back = await relaySubmit(g, token, Buffer.from("From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\n\r\nt\r\n"), { from: "a@example.com", to: ["b@example.net"] });
  expect(back.ok).toBe(true);
});

test("isolation sweep: every route with an id answers 404 to another account's key", async () => {
  // Account A (the bootstrap account) owns one of everything; B holds a full key.
  const b = await op("POST", "/admin/v1/accounts", { name: "B", email: "b-iso@example.org" });
  const bKey = b.json.data.api_key.token as string;
  const msg = (await g.api("POST", "/api/v1/emails/send", mail)).json.data.message_id as string;
  await g.settle(msg);
  const group = await g.api("POST", "/api/v1/groups", { name: "iso", members: [{ provider_id: g.captureId }] });
  const key = await g.api("POST", "/api/v1/api-keys", { name: "iso", permission: "send" });
  const att = await g.api("POST", "/api/v1/emails/attachments?filename=a.txt", "hello", { "content-type": "text/plain" });
  const upl = await g.api("POST", "/api/v1/emails/attachment-uploads", { filename: "b.txt", content_type: "text/plain", size_bytes: 2 });
  const hook = await g.api("POST", "/api/v1/webhooks", { url: "https://example.com/hook", event_types: ["sendmux.test"] });
  const logs = await g.api("GET", "/api/v1/emails/logs");
  const ids: Record<string, string | undefined> = {
    message_id: msg,
    id: undefined,
    attachment_id: att.json?.data?.id ?? att.json?.data?.attachment_id,
    upload_id: upl.json?.data?.upload_id ?? upl.json?.data?.id,
    request_id: undefined,
    public_id: undefined,
  };
  const logId = logs.json?.data?.[0]?.id as string | undefined;
  // A limit request of A's, made directly in the store (A has no managed route to reach 80% on).
  const slir = await g.running.gw.redis.hset(`smx:{a:${g.accountId}}:slir`, "slir_aaaaaaaaaaaaaaaaaaaaaaab", JSON.stringify({ id: "slir_aaaaaaaaaaaaaaaaaaaaaaab", status: "pending" }));
  expect(slir).toBe(1);
  ids.request_id = "slir_aaaaaaaaaaaaaaaaaaaaaaab";
  const byPrefix: Record<string, string> = {
    "/api/v1/providers": g.captureId,
    "/api/v1/groups": group.json.data.id,
    "/api/v1/api-keys": key.json.data.id,
  };
  const app = createApp(g.running.gw);
  const routes = app.routes.filter((r) => r.path.startsWith("/api/v1/") && r.path.includes(":"));
  const unchecked: string[] = [];
  let checked = 0;
  for (const r of routes) {
    let missing = false;
    const path = r.path.replace(/:(\w+)/g, (_m, name: string) => {
      const v = name === "public_id" ? (r.path.includes("/webhooks/") ? hook.json?.data?.id : logId) : name === "id" ? Object.entries(byPrefix).find(([p]) => r.path.startsWith(p + "/"))?.[1] : name === "message_id" && r.path.includes("/outbox/") ? msg : ids[name];
      if (!v) missing = true;
      return v ?? "";
    });
    if (missing) {
      unchecked.push(`${r.method} ${r.path}`);
      continue;
    }
    const body = ["POST", "PATCH", "PUT"].includes(r.method) ? {} : undefined;
    const res = await as(bKey)(r.method, path, body);
    // The upload PUT is authorised by the token of its upload URL, never by an API key: any key,
    // another account's included, gets 401 there.
    const want = r.path === "/api/v1/emails/attachment-uploads/:upload_id" ? 401 : 404;
    expect(res.status, `${r.method} ${path} with another account's key`).toBe(want);
    checked++;
  }
  // Every id-taking route was checked, except the webhook deliveries' own ids when there are none.
  expect(unchecked.filter((u) => !u.includes(":delivery_id"))).toEqual([]);
  expect(checked).toBeGreaterThanOrEqual(20);
});
