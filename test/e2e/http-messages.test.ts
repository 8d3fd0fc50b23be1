/**
 * GET /api/v1/emails/{id} and POST /api/v1/emails/{id}/cancel (EXT), and the 503 a send gets
 * when no provider in the key's scope is active.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, waitFor } from "../helpers/net.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let g: TestGateway;
/** The gateway's clock runs with the real one, `skew` ms ahead once a test moves it. */
let skew = 0;
beforeAll(async () => {
  g = await startTestGateway({ clock: { now: () => Date.now() + skew } });
});
afterAll(async () => {
  await g?.stop();
});

const mail = (subject = "Hello") => ({
  from: { email: "sender@example.com", name: "Sam Sender" },
  to: [{ email: "alice@example.net", name: "Alice" }, { email: "bob@example.net" }],
  bcc: [{ email: "hidden@example.org" }],
  subject,
  text_body: "hi",
});
const as = (token: string) => ({ authorization: `Bearer ${token}` });

async function newKey(body: object): Promise<string> {
  const r = await g.api("POST", "/api/v1/api-keys", body);
  expect(r.status).toBe(201);
  return r.json.data.token;
}

async function newProvider(body: object): Promise<string> {
  const r = await g.api("POST", "/api/v1/providers", body);
  expect(r.status).toBe(201);
  return r.json.data.id;
}

async function send(token = g.token, subject?: string): Promise<string> {
  const r = await g.api("POST", "/api/v1/emails/send", mail(subject), as(token));
  expect(r.status).toBe(200);
  return r.json.data.message_id;
}

describe("GET /api/v1/emails/{id}", () => {
  test("a sent message with its attempts, a weak ETag and 304 on If-None-Match", async () => {
    const id = await send();
    await g.settle(id);
    const r = await g.api("GET", `/api/v1/emails/${id}`);
    expect(r.status).toBe(200);
    expect(r.json.meta.request_id).toBe(r.headers.get("x-request-id"));
    const d = r.json.data;
    expect(d).toMatchObject({
      id,
      status: "sent",
      from: "Sam Sender <sender@example.com>",
      to: ["Alice <alice@example.net>", "bob@example.net"],
      subject: "Hello",
      scope: { type: "all" },
      provider_id: g.captureId,
      next_attempt_at: null,
    });
    expect(Date.parse(d.created_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ provider_id: g.captureId, outcome: "sent", response: expect.stringContaining(id) });
    expect(Date.parse(d.attempts[0].at)).toBeGreaterThanOrEqual(Date.parse(d.created_at));
    const etag = r.headers.get("etag")!;
    expect(etag).toMatch(/^W\/".+"$/);

    const again = await fetch(`${g.base}/api/v1/emails/${id}`, { headers: { ...as(g.token), "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    const other = await g.api("GET", `/api/v1/emails/${id}`, undefined, { "if-none-match": 'W/"something-else"' });
    expect(other.status).toBe(200);
    // `*` names any current representation, and tags compare weakly (RFC 9110 §13.1.2, §8.8.3.2).
    expect((await g.api("GET", `/api/v1/emails/${id}`, undefined, { "if-none-match": "*" })).status).toBe(304);
    expect((await g.api("GET", `/api/v1/emails/${id}`, undefined, { "if-none-match": `"x", ${etag.slice(2)}` })).status).toBe(304);
  });

  test("an unknown id is 404 not_found", async () => {
    for (const id of ["eml_aaaaaaaaaaaaaaaaaaaaaaaa", "nope"]) {
      const r = await g.api("GET", `/api/v1/emails/${id}`);
      expect(r.status).toBe(404);
      expect(r.json.error.code).toBe("not_found");
      expect(r.json.meta.request_id).toBe(r.headers.get("x-request-id"));
    }
  });

  test("GET on a POST-only path under /emails is 405 with Allow: POST, not a lookup of a message named like the path", async () => {
    for (const path of ["/api/v1/emails/send", "/api/v1/emails/send/", "/api/v1/emails/send/batch", "/api/v1/emails/attachments", "/api/v1/emails/attachment-uploads"]) {
      const r = await g.api("GET", path);
      expect({ path, status: r.status }).toEqual({ path, status: 405 });
      expect(r.json.error.code).toBe("method_not_allowed");
      expect(r.json.error.message).toContain("it takes POST");
      expect(r.headers.get("allow")).toBe("POST");
      expect(r.json.meta.request_id).toBe(r.headers.get("x-request-id"));
    }
    // The paths themselves still work with their own method, and a message id is still looked up.
    const id = await send();
    expect((await g.api("GET", `/api/v1/emails/${id}`)).status).toBe(200);
    const p = await g.api("DELETE", "/api/v1/providers/usage");
    expect(p.status).toBe(405);
    expect(p.headers.get("allow")).toBe("GET");
  });

  test("a send key sees its own messages and no one else's", async () => {
    const sendKey = await newKey({ name: "sender", permission: "send" });
    const mine = await send(sendKey);
    const theirs = await send();
    expect((await g.api("GET", `/api/v1/emails/${mine}`, undefined, as(sendKey))).status).toBe(200);
    expect((await g.api("GET", `/api/v1/emails/${theirs}`, undefined, as(sendKey))).status).toBe(404);
    expect((await g.api("POST", `/api/v1/emails/${theirs}/cancel`, undefined, as(sendKey))).status).toBe(404);
  });

  test("without a key: 401", async () => {
    const r = await g.api("GET", "/api/v1/emails/eml_aaaaaaaaaaaaaaaaaaaaaaaa", undefined, { authorization: "" });
    expect(r.status).toBe(401);
  });
});

describe("POST /api/v1/emails/{id}/cancel", () => {
  test("a sent message can no longer be canceled: 409 conflict", async () => {
    const id = await send();
    await g.settle(id);
    const r = await g.api("POST", `/api/v1/emails/${id}/cancel`);
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("conflict");
    expect(r.json.error.message).toContain("sent");
  });

  test("an unknown message: 404", async () => {
    const r = await g.api("POST", "/api/v1/emails/eml_aaaaaaaaaaaaaaaaaaaaaaaa/cancel");
    expect(r.status).toBe(404);
  });

  test("a message waiting for a retry is canceled and never tried again", async () => {
    // An SMTP provider whose server refuses connections: the first attempt fails with a
    // connection error and the message waits, deferred, for its retry 5 minutes later.
    const port = await freePort();
    const smtp = await newProvider({ name: "down", type: "smtp", smtp_host: "127.0.0.1", smtp_port: port, smtp_protocol: "none" });
    const key = await newKey({ name: "down only", permission: "send", scope: { type: "specific", providers: [smtp] } });
    const [id, control] = [await send(key), await send(key)];
    for (const m of [id, control]) {
      const v = await g.settle(m, ["deferred", "failed", "sent"]);
      expect(v.status).toBe("deferred");
      expect(v.next_attempt_at).not.toBeNull();
      expect(v.attempts).toHaveLength(1);
    }

    const r = await g.api("POST", `/api/v1/emails/${id}/cancel`, undefined, as(key));
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ id, status: "canceled", next_attempt_at: null });
    const twice = await g.api("POST", `/api/v1/emails/${id}/cancel`, undefined, as(key));
    expect(twice.status).toBe(409);
    expect(twice.json.error.message).toContain("canceled");

    // Past the retry time the control message is tried again; the canceled one is not.
    skew += 6 * 60_000;
    await waitFor(async () => (await g.api("GET", `/api/v1/emails/${control}`)).json.data.attempts.length === 2, "the control message's retry");
    const after = await g.api("GET", `/api/v1/emails/${id}`, undefined, as(key));
    expect(after.json.data.status).toBe("canceled");
    expect(after.json.data.attempts).toHaveLength(1);
  });
});

describe("no active provider in scope: 503 service_unavailable", () => {
  test("a key whose only provider is deactivated is refused at once, single and batch", async () => {
    const cap = await newProvider({ name: "second outbox", type: "capture" });
    const key = await newKey({ name: "second only", permission: "send", scope: { type: "specific", providers: [cap] } });
    expect((await g.api("POST", `/api/v1/providers/${cap}/deactivate`)).status).toBe(200);
    for (const [path, body] of [["/api/v1/emails/send", mail()], ["/api/v1/emails/send/batch", { messages: [mail()] }]] as const) {
      const r = await g.api("POST", path, body, as(key));
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe("service_unavailable");
      expect(r.json.error.message).toContain("no_active_providers");
      expect(r.json.error.retryable).toBe(true);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect((await g.api("POST", `/api/v1/providers/${cap}/activate`)).status).toBe(200);
    const id = await send(key);
    expect((await g.settle(id)).provider_id).toBe(cap);
  });

  test("the bootstrap key once every provider in its scope is deactivated", async () => {
    const all = (await g.api("GET", "/api/v1/providers?limit=100")).json.data.filter((p: { status: string }) => p.status === "active");
    expect(all.map((p: { id: string }) => p.id)).toContain(g.captureId);
    try {
      for (const p of all) expect((await g.api("POST", `/api/v1/providers/${p.id}/deactivate`)).status).toBe(200);
      const r = await g.api("POST", "/api/v1/emails/send", mail());
      expect(r.status).toBe(503);
      expect(r.json.error.message).toContain("no_active_providers");
    } finally {
      for (const p of all) await g.api("POST", `/api/v1/providers/${p.id}/activate`);
    }
    expect((await g.api("POST", "/api/v1/emails/send", mail())).status).toBe(200);
  });
});
