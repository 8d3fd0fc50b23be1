import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/net.ts";
import { startSink, type Sink } from "../helpers/sink.ts";
import { scopedKey, sendWith } from "../helpers/providers.ts";
import { OasValidator, loadReference } from "../helpers/oas.ts";

setDefaultTimeout(30_000);

const PASSWORD = `pw-${crypto.randomUUID()}-never-shown`;
const REQUIRED_KEYS = ["id", "name", "type", "status", "status_reason", "is_active", "is_shared", "is_editable", "allowed_actions", "smtp_host", "smtp_port", "smtp_protocol", "smtp_username", "has_smtp_password", "from_email", "from_name", "reply_to_email", "reply_to_name", "oauth_email", "has_refresh_token", "quotas", "percentage", "tracking_domain", "created_at", "updated_at", "last_tested_at", "last_used_at"];

let g: TestGateway;
let sink: Sink;
/** Every response body of this file, to prove the password never comes back. */
const bodies: string[] = [];

async function api(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const r = await g.api(method, path, body, headers);
  bodies.push(r.text);
  return r;
}

const smtpBody = (extra: Record<string, unknown> = {}) => ({
  name: "Primary SMTP",
  smtp_host: "127.0.0.1",
  smtp_port: sink.port,
  smtp_protocol: "starttls",
  smtp_username: "mailer",
  smtp_password: PASSWORD,
  smtp_tls_verify: false,
  ...extra,
});

beforeAll(async () => {
  g = await startTestGateway();
  sink = await startSink({
    onAuth(auth, _s, cb) {
      if (auth.password !== PASSWORD) return cb(Object.assign(new Error("5.7.8 Authentication credentials invalid"), { responseCode: 535 }));
      cb(null, { user: auth.username ?? "" });
    },
  });
});
afterAll(async () => {
  await g?.stop();
  await sink?.close();
});

function fieldsOf(r: { json: any }): string[] {
  return (r.json.error.errors ?? []).map((e: { field: string }) => e.field);
}

async function expect422(body: unknown, field: string, method = "POST", path = "/api/v1/providers") {
  const r = await api(method, path, body);
  expect(r.status).toBe(422);
  expect(r.json.ok).toBe(false);
  expect(r.json.error.code).toBe("validation_error");
  expect(r.json.error.retryable).toBe(false);
  expect(fieldsOf(r)).toContain(field);
  for (const e of r.json.error.errors) expect(e.message.length).toBeGreaterThan(3);
  return r;
}

describe("create and read", () => {
  test("POST creates an smtp provider in the documented shape; the password is write-only", async () => {
    const r = await api("POST", "/api/v1/providers", smtpBody({ percentage: 30, quotas: { per_second: 5, per_minute: { min: 10, max: 20 }, per_hour: null } }));
    expect(r.status).toBe(201);
    const p = r.json.data;
    expect(r.headers.get("location")).toBe(`/api/v1/providers/${p.id}`);
    expect(p.id).toMatch(/^dprov_[a-z0-9]{24}$/);
    for (const k of REQUIRED_KEYS) expect(p).toHaveProperty(k);
    expect(p).toMatchObject({ type: "smtp", status: "active", is_active: true, is_shared: false, smtp_port: sink.port, smtp_protocol: "starttls", smtp_username: "mailer", has_smtp_password: true, percentage: 30 });
    expect(p.quotas).toEqual({ per_second: { min: 5, max: 5 }, per_minute: { min: 10, max: 20 }, per_hour: null, per_day: null });
    expect(JSON.stringify(p)).not.toContain(PASSWORD);
    expect(p).not.toHaveProperty("smtp_password");
    expect(p).not.toHaveProperty("sealed");
    const got = await api("GET", `/api/v1/providers/${p.id}`);
    expect(got.status).toBe(200);
    expect(got.json.data).toEqual(p);
  });

  test("type defaults to smtp; a capture provider needs only a name", async () => {
    const r = await api("POST", "/api/v1/providers", { type: "capture", name: "Dev outbox" });
    expect(r.status).toBe(201);
    expect(r.json.data).toMatchObject({ type: "capture", smtp_host: null, has_smtp_password: false });
  });

  test("GET answers with a weak ETag and 304 for If-None-Match; the ETag moves after a change", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "etag" }))).json.data.id;
    const a = await api("GET", `/api/v1/providers/${id}`);
    const tag = a.headers.get("etag")!;
    expect(tag).toMatch(/^W\/".+"$/);
    const b = await api("GET", `/api/v1/providers/${id}`, undefined, { "if-none-match": tag });
    expect(b.status).toBe(304);
    expect(b.text).toBe("");
    expect((await api("PATCH", `/api/v1/providers/${id}`, { name: "etag 2" })).status).toBe(200);
    const c = await api("GET", `/api/v1/providers/${id}`, undefined, { "if-none-match": tag });
    expect(c.status).toBe(200);
    expect(c.headers.get("etag")).not.toBe(tag);
  });
});

describe("bad input", () => {
  test("an empty body lists every missing required field", async () => {
    const r = await expect422({}, "name");
    expect(fieldsOf(r)).toEqual(expect.arrayContaining(["name", "smtp_host", "smtp_port", "smtp_protocol"]));
  });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["unknown field", { foo: 1 }, "foo"],
    ["port as a string", { smtp_port: "587" }, "smtp_port"],
    ["port 0", { smtp_port: 0 }, "smtp_port"],
    ["port 65536", { smtp_port: 65536 }, "smtp_port"],
    ["port not an integer", { smtp_port: 25.5 }, "smtp_port"],
    ["unknown protocol", { smtp_protocol: "tlsv1" }, "smtp_protocol"],
    ["protocol as a number", { smtp_protocol: 1 }, "smtp_protocol"],
    ["negative percentage", { percentage: -1 }, "percentage"],
    ["non-integer percentage", { percentage: 1.5 }, "percentage"],
    ["percentage as a string", { percentage: "10" }, "percentage"],
    ["quota 0", { quotas: { per_second: 0 } }, "quotas.per_second"],
    ["negative quota", { quotas: { per_minute: -3 } }, "quotas.per_minute"],
    ["fractional quota", { quotas: { per_hour: 2.5 } }, "quotas.per_hour"],
    ["range min above max", { quotas: { per_day: { min: 5, max: 2 } } }, "quotas.per_day"],
    ["range without max", { quotas: { per_hour: { min: 1 } } }, "quotas.per_hour.max"],
    ["range with an extra key", { quotas: { per_hour: { min: 1, max: 2, avg: 1 } } }, "quotas.per_hour.avg"],
    ["unknown quota window", { quotas: { per_week: 10 } }, "quotas.per_week"],
    ["quotas not an object", { quotas: "lots" }, "quotas"],
    ["quota as a string", { quotas: { per_second: "5" } }, "quotas.per_second"],
    ["quota beyond 2^53", { quotas: { per_minute: 1e20 } }, "quotas.per_minute"],
    ["quota above 1,000,000,000", { quotas: { per_day: 1_000_000_001 } }, "quotas.per_day"],
    ["range max above 1,000,000,000", { quotas: { per_hour: { min: 1, max: 2 ** 53 } } }, "quotas.per_hour.max"],
    ["range min above 1,000,000,000", { quotas: { per_hour: { min: 1e20, max: 1e20 } } }, "quotas.per_hour.min"],
    ["empty name", { name: "" }, "name"],
    ["name not a string", { name: 123 }, "name"],
    ["name with a line break", { name: "a\r\nb" }, "name"],
    ["bad from_email", { from_email: "not an address" }, "from_email"],
    ["smtp_tls_verify not a boolean", { smtp_tls_verify: "no" }, "smtp_tls_verify"],
    ["unknown type", { type: "gmail" }, "type"],
    ["config on an smtp provider", { config: {} }, "config"],
    ["bad host", { smtp_host: "smtp example.com" }, "smtp_host"],
    ["empty password", { smtp_password: "" }, "smtp_password"],
  ];
  for (const [label, patch, field] of cases) {
    test(`${label} → 422 naming ${field}`, async () => {
      await expect422(smtpBody(patch), field);
    });
  }

  test("a cap above 1,000,000,000 per window is refused saying so; exactly 1,000,000,000 is accepted", async () => {
    const r = await expect422(smtpBody({ quotas: { per_minute: 1e20 } }), "quotas.per_minute");
    const e = r.json.error.errors.find((x: { field: string }) => x.field === "quotas.per_minute");
    expect(e.code).toBe("too_big");
    expect(e.message).toContain("1000000000");
    const r2 = await expect422(smtpBody({ quotas: { per_day: { min: 5, max: 1e20 } } }), "quotas.per_day.max");
    expect(r2.json.error.errors.find((x: { field: string }) => x.field === "quotas.per_day.max").code).toBe("too_big");
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "big caps", quotas: { per_day: 1_000_000_000, per_hour: { min: 1, max: 1_000_000_000 } } }))).json.data.id;
    const got = (await api("GET", `/api/v1/providers/${id}`)).json.data;
    expect(got.quotas.per_day).toEqual({ min: 1_000_000_000, max: 1_000_000_000 });
    expect(got.quotas.per_hour).toEqual({ min: 1, max: 1_000_000_000 });
    await expect422({ quotas: { per_second: 2 ** 60 } }, "quotas.per_second", "PATCH", `/api/v1/providers/${id}`);
  });

  test("username without a password → 422 naming smtp_password", async () => {
    const { smtp_password: _, ...rest } = smtpBody();
    await expect422(rest, "smtp_password");
  });

  test("SMTP fields on a capture provider → 422 naming them", async () => {
    await expect422({ type: "capture", name: "c", smtp_host: "x.example.com" }, "smtp_host");
  });

  test("unparseable input is 400 invalid_parameter, never 500", async () => {
    for (const [body, ct] of [["{not json", "application/json"], ["[1,2]", "application/json"], ["", "application/json"], ["name=x", "application/x-www-form-urlencoded"]] as const) {
      const r = await api("POST", "/api/v1/providers", body, { "content-type": ct });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("invalid_parameter");
    }
  });

  test("PATCH refuses bad values, unknown fields and a type change, naming the field", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "patch target" }))).json.data.id;
    const path = `/api/v1/providers/${id}`;
    await expect422({ smtp_port: -1 }, "smtp_port", "PATCH", path);
    await expect422({ smtp_protocol: "ssl3" }, "smtp_protocol", "PATCH", path);
    await expect422({ percentage: -5 }, "percentage", "PATCH", path);
    await expect422({ type: "capture" }, "type", "PATCH", path);
    await expect422({ bogus: true }, "bogus", "PATCH", path);
    const ok = await api("PATCH", path, { percentage: 0, quotas: { per_day: 1000 } });
    expect(ok.status).toBe(200);
    expect(ok.json.data.percentage).toBe(0);
    expect(ok.json.data.quotas.per_day).toEqual({ min: 1000, max: 1000 });
    const cleared = await api("PATCH", path, { quotas: { per_day: null } });
    expect(cleared.json.data.quotas.per_day).toBeNull();
  });

  test("unknown ids are 404; no key is 401", async () => {
    expect((await api("GET", "/api/v1/providers/dprov_000000000000000000000000")).status).toBe(404);
    expect((await api("PATCH", "/api/v1/providers/dprov_000000000000000000000000", { name: "x" })).status).toBe(404);
    const r = await fetch(`${g.base}/api/v1/providers`);
    expect(r.status).toBe(401);
  });

  test("another account's provider answers 404", async () => {
    const other = await g.running.gw.accounts.create("other", null);
    const { token } = await g.running.gw.keys.create(other.id, { name: "other", permission: "full", scope: { type: "all" } });
    const mine = (await api("POST", "/api/v1/providers", smtpBody({ name: "mine" }))).json.data.id;
    const h = { authorization: `Bearer ${token}` };
    expect((await api("GET", `/api/v1/providers/${mine}`, undefined, h)).status).toBe(404);
    expect((await api("DELETE", `/api/v1/providers/${mine}`, undefined, h)).status).toBe(404);
    expect((await api("POST", `/api/v1/providers/${mine}/test`, undefined, h)).status).toBe(404);
    const list = await api("GET", "/api/v1/providers", undefined, h);
    expect(list.json.data).toEqual([]);
    expect((await api("GET", `/api/v1/providers/${mine}`)).status).toBe(200);
  });
});

describe("update, If-Match, delete", () => {
  test("PATCH ends only in credential states create allows: both null removes them; one alone is 422 naming it", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "creds" }))).json.data.id;
    const path = `/api/v1/providers/${id}`;
    const stored = async () => g.running.gw.providers.secretsOf((await g.running.gw.providers.get(g.accountId, id))!);
    // Clearing one while the other stays would leave a username without a password, or the reverse.
    const u = await expect422({ smtp_username: null }, "smtp_username", "PATCH", path);
    expect(u.json.error.message).toContain("smtp_password");
    expect(u.json.error.message).toContain("null");
    const p = await expect422({ smtp_password: null }, "smtp_password", "PATCH", path);
    expect(p.json.error.message).toContain("smtp_username");
    let now = (await api("GET", path)).json.data;
    expect(now).toMatchObject({ smtp_username: "mailer", has_smtp_password: true });
    expect((await stored()).smtp_password).toBe(PASSWORD);
    // Both together: the credentials are gone, for an upstream without AUTH.
    const cleared = await api("PATCH", path, { smtp_username: null, smtp_password: null });
    expect(cleared.status).toBe(200);
    expect(cleared.json.data).toMatchObject({ smtp_username: null, has_smtp_password: false });
    expect(await stored()).not.toHaveProperty("smtp_password");
    // Without credentials, giving only one of them is refused as at create.
    await expect422({ smtp_username: "mailer" }, "smtp_password", "PATCH", path);
    await expect422({ smtp_password: PASSWORD }, "smtp_username", "PATCH", path);
    now = (await api("GET", path)).json.data;
    expect(now).toMatchObject({ smtp_username: null, has_smtp_password: false });
    // Both again: back to AUTH, and /test logs in with them.
    const back = await api("PATCH", path, { smtp_username: "mailer", smtp_password: PASSWORD });
    expect(back.status).toBe(200);
    expect(back.json.data).toMatchObject({ smtp_username: "mailer", has_smtp_password: true });
    expect((await api("POST", `${path}/test`)).json.data.success).toBe(true);
    // Changing one of them while the other stays stored is fine.
    const renamed = await api("PATCH", path, { smtp_username: "mailer2" });
    expect(renamed.json.data).toMatchObject({ smtp_username: "mailer2", has_smtp_password: true });
  });

  test("PATCH with a stale If-Match is 409; with the current ETag or * it applies", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "cas" }))).json.data.id;
    const tag = (await api("GET", `/api/v1/providers/${id}`)).headers.get("etag")!;
    expect((await api("PATCH", `/api/v1/providers/${id}`, { name: "cas 1" }, { "if-match": tag })).status).toBe(200);
    const stale = await api("PATCH", `/api/v1/providers/${id}`, { name: "cas 2" }, { "if-match": tag });
    expect(stale.status).toBe(409);
    expect(stale.json.error.code).toBe("conflict");
    expect((await api("GET", `/api/v1/providers/${id}`)).json.data.name).toBe("cas 1");
    const fresh = (await api("GET", `/api/v1/providers/${id}`)).headers.get("etag")!;
    expect((await api("PATCH", `/api/v1/providers/${id}`, { name: "cas 3" }, { "if-match": fresh })).status).toBe(200);
    expect((await api("PATCH", `/api/v1/providers/${id}`, { name: "cas 4" }, { "if-match": "*" })).status).toBe(200);
  });

  test("deactivate and activate flip the status and allowed actions", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "toggle" }))).json.data.id;
    const off = await api("POST", `/api/v1/providers/${id}/deactivate`);
    expect(off.status).toBe(200);
    expect(off.json.data).toMatchObject({ status: "inactive", is_active: false, allowed_actions: { activate: true, deactivate: false } });
    const on = await api("POST", `/api/v1/providers/${id}/activate`);
    expect(on.json.data).toMatchObject({ status: "active", is_active: true, status_reason: null, allowed_actions: { activate: false, deactivate: true } });
  });

  test("DELETE removes it: GET, PATCH, DELETE and /test then answer 404", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "doomed" }))).json.data.id;
    const d = await api("DELETE", `/api/v1/providers/${id}`);
    expect(d.status).toBe(200);
    expect(d.json.data).toEqual({ id, deleted: true });
    expect((await api("GET", `/api/v1/providers/${id}`)).status).toBe(404);
    expect((await api("PATCH", `/api/v1/providers/${id}`, { name: "x" })).status).toBe(404);
    expect((await api("DELETE", `/api/v1/providers/${id}`)).status).toBe(404);
    expect((await api("POST", `/api/v1/providers/${id}/test`)).status).toBe(404);
  });
});

describe("listing", () => {
  test("cursor paging visits every provider once, in creation order, stable under inserts and deletes", async () => {
    const all = (await api("GET", "/api/v1/providers?limit=100")).json.data.map((p: { id: string }) => p.id);
    expect(all.length).toBeGreaterThan(5);
    const first = await api("GET", "/api/v1/providers?limit=2");
    expect(first.json.pagination.has_more).toBe(true);
    expect(first.json.data.map((p: { id: string }) => p.id)).toEqual(all.slice(0, 2));
    // Changes behind and ahead of the cursor do not shift the pages still to come.
    await api("DELETE", `/api/v1/providers/${all[1]}`);
    const added = (await api("POST", "/api/v1/providers", smtpBody({ name: "added while paging" }))).json.data.id;
    const seen: string[] = first.json.data.map((p: { id: string }) => p.id);
    let cursor = first.json.pagination.next_cursor;
    while (cursor) {
      const page = await api("GET", `/api/v1/providers?limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(200);
      seen.push(...page.json.data.map((p: { id: string }) => p.id));
      cursor = page.json.pagination.has_more ? page.json.pagination.next_cursor : null;
    }
    expect(seen).toEqual([...all, added]);
  });

  test("the last page leaves next_cursor out (the reference's CursorPagination: a string, never null)", async () => {
    const cursorPagination = new OasValidator(loadReference("sendmux-openapi-app.json"), "https://schemas.sendmux.test/app-pagination.json").component("CursorPagination");
    const lists = ["/api/v1/providers?limit=100", `/api/v1/providers/${g.captureId}/outbox?limit=1000`, "/api/v1/api-keys?limit=100", "/api/v1/groups?limit=100"];
    for (const path of lists) {
      const r = await api("GET", path);
      expect(r.status, path).toBe(200);
      expect(r.json.pagination, path).toEqual({ has_more: false });
      expect(r.text, path).not.toContain('"next_cursor":null');
      expect(cursorPagination(r.json.pagination), path).toBe(true);
    }
    const first = await api("GET", "/api/v1/providers?limit=1");
    expect(first.json.pagination.has_more).toBe(true);
    expect(typeof first.json.pagination.next_cursor).toBe("string");
    expect(cursorPagination(first.json.pagination)).toBe(true);
  });

  test("status and type filters", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "filtered" }))).json.data.id;
    await api("POST", `/api/v1/providers/${id}/deactivate`);
    const inactive = await api("GET", "/api/v1/providers?status=inactive&limit=100");
    expect(inactive.json.data.map((p: { id: string }) => p.id)).toContain(id);
    expect(inactive.json.data.every((p: { status: string }) => p.status === "inactive")).toBe(true);
    const capture = await api("GET", "/api/v1/providers?type=capture&limit=100");
    expect(capture.json.data.length).toBeGreaterThanOrEqual(2);
    expect(capture.json.data.every((p: { type: string }) => p.type === "capture")).toBe(true);
    const smtp = await api("GET", "/api/v1/providers?type=smtp&status=active&limit=100");
    expect(smtp.json.data.every((p: { type: string; status: string }) => p.type === "smtp" && p.status === "active")).toBe(true);
    expect(smtp.json.data.map((p: { id: string }) => p.id)).not.toContain(id);
  });

  test("bad listing parameters are 400 naming the parameter", async () => {
    for (const [q, param] of [["limit=0", "limit"], ["limit=101", "limit"], ["limit=abc", "limit"], ["status=broken", "status"], ["type=fax", "type"], ["cursor=!!!", "cursor"], ["cursor=bm90LWEtY3Vyc29y", "cursor"]]) {
      const r = await api("GET", `/api/v1/providers?${q}`);
      expect(r.status).toBe(400);
      expect(r.json.error.param).toBe(param);
    }
  });
});

describe("/test", () => {
  test("smtp: success against a reachable upstream that takes the credentials", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "testable" }))).json.data.id;
    const r = await api("POST", `/api/v1/providers/${id}/test`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.json.data).sort()).toEqual(["latency_ms", "message", "success", "tested_at"]);
    expect(r.json.data.success).toBe(true);
    expect(Number.isInteger(r.json.data.latency_ms)).toBe(true);
    expect(r.json.data.latency_ms).toBeGreaterThanOrEqual(0);
    expect(new Date(r.json.data.tested_at).toISOString()).toBe(r.json.data.tested_at);
    expect(sink.messages.length).toBe(0);
    expect((await api("GET", `/api/v1/providers/${id}`)).json.data.last_tested_at).toBe(r.json.data.tested_at);
  });

  test("smtp: a closed port fails with a message naming the address", async () => {
    const closed = await freePort();
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "closed", smtp_port: closed }))).json.data.id;
    const r = await api("POST", `/api/v1/providers/${id}/test`);
    expect(r.status).toBe(200);
    expect(r.json.data.success).toBe(false);
    expect(r.json.data.message).toContain(`could not reach 127.0.0.1:${closed}`);
    expect(r.json.data.message).toContain("ECONNREFUSED");
  });

  test("smtp: wrong credentials fail with the upstream's refusal", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "wrong pw", smtp_password: "not-the-password" }))).json.data.id;
    const r = await api("POST", `/api/v1/providers/${id}/test`);
    expect(r.json.data.success).toBe(false);
    expect(r.json.data.message).toContain("refused the login for mailer");
    expect(r.json.data.message).toContain("535");
  });

  test("a new password given by PATCH is the one used", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "fix pw", smtp_password: "old-wrong" }))).json.data.id;
    expect((await api("POST", `/api/v1/providers/${id}/test`)).json.data.success).toBe(false);
    const p = await api("PATCH", `/api/v1/providers/${id}`, { smtp_password: PASSWORD });
    expect(p.json.data.has_smtp_password).toBe(true);
    expect((await api("POST", `/api/v1/providers/${id}/test`)).json.data.success).toBe(true);
  });

  test("capture: always ready", async () => {
    const r = await api("POST", `/api/v1/providers/${g.captureId}/test`);
    expect(r.json.data.success).toBe(true);
    expect(r.json.data.message).toContain("capture");
  });
});

describe("capture outbox", () => {
  test("newest first, stable cursor while new mail arrives, limits, raw message", async () => {
    const token = await scopedKey(g, [g.captureId]);
    const send = async (n: number) => {
      const r = await sendWith(g, token, { from: { email: "sender@example.com" }, to: { email: `r${n}@example.net` }, subject: `outbox ${n}`, text_body: `body ${n}` });
      expect(r.status).toBe(200);
      const id = r.json.data.message_id as string;
      await g.settle(id);
      await Bun.sleep(3); // distinct capture times
      return id;
    };
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await send(i));
    const newestFirst = [...ids].reverse();
    const base = `/api/v1/providers/${g.captureId}/outbox`;
    const p1 = await api("GET", `${base}?limit=3`);
    expect(p1.status).toBe(200);
    expect(p1.json.data.map((x: { message_id: string }) => x.message_id)).toEqual(newestFirst.slice(0, 3));
    const item = p1.json.data[0];
    expect(item).toMatchObject({ message_id: ids[6], envelope: { from: "sender@example.com", to: ["r6@example.net"] }, subject: "outbox 6" });
    expect(item.size_bytes).toBeGreaterThan(100);
    // Two more arrive: the next page still continues where the first ended.
    await send(7);
    await send(8);
    const p2 = await api("GET", `${base}?limit=3&cursor=${p1.json.pagination.next_cursor}`);
    expect(p2.json.data.map((x: { message_id: string }) => x.message_id)).toEqual(newestFirst.slice(3, 6));
    const p3 = await api("GET", `${base}?limit=3&cursor=${p2.json.pagination.next_cursor}`);
    const rest = p3.json.data.map((x: { message_id: string }) => x.message_id);
    expect(rest[0]).toBe(newestFirst[6]);
    const all = await api("GET", base);
    expect(all.json.data.length).toBeLessThanOrEqual(50);
    expect((await api("GET", `${base}?limit=1000`)).status).toBe(200);
    for (const q of ["limit=1001", "limit=0", "limit=-1", "cursor=garbage!"]) expect((await api("GET", `${base}?${q}`)).status).toBe(400);

    const raw = await fetch(`${g.base}${base}/${ids[2]}`, { headers: { authorization: `Bearer ${g.token}` } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toBe("message/rfc822");
    const parsed = await simpleParser(Buffer.from(await raw.arrayBuffer()));
    expect(parsed.subject).toBe("outbox 2");
    expect((await api("GET", `${base}/eml_000000000000000000000000`)).status).toBe(404);
  });

  test("an smtp provider has no outbox (404)", async () => {
    const id = (await api("POST", "/api/v1/providers", smtpBody({ name: "no outbox" }))).json.data.id;
    const r = await api("GET", `/api/v1/providers/${id}/outbox`);
    expect(r.status).toBe(404);
    expect(r.json.error.message).toContain("only capture providers");
  });
});

describe("credentials", () => {
  test("the password never appears in any response of this file", () => {
    expect(bodies.length).toBeGreaterThan(50);
    for (const b of bodies) expect(b).not.toContain(PASSWORD);
  });

  test("the password is not stored in the clear anywhere in Redis", async () => {
    const r = g.running.gw.redis;
    const needle = Buffer.from(PASSWORD);
    let cursor = "0";
    let scanned = 0;
    do {
      const [next, keys] = await r.scan(cursor, "COUNT", 500);
      cursor = next;
      for (const k of keys) {
        scanned++;
        const type = await r.type(k);
        const values: Buffer[] = [];
        if (type === "string") values.push((await r.getBuffer(k))!);
        else if (type === "hash") values.push(...Object.values(await r.hgetallBuffer(k)));
        else if (type === "list") values.push(...(await r.lrangeBuffer(k, 0, -1)));
        else if (type === "set") values.push(...(await r.smembersBuffer(k)));
        else if (type === "zset") values.push(...(await r.zrangeBuffer(k, 0, -1)));
        else if (type === "stream") values.push(Buffer.from(JSON.stringify(await r.xrange(k, "-", "+"))));
        for (const v of values) expect(v.includes(needle)).toBe(false);
      }
    } while (cursor !== "0");
    expect(scanned).toBeGreaterThan(5);
    // And it is there, sealed: the providers hash holds v1: blobs.
    const stored = Object.values(await r.hgetall(`smx:{a:${g.accountId}}:providers`)).map((s) => JSON.parse(s));
    expect(stored.some((p) => typeof p.sealed === "string" && p.sealed.startsWith("v1:"))).toBe(true);
  });
});
