import { describe, expect, test } from "bun:test";
import { hasHeader, headerValue, isCrlfOnly, parseHeaderBlock, rewriteHeaders, toCrlf } from "../../src/mime/headers.ts";

const b = (s: string) => Buffer.from(s, "latin1");

describe("toCrlf", () => {
  test("returns the very same buffer when every line end is CRLF", () => {
    const raw = b("A: 1\r\n\r\nbody\r\n");
    expect(isCrlfOnly(raw)).toBe(true);
    expect(toCrlf(raw)).toBe(raw);
  });

  test("rewrites bare LF and bare CR, leaves CRLF alone", () => {
    expect(toCrlf(b("a\nb\rc\r\nd\n")).toString("latin1")).toBe("a\r\nb\r\nc\r\nd\r\n");
    expect(toCrlf(b("\n.\n")).toString("latin1")).toBe("\r\n.\r\n");
    expect(toCrlf(b("x\r")).toString("latin1")).toBe("x\r\n");
    expect(isCrlfOnly(b("\nx"))).toBe(false);
    expect(isCrlfOnly(b("x\r"))).toBe(false);
  });

  test("keeps 8-bit bytes", () => {
    const raw = Buffer.from([0xc3, 0xa9, 0x0a, 0xff]);
    expect([...toCrlf(raw)]).toEqual([0xc3, 0xa9, 0x0d, 0x0a, 0xff]);
  });
});

describe("parseHeaderBlock / headerValue", () => {
  test("fields keep their folded lines; values are unfolded", () => {
    const raw = b("Subject: a\r\n  long\r\n\tsubject\r\nTo: x@example.com\r\n\r\nbody\r\n");
    const block = parseHeaderBlock(raw);
    expect(block.fields.map((f) => f.name)).toEqual(["Subject", "To"]);
    expect(headerValue(block, "subject")).toBe("a  long\tsubject");
    expect(headerValue(block, "TO")).toBe("x@example.com");
    expect(headerValue(block, "cc")).toBeNull();
    expect(raw.subarray(block.bodyStart).toString()).toBe("body\r\n");
  });

  test("a message with no body, and one with no headers", () => {
    const onlyHeaders = parseHeaderBlock(b("Subject: x\r\n"));
    expect(onlyHeaders.fields).toHaveLength(1);
    expect(onlyHeaders.bodyStart).toBe(12);
    const onlyBody = parseHeaderBlock(b("\r\nSubject: not a header\r\n"));
    expect(onlyBody.fields).toHaveLength(0);
    expect(onlyBody.bodyStart).toBe(2);
  });

  test("a header block does not reach into the body", () => {
    const block = parseHeaderBlock(b("A: 1\r\n\r\nBcc: in the body\r\n"));
    expect(block.fields.map((f) => f.name)).toEqual(["A"]);
  });

  test("hasHeader ignores a blank field", () => {
    const block = parseHeaderBlock(b("Message-ID:   \r\nDate: Mon, 03 Jun 2024 10:00:00 +0000\r\n\r\n"));
    expect(hasHeader(block, "message-id")).toBe(false);
    expect(hasHeader(block, "date")).toBe(true);
  });
});

describe("rewriteHeaders", () => {
  test("removes every Bcc field with its continuation lines, including `Bcc :` and any case", () => {
    const raw = b(
      "From: s@example.com\r\nBcc: a@example.org,\r\n b@example.org,\r\n\tc@example.org\r\nTo: t@example.net\r\nBCC : d@example.org\r\nbcc:\r\nSubject: s\r\n\r\nBcc: body line\r\n",
    );
    const out = rewriteHeaders(raw, parseHeaderBlock(raw), ["bcc"], []).toString("latin1");
    expect(out).toBe("From: s@example.com\r\nTo: t@example.net\r\nSubject: s\r\n\r\nBcc: body line\r\n");
  });

  test("adds fields first and keeps the rest byte for byte", () => {
    const raw = Buffer.concat([b("X-A: 1\r\nSubject: =?UTF-8?B?w6k=?=\r\n\r\n"), Buffer.from([0xe9, 0x0d, 0x0a])]);
    const out = rewriteHeaders(raw, parseHeaderBlock(raw), [], [["Date", "Mon, 03 Jun 2024 10:00:00 +0000"]]);
    expect(out.equals(Buffer.concat([b("Date: Mon, 03 Jun 2024 10:00:00 +0000\r\n"), raw]))).toBe(true);
  });

  test("returns the original buffer when nothing changes", () => {
    const raw = b("A: 1\r\n\r\nx\r\n");
    expect(rewriteHeaders(raw, parseHeaderBlock(raw), ["bcc"], [])).toBe(raw);
  });

  test("a headers-only message gets the empty line after the new fields", () => {
    const raw = b("Subject: x\r\n");
    expect(rewriteHeaders(raw, parseHeaderBlock(raw), [], [["Date", "d"]]).toString()).toBe("Date: d\r\nSubject: x\r\n\r\n");
  });
});
