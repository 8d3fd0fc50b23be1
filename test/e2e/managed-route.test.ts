/**
 * The managed route end to end, against aws-ses-v2-local (with the recorder in front of it) and a
 * ManualClock: the operator configures it; signup gives a key that sends through it at once; it is
 * in every account's list as shared and not editable; the per-account daily limit of 50 holds the
 * 51st message until 00:00 UTC; an account with its own provider spills to it; increase requests
 * (80% rule, one pending, cancel) and the operator's approve and deny, whose outcome email reaches
 * the local SES endpoint.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { buildDocument } from "../../src/api/openapi/document.ts";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { OasValidator } from "../helpers/oas.ts";
import { sesAccount, startSesLocal, type SesLocal } from "../helpers/ses-local.ts";

setDefaultTimeout(120_000);

const DAY = 86_400_000;
const clock = new ManualClock(Date.UTC(2026, 5, 1, 9, 0, 0));
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
let g: TestGateway;
let ses: SesLocal;
let admin: string;
let routeId: string;

beforeAll(async () => {
  [g, ses] = await Promise.all([
    startTestGateway({ clock, env: { SENDMUX_OPEN_SIGNUP: "true", SENDMUX_NOTICE_FROM: "notices@gw.test" } }),
    // A fast account, so that only the per-account daily limit holds sends (the clock stands still).
    startSesLocal(sesAccount({ MaxSendRate: 5000, Max24HourSend: 1_000_000 })),
  ]);
  admin = readFileSync(join(g.dataDir, "admin-token"), "utf8").trim();
});
afterAll(async () => {
  await g?.stop();
  await ses?.stop();
});

const op = (method: string, path: string, body?: unknown) => g.api(method, path, body, { authorization: `Bearer ${admin}` });
const as = (token: string) => (method: string, path: string, body?: unknown) => g.api(method, path, body, { authorization: `Bearer ${token}` });

async function signup(email: string) {
  const r = await g.api("POST", "/api/v1/signup", { email, name: email.split("@")[0] }, { authorization: "" });
  expect(r.status).toBe(201);
  return { id: r.json.data.account.id as string, token: r.json.data.api_key.token as string, email };
}

/** Sends n messages in batches of up to 100; returns their ids. */
async function sendMany(token: string, n: number, to: string, scoped?: string): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < n) {
    const k = Math.min(100, n - ids.length);
    const messages = Array.from({ length: k }, (_, i) => ({ from: { email: "app@example.com" }, to: { email: to }, subject: `m${ids.length + i}`, text_body: "hi" }));
    const r = await as(scoped ?? token)("POST", "/api/v1/emails/send/batch", { messages });
    expect(r.status).toBe(200);
    for (const x of r.json.data.results) ids.push(x.message_id);
  }
  return ids;
}

const callsTo = (addr: string) => ses.calls.filter((c) => c.to.includes(addr) && c.status === 200);

test("the operator API needs the admin token; PUT validates every field and never returns the secret", async () => {
  expect((await g.api("GET", "/admin/v1/managed-route", undefined, { authorization: "" })).status).toBe(401);
  const withKey = await g.api("GET", "/admin/v1/managed-route");
  expect(withKey.status).toBe(401);
  expect(withKey.json.error.message).toContain("operator token");
  expect((await op("GET", "/admin/v1/managed-route")).status).toBe(404);

  const bad = await op("PUT", "/admin/v1/managed-route", { region: "eu-west-1", access_key_id: "AKIAIOSFODNN7EXAMPLE", default_daily_limit: 0, colour: "red" });
  expect(bad.status).toBe(422);
  const fields = bad.json.error.errors.map((e: { field: string }) => e.field).sort();
  expect(fields).toEqual(["colour", "default_daily_limit", "secret_access_key"]);

  const put = await op("PUT", "/admin/v1/managed-route", { region: "eu-west-1", access_key_id: "AKIAIOSFODNN7EXAMPLE", secret_access_key: SECRET, endpoint: ses.endpoint });
  expect(put.status).toBe(201);
  routeId = put.json.data.provider_id;
  expect(put.json.data.default_daily_limit).toBe(50);
  const got = await op("GET", "/admin/v1/managed-route");
  expect(got.status).toBe(200);
  expect(got.json.data.access_key_id).toBe("AKIA************MPLE");
  expect(got.text).not.toContain(SECRET);
  expect(got.text).not.toContain("AKIAIOSFODNN7EXAMPLE");
  // GetAccount is read in the background; the route's caps follow it (90% of MaxSendRate).
  await waitFor(async () => (await op("GET", "/admin/v1/managed-route")).json.data.detected_quotas?.per_second === 4500, "the GetAccount reading");
});

test("signup gives a full key that sends through the managed route at once", async () => {
  const a = await signup("first@example.org");
  const list = await as(a.token)("GET", "/api/v1/providers");
  expect(list.status).toBe(200);
  expect(list.json.data).toHaveLength(1);
  const item = list.json.data[0];
  expect(item).toMatchObject({ id: routeId, type: "amazon_ses", is_shared: true, is_editable: false, status: "active" });
  expect(item.allowed_actions).toMatchObject({ update: false, delete: false, test: false, deactivate: true });
  expect(list.text).not.toContain(SECRET);

  const r = await as(a.token)("POST", "/api/v1/emails/send", { from: { email: "app@example.com" }, to: { email: "someone@example.net" }, subject: "Welcome", text_body: "hello" });
  expect(r.status).toBe(200);
  const id = r.json.data.message_id;
  const done = await waitFor(async () => {
    const m = await as(a.token)("GET", `/api/v1/emails/${id}`);
    return m.json.data.status === "sent" ? m.json.data : null;
  }, "the signup send to go out");
  expect(done.provider_id).toBe(routeId);
  const calls = callsTo("someone@example.net");
  expect(calls).toHaveLength(1);
  expect(calls[0]!.from).toBe("app@example.com");
  expect((await simpleParser(calls[0]!.raw)).subject).toBe("Welcome");

  // Duplicate address and bad input.
  expect((await g.api("POST", "/api/v1/signup", { email: "FIRST@example.org", name: "again" }, { authorization: "" })).status).toBe(409);
  const bad = await g.api("POST", "/api/v1/signup", { email: "not an address", name: "" }, { authorization: "" });
  expect(bad.status).toBe(422);
  expect(bad.json.error.errors.map((e: { field: string }) => e.field).sort()).toEqual(["email", "name"]);
});

test("accounts cannot edit, delete or test the shared route, but can switch it off and on for themselves", async () => {
  const a = await signup("switch@example.org");
  const call = as(a.token);
  // Each 422 is one the served OpenAPI document lists for the operation (and its body validates).
  const own = new OasValidator(buildDocument("test") as any, "https://schemas.sendmux.test/own-managed.json");
  for (const [method, path, body, docPath] of [
    ["PATCH", `/api/v1/providers/${routeId}`, { name: "mine" }, "/providers/{id}"],
    ["DELETE", `/api/v1/providers/${routeId}`, undefined, "/providers/{id}"],
    ["POST", `/api/v1/providers/${routeId}/test`, undefined, "/providers/{id}/test"],
  ] as const) {
    const r = await call(method, path, body);
    expect(r.status, `${method} ${path}`).toBe(422);
    expect(own.check(docPath, method.toLowerCase(), r.status, r.text), `${method} ${path}`).toEqual([]);
  }
  const off = await call("POST", `/api/v1/providers/${routeId}/deactivate`);
  expect(off.status).toBe(200);
  expect(off.json.data.status).toBe("inactive");
  const refused = await call("POST", "/api/v1/emails/send", { from: { email: "app@example.com" }, to: { email: "x@example.net" }, subject: "s", text_body: "t" });
  expect(refused.status).toBe(503);
  expect(refused.json.error.message).toContain("no_active_providers");
  // Another account is not affected.
  const other = await signup("unaffected@example.org");
  expect((await as(other.token)("GET", `/api/v1/providers/${routeId}`)).json.data.status).toBe("active");
  const on = await call("POST", `/api/v1/providers/${routeId}/activate`);
  expect(on.json.data.status).toBe("active");
  expect((await call("POST", "/api/v1/emails/send", { from: { email: "app@example.com" }, to: { email: "x@example.net" }, subject: "s", text_body: "t" })).status).toBe(200);
});

let capped: { id: string; token: string; email: string };
let waitingId: string;

test("the 51st message of the day waits for 00:00 UTC", async () => {
  capped = await signup("capped@example.org");
  const ids = await sendMany(capped.token, 51, "cap-rcpt@example.net");
  waitingId = ids[50]!;
  await waitFor(() => callsTo("cap-rcpt@example.net").length === 50, "50 sends", 30_000);
  const waiting = await waitFor(async () => {
    const m = await as(capped.token)("GET", `/api/v1/emails/${waitingId}`);
    return m.json.data.status === "queued" && m.json.data.next_attempt_at ? m.json.data : null;
  }, "the 51st to wait");
  expect(waiting.next_attempt_at).toBe(new Date(Date.UTC(2026, 5, 2)).toISOString());
  await Bun.sleep(1500);
  expect(callsTo("cap-rcpt@example.net")).toHaveLength(50);
  const limits = await as(capped.token)("GET", "/api/v1/providers/limits");
  expect(limits.status).toBe(200);
  expect(limits.json.data.shared_amazon_ses).toEqual({
    provider_id: routeId, daily_limit: 50, sent_today: 50, threshold_usage: 40, usage_ratio: 1, is_near_limit: true, can_request_increase: true, pending_request_id: null,
  });
  expect(limits.json.data.sending_accounts).toMatchObject({ resource_type: "sending_accounts", usage: 0, is_at_limit: false });
  // The route's own view shows each account its own sends only, never the others' traffic.
  const mine = await as(capped.token)("GET", `/api/v1/providers/${routeId}`);
  expect(mine.json.data.usage).toEqual({ second: null, minute: null, hour: null, day: 50 });
  const other = await signup("bystander@example.org");
  const theirs = await as(other.token)("GET", `/api/v1/providers/${routeId}`);
  expect(theirs.json.data.usage).toEqual({ second: null, minute: null, hour: null, day: 0 });
  const listed = await as(other.token)("GET", "/api/v1/providers");
  expect(listed.json.data.find((p: { id: string }) => p.id === routeId).usage.day).toBe(0);
});

test("an account with its own provider in scope spills to it when the managed route is at its limit", async () => {
  const a = await signup("spill@example.org");
  const own = await as(a.token)("POST", "/api/v1/providers", { type: "capture", name: "own outbox" });
  expect(own.status).toBe(201);
  const managedOnly = await as(a.token)("POST", "/api/v1/api-keys", { name: "managed only", permission: "send", scope: { type: "specific", providers: [routeId] } });
  expect(managedOnly.status).toBe(201);
  await sendMany(a.token, 50, "spill-rcpt@example.net", managedOnly.json.data.token);
  await waitFor(() => callsTo("spill-rcpt@example.net").length === 50, "50 sends through the route", 30_000);
  const ids = await sendMany(a.token, 5, "spill-rcpt@example.net");
  for (const id of ids) {
    const m = await waitFor(async () => {
      const v = await as(a.token)("GET", `/api/v1/emails/${id}`);
      return v.json.data.status === "sent" ? v.json.data : null;
    }, `spilled message ${id}`);
    expect(m.provider_id).toBe(own.json.data.id);
  }
  expect(callsTo("spill-rcpt@example.net")).toHaveLength(50);
});

test("increase requests: the 80% rule, one pending at a time, cancel; approve and deny email the outcome", async () => {
  const low = await signup("low@example.org");
  await sendMany(low.token, 39, "low-rcpt@example.net");
  await waitFor(() => callsTo("low-rcpt@example.net").length === 39, "39 sends", 30_000);
  const early = await as(low.token)("POST", "/api/v1/providers/shared-amazon-ses-limit-request");
  expect(early.status).toBe(422);
  expect(early.json.error.param).toBe("sent_today");
  expect(early.json.error.message).toContain("80%");

  const d = await signup("dora@example.org");
  await sendMany(d.token, 40, "dora-rcpt@example.net");
  await waitFor(() => callsTo("dora-rcpt@example.net").length === 40, "40 sends", 30_000);
  const call = as(d.token);
  const first = await call("POST", "/api/v1/providers/shared-amazon-ses-limit-request");
  expect(first.status).toBe(200);
  expect(first.json.data.request).toMatchObject({ status: "pending", current_daily_limit: 50, current_daily_sent: 40, approved_daily_limit: null, decided_at: null });
  const again = await call("POST", "/api/v1/providers/shared-amazon-ses-limit-request");
  expect(again.status).toBe(409);
  expect(again.json.error.message).toContain(first.json.data.request.id);
  const cancel = await call("DELETE", `/api/v1/providers/shared-amazon-ses-limit-request/${first.json.data.request.id}`);
  expect(cancel.status).toBe(200);
  expect(cancel.json.data.request.status).toBe("cancelled");
  expect((await call("DELETE", `/api/v1/providers/shared-amazon-ses-limit-request/${first.json.data.request.id}`)).status).toBe(409);

  const second = await call("POST", "/api/v1/providers/shared-amazon-ses-limit-request");
  expect(second.status).toBe(200);
  const rid = second.json.data.request.id;
  const state = await call("GET", "/api/v1/providers/shared-amazon-ses-limit-request");
  expect(state.json.data.pending_request.id).toBe(rid);
  expect(state.json.data.limit.pending_request_id).toBe(rid);
  expect(state.json.data.limit.can_request_increase).toBe(false);

  const listed = await op("GET", "/admin/v1/limit-requests?status=pending");
  expect(listed.json.data.map((r: { id: string }) => r.id)).toContain(rid);
  expect(listed.json.data.find((r: { id: string }) => r.id === rid).account_id).toBe(d.id);
  const noLimit = await op("POST", `/admin/v1/limit-requests/${rid}/approve`, { note: "x" });
  expect(noLimit.status).toBe(422);
  expect(noLimit.json.error.param).toBe("daily_limit");
  expect((await op("POST", "/admin/v1/limit-requests/slir_aaaaaaaaaaaaaaaaaaaaaaaa/approve", { daily_limit: 70 })).status).toBe(404);
  // Approving raises the limit: a daily_limit at or below the current 50 is refused, naming both.
  for (const lower of [3, 50]) {
    const r = await op("POST", `/admin/v1/limit-requests/${rid}/approve`, { daily_limit: lower });
    expect(r.status).toBe(422);
    expect(r.json.error.param).toBe("daily_limit");
    expect(r.json.error.message).toContain("50");
    expect(r.json.error.message).toContain(String(lower));
    expect(r.json.error.message).toContain("deny");
  }
  expect((await op("GET", "/admin/v1/limit-requests?status=pending")).json.data.map((r: { id: string }) => r.id)).toContain(rid);
  expect((await call("GET", "/api/v1/providers/limits")).json.data.shared_amazon_ses.daily_limit).toBe(50);

  const approved = await op("POST", `/admin/v1/limit-requests/${rid}/approve`, { daily_limit: 70, note: "Welcome aboard" });
  expect(approved.status).toBe(200);
  expect(approved.json.data.request).toMatchObject({ status: "approved", approved_daily_limit: 70, decision_note: "Welcome aboard" });
  expect(approved.json.data.notice.to).toBe("dora@example.org");
  expect((await op("POST", `/admin/v1/limit-requests/${rid}/deny`, { note: "late" })).status).toBe(409);
  const mail = await waitFor(() => callsTo("dora@example.org")[0], "the approval email at SES", 15_000);
  expect(mail.from).toBe("notices@gw.test");
  const parsed = await simpleParser(mail.raw);
  expect(parsed.subject).toContain("70");
  expect(parsed.text).toContain("Welcome aboard");
  expect(parsed.text).toContain(rid);
  const after = await call("GET", "/api/v1/providers/limits");
  expect(after.json.data.shared_amazon_ses).toMatchObject({ daily_limit: 70, sent_today: 40, threshold_usage: 56, is_near_limit: false, pending_request_id: null });
  // The new limit counts at once: 30 more go out today.
  await sendMany(d.token, 30, "dora-rcpt@example.net");
  await waitFor(() => callsTo("dora-rcpt@example.net").length === 70, "30 more sends under the new limit", 30_000);

  const e = await signup("eve@example.org");
  await sendMany(e.token, 45, "eve-rcpt@example.net");
  await waitFor(() => callsTo("eve-rcpt@example.net").length === 45, "45 sends", 30_000);
  const req = await as(e.token)("POST", "/api/v1/providers/shared-amazon-ses-limit-request");
  expect(req.status).toBe(200);
  const noNote = await op("POST", `/admin/v1/limit-requests/${req.json.data.request.id}/deny`, {});
  expect(noNote.status).toBe(422);
  expect(noNote.json.error.param).toBe("note");
  const denied = await op("POST", `/admin/v1/limit-requests/${req.json.data.request.id}/deny`, { note: "Bulk mail belongs on your own provider" });
  expect(denied.status).toBe(200);
  expect(denied.json.data.request.status).toBe("denied");
  const deny = await waitFor(() => callsTo("eve@example.org")[0], "the denial email at SES", 15_000);
  const dp = await simpleParser(deny.raw);
  expect(dp.subject).toContain("not approved");
  expect(dp.text).toContain("Bulk mail belongs on your own provider");
  expect((await as(e.token)("GET", "/api/v1/providers/limits")).json.data.shared_amazon_ses.daily_limit).toBe(50);
  // The notices never used up the recipients' own limits.
  expect((await as(e.token)("GET", "/api/v1/providers/limits")).json.data.shared_amazon_ses.sent_today).toBe(45);
});

test("at 00:00 UTC the count resets and the waiting 51st message goes out", async () => {
  clock.set(Date.UTC(2026, 5, 1, 23, 59, 59, 500));
  await Bun.sleep(1500);
  expect(callsTo("cap-rcpt@example.net")).toHaveLength(50);
  clock.set(Date.UTC(2026, 5, 2, 0, 0, 0, 0));
  const m = await waitFor(async () => {
    const v = await as(capped.token)("GET", `/api/v1/emails/${waitingId}`);
    return v.json.data.status === "sent" ? v.json.data : null;
  }, "the 51st to go out after midnight", 15_000);
  expect(m.provider_id).toBe(routeId);
  expect(callsTo("cap-rcpt@example.net")).toHaveLength(51);
  const limits = await as(capped.token)("GET", "/api/v1/providers/limits");
  expect(limits.json.data.shared_amazon_ses).toMatchObject({ daily_limit: 50, sent_today: 1, is_near_limit: false });
  void DAY;
});

test("the route's health shows every account its state, never the upstream's reply text (it can name another account's addresses)", async () => {
  // Last in this file: it pauses the route.
  const reply = "554 Message rejected: Email address is not verified: owner@another-account.example";
  for (let i = 0; i < 3; i++) await g.running.gw.circuit.recordFailure(routeId, "quota", reply);
  const a = await signup("onlooker@example.org");
  const v = await as(a.token)("GET", `/api/v1/providers/${routeId}`);
  expect(v.json.data.health.state).toBe("paused");
  expect(v.json.data.health.class).toBe("quota");
  expect(v.json.data.health.reason).toMatch(/managed route is paused/);
  expect(JSON.stringify(v.json.data)).not.toContain("another-account");
});
