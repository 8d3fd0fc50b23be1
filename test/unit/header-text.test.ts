import { describe, expect, test } from "bun:test";
import { decodeEncodedWords, headerText, unstructuredText } from "../../src/mime/header-text.ts";
import { gmailCopy } from "../../src/providers/gmail-message.ts";
import { parseParams, prepareForGraph } from "../../src/providers/outlook-mime.ts";

/** Header bytes one per character, as the header code keeps them. */
const latin1 = (s: string) => Buffer.from(s, "utf8").toString("latin1");

describe("headerText: header bytes as text", () => {
  test("raw UTF-8 (RFC 6532) is UTF-8, ASCII is unchanged", () => {
    expect(headerText(latin1("Grüße, Jörg ✓ 😀"))).toBe("Grüße, Jörg ✓ 😀");
    expect(headerText("plain ASCII")).toBe("plain ASCII");
  });
  test("bytes that are not UTF-8 are read as Windows-1252", () => {
    expect(headerText(Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65, 0x80]).toString("latin1"))).toBe("Grüße€");
  });
});

describe("decodeEncodedWords (RFC 2047)", () => {
  test.each([
    ["=?UTF-8?Q?caf=C3=A9?=", "café"],
    ["=?utf-8?b?R3LDvMOfZQ==?=", "Grüße"],
    ["=?UTF-8?Q?a_b?= =?UTF-8?Q?_c?=", "a b c"],
    ["=?UTF-8?Q?=F0=9F?= =?UTF-8?Q?=98=80?=", "😀"],
    ["=?UTF-8?Q?a?=\r\n =?ISO-8859-1?Q?=E9?= text", "aé text"],
    ["before =?UTF-8?Q?x?= after", "before x after"],
    ["=?UTF-8*en?Q?x?=", "x"],
    ["=?x-unknown?Q?a?= =?UTF-8?Q?b?=", "=?x-unknown?Q?a?= b"],
    ["not =? a word ?=", "not =? a word ?="],
  ])("%j", (input, want) => {
    expect(decodeEncodedWords(input)).toBe(want);
  });
  test("UTF-8 bytes and encoded words in one value", () => {
    expect(unstructuredText(latin1("Grüße =?UTF-8?Q?und_K=C3=BCsse?="))).toBe("Grüße und Küsse");
  });
});

describe("providers", () => {
  test("outlook: a filename in raw UTF-8 (RFC 6532) is the attachment's name, not latin1 mojibake", () => {
    expect(parseParams(latin1('attachment; filename="Grüße.pdf"')).params.filename).toBe("Grüße.pdf");
    expect(parseParams('attachment; filename="=?UTF-8?Q?Gr=C3=BC=C3=9Fe.pdf?="').params.filename).toBe("Grüße.pdf");
    expect(parseParams("attachment; filename*=utf-8''Gr%C3%BC%C3%9Fe.pdf").params.filename).toBe("Grüße.pdf");
    expect(parseParams('multipart/mixed; boundary="=?b?="').params.boundary).toBe("=?b?=");
  });

  const withResentBcc = Buffer.from(
    "From: s@example.com\r\nTo: a@example.net\r\nResent-Bcc: hidden@example.org,\r\n hidden2@example.org\r\nBcc: hidden3@example.org\r\nSubject: s\r\n\r\nx\r\n",
  );
  test("gmail: Resent-Bcc is dropped like Bcc; only the gateway's own Bcc goes to Gmail", () => {
    const copy = gmailCopy(withResentBcc, { from: "s@example.com", to: ["a@example.net", "b@example.org"] });
    expect(copy.ok).toBe(true);
    if (!copy.ok) return;
    expect(copy.raw.toString()).toBe("Bcc: b@example.org\r\nFrom: s@example.com\r\nTo: a@example.net\r\nSubject: s\r\n\r\nx\r\n");
  });
  test("outlook: Resent-Bcc is dropped like Bcc; only the gateway's own Bcc goes to Graph", () => {
    const p = prepareForGraph(withResentBcc, { from: "s@example.com", to: ["a@example.net", "b@example.org"] });
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.mime.toString()).toBe("Bcc: b@example.org\r\nFrom: s@example.com\r\nTo: a@example.net\r\nSubject: s\r\n\r\nx\r\n");
  });
});
