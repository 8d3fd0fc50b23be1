/**
 * Every constraint of EmailSendRequest (sendmux-openapi-sending.json) and SPEC's EXT items,
 * through the real endpoint: what is refused gets 422 naming each failing field (400 for a body
 * that is not a JSON object at all), what is allowed is delivered as asked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { simpleParser } from "mailparser";
import { pycheck } from "../helpers/cases.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

type Body = Record<string, unknown>;
const base = (): Body => ({
  from: { email: "sender@example.com", name: "Sam Sender" },
  to: { email: "alice@example.net" },
  subject: "Hello",
  html_body: "<p>Hello</p>",
});
const b64 = (s: string) => Buffer.from(s).toString("base64");
const att = (i: number) => ({ filename: `f${i}.txt`, content: b64(`file ${i}`), type: "text/plain" });
const rcpts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ email: `${tag}${i}@example.org` }));

function expectEnvelope(r: { status: number; json: any; headers: Headers }) {
  expect(r.headers.get("x-request-id")).toMatch(/^req_[a-z0-9]+$/);
  expect(r.json.meta.request_id).toBe(r.headers.get("x-request-id"));
  expect(r.headers.get("content-type")).toContain("application/json");
}

/** [what, body change, the fields that must be named] — each must be refused with 422. */
const refused: Array<[string, (b: Body) => void, string[]]> = [
  ["from missing", (b) => delete b.from, ["from"]],
  ["to missing", (b) => delete b.to, ["to"]],
  ["subject missing", (b) => delete b.subject, ["subject"]],
  ["html_body and text_body both missing", (b) => delete b.html_body, ["html_body"]],
  ["an unknown top-level field", (b) => (b.template_id = "x"), ["template_id"]],
  ["an unknown field in from", (b) => (b.from = { email: "a@example.com", address: "x" }), ["from.address"]],
  ["an unknown field in an attachment (path)", (b) => (b.attachments = [{ ...att(0), path: "/etc/passwd" }]), ["attachments.0.path"]],
  ["an unknown field in an attachment (href)", (b) => (b.attachments = [{ ...att(0), href: "http://x/" }]), ["attachments.0.href"]],
  ["from as a string", (b) => (b.from = "sender@example.com"), ["from"]],
  ["to as a number", (b) => (b.to = 5), ["to"]],
  ["cc as an object", (b) => (b.cc = { email: "c@example.org" }), ["cc"]],
  ["bcc as a string", (b) => (b.bcc = "c@example.org"), ["bcc"]],
  ["subject as a number", (b) => (b.subject = 42), ["subject"]],
  ["html_body as an object", (b) => (b.html_body = { html: "x" }), ["html_body"]],
  ["text_body as a number", (b) => (b.text_body = 1), ["text_body"]],
  ["attachments as an object", (b) => (b.attachments = att(0)), ["attachments"]],
  ["custom_headers as a list", (b) => (b.custom_headers = ["X-A: 1"]), ["custom_headers"]],
  ["a custom header value that is a number", (b) => (b.custom_headers = { "X-A": 1 }), ["custom_headers.X-A"]],
  ["from.email missing", (b) => (b.from = { name: "Sam" }), ["from.email"]],
  ["from.email not an address", (b) => (b.from = { email: "not-an-address" }), ["from.email"]],
  ["to.email with a display name in it", (b) => (b.to = { email: "Alice <alice@example.net>" }), ["to.email"]],
  ["to.email of 255 characters", (b) => (b.to = { email: `${"a".repeat(64)}@${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(64)}.com` }), ["to.email"]],
  ["cc email with a line break", (b) => (b.cc = [{ email: "c@example.org\r\nBcc: x@example.org" }]), ["cc.0.email"]],
  ["bcc email not an address", (b) => (b.bcc = [{ email: "@example.org" }]), ["bcc.0.email"]],
  ["reply_to email not an address", (b) => (b.reply_to = { email: "help" }), ["reply_to.email"]],
  ["return_path not an address", (b) => (b.return_path = "bounces"), ["return_path"]],
  ["return_path as an object", (b) => (b.return_path = { email: "b@example.com" }), ["return_path"]],
  ["a display name of 101 characters", (b) => (b.from = { email: "a@example.com", name: "n".repeat(101) }), ["from.name"]],
  ["a display name of 101 emoji", (b) => (b.to = { email: "a@example.net", name: "😀".repeat(101) }), ["to.name"]],
  ["a display name with LF", (b) => (b.cc = [{ email: "c@example.org", name: "A\nB" }]), ["cc.0.name"]],
  ["a display name with CR", (b) => (b.bcc = [{ email: "c@example.org", name: "A\rB" }]), ["bcc.0.name"]],
  ["a display name that is a number", (b) => (b.from = { email: "a@example.com", name: 7 }), ["from.name"]],
  ["an empty subject", (b) => (b.subject = ""), ["subject"]],
  ["a subject of 999 characters", (b) => (b.subject = "s".repeat(999)), ["subject"]],
  ["a subject of 999 emoji", (b) => (b.subject = "😀".repeat(999)), ["subject"]],
  ["a subject with CRLF", (b) => (b.subject = "Hi\r\nBcc: x@example.org"), ["subject"]],
  ["a subject with a lone LF", (b) => (b.subject = "Hi\nthere"), ["subject"]],
  ["an empty html_body", (b) => (b.html_body = ""), ["html_body"]],
  ["an empty text_body with no html_body", (b) => ((b.text_body = ""), delete b.html_body), ["text_body"]],
  ["a Bcc custom header", (b) => (b.custom_headers = { Bcc: "x@example.org" }), ["custom_headers.Bcc"]],
  ["a Resent-Bcc custom header", (b) => (b.custom_headers = { "Resent-Bcc": "x@example.org" }), ["custom_headers.Resent-Bcc"]],
  ["a Subject custom header", (b) => (b.custom_headers = { Subject: "x" }), ["custom_headers.Subject"]],
  ["a Reply-To custom header", (b) => (b.custom_headers = { "Reply-To": "x@example.org" }), ["custom_headers.Reply-To"]],
  ["a custom header name with a space", (b) => (b.custom_headers = { "X-A B": "1" }), ["custom_headers.X-A B"]],
  ["a custom header name with a colon", (b) => (b.custom_headers = { "X-A:B": "1" }), ["custom_headers.X-A:B"]],
  ["a custom header value with LF", (b) => (b.custom_headers = { "X-A": "1\nBcc: x@example.org" }), ["custom_headers.X-A"]],
  ["a custom header value of 501 characters", (b) => (b.custom_headers = { "X-A": "v".repeat(501) }), ["custom_headers.X-A"]],
  ["two custom headers differing only in case", (b) => (b.custom_headers = { "X-Tag": "a", "x-tag": "b" }), ["custom_headers.x-tag"]],
  ["51 recipients in to", (b) => (b.to = rcpts(51, "t")), ["to"]],
  ["50 cc", (b) => (b.cc = rcpts(50, "c")), ["cc"]],
  ["50 bcc", (b) => (b.bcc = rcpts(50, "b")), ["bcc"]],
  ["51 recipients over to, cc and bcc", (b) => ((b.cc = rcpts(25, "c")), (b.bcc = rcpts(25, "b"))), ["bcc"]],
  ["an empty to list", (b) => (b.to = []), ["to"]],
  ["11 attachments", (b) => (b.attachments = Array.from({ length: 11 }, (_, i) => att(i))), ["attachments"]],
  ["an attachment without filename", (b) => (b.attachments = [{ content: b64("x") }]), ["attachments.0.filename"]],
  ["an attachment with an empty filename", (b) => (b.attachments = [{ filename: "", content: b64("x") }]), ["attachments.0.filename"]],
  ["an attachment filename of 256 characters", (b) => (b.attachments = [{ filename: `${"n".repeat(252)}.txt`, content: b64("x") }]), ["attachments.0.filename"]],
  ["an attachment filename with CRLF", (b) => (b.attachments = [{ filename: "a\r\n.txt", content: b64("x") }]), ["attachments.0.filename"]],
  ["an attachment without content", (b) => (b.attachments = [{ filename: "a.txt" }]), ["attachments.0.content"]],
  ["an attachment with empty content", (b) => (b.attachments = [{ filename: "a.txt", content: "" }]), ["attachments.0.content"]],
  ["an attachment that is not base64", (b) => (b.attachments = [{ filename: "a.txt", content: "hello world!" }]), ["attachments.0.content"]],
  ["an attachment with base64 of a wrong length", (b) => (b.attachments = [{ filename: "a.txt", content: "aGVsbG8" }]), ["attachments.0.content"]],
  ["an attachment with encoding hex", (b) => (b.attachments = [{ ...att(0), encoding: "hex" }]), ["attachments.0.encoding"]],
  ["an attachment type that is not a MIME type", (b) => (b.attachments = [{ ...att(0), type: "pdf" }]), ["attachments.0.type"]],
  ["an attachment typed multipart/mixed", (b) => (b.attachments = [{ ...att(0), type: "multipart/mixed" }]), ["attachments.0.type"]],
  ["an attachment content_id with a space", (b) => (b.attachments = [{ ...att(0), content_id: "a b@x" }]), ["attachments.0.content_id"]],
  ["an attachment that is a string", (b) => (b.attachments = ["f.txt"]), ["attachments.0"]],
  ["an attachment_id of the wrong shape", (b) => (b.attachments = [{ attachment_id: "att_1" }]), ["attachments.0.attachment_id"]],
  ["an attachment_id that does not exist", (b) => (b.attachments = [{ attachment_id: `att_${"a".repeat(24)}` }]), ["attachments.0.attachment_id"]],
  ["an attachment_id with other fields", (b) => (b.attachments = [{ attachment_id: `att_${"a".repeat(24)}`, filename: "x" }]), ["attachments.0.filename"]],
];

describe("refused with 422 validation_error naming the field", () => {
  for (const [what, change, fields] of refused) {
    test(what, async () => {
      const body = base();
      change(body);
      const r = await g.api("POST", "/api/v1/emails/send", body);
      expect(r.status).toBe(422);
      expectEnvelope(r);
      expect(r.json.ok).toBe(false);
      expect(r.json.error.code).toBe("validation_error");
      expect(r.json.error.retryable).toBe(false);
      const named = r.json.error.errors.map((e: { field: string }) => e.field);
      for (const f of fields) expect(named).toContain(f);
      expect(fields).toContain(r.json.error.param);
      for (const e of r.json.error.errors) {
        expect(Object.keys(e).sort()).toEqual(["code", "field", "message"]);
        expect(e.message.length).toBeGreaterThan(5);
      }
    });
  }
});

test("every failing field is listed, not only the first", async () => {
  const r = await g.api("POST", "/api/v1/emails/send", { from: "x", to: { email: "bad" }, subject: "", extra: 1 });
  expect(r.status).toBe(422);
  const named = r.json.error.errors.map((e: { field: string }) => e.field).sort();
  expect(named).toEqual(["extra", "from", "html_body", "subject", "to.email"]);
  expect(r.json.error.message).toContain("5 fields are invalid");
});

describe("unparseable bodies get 400 invalid_parameter", () => {
  const cases: Array<[string, string | Uint8Array, Record<string, string>?]> = [
    ["invalid JSON", '{"from": '],
    ["a JSON list", "[]"],
    ["a JSON string", '"hello"'],
    ["an empty body", ""],
    ["bytes that are not UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ["a form body", "from=a", { "content-type": "application/x-www-form-urlencoded" }],
  ];
  for (const [what, body, headers] of cases) {
    test(what, async () => {
      const r = await g.api("POST", "/api/v1/emails/send", body, { "content-type": "application/json", ...(headers ?? {}) });
      expect(r.status).toBe(400);
      expectEnvelope(r);
      expect(r.json.error.code).toBe("invalid_parameter");
      expect(r.json.error.retryable).toBe(false);
      expect(typeof r.json.error.param).toBe("string");
    });
  }
});

describe("authentication", () => {
  test("no key: 401", async () => {
    const r = await g.api("POST", "/api/v1/emails/send", base(), { authorization: "" });
    expect(r.status).toBe(401);
    expectEnvelope(r);
    expect(r.json.error.code).toBe("authentication_required");
  });
  test("a wrong key: 401", async () => {
    const r = await g.api("POST", "/api/v1/emails/send", base(), { authorization: `Bearer smx_${"x".repeat(40)}` });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe("authentication_required");
  });
  test("not a bearer token: 401", async () => {
    const r = await g.api("POST", "/api/v1/emails/batch".replace("batch", "send"), base(), { authorization: `Basic ${b64("a:b")}` });
    expect(r.status).toBe(401);
  });
});

async function sendAndRead(body: Body) {
  const r = await g.api("POST", "/api/v1/emails/send", body);
  expect(r.status).toBe(200);
  expectEnvelope(r);
  expect(Object.keys(r.json).sort()).toEqual(["data", "meta", "ok"]);
  expect(r.json.data).toEqual({ message_id: expect.stringMatching(/^eml_[a-z0-9]{24}$/), status: "queued" });
  const id = r.json.data.message_id;
  const view = await g.settle(id);
  expect(view.status).toBe("sent");
  const raw = await g.captured(id);
  return { id, raw, parsed: await simpleParser(raw), view };
}

describe("accepted as the document (and SPEC's EXT) allow", () => {
  test("text_body alone (EXT) is a text/plain message", async () => {
    const body = base();
    delete body.html_body;
    body.text_body = "just text";
    const { raw } = await sendAndRead(body);
    expect(await pycheck(raw, ["parses_cleanly", "crlf_only", "mime_tree:text/plain", "body_line:just text"])).toEqual([]);
  });

  test("to as a list (EXT) with 50 recipients over to, cc and bcc", async () => {
    const body = { ...base(), to: rcpts(20, "t"), cc: rcpts(20, "c"), bcc: rcpts(10, "b") };
    const { id, parsed, raw } = await sendAndRead(body);
    expect((parsed.to as { value: unknown[] }).value).toHaveLength(20);
    expect((parsed.cc as { value: unknown[] }).value).toHaveLength(20);
    expect(await pycheck(raw, ["no_header:Bcc", "parses_cleanly"])).toEqual([]);
    const list = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
    expect(list.json.data.find((x: { message_id: string }) => x.message_id === id).envelope.to).toHaveLength(50);
  });

  test("limits count characters, not UTF-16 units: a 998-emoji subject and a 100-emoji name", async () => {
    const subject = "😀".repeat(998);
    const body = { ...base(), subject, from: { email: "sender@example.com", name: "é😀".repeat(50) } };
    const { raw } = await sendAndRead(body);
    expect(await pycheck(raw, ["parses_cleanly", "headers_7bit", "encoded_words_valid:Subject", "line_length_max:998", `header_equals:Subject=${subject}`])).toEqual([]);
  });

  test("the four EXT header names and X-* headers arrive as given", async () => {
    const headers = {
      "X-Campaign": "spring-2026",
      "List-Unsubscribe": "<mailto:unsub@example.com?subject=unsubscribe>, <https://example.com/u/1>",
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
      "In-Reply-To": "<parent@example.com>",
      References: "<root@example.com> <parent@example.com>",
      "x-lower": "kept",
      "X-Unicode": "Grüße ✓",
    };
    const { raw } = await sendAndRead({ ...base(), custom_headers: headers });
    const checks = Object.entries(headers).map(([k, v]) => `header_equals:${k}=${v}`);
    checks.push("header_unfolded_equals:List-Unsubscribe=" + headers["List-Unsubscribe"], "headers_7bit", "parses_cleanly", "line_length_max:998");
    expect(await pycheck(raw, checks)).toEqual([]);
  });

  test("null for optional fields means not given; 10 attachments are fine", async () => {
    const attachments = Array.from({ length: 10 }, (_, i) => att(i));
    const body = { ...base(), cc: null, bcc: null, reply_to: null, text_body: null, custom_headers: null, return_path: null, attachments };
    const { raw } = await sendAndRead(body);
    expect(await pycheck(raw, ["parses_cleanly", "attachments_equal_request"], body)).toEqual([]);
  });

  test("return_path is the envelope sender; reply_to becomes Reply-To", async () => {
    const body = { ...base(), return_path: "bounces+42@example.com", reply_to: { email: "help@example.com", name: "Help, Desk" } };
    const { id, raw } = await sendAndRead(body);
    expect(await pycheck(raw, ['mailboxes:Reply-To=[{"name":"Help, Desk","email":"help@example.com"}]'])).toEqual([]);
    const list = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
    expect(list.json.data.find((x: { message_id: string }) => x.message_id === id).envelope.from).toBe("bounces+42@example.com");
  });

  test("an internationalised domain is sent as its A-label", async () => {
    const { id } = await sendAndRead({ ...base(), to: { email: "user@bücher.example" } });
    const list = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
    expect(list.json.data.find((x: { message_id: string }) => x.message_id === id).envelope.to).toEqual(["user@xn--bcher-kva.example"]);
  });

  test("filenames with path characters and quotes are carried, one filename parameter each", async () => {
    const attachments = [
      { filename: "a/b\\c.txt", content: b64("one"), type: "text/plain" },
      { filename: 'say "hi".txt', content: b64("two") },
      { filename: `${"長い名前".repeat(60)}.pdf`, content: b64("three"), type: "application/pdf" },
    ];
    const body = { ...base(), attachments };
    const { raw } = await sendAndRead(body);
    expect(await pycheck(raw, ["parses_cleanly", "headers_7bit", "line_length_max:78", "single_filename_param", "name_param_fallback", "attachments_equal_request"], body)).toEqual([]);
  });
});
