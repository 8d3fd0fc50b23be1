import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { relaySubmit } from "../helpers/providers.ts";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

const body = (subject: string) => ({ from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject, text_body: "x" });

async function outboxCount(subject: string): Promise<number> {
  const r = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
  return r.json.data.filter((x: { subject: string }) => x.subject === subject).length;
}

test("same key, same body: the first response again, byte for byte, and one message", async () => {
  const h = { "idempotency-key": "order-1" };
  const a = await g.api("POST", "/api/v1/emails/send", body("idem one"), h);
  const b = await g.api("POST", "/api/v1/emails/send", { text_body: "x", subject: "idem one", to: { email: "b@example.com" }, from: { email: "a@example.com" } }, h);
  expect(a.status).toBe(200);
  expect(b.status).toBe(200);
  expect(b.text).toBe(a.text);
  expect(b.headers.get("idempotent-replayed")).toBe("true");
  expect(b.headers.get("x-request-id")).not.toBe(a.headers.get("x-request-id"));
  await g.settle(a.json.data.message_id);
  expect(await outboxCount("idem one")).toBe(1);
});

test("same key, another body: 409 idempotency_conflict, not retryable; per endpoint: the batch endpoint has its own keys", async () => {
  const h = { "idempotency-key": "order-2" };
  expect((await g.api("POST", "/api/v1/emails/send", body("idem two"), h)).status).toBe(200);
  const c = await g.api("POST", "/api/v1/emails/send", body("idem two, changed"), h);
  expect(c.status).toBe(409);
  expect(c.json.error.code).toBe("idempotency_conflict");
  expect(c.json.error.retryable).toBe(false);
  const batch = await g.api("POST", "/api/v1/emails/send/batch", { messages: [body("idem two batch")] }, h);
  expect(batch.status).toBe(200);
});

test("50 parallel identical requests with one key queue exactly one message; the others replay it or are told to retry", async () => {
  const h = { "idempotency-key": "parallel-50" };
  const rs = await Promise.all(Array.from({ length: 50 }, () => g.api("POST", "/api/v1/emails/send", body("idem fifty"), h)));
  const ids = new Set(rs.filter((r) => r.status === 200).map((r) => r.json.data.message_id));
  expect(ids.size).toBe(1);
  for (const r of rs) {
    if (r.status === 200) continue;
    expect(r.status).toBe(409);
    expect(r.json.error.retryable).toBe(true);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
  }
  await g.settle([...ids][0]);
  await Bun.sleep(300);
  expect(await outboxCount("idem fifty")).toBe(1);
});

test("a request that failed releases the key: the corrected request with the same key is accepted", async () => {
  const h = { "idempotency-key": "fix-me" };
  const bad = await g.api("POST", "/api/v1/emails/send", { ...body("idem fixed"), to: { email: "not an address" } }, h);
  expect(bad.status).toBe(422);
  const good = await g.api("POST", "/api/v1/emails/send", body("idem fixed"), h);
  expect(good.status).toBe(200);
});

test("a bad Idempotency-Key is a 400 naming the header", async () => {
  const long = await g.api("POST", "/api/v1/emails/send", body("idem long"), { "idempotency-key": "k".repeat(256) });
  expect(long.status).toBe(400);
  expect(long.json.error.param).toBe("Idempotency-Key");
});

test("management POSTs too: creating a provider twice with one key creates one", async () => {
  const h = { "idempotency-key": "create-capture-1" };
  const a = await g.api("POST", "/api/v1/providers", { name: "Second capture", type: "capture" }, h);
  const b = await g.api("POST", "/api/v1/providers", { name: "Second capture", type: "capture" }, h);
  expect(a.status).toBe(201);
  expect(b.status).toBe(201);
  expect(b.json.data.id).toBe(a.json.data.id);
  const list = await g.api("GET", "/api/v1/providers?type=capture");
  expect(list.json.data.filter((p: { name: string }) => p.name === "Second capture")).toHaveLength(1);
  const other = await g.api("POST", "/api/v1/providers", { name: "Third capture", type: "capture" }, h);
  expect(other.status).toBe(409);
  await g.api("DELETE", `/api/v1/providers/${a.json.data.id}`);
});

test("SMTP: an Idempotency-Key header gives the same queued id again, one message, and is never relayed", async () => {
  const raw = (subject: string) => Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\nIdempotency-Key: smtp-order-7\r\n\r\nhello\r\n`);
  const env = { from: "a@example.com", to: ["b@example.com"] };
  const a = await relaySubmit(g, g.token, raw("idem smtp"), env);
  const b = await relaySubmit(g, g.token, raw("idem smtp"), env);
  expect(a.ok && b.ok).toBe(true);
  expect(b.id).toBe(a.id);
  await g.settle(a.id!);
  expect(await outboxCount("idem smtp")).toBe(1);
  const stored = (await g.captured(a.id!)).toString("latin1");
  expect(stored).not.toMatch(/idempotency-key/i);
  const c = await relaySubmit(g, g.token, raw("idem smtp changed"), env);
  expect(c.ok).toBe(false);
  expect(c.response).toMatch(/^554 5\.7\.0/);
});

test("uploads too: the same file under one key is one attachment; another file under that key is 409", async () => {
  const h = { "idempotency-key": "upload-1", "content-type": "text/plain" };
  const a = await g.api("POST", "/api/v1/emails/attachments?filename=a.txt", new TextEncoder().encode("hello file"), h);
  const b = await g.api("POST", "/api/v1/emails/attachments?filename=a.txt", new TextEncoder().encode("hello file"), h);
  expect(a.status).toBe(201);
  expect(b.status).toBe(201);
  expect(b.json.data.attachment_id).toBe(a.json.data.attachment_id);
  const c = await g.api("POST", "/api/v1/emails/attachments?filename=a.txt", new TextEncoder().encode("another file"), h);
  expect(c.status).toBe(409);
  expect(c.json.error.code).toBe("idempotency_conflict");
});

test("a replayed answer that carries a secret (a new API key's token) is kept sealed: the token is nowhere in Redis, and the replay still gives it back", async () => {
  const h = { "idempotency-key": "new-key-with-secret" };
  const a = await g.api("POST", "/api/v1/api-keys", { name: "idem secret" }, h);
  expect(a.status).toBe(201);
  const token: string = a.json.data.token;
  expect(token).toMatch(/^smx_/);
  const b = await g.api("POST", "/api/v1/api-keys", { name: "idem secret" }, h);
  expect(b.text).toBe(a.text);
  expect(b.headers.get("idempotent-replayed")).toBe("true");

  // Every value of every key, of every type that can hold a string.
  const redis = g.running.gw.redis;
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const k of keys) {
      const type = await redis.type(k);
      let text = "";
      if (type === "string") text = (await redis.get(k)) ?? "";
      else if (type === "hash") text = JSON.stringify(await redis.hgetall(k));
      else if (type === "list") text = JSON.stringify(await redis.lrange(k, 0, -1));
      else if (type === "set") text = JSON.stringify(await redis.smembers(k));
      else if (type === "zset") text = JSON.stringify(await redis.zrange(k, 0, -1));
      else if (type === "stream") text = JSON.stringify(await redis.xrange(k, "-", "+"));
      if (text.includes(token) || text.includes(token.slice(4))) found.push(k);
    }
  } while (cursor !== "0");
  expect(found).toEqual([]);
});
