import { describe, expect, test } from "bun:test";
import { simpleParser, type ParsedMail } from "mailparser";
import { encodeQp, decodeQp, encodedWords, needsSevenBit, SevenBitError, toSevenBit } from "../../src/mime/sevenbit.ts";

const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n");
const bin = (s: string) => Buffer.from(s, "utf8");

/** Every line (any line end) of the output is ASCII and at most 998 octets. */
function assertSevenBit(out: Buffer): void {
  for (const b of out) expect(b).toBeLessThan(128);
  for (const line of out.toString("latin1").split(/\r\n|\r|\n/)) expect(line.length).toBeLessThanOrEqual(998);
}

/** The decoded content of every part, in order, as mailparser sees it. */
async function decodedParts(raw: Buffer): Promise<{ parsed: ParsedMail; text: string | undefined; html: string | false; atts: Array<{ filename?: string; type: string; content: Buffer }> }> {
  const parsed = await simpleParser(raw, { skipTextToHtml: true, skipHtmlToText: true, skipTextLinks: true });
  return {
    parsed,
    text: parsed.text?.replace(/\r\n/g, "\n"),
    html: typeof parsed.html === "string" ? parsed.html.replace(/\r\n/g, "\n") : false,
    atts: parsed.attachments.map((a) => ({ filename: a.filename, type: a.contentType, content: a.content })),
  };
}

async function expectSameContent(before: Buffer, after: Buffer): Promise<void> {
  const a = await decodedParts(before);
  const b = await decodedParts(after);
  expect(b.text).toBe(a.text);
  expect(b.html).toBe(a.html);
  expect(b.atts.length).toBe(a.atts.length);
  a.atts.forEach((x, i) => {
    expect(b.atts[i]!.filename).toBe(x.filename);
    expect(b.atts[i]!.type).toBe(x.type);
    expect(Buffer.compare(b.atts[i]!.content, x.content)).toBe(0);
  });
  expect(b.parsed.subject).toBe(a.parsed.subject);
}

describe("toSevenBit", () => {
  test("a 7-bit message with short lines is returned unchanged (the same buffer)", () => {
    const raw = bin(crlf("From: a@example.com\nSubject: hi\n\nhello\n"));
    expect(needsSevenBit(raw)).toBe(false);
    expect(toSevenBit(raw)).toBe(raw);
  });

  test("an 8bit text body becomes quoted-printable; the other header lines stay byte for byte", async () => {
    const head = crlf("From: sender@example.com\nTo: alice@example.net\nSubject: 8bit body\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n");
    const raw = Buffer.concat([bin(head + "Content-Transfer-Encoding: 8bit\r\n\r\n"), bin("Grüße aus Köln – naïve café\r\n")]);
    const out = toSevenBit(raw);
    assertSevenBit(out);
    expect(out.toString("latin1").startsWith(head)).toBe(true);
    expect(out.toString("latin1")).toContain("Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe");
    expect(out.toString("latin1")).not.toContain("Content-Transfer-Encoding: 8bit");
    await expectSameContent(raw, out);
  });

  test("a 7bit line over 998 octets is soft-broken; the part decodes to the same bytes", async () => {
    const long = '<p><a href="https://example.com/t?k=' + "k9".repeat(700) + '">x</a></p>';
    const raw = bin(crlf(`From: s@example.com\nSubject: long\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n${long}\n`));
    const out = toSevenBit(raw);
    assertSevenBit(out);
    for (const line of out.toString("latin1").split("\r\n")) expect(line.length).toBeLessThanOrEqual(76 + 20);
    await expectSameContent(raw, out);
    expect((await decodedParts(out)).html).toBe(long + "\n");
  });

  const nested = (eol: string) => {
    const img = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255, 254, 0x0d, 0x0a, 0x2e, 0x0a, 0x80]);
    const already = Buffer.from("already encoded bytes \u00e9").toString("base64");
    const text = [
      "MIME-Version: 1.0",
      "From: s@example.com",
      "Subject: nested",
      'Content-Type: multipart/mixed; boundary="outer"',
      "",
      "This is the preamble.",
      "--outer",
      'Content-Type: multipart/alternative; boundary="outer-inner"',
      "",
      "--outer-inner",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      "héllo plain",
      "--outerX is not a delimiter of either",
      "--outer-inner-not-a-delimiter",
      "-- signature dashes",
      "--outer-inner",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      "<p>héllo html</p>",
      "--outer-inner--",
      "",
      "--outer",
      "Content-Type: application/pdf; name=already.pdf",
      "Content-Disposition: attachment; filename=already.pdf",
      "Content-Transfer-Encoding: base64",
      "",
      already,
      "--outer",
      "Content-Type: application/octet-stream",
      "Content-Disposition: attachment; filename=raw.bin",
      "Content-Transfer-Encoding: binary",
      "",
      "@@IMG@@",
      "--outer--",
      "epilogue",
      "",
    ].join(eol);
    const [a, b] = text.split("@@IMG@@");
    return { raw: Buffer.concat([bin(a!), img, bin(b!)]), img, already };
  };

  for (const [label, eol] of [["CRLF", "\r\n"], ["LF", "\n"]] as const) {
    test(`nested multiparts (${label}): only the 8-bit leaves are re-encoded, every part decodes as submitted`, async () => {
      const { raw, img, already } = nested(eol);
      const out = toSevenBit(raw);
      assertSevenBit(out);
      const s = out.toString("latin1");
      // The already-encoded part and every structural line are untouched.
      expect(s).toContain(["--outer", "Content-Type: application/pdf; name=already.pdf", "Content-Disposition: attachment; filename=already.pdf", "Content-Transfer-Encoding: base64", "", already, "--outer"].join(eol));
      expect(s).toContain(`This is the preamble.${eol}--outer${eol}`);
      expect(s).toContain(`${eol}--outer-inner--${eol}${eol}--outer${eol}`);
      expect(s.endsWith(`--outer--${eol}epilogue${eol}`)).toBe(true);
      // Boundary-like lines inside the text part stay text.
      const parts = await decodedParts(out);
      expect(parts.text).toBe("héllo plain\n--outerX is not a delimiter of either\n--outer-inner-not-a-delimiter\n-- signature dashes");
      expect(parts.html).toBe("<p>héllo html</p>");
      const rawBin = parts.atts.find((x) => x.filename === "raw.bin")!;
      expect(Buffer.compare(rawBin.content, img)).toBe(0);
      expect(s).toMatch(/Content-Disposition: attachment; filename=raw.bin\r?\nContent-Transfer-Encoding: base64\r?\n/);
      await expectSameContent(raw, out);
    });
  }

  test("an 8-bit preamble is dropped rather than sent; the parts are kept", async () => {
    const raw = bin(crlf('Content-Type: multipart/mixed; boundary=b\n\nPréambule\n--b\nContent-Type: text/plain\n\nplain ascii\n--b--\n'));
    const out = toSevenBit(raw);
    assertSevenBit(out);
    expect(out.toString("latin1")).toBe(crlf("Content-Type: multipart/mixed; boundary=b\n\n\n--b\nContent-Type: text/plain\n\nplain ascii\n--b--\n"));
  });

  test("a part without headers (blank line right after the delimiter) is a text/plain leaf", async () => {
    const raw = bin(crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nnaïve\nsecond: line\n--b--\n"));
    const out = toSevenBit(raw);
    assertSevenBit(out);
    expect(out.toString("latin1")).toContain("--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nna=C3=AFve\r\nsecond: line\r\n--b--");
  });

  test("an attached message/rfc822 is converted inside, keeping it a message", async () => {
    const raw = bin(crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\nSubject: Grüße\nContent-Type: text/plain; charset=utf-8\n\nInnen: ä\n--b--\n"));
    const out = toSevenBit(raw);
    assertSevenBit(out);
    const s = out.toString("latin1");
    expect(s).toContain("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\nSubject: =?UTF-8?B?");
    expect(s).toContain("Innen: =C3=A4");
    const inner = s.slice(s.indexOf("Subject:"), s.lastIndexOf("\r\n--b--"));
    const p = await simpleParser(Buffer.from(inner, "latin1"));
    expect(p.subject).toBe("Grüße");
    expect(p.text?.trim()).toBe("Innen: ä");
  });

  test("a quoted-printable part with 8-bit bytes or a long line is decoded and encoded again", async () => {
    const raw = bin(crlf(`Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nr=C3=A9sum=C3=A9 café ${"x".repeat(1200)}\n`));
    const out = toSevenBit(raw);
    assertSevenBit(out);
    expect((await simpleParser(out)).text).toBe(`résumé café ${"x".repeat(1200)}\n`);
  });

  test("a base64 part written as one long line is wrapped, bytes unchanged", async () => {
    const data = Buffer.alloc(3000, 7);
    const raw = bin(crlf(`Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=a.bin\nContent-Transfer-Encoding: base64\n\n${data.toString("base64")}\n`));
    const out = toSevenBit(raw);
    assertSevenBit(out);
    expect(Buffer.compare((await simpleParser(out)).attachments[0]!.content, data)).toBe(0);
  });
});

describe("header fields", () => {
  test("a non-ASCII Subject becomes RFC 2047 words of at most 75 characters, each valid UTF-8 alone", async () => {
    const subject = "Grüße – ".repeat(30) + "😀 end";
    const raw = bin(crlf(`From: s@example.com\nSubject: ${subject}\n\nbody\n`));
    const out = toSevenBit(raw);
    assertSevenBit(out);
    const s = out.toString("latin1");
    const words = s.match(/=\?[^?]+\?[BQ]\?[^?]*\?=/g)!;
    expect(words.length).toBeGreaterThan(3);
    for (const w of words) {
      expect(w.length).toBeLessThanOrEqual(75);
      const b64 = w.slice("=?UTF-8?B?".length, -2);
      expect(() => new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(b64, "base64"))).not.toThrow();
    }
    expect((await simpleParser(out)).subject).toBe(subject);
    expect(s).toContain("From: s@example.com\r\n");
  });

  test("a non-ASCII X- header is encoded; a non-ASCII address header fails with a reason naming it", () => {
    const ok = toSevenBit(bin(crlf("X-Note: café\nSubject: x\n\nb\n"))).toString("latin1");
    expect(ok).toContain("X-Note: =?UTF-8?B?Y2Fmw6k=?=\r\n");
    expect(() => toSevenBit(bin(crlf("From: Jürgen <j@example.com>\n\nb\n")))).toThrow(SevenBitError);
    expect(() => toSevenBit(bin(crlf("To: jürgen@example.com\n\nb\n")))).toThrow(/To header .*address/);
    expect(() => toSevenBit(bin(crlf("Message-ID: <é@example.com>\n\nb\n")))).toThrow(/Message-ID header/);
  });

  test("header bytes that are not UTF-8 cannot be encoded: the error says so", () => {
    const raw = Buffer.concat([bin("Subject: caf"), Buffer.from([0xe9]), bin("\r\n\r\nbody\r\n")]);
    expect(() => toSevenBit(raw)).toThrow(/Subject header .*not UTF-8/);
  });

  test("a non-ASCII filename parameter becomes RFC 2231", async () => {
    const raw = bin(crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/pdf; name="Bücher.pdf"\nContent-Disposition: attachment; filename="Bücher.pdf"\nContent-Transfer-Encoding: base64\n\nAAEC\n--b--\n'));
    const out = toSevenBit(raw);
    assertSevenBit(out);
    expect(out.toString("latin1")).toContain("filename*0*=utf-8''B%C3%BCcher.pdf");
    const att = (await simpleParser(out)).attachments[0]!;
    expect(att.filename).toBe("Bücher.pdf");
    expect([...att.content]).toEqual([0, 1, 2]);
  });

  test("long ASCII header lines are folded at whitespace; an unfoldable structured one fails", async () => {
    const refs = Array.from({ length: 60 }, (_, i) => `<msg${i}.${"x".repeat(20)}@example.com>`).join(" ");
    const out = toSevenBit(bin(crlf(`References: ${refs}\nSubject: s\n\nb\n`)));
    assertSevenBit(out);
    expect((await simpleParser(out)).headers.get("references")).toEqual(refs.split(" "));
    const xlong = "y".repeat(1500);
    const out2 = toSevenBit(bin(crlf(`X-Long: ${xlong}\n\nb\n`)));
    assertSevenBit(out2);
    const words = out2.toString("latin1").match(/=\?UTF-8\?B\?[^?]*\?=/g)!;
    expect(words.map((w) => Buffer.from(w.slice(10, -2), "base64").toString("utf8")).join("")).toBe(xlong);
    expect(() => toSevenBit(bin(crlf(`Message-ID: <${"z".repeat(1200)}@example.com>\n\nb\n`)))).toThrow(/no whitespace to fold/);
  });

  test("a multipart without a boundary parameter cannot be walked: clear error", () => {
    expect(() => toSevenBit(bin(crlf("Content-Type: multipart/mixed\n\nnaïve\n")))).toThrow(/without a boundary/);
    expect(() => toSevenBit(bin(crlf("Content-Type: multipart/mixed; boundary=zz\n\nnaïve\n")))).toThrow(/no delimiter line/);
  });
});

describe("quoted-printable", () => {
  test("round trip of every byte value, trailing spaces and line ends", () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 10 && b !== 13));
    const s = Buffer.concat([all, bin(" \r\nline with trailing space \r\n\ttab\t\r\n")]);
    const enc = encodeQp(s);
    for (const line of enc.split("\r\n")) {
      expect(line.length).toBeLessThanOrEqual(76);
      expect(line).not.toMatch(/[ \t]$/);
      expect(line).toMatch(/^[\x20-\x7e\t]*$/);
    }
    expect(Buffer.compare(decodeQp(enc), s)).toBe(0);
  });

  test("a soft-broken continuation line never starts with - or . (cannot look like a delimiter)", () => {
    const enc = encodeQp(bin("-".repeat(500) + ".".repeat(300)));
    const lines = enc.split("\r\n");
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines.slice(1)) expect(l[0] === "-" || l[0] === ".").toBe(false);
    expect(decodeQp(enc).toString()).toBe("-".repeat(500) + ".".repeat(300));
  });

  test("encodedWords splits on character boundaries", () => {
    const w = encodedWords("😀".repeat(40));
    for (const x of w) expect(x.length).toBeLessThanOrEqual(75);
    expect(w.map((x) => Buffer.from(x.slice(10, -2), "base64").toString("utf8")).join("")).toBe("😀".repeat(40));
  });
});
