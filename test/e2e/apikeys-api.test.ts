import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { startSink, type Sink } from "../helpers/sink.ts";
import { createSmtpProvider, relaySubmit, sendWith } from "../helpers/providers.ts";

setDefaultTimeout(30_000);

let g: TestGateway;
let sink: Sink;
let smtpId: string;
const bodies: string[] = [];

async function api(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const r = await g.api(method, path, body, headers);
  bodies.push(r.text);
  return r;
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

beforeAll(async () => {
  g = await startTestGateway();
  sink = await startSink();
  smtpId = await createSmtpProvider(g, sink.port);
});
afterAll(async () => {
  await g?.stop();
  await sink?.close();
});

async function newKey(body: Record<string, unknown>): Promise<{ id: string; token: string; data: any }> {
  const r = await api("POST", "/api/v1/api-keys", body);
  expect(r.status).toBe(201);
  return { id: r.json.data.id, token: r.json.data.token, data: r.json.data };
}

const mail = (n: string) => ({ from: { email: "sender@example.com" }, to: { email: "alice@example.net" }, subject: `key test ${n}`, text_body: `body ${n}` });

describe("create, show once, store only the hash", () => {
  test("POST returns the token once; GET and the listing never show it; Redis holds only its SHA-256", async () => {
    const k = await newKey({ name: "ci", permission: "send", scope: { type: "all" } });
    expect(k.token).toMatch(/^smx_[A-Za-z0-9_-]{32,}$/);
    expect(k.data).toMatchObject({ name: "ci", permission: "send", scope: { type: "all" } });
    expect(k.data.id).toMatch(/^key_[a-z0-9]{24}$/);
    const afterCreate = bodies.length;
    const one = await api("GET", `/api/v1/api-keys/${k.id}`);
    expect(one.status).toBe(200);
    expect(one.json.data).not.toHaveProperty("token");
    expect(one.json.data).not.toHaveProperty("hash");
    const list = await api("GET", "/api/v1/api-keys");
    expect(list.json.data.map((x: { id: string }) => x.id)).toContain(k.id);
    for (const b of bodies.slice(afterCreate)) expect(b).not.toContain(k.token);
    // The token (and anything but its prefix) is nowhere in Redis; its hash is.
    const r = g.running.gw.redis;
    const hash = createHash("sha256").update(k.token).digest("hex");
    let cursor = "0";
    let foundHash = false;
    do {
      const [next, keys] = await r.scan(cursor, "COUNT", 500);
      cursor = next;
      for (const key of keys) {
        expect(key).not.toContain(k.token);
        if (key.includes(hash)) foundHash = true;
        const type = await r.type(key);
        const values: string[] = type === "string" ? [(await r.get(key))!] : type === "hash" ? Object.values(await r.hgetall(key)) : type === "set" ? await r.smembers(key) : type === "list" ? await r.lrange(key, 0, -1) : [];
        for (const v of values) expect(v.includes(k.token.slice(10))).toBe(false);
      }
    } while (cursor !== "0");
    expect(foundHash).toBe(true);
  });

  test("defaults: permission send, scope all", async () => {
    const k = await newKey({ name: "defaults" });
    expect(k.data.permission).toBe("send");
    expect(k.data.scope).toEqual({ type: "all" });
  });
});

describe("bad input", () => {
  const cases: Array<[string, unknown, string]> = [
    ["missing name", { permission: "send" }, "name"],
    ["empty name", { name: "" }, "name"],
    ["name not a string", { name: 5 }, "name"],
    ["name with a line break", { name: "a\nb" }, "name"],
    ["unknown permission", { name: "x", permission: "admin" }, "permission"],
    ["unknown field", { name: "x", expires: "never" }, "expires"],
    ["scope as a string", { name: "x", scope: "all" }, "scope"],
    ["unknown scope type", { name: "x", scope: { type: "everything" } }, "scope.type"],
    ["scope all with extra fields", { name: "x", scope: { type: "all", providers: [] } }, "scope.providers"],
    ["specific without providers", { name: "x", scope: { type: "specific" } }, "scope.providers"],
    ["specific with an empty list", { name: "x", scope: { type: "specific", providers: [] } }, "scope.providers"],
    ["specific with a non-string id", { name: "x", scope: { type: "specific", providers: [42] } }, "scope.providers"],
    ["specific with an unknown provider", { name: "x", scope: { type: "specific", providers: ["dprov_000000000000000000000000"] } }, "scope.providers.0"],
  ];
  for (const [label, body, field] of cases) {
    test(`${label} → 422 naming ${field}`, async () => {
      const r = await api("POST", "/api/v1/api-keys", body);
      expect(r.status).toBe(422);
      expect(r.json.error.code).toBe("validation_error");
      expect(r.json.error.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(r.json.error.message).toContain(field);
    });
  }

  test("several bad fields are all listed", async () => {
    const r = await api("POST", "/api/v1/api-keys", { name: "", permission: "root", scope: 7 });
    expect(r.json.error.errors.map((e: { field: string }) => e.field).sort()).toEqual(["name", "permission", "scope"]);
  });

  test("unparseable bodies are 400", async () => {
    const r = await api("POST", "/api/v1/api-keys", "{", { "content-type": "application/json" });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_parameter");
  });

  test("unknown and foreign key ids are 404", async () => {
    expect((await api("GET", "/api/v1/api-keys/key_000000000000000000000000")).status).toBe(404);
    expect((await api("DELETE", "/api/v1/api-keys/key_000000000000000000000000")).status).toBe(404);
    const other = await g.running.gw.accounts.create("other", null);
    const { record } = await g.running.gw.keys.create(other.id, { name: "theirs", permission: "full", scope: { type: "all" } });
    expect((await api("GET", `/api/v1/api-keys/${record.id}`)).status).toBe(404);
    expect((await api("DELETE", `/api/v1/api-keys/${record.id}`)).status).toBe(404);
  });
});

describe("permissions and revocation", () => {
  test("a send key sends and reads its own message, but every management endpoint is 403", async () => {
    const k = await newKey({ name: "sender only", permission: "send", scope: { type: "specific", providers: [g.captureId] } });
    const sent = await sendWith(g, k.token, mail("send-key"));
    expect(sent.status).toBe(200);
    const view = await api("GET", `/api/v1/emails/${sent.json.data.message_id}`, undefined, bearer(k.token));
    expect(view.status).toBe(200);
    const calls: Array<[string, string, unknown?]> = [
      ["GET", "/api/v1/providers"],
      ["POST", "/api/v1/providers", { type: "capture", name: "nope" }],
      ["GET", `/api/v1/providers/${g.captureId}`],
      ["PATCH", `/api/v1/providers/${g.captureId}`, { name: "nope" }],
      ["DELETE", `/api/v1/providers/${g.captureId}`],
      ["POST", `/api/v1/providers/${g.captureId}/deactivate`],
      ["POST", `/api/v1/providers/${g.captureId}/test`],
      ["GET", `/api/v1/providers/${g.captureId}/outbox`],
      ["GET", "/api/v1/api-keys"],
      ["POST", "/api/v1/api-keys", { name: "escalate", permission: "full" }],
      ["GET", `/api/v1/api-keys/${k.id}`],
      ["DELETE", `/api/v1/api-keys/${k.id}`],
    ];
    for (const [method, path, body] of calls) {
      const r = await api(method, path, body, bearer(k.token));
      expect(`${method} ${path} ${r.status}`).toBe(`${method} ${path} 403`);
      expect(r.json.error.code).toBe("insufficient_permissions");
    }
    expect((await api("GET", `/api/v1/providers/${g.captureId}`)).json.data.name).not.toBe("nope");
  });

  test("DELETE revokes at once: the next HTTP request is 401 and the relay refuses AUTH", async () => {
    const k = await newKey({ name: "short lived", permission: "send", scope: { type: "specific", providers: [g.captureId] } });
    expect((await sendWith(g, k.token, mail("before revoke"))).status).toBe(200);
    const eml = Buffer.from("From: sender@example.com\r\nTo: alice@example.net\r\nSubject: relay before revoke\r\n\r\nhi\r\n");
    const before = await relaySubmit(g, k.token, eml, { from: "sender@example.com", to: ["alice@example.net"] });
    expect(before.response).toMatch(/^250 /);
    const d = await api("DELETE", `/api/v1/api-keys/${k.id}`);
    expect(d.status).toBe(200);
    expect(d.json.data).toEqual({ id: k.id, deleted: true });
    const after = await sendWith(g, k.token, mail("after revoke"));
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe("authentication_required");
    const relay = await relaySubmit(g, k.token, eml, { from: "sender@example.com", to: ["alice@example.net"] });
    expect(relay.ok).toBe(false);
    expect(relay.response).toMatch(/^535 5\.7\.8/);
    expect((await api("GET", `/api/v1/api-keys/${k.id}`)).status).toBe(404);
    expect((await api("GET", "/api/v1/api-keys")).json.data.map((x: { id: string }) => x.id)).not.toContain(k.id);
  });

  test("a full key created through the API manages, and a revoked full key does not", async () => {
    const k = await newKey({ name: "second admin", permission: "full" });
    expect((await api("GET", "/api/v1/providers", undefined, bearer(k.token))).status).toBe(200);
    await api("DELETE", `/api/v1/api-keys/${k.id}`);
    expect((await api("GET", "/api/v1/providers", undefined, bearer(k.token))).status).toBe(401);
  });
});

describe("specific scopes", () => {
  test("two providers in one account: each scoped key only ever reaches its own provider", async () => {
    const toSink = await newKey({ name: "sink only", scope: { type: "specific", providers: [smtpId] } });
    const toCapture = await newKey({ name: "capture only", scope: { type: "specific", providers: [g.captureId] } });
    const sinkIds: string[] = [];
    const captureIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const a = await sendWith(g, toSink.token, mail(`sink ${i}`));
      const b = await sendWith(g, toCapture.token, mail(`capture ${i}`));
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      sinkIds.push(a.json.data.message_id);
      captureIds.push(b.json.data.message_id);
    }
    const relayed = await relaySubmit(g, toSink.token, Buffer.from("From: sender@example.com\r\nTo: alice@example.net\r\nSubject: sink relay\r\n\r\nhi\r\n"), { from: "sender@example.com", to: ["alice@example.net"] });
    sinkIds.push(relayed.id!);
    for (const id of sinkIds) {
      const v = await g.settle(id);
      expect(v.status).toBe("sent");
      expect(v.provider_id).toBe(smtpId);
      expect(v.scope).toEqual({ type: "specific", providers: [smtpId] });
    }
    for (const id of captureIds) {
      const v = await g.settle(id);
      expect(v.status).toBe("sent");
      expect(v.provider_id).toBe(g.captureId);
    }
    const subjects = await Promise.all(sink.messages.map(async (m) => (await simpleParser(m.raw)).subject));
    expect(subjects.filter((s) => s?.startsWith("capture"))).toEqual([]);
    for (let i = 0; i < 6; i++) expect(subjects).toContain(`key test sink ${i}`);
    expect(subjects).toContain("sink relay");
    const outbox = await api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
    const inOutbox = new Set(outbox.json.data.map((x: { message_id: string }) => x.message_id));
    for (const id of sinkIds) expect(inOutbox.has(id)).toBe(false);
    for (const id of captureIds) expect(inOutbox.has(id)).toBe(true);
  });

  test("a key whose only provider is deactivated is refused at once (503 no_active_providers; relay 550)", async () => {
    const pid = await createSmtpProvider(g, sink.port, { name: "soon inactive" });
    const k = await newKey({ name: "lonely", scope: { type: "specific", providers: [pid] } });
    await api("POST", `/api/v1/providers/${pid}/deactivate`);
    const r = await sendWith(g, k.token, mail("nowhere"));
    expect(r.status).toBe(503);
    expect(r.json.error.message).toContain("no_active_providers");
    const relay = await relaySubmit(g, k.token, Buffer.from("Subject: x\r\n\r\nhi\r\n"), { from: "sender@example.com", to: ["alice@example.net"] });
    expect(relay.response).toMatch(/^550 5\.7\.1/);
  });
});
