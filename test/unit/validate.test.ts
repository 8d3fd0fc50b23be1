import { describe, expect, test } from "bun:test";
import { checkAddress } from "../../src/api/emails/address.ts";
import { charLength, tooLong, validateSend } from "../../src/api/emails/validate.ts";

describe("checkAddress: one policy for every address field", () => {
  const accepted: Array<[string, string]> = [
    ["alice@example.net", "alice@example.net"],
    ["first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"],
    ["o'brien@example.com", "o'brien@example.com"],
    ["Mixed@EXAMPLE.com", "Mixed@example.com"],
    ["user@bücher.example", "user@xn--bcher-kva.example"],
  ];
  for (const [input, out] of accepted) {
    test(`accepts ${input}`, () => expect(checkAddress(input)).toEqual({ ok: true, address: out }));
  }
  const refused: Array<[string, RegExp]> = [
    ["", /empty/],
    ["plain", /like user@example.com/],
    ["@example.com", /like user@example.com/],
    ["user@", /like user@example.com/],
    ['"alice@example.org x"@example.com', /space|quoted/],
    ['"quoted"@example.com', /quoted/],
    ["Doe, Jane <jane@example.com>", /display name|spaces/],
    ["müller@example.com", /ASCII/],
    ["=?utf-8?B?Wm/DqyA8em9lQGV4YW1wbGUuY29tPg==?=", /encoded-word/],
    ["undisclosed-recipients:;", /not allowed|like user/],
    ["a..b@example.com", /dot/],
    [".a@example.com", /dot/],
    ["a@example", /host name/],
    ["a@-example.com", /host name/],
    ["a@1.2.3.4", /IP/],
    ["a@[127.0.0.1]", /host name/],
    ["alice@example.net>\r\nRCPT TO:<spy@example.org", /line breaks/],
    ["a\u0000@example.com", /control/],
    [`${"a".repeat(65)}@example.com`, /64/],
    [`a@${"b".repeat(250)}.com`, /254/],
  ];
  for (const [input, why] of refused) {
    test(`refuses ${JSON.stringify(input).slice(0, 50)}`, () => {
      const r = checkAddress(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(why);
    });
  }
});

describe("lengths count code points, as JSON Schema does", () => {
  test("charLength", () => {
    expect(charLength("")).toBe(0);
    expect(charLength("abc")).toBe(3);
    expect(charLength("😀😀")).toBe(2);
    expect(charLength("é基😀")).toBe(3);
    expect(charLength("\ud83d")).toBe(1); // a lone surrogate is one (invalid) unit
  });
  test("tooLong", () => {
    expect(tooLong("😀".repeat(998), 998)).toBe(false);
    expect(tooLong("😀".repeat(999), 998)).toBe(true);
    expect(tooLong("a".repeat(998), 998)).toBe(false);
  });
});

describe("validateSend normalises what it accepts", () => {
  const base = { from: { email: "s@example.com", name: "  Sam  " }, to: { email: "a@example.net" }, subject: "Hi", html_body: "<p>x</p>" };

  test("single to becomes a list; names are trimmed; IDN domains become A-labels", () => {
    const r = validateSend({ ...base, cc: [{ email: "c@bücher.example" }] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.from).toEqual({ name: "Sam", address: "s@example.com" });
    expect(r.value.to).toEqual([{ address: "a@example.net" }]);
    expect(r.value.cc).toEqual([{ address: "c@xn--bcher-kva.example" }]);
  });

  test("custom header names of the four EXT headers are canonical; X-* keep their spelling", () => {
    const r = validateSend({ ...base, custom_headers: { "list-unsubscribe": "<https://x.example/u>", "in-reply-to": "<a@b>", "x-Mine": "1" } });
    expect(r.ok && r.value.headers).toEqual([
      ["List-Unsubscribe", "<https://x.example/u>"],
      ["In-Reply-To", "<a@b>"],
      ["x-Mine", "1"],
    ]);
  });

  test("attachments: base64 with line breaks decodes; content_id loses its angle brackets", () => {
    const content = Buffer.from("x".repeat(100)).toString("base64").replace(/(.{76})/g, "$1\r\n");
    const r = validateSend({ ...base, attachments: [{ filename: "a.png", content, type: "image/png", content_id: "<logo@example.com>" }] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Buffer.from(r.value.attachments[0]!.content).toString()).toBe("x".repeat(100));
    expect(r.value.attachments[0]!.cid).toBe("logo@example.com");
    expect(r.value.attachments[0]!.contentType).toBe("image/png");
  });

  test("a 19 MB attachment is valid base64 (no backtracking limit)", () => {
    const content = Buffer.alloc(19_000_000, 1).toString("base64");
    const r = validateSend({ ...base, attachments: [{ filename: "big.bin", content }] });
    expect(r.ok).toBe(true);
  });

  test("a lone surrogate in a filename is refused with the field named", () => {
    const r = validateSend({ ...base, attachments: [{ filename: "\ud83d.txt", content: "eA==" }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.field)).toEqual(["attachments.0.filename"]);
  });

  test("Bcc and Resent-Bcc are refused as custom headers alike, pointing to the bcc field", () => {
    for (const name of ["Bcc", "resent-bcc", "Resent-Bcc"]) {
      const r = validateSend({ ...base, custom_headers: { [name]: "x@example.org" } });
      expect(!r.ok && r.issues).toEqual([{ field: `custom_headers.${name}`, code: "invalid_key", message: expect.stringContaining("bcc field") }]);
    }
  });

  test("a header name with CR LF is shown escaped in the field path", () => {
    const r = validateSend({ ...base, custom_headers: { "X-Tag\r\nBcc": "x" } });
    expect(!r.ok && r.issues[0]!.field).toBe("custom_headers.X-Tag\\r\\nBcc");
  });

  test("a body that is not an object names no field", () => {
    const r = validateSend(["x"]);
    expect(!r.ok && r.issues).toEqual([{ field: "", code: "invalid_type", message: expect.stringContaining("JSON object") }]);
  });
});
