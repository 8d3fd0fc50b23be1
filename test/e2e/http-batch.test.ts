/**
 * POST /api/v1/emails/send/batch: 1 to 100 messages, partial success (an invalid item fails
 * alone with its own error), 422 only when every item failed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

const PATH = "/api/v1/emails/send/batch";
const mail = (i: number) => ({
  from: { email: "sender@example.com" },
  to: { email: `rcpt${i}@example.net` },
  subject: `Batch ${i}`,
  html_body: `<p>${i}</p>`,
});

test("valid items are queued and delivered, invalid ones fail alone with their own error", async () => {
  const messages = [mail(0), { ...mail(1), to: { email: "not an address" } }, mail(2), "not an object", { ...mail(4), subject: "", extra: true }];
  const r = await g.api("POST", PATH, { messages });
  expect(r.status).toBe(200);
  expect(r.json.meta.request_id).toBe(r.headers.get("x-request-id"));
  expect(Object.keys(r.json.data).sort()).toEqual(["results", "summary"]);
  expect(r.json.data.summary).toEqual({ total: 5, queued: 2, failed: 3 });
  const res = r.json.data.results;
  expect(res.map((x: { index: number }) => x.index)).toEqual([0, 1, 2, 3, 4]);
  expect(res.map((x: { status: string }) => x.status)).toEqual(["queued", "failed", "queued", "failed", "failed"]);
  for (const i of [0, 2]) {
    expect(Object.keys(res[i]).sort()).toEqual(["index", "message_id", "status"]);
    expect(res[i].message_id).toMatch(/^eml_[a-z0-9]{24}$/);
  }
  for (const i of [1, 3, 4]) {
    expect(res[i].message_id).toBeNull();
    expect(res[i].error).toMatchObject({ code: "validation_error", retryable: false });
    expect(res[i].error.message.length).toBeGreaterThan(5);
  }
  expect(res[1].error.errors.map((e: { field: string }) => e.field)).toEqual(["to.email"]);
  expect(res[1].error.param).toBe("to.email");
  expect(res[4].error.errors.map((e: { field: string }) => e.field).sort()).toEqual(["extra", "subject"]);
  expect(res[3].error.message).toContain("object");

  const ids = [res[0].message_id, res[2].message_id];
  expect(new Set(ids).size).toBe(2);
  for (const [n, id] of ids.entries()) {
    const v = await g.settle(id);
    expect(v.status).toBe("sent");
    expect(v.subject).toBe(`Batch ${n * 2}`);
  }
  const outbox = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
  expect(outbox.json.data.map((x: { message_id: string }) => x.message_id).sort()).toEqual([...ids].sort());
});

test("100 messages are one request and all queued", async () => {
  const r = await g.api("POST", PATH, { messages: Array.from({ length: 100 }, (_, i) => mail(i)) });
  expect(r.status).toBe(200);
  expect(r.json.data.summary).toEqual({ total: 100, queued: 100, failed: 0 });
  const last = r.json.data.results[99];
  expect((await g.settle(last.message_id)).status).toBe("sent");
});

test("every item failed: 422 listing each failure under messages.<index>", async () => {
  const r = await g.api("POST", PATH, { messages: [{ ...mail(0), from: "x" }, { ...mail(1), html_body: "" }] });
  expect(r.status).toBe(422);
  expect(r.json.error.code).toBe("validation_error");
  expect(r.json.error.errors.map((e: { field: string }) => e.field)).toEqual(["messages.0.from", "messages.1.html_body"]);
});

describe("the batch itself is refused with 422 naming messages", () => {
  const bad: Array<[string, unknown, string]> = [
    ["no messages", {}, "messages"],
    ["an empty list", { messages: [] }, "messages"],
    ["101 messages", { messages: Array.from({ length: 101 }, (_, i) => mail(i)) }, "messages"],
    ["messages as an object", { messages: mail(0) }, "messages"],
    ["an unknown field beside messages", { messages: [mail(0)], dry_run: true }, "dry_run"],
  ];
  for (const [what, body, field] of bad) {
    test(what, async () => {
      const r = await g.api("POST", PATH, body);
      expect(r.status).toBe(422);
      expect(r.json.error.code).toBe("validation_error");
      expect(r.json.error.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(r.json.meta.request_id).toBe(r.headers.get("x-request-id"));
    });
  }
});

test("invalid JSON: 400; without a key: 401", async () => {
  const r = await g.api("POST", PATH, "{", { "content-type": "application/json" });
  expect(r.status).toBe(400);
  expect(r.json.error.code).toBe("invalid_parameter");
  const u = await g.api("POST", PATH, { messages: [mail(0)] }, { authorization: "" });
  expect(u.status).toBe(401);
  expect(u.json.error.code).toBe("authentication_required");
});
