import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { MAX_ATTACHMENT_BYTES } from "../../src/store/attachments.ts";
import { ManualClock } from "../../src/clock.ts";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const bytes = (n: number, seed = 7) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

function upload(content: Uint8Array, query: string, headers: Record<string, string> = {}) {
  return g.api("POST", `/api/v1/emails/attachments?${query}`, content, { "content-type": "application/octet-stream", ...headers });
}

test("POST /emails/attachments stores the bytes and GET returns the metadata", async () => {
  const content = bytes(20480);
  const r = await upload(content, "filename=analysis.pdf");
  expect(r.status).toBe(201);
  const d = r.json.data;
  expect(d.attachment_id).toMatch(/^att_[a-z0-9]{24}$/);
  expect(d).toEqual({ attachment_id: d.attachment_id, filename: "analysis.pdf", content_type: "application/pdf", size_bytes: 20480, expires_at: d.expires_at });
  expect(Date.parse(d.expires_at) - Date.now()).toBeGreaterThan(23.9 * 3600_000);
  expect(r.headers.get("location")).toBe(`/api/v1/emails/attachments/${d.attachment_id}`);
  const got = await g.api("GET", `/api/v1/emails/attachments/${d.attachment_id}`);
  expect(got.status).toBe(200);
  expect(got.json.data).toEqual(d);
  const again = await g.api("GET", `/api/v1/emails/attachments/${d.attachment_id}`, undefined, { "if-none-match": got.headers.get("etag")! });
  expect(again.status).toBe(304);
});

test("POST /emails/attachments: bad metadata is 400/422/413 naming the field", async () => {
  const content = bytes(10);
  let r = await upload(content, "content_type=text/plain");
  expect([r.status, r.json.error.code, r.json.error.param]).toEqual([400, "missing_parameter", "filename"]);
  r = await upload(content, `filename=${"a".repeat(256)}`);
  expect([r.status, r.json.error.param]).toEqual([422, "filename"]);
  r = await upload(content, "filename=a%0d%0ab.txt");
  expect([r.status, r.json.error.param]).toEqual([422, "filename"]);
  r = await upload(content, "filename=a.txt&content_type=not%20a%20type");
  expect([r.status, r.json.error.param]).toEqual([422, "content_type"]);
  r = await upload(new Uint8Array(0), "filename=a.txt");
  expect([r.status, r.json.error.param]).toEqual([400, "Content-Length"]);
  // An empty body is usually a file curl could not read: the message says the body was empty.
  expect(r.json.error.message).toContain("the request body was empty (Content-Length: 0)");
  expect(r.json.error.message).toContain("empty or was not found");
  // Over the cap: refused from the declared length, before the body is read.
  r = await upload(new Uint8Array(MAX_ATTACHMENT_BYTES + 1), "filename=big.bin");
  expect([r.status, r.json.error.code, r.json.error.param]).toEqual([413, "payload_too_large", "Content-Length"]);
  r = await upload(content, "filename=a.txt", { authorization: "Bearer smx_nope" });
  expect(r.status).toBe(401);
});

test("upload intent → PUT with the token → attachment; every check of the PUT", async () => {
  const content = bytes(5000, 3);
  const r = await g.api("POST", "/api/v1/emails/attachment-uploads", { filename: "data.csv", size_bytes: content.length, content_type: "text/csv", sha256: sha(content) });
  expect(r.status).toBe(201);
  const d = r.json.data;
  expect(d.upload_id).toMatch(/^upl_[a-z0-9]{24}$/);
  expect(d.method).toBe("PUT");
  expect(d.max_size_bytes).toBe(MAX_ATTACHMENT_BYTES);
  expect(d.upload_url).toBe(`${g.base}/api/v1/emails/attachment-uploads/${d.upload_id}`);
  expect(r.headers.get("location")).toBe(`/api/v1/emails/attachment-uploads/${d.upload_id}`);
  expect(d.headers["Content-Length"]).toBe("5000");
  expect(d.headers["Content-Type"]).toBe("text/csv");
  const token = d.headers["X-Sendmux-Upload-Token"];
  expect(token).toMatch(/^smx_upload_/);
  const put = (body: Uint8Array, headers: Record<string, string>, url = d.upload_url) => fetch(url, { method: "PUT", body: body as BodyInit, headers }).then(async (res) => ({ status: res.status, json: (await res.json()) as any, headers: res.headers }));

  expect((await put(content, {})).status).toBe(401);
  expect((await put(content, { "x-sendmux-upload-token": token + "x" })).status).toBe(401);
  expect((await put(content, { "x-sendmux-upload-token": token }, `${g.base}/api/v1/emails/attachment-uploads/upl_${"0".repeat(24)}`)).status).toBe(404);
  let p = await put(content.slice(1), { "x-sendmux-upload-token": token });
  expect([p.status, p.json.error.param]).toEqual([413, "Content-Length"]);
  p = await put(new Uint8Array(0), { "x-sendmux-upload-token": token });
  expect([p.status, p.json.error.param]).toEqual([400, "Content-Length"]);
  expect(p.json.error.message).toContain("the request body was empty (Content-Length: 0)");
  const wrong = content.slice();
  wrong[0] ^= 1;
  p = await put(wrong, { "x-sendmux-upload-token": token });
  expect([p.status, p.json.error.code, p.json.error.errors[0].field]).toEqual([422, "validation_error", "sha256"]);

  p = await put(content, { "x-sendmux-upload-token": token, "content-type": "text/csv" });
  expect(p.status).toBe(201);
  const att = p.json.data;
  expect(att).toEqual({ attachment_id: att.attachment_id, filename: "data.csv", content_type: "text/csv", size_bytes: 5000, expires_at: att.expires_at });
  expect(p.headers.get("location")).toBe(`/api/v1/emails/attachments/${att.attachment_id}`);
  // The same PUT again is answered with the same attachment; other bytes are a conflict.
  const again = await put(content, { "x-sendmux-upload-token": token });
  expect([again.status, again.json.data.attachment_id]).toEqual([201, att.attachment_id]);
  const other = await g.api("POST", "/api/v1/emails/attachment-uploads", { filename: "x.bin", size_bytes: 3 });
  const ot = other.json.data.headers["X-Sendmux-Upload-Token"];
  expect((await put(new Uint8Array([1, 2, 3]), { "x-sendmux-upload-token": ot }, other.json.data.upload_url)).status).toBe(201);
  const conflict = await put(new Uint8Array([1, 2, 4]), { "x-sendmux-upload-token": ot }, other.json.data.upload_url);
  expect([conflict.status, conflict.json.error.code]).toEqual([409, "conflict"]);
});

test("upload intent: every bad field is a 422 naming it; too big is 413 naming size_bytes", async () => {
  let r = await g.api("POST", "/api/v1/emails/attachment-uploads", { size_bytes: 0, sha256: "ABC", content_type: 5, extra: 1 });
  expect(r.status).toBe(422);
  expect(r.json.error.errors.map((e: any) => e.field).sort()).toEqual(["content_type", "extra", "filename", "sha256", "size_bytes"]);
  r = await g.api("POST", "/api/v1/emails/attachment-uploads", { filename: "a", size_bytes: 1.5 });
  expect([r.status, r.json.error.param]).toEqual([422, "size_bytes"]);
  r = await g.api("POST", "/api/v1/emails/attachment-uploads", { filename: "a", size_bytes: MAX_ATTACHMENT_BYTES + 1 });
  expect([r.status, r.json.error.code, r.json.error.param]).toEqual([413, "payload_too_large", "size_bytes"]);
  r = await g.api("POST", "/api/v1/emails/attachment-uploads", "{not json");
  expect(r.status).toBe(400);
});

test("an uploaded attachment is delivered byte for byte by send and batch, in its place among inline ones", async () => {
  const big = bytes(300_000, 11);
  const up = await upload(big, "filename=report.pdf");
  const id = up.json.data.attachment_id;
  const inline = Buffer.from("inline text file\n");
  const msg = (subject: string) => ({
    from: { email: "sender@example.com" },
    to: { email: "rcpt@example.net" },
    subject,
    html_body: "<p>see attached</p>",
    attachments: [{ filename: "note.txt", content: inline.toString("base64") }, { attachment_id: id }],
  });
  const s = await g.api("POST", "/api/v1/emails/send", msg("single"));
  expect(s.status).toBe(200);
  const b = await g.api("POST", "/api/v1/emails/send/batch", { messages: [msg("batch 0"), { ...msg("batch 1"), attachments: [{ attachment_id: `att_${"z".repeat(24)}` }] }] });
  expect(b.status).toBe(200);
  expect(b.json.data.summary).toEqual({ total: 2, queued: 1, failed: 1 });
  expect(b.json.data.results[1].error.errors[0].field).toBe("attachments.0.attachment_id");
  for (const mid of [s.json.data.message_id, b.json.data.results[0].message_id]) {
    await g.settle(mid, ["sent"]);
    const parsed = await simpleParser(await g.captured(mid));
    expect(parsed.attachments.map((a) => a.filename)).toEqual(["note.txt", "report.pdf"]);
    const pdf = parsed.attachments[1]!;
    expect(pdf.contentType).toBe("application/pdf");
    expect(sha(pdf.content)).toBe(sha(big));
    expect(parsed.attachments[0]!.content.toString()).toBe(inline.toString());
  }
});

test("unknown, another account's and expired ids: 422 on send, 404 on GET", async () => {
  const mine = (await upload(bytes(100), "filename=a.bin")).json.data.attachment_id;
  // A second account (its own full key) cannot see or use the first account's attachment.
  const acct = await g.running.gw.accounts.create("other", null);
  const { token } = await g.running.gw.keys.create(acct.id, { name: "o", permission: "full", scope: { type: "all" } });
  const other = { authorization: `Bearer ${token}` };
  expect((await g.api("GET", `/api/v1/emails/attachments/${mine}`, undefined, other)).status).toBe(404);
  const r = await g.api(
    "POST",
    "/api/v1/emails/send",
    { from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "s", text_body: "t", attachments: [{ filename: "x.txt", content: "eA==" }, { attachment_id: mine }] },
    other,
  );
  expect(r.status).toBe(422);
  expect(r.json.error.errors).toEqual([{ field: "attachments.1.attachment_id", code: "not_found", message: expect.stringContaining(mine) }]);
  expect((await g.api("GET", "/api/v1/emails/attachments/att_bad")).status).toBe(404);
});

test("expiry: an attachment is gone after 24 h, an upload URL after 1 h", async () => {
  const clock = new ManualClock(Date.now());
  const h = await startTestGateway({ clock });
  try {
    const a = await h.api("POST", "/api/v1/emails/attachments?filename=a.txt", bytes(10), { "content-type": "application/octet-stream" });
    const id = a.json.data.attachment_id;
    const intent = (await h.api("POST", "/api/v1/emails/attachment-uploads", { filename: "b.txt", size_bytes: 4 })).json.data;
    clock.advance(3600_000 + 1);
    const put = await fetch(intent.upload_url, { method: "PUT", body: new Uint8Array(4), headers: { "x-sendmux-upload-token": intent.headers["X-Sendmux-Upload-Token"] } });
    expect(put.status).toBe(404);
    expect((await h.api("GET", `/api/v1/emails/attachments/${id}`)).status).toBe(200);
    clock.advance(23 * 3600_000);
    expect((await h.api("GET", `/api/v1/emails/attachments/${id}`)).status).toBe(404);
    const r = await h.api("POST", "/api/v1/emails/send", { from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "s", text_body: "t", attachments: [{ attachment_id: id }] });
    expect([r.status, r.json.error.param]).toEqual([422, "attachments.0.attachment_id"]);
  } finally {
    await h.stop();
  }
});
