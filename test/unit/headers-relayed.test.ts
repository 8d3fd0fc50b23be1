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

  test("summaries: To mailboxes with names and groups, raw From and Subject", () => {
    const m = prepareRelayed(
      b('Message-ID: <a@b.example>\r\nDate: x\r\nFrom: "Sam" <s@example.com>\r\nTo: "Doe, Jane" <jane@example.com>, bob@example.org,\r\n team: carol@example.org;\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n\r\n'),
      opts,
    );
    expect(m.from).toBe('"Sam" <s@example.com>');
    expect(m.to).toEqual(["Doe, Jane <jane@example.com>", "bob@example.org", "carol@example.org"]);
    expect(m.subject).toBe("=?UTF-8?Q?caf=C3=A9?=");
  });

  test("rfc5322Date", () => {
    expect(rfc5322Date(Date.UTC(2024, 0, 5, 1, 2, 3))).toBe("Fri, 05 Jan 2024 01:02:03 +0000");
  });
});
