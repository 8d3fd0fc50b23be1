import { describe, expect, test } from "bun:test";
import { simpleParser } from "mailparser";
import { prepareRelayed, rfc5322Date } from "../../src/smtp/message.ts";

const b = (s: string) => Buffer.from(s, "latin1");
const opts = { id: "eml_abcdefghijklmnopqrstuvwx", hostname: "gw.test", nowMs: Date.UTC(2024, 5, 3, 10, 0, 0) };

describe("prepareRelayed", () => {
  test("a complete CRLF message without Bcc comes out as the same bytes", () => {
    const raw = b("Message-ID: <m1@example.com>\r\nDate: Mon, 03 Jun 2024 09:00:00 +0000\r\nFrom: s@example.com\r\nTo: a@example.net\r\nSubject: hi\r\n\r\nbody\r\n");
    const m = prepareRelayed(raw, opts);
    expect(m.raw).toBe(raw);
    expect(m.messageIdHeader).toBe("m1@example.com");
    expect(m.subject).toBe("hi");
  });

  test("adds Message-ID and Date only where missing, at the top", () => {
    const m = prepareRelayed(b("From: s@example.com\r\nSubject: hi\r\n\r\nbody\r\n"), opts);
    expect(m.raw.toString()).toBe(
      "Message-ID: <eml_abcdefghijklmnopqrstuvwx@gw.test>\r\nDate: Mon, 03 Jun 2024 10:00:00 +0000\r\nFrom: s@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
    );
    expect(m.messageIdHeader).toBe("eml_abcdefghijklmnopqrstuvwx@gw.test");
    const onlyDate = prepareRelayed(b("Message-ID: <x@y.example>\r\n\r\n"), opts);
    expect(onlyDate.raw.toString()).toBe("Date: Mon, 03 Jun 2024 10:00:00 +0000\r\nMessage-ID: <x@y.example>\r\n\r\n");
  });

  test("a blank Message-ID is replaced, never duplicated", async () => {
    const m = prepareRelayed(b("Message-ID:\r\nDate: Mon, 03 Jun 2024 09:00:00 +0000\r\nSubject: s\r\n\r\nx\r\n"), opts);
    const text = m.raw.toString();
    expect(text.match(/^Message-ID:/gim)).toHaveLength(1);
    expect((await simpleParser(m.raw)).messageId).toBe("<eml_abcdefghijklmnopqrstuvwx@gw.test>");
  });

  test("drops Bcc (folded too) and normalises bare line ends to CRLF", async () => {
    const m = prepareRelayed(b("From: s@example.com\nBcc: a@example.org,\n b@example.org\nSubject: s\n\nline\rnext\n"), opts);
    const text = m.raw.toString();
    expect(text).not.toMatch(/example\.org/);
    expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    expect(text.endsWith("\r\n\r\nline\r\nnext\r\n")).toBe(true);
    const parsed = await simpleParser(m.raw);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.subject).toBe("s");
  });

  test("summaries: From, To and Cc mailboxes with names and groups, Subject with its encoded words decoded", () => {
    const m = prepareRelayed(
      b('Message-ID: <a@b.example>\r\nDate: x\r\nFrom: "Sam" <s@example.com>\r\nTo: "Doe, Jane" <jane@example.com>, bob@example.org,\r\n team: carol@example.org;\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n\r\n'),
      opts,
    );
    expect(m.from).toBe("Sam <s@example.com>");
    expect(m.to).toEqual(["Doe, Jane <jane@example.com>", "bob@example.org", "carol@example.org"]);
    expect(m.subject).toBe("café");
  });

  test("summaries: raw UTF-8 header bytes (RFC 6532) are read as UTF-8, never as latin1", () => {
    const raw = Buffer.from("Subject: Grüße only subject\r\nFrom: Jörg <a@example.com>\r\nTo: b@example.net, \"Müller, Hans\" <h@example.net>\r\nCc: Zoë <z@example.org>\r\n\r\nhi\r\n", "utf8");
    const m = prepareRelayed(raw, opts);
    expect(m.subject).toBe("Grüße only subject");
    expect(m.from).toBe("Jörg <a@example.com>");
    expect(m.to).toEqual(["b@example.net", "Müller, Hans <h@example.net>"]);
    expect(m.cc).toEqual(["Zoë <z@example.org>"]);
    // The message itself keeps its bytes.
    expect(m.raw.subarray(m.raw.length - raw.length).equals(raw)).toBe(true);
  });

  test("summaries: encoded words in names and subjects, split characters, other charsets", () => {
    const m = prepareRelayed(
      b("From: =?UTF-8?B?SsO2cmc=?= <a@example.com>\r\nTo: \"=?ISO-8859-1?Q?Andr=E9?=\" <d@example.net>\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3?=\r\n =?UTF-8?Q?=9Fe?= and =?windows-1251?B?z/Do4uXy?=\r\n\r\n"),
      opts,
    );
    expect(m.from).toBe("Jörg <a@example.com>");
    expect(m.to).toEqual(["André <d@example.net>"]);
    expect(m.subject).toBe("Grüße and Привет");
  });

  test("summaries: 8-bit header bytes that are not UTF-8 are read as Windows-1252, not dropped", () => {
    const m = prepareRelayed(Buffer.concat([b("Subject: Gr"), Buffer.from([0xfc, 0xdf]), b("e\r\nFrom: no address here\r\n\r\nx")]), opts);
    expect(m.subject).toBe("Grüße");
    expect(m.from).toBe("no address here");
  });

  test("Resent-Bcc is removed like Bcc (RFC 5322 3.6.6), folded lines too", async () => {
    const m = prepareRelayed(
      b("Message-ID: <r@example.com>\r\nDate: x\r\nResent-From: s@example.com\r\nResent-Bcc: a@example.org,\r\n b@example.org\r\nRESENT-BCC : c@example.org\r\nResent-To: t@example.net\r\nSubject: s\r\n\r\nResent-Bcc: body line\r\n"),
      opts,
    );
    expect(m.raw.toString("latin1")).toBe("Message-ID: <r@example.com>\r\nDate: x\r\nResent-From: s@example.com\r\nResent-To: t@example.net\r\nSubject: s\r\n\r\nResent-Bcc: body line\r\n");
  });

  test("rfc5322Date", () => {
    expect(rfc5322Date(Date.UTC(2024, 0, 5, 1, 2, 3))).toBe("Fri, 05 Jan 2024 01:02:03 +0000");
  });
});
