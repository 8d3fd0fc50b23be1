import { describe, expect, test } from "bun:test";
import { composeRaw, encodeParam, foldAtWhitespace, messageTree } from "../../src/mime/compose.ts";
import type { ComposeAttachment, ComposeSpec } from "../../src/types.ts";
import { pycheck } from "../helpers/cases.ts";

const file = (filename: string, content: string, contentType?: string, cid?: string): ComposeAttachment => ({
  filename,
  content: Buffer.from(content),
  contentType,
  cid,
});

function spec(over: Partial<ComposeSpec> = {}): ComposeSpec {
  return {
    from: { name: "Sam Sender", address: "sender@example.com" },
    to: [{ address: "alice@example.net" }],
    cc: [],
    bcc: [{ address: "hidden@example.org" }],
    subject: "Hello",
    text: "hi",
    html: "<p>hi</p>",
    headers: [],
    attachments: [],
    messageId: "eml_x@gw.test",
    date: "Thu, 01 Jan 2026 00:00:00 GMT",
    ...over,
  };
}

/** What pycheck finds wrong with the built message in general (empty when nothing). */
async function generalFaults(s: ComposeSpec): Promise<string[]> {
  const raw = await composeRaw(s);
  return pycheck(raw, ["parses_cleanly", "crlf_only", "no_header:Bcc"]);
}

describe("messageTree: each level only when needed", () => {
  const shape = (p: ReturnType<typeof messageTree>): string =>
    p.kind === "multipart" ? `${p.subtype}(${p.children.map(shape).join(",")})` : p.kind === "text" ? p.type : `file:${p.att.filename}`;
  const png = file("logo.png", "png", "image/png", "logo@x");
  const pdf = file("a.pdf", "pdf", "application/pdf");
  type TreeInput = Parameters<typeof messageTree>[0];
  test.each<[string, TreeInput, string]>([
    ["text only", { text: "t", html: undefined, attachments: [] }, "text/plain"],
    ["html only", { text: undefined, html: "h", attachments: [] }, "text/html"],
    ["text and html", { text: "t", html: "h", attachments: [] }, "alternative(text/plain,text/html)"],
    ["html and an inline image", { text: undefined, html: "h", attachments: [png] }, "related(text/html,file:logo.png)"],
    ["everything", { text: "t", html: "h", attachments: [png, pdf] }, "mixed(alternative(text/plain,related(text/html,file:logo.png)),file:a.pdf)"],
    ["an inline image without html goes with the attachments", { text: "t", html: undefined, attachments: [png] }, "mixed(text/plain,file:logo.png)"],
    ["an empty text_body beside html is left out", { text: "", html: "h", attachments: [pdf] }, "mixed(text/html,file:a.pdf)"],
  ])("%s", (_, s, want) => {
    expect(shape(messageTree(s))).toBe(want);
  });
});

describe("encodeParam", () => {
  test("short printable ASCII is a quoted string", () => {
    expect(encodeParam("filename", "report 2026.pdf")).toEqual(['filename="report 2026.pdf"']);
  });
  test("quotes, backslashes and non-ASCII use RFC 2231, never a quoted RFC 2047 word", () => {
    expect(encodeParam("filename", 'a"b.txt')).toEqual(["filename*=utf-8''a%22b.txt"]);
    expect(encodeParam("name", "😊.txt")).toEqual(["name*=utf-8''%F0%9F%98%8A.txt"]);
  });
  test("long values are cut into sections that never split a character", () => {
    const value = "基".repeat(100);
    const parts = encodeParam("filename", value);
    expect(parts.length).toBeGreaterThan(1);
    parts.forEach((p, i) => {
      expect(p.startsWith(`filename*${i}*=`)).toBe(true);
      const enc = p.slice(p.indexOf("=") + 1).replace(/^utf-8''/, "");
      expect(decodeURIComponent(enc)).toMatch(/^基+$/); // each section decodes on its own
      expect(p.length).toBeLessThan(78);
    });
  });
});

describe("foldAtWhitespace", () => {
  test("a value without spaces stays on one line; unfolding restores a value exactly", () => {
    const url = `<https://example.com/u?t=${"a".repeat(400)}>`;
    expect(foldAtWhitespace("List-Unsubscribe", url)).toBe(url);
    const list = Array.from({ length: 10 }, (_, i) => `<https://example.com/unsubscribe/${i}>`).join(", ");
    const folded = foldAtWhitespace("List-Unsubscribe", list);
    expect(folded).toContain("\r\n ");
    expect(folded.replace(/\r\n/g, "")).toBe(list);
    for (const line of `List-Unsubscribe: ${folded}`.split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
  });
});

describe("composeRaw", () => {
  test("the common shapes all parse cleanly with CRLF only and no Bcc header", async () => {
    const shapes: Array<Partial<ComposeSpec>> = [
      { html: undefined },
      { text: undefined },
      { attachments: [file("a.txt", "x")] },
      { html: undefined, attachments: [file("logo.png", "png", "image/png", "logo@x")] },
      { text: "a\rb\nc\r\nd", html: "<p>a</p>\n<p>b</p>\r<p>c</p>" },
    ];
    for (const s of shapes) expect(await generalFaults(spec(s))).toEqual([]);
  });

  test("an attachment's own name parameter is replaced; its other parameters are kept", async () => {
    const raw = await composeRaw(spec({ attachments: [file("invite.ics", "BEGIN:VCALENDAR\r\n", "text/calendar; method=REQUEST; name=old.ics; charset=UTF-8")] }));
    const text = raw.toString("latin1");
    expect(text).toContain('Content-Type: text/calendar; method=REQUEST; charset=UTF-8;\r\n name="invite.ics"');
    expect(text).not.toContain("old.ics");
  });

  test("without a type, the filename's extension gives it", async () => {
    const raw = (await composeRaw(spec({ attachments: [file("terms.pdf", "%PDF"), file("data.weird-ext", "x")] }))).toString("latin1");
    expect(raw).toContain('Content-Type: application/pdf; name="terms.pdf"');
    expect(raw).toContain('Content-Type: application/octet-stream; name="data.weird-ext"');
  });

  test("an inline part carries exactly one pair of angle brackets", async () => {
    const raw = await composeRaw(spec({ attachments: [file("logo.png", "png", "image/png", "logo@example.com")] }));
    expect(await pycheck(raw, ["inline_cid:logo@example.com", "inline_related:logo@example.com", "mime_tree:multipart/alternative(text/plain,multipart/related(text/html,image/png))"])).toEqual([]);
  });

  test("a subject of only spaces or tabs, and an empty or blank custom header, are written as given (nodemailer would drop them)", async () => {
    for (const subject of ["   ", " ", "\t \t"]) {
      const raw = await composeRaw(spec({ subject, headers: [["X-Blank", "  "], ["X-Empty", ""], ["X-Kept", "v"]] }));
      const head = raw.toString("latin1").split("\r\n\r\n")[0]!;
      expect(head).toContain(`\r\nSubject: ${subject}\r\nMessage-ID: <eml_x@gw.test>\r\n`);
      expect(head).toContain("\r\nX-Blank:   \r\nX-Empty:\r\nX-Kept: v\r\n");
      expect(head).not.toContain("sendmux-blank");
      expect(await pycheck(raw, ["parses_cleanly", "crlf_only"])).toEqual([]);
    }
  });

  test("a blank subject too long for one line becomes encoded words that decode to exactly it", async () => {
    const subject = " ".repeat(990) + "\t".repeat(8);
    const raw = await composeRaw(spec({ subject }));
    expect(await pycheck(raw, ["parses_cleanly", "line_length_max:78", "encoded_words_valid:Subject", `header_equals:Subject=${subject}`])).toEqual([]);
  });

  test("a blank value is placed by the same bytes on every build", async () => {
    const s = spec({ subject: "  ", headers: [["X-Empty", ""]] });
    expect((await composeRaw(s)).equals(await composeRaw(s))).toBe(true);
  });

  test("non-ASCII custom header values are RFC 2047 words; References is formatted as msg-ids", async () => {
    const raw = await composeRaw(spec({ headers: [["X-Note", "Grüße"], ["References", "<a@x> <b@x>"]] }));
    expect(await pycheck(raw, ["headers_7bit", "header_equals:X-Note=Grüße", "header_equals:References=<a@x> <b@x>"])).toEqual([]);
  });
});

describe("the delivered-message checks can fail (they are not vacuous)", () => {
  const msg = (head: string, body = "x\r\n") => Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n${head}\r\n${body}`, "utf8");
  test.each([
    ["crlf_only", msg("", "a\nb\r\n")],
    ["line_length_max:998", msg("", `${"a".repeat(999)}\r\n`)],
    ["headers_7bit", msg("X-A: é\r\n")],
    ["parses_cleanly", msg('Content-Type: text/plain; name="=?UTF-8?Q?a=2Etxt?="\r\n')],
    ["encoded_words_valid:Subject", Buffer.from("Subject: =?UTF-8?Q?=F0=9F?= =?UTF-8?Q?=98=80?=\r\n\r\nx")],
    ["no_header:Bcc", msg("Bcc: c@example.com\r\n")],
    ["header_unfolded_equals:X-U=<https://e.x/aaaa>", msg("X-U: <https://e.x/aa\r\n aa>\r\n")],
    ['mailboxes:From=[{"name":"Doe, Jane","email":"jane@example.com"}]', Buffer.from("From: Doe, Jane <jane@example.com>\r\n\r\nx")],
    ["single_filename_param", msg('Content-Type: text/plain\r\nContent-Disposition: attachment; filename="a.txt"; filename="b.exe"\r\n')],
    ["mime_tree:multipart/mixed(text/plain)", msg("Content-Type: text/plain\r\n")],
    ["inline_cid:logo@x", msg("Content-Type: image/png\r\nContent-ID: <<logo@x>>\r\nContent-Disposition: inline\r\n")],
    ["body_line:hello", msg("", "hello world\r\n")],
    ["no_such_check", msg("")],
  ])("%s", async (check, raw) => {
    expect((await pycheck(raw, [check])).length).toBe(1);
  });
});
