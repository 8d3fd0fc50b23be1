import { createHash, randomUUID } from "node:crypto";
import { detectMimeType } from "nodemailer/lib/mime-funcs/index.js";
import MimeNode from "nodemailer/lib/mime-node/index.js";
import type { ComposeAddress, ComposeAttachment, ComposeSpec } from "../types.ts";

/** CRLF for every line end, a lone CR or LF included (strict upstreams refuse bare LF). */
export function crlf(s: string): string {
  return s.replace(/\r\n|\r|\n/g, "\r\n");
}

/**
 * A header value nodemailer writes as given (no encoding, no folding of its own): used where we
 * encode and fold ourselves. Its typings only know plain strings, hence this shape.
 */
interface Prepared {
  prepared: true;
  value: string;
}
type HeaderValue = string | Prepared | Date | { name: string; address: string } | Array<{ name: string; address: string }>;
interface Node {
  createChild(contentType: string, options?: object): Node;
  setHeader(key: string, value: HeaderValue): Node;
  addHeader(key: string, value: HeaderValue): Node;
  setContent(content: string | Buffer): Node;
  build(): Promise<Buffer>;
}

/** What the message tree is made of before nodemailer writes it. */
type Part =
  | { kind: "multipart"; subtype: "mixed" | "alternative" | "related"; children: Part[] }
  | { kind: "text"; type: "text/plain" | "text/html"; content: string }
  | { kind: "file"; att: ComposeAttachment };

const NODE_OPTIONS = { disableFileAccess: true, disableUrlAccess: true };

/**
 * The MIME structure for an API send, as mail clients expect it:
 * mixed( alternative( text, related( html, inline… ) ), attachments… ), each level present only
 * when needed. An attachment with a content_id is inline (Content-ID, disposition inline) and
 * sits in multipart/related beside the HTML that refers to it; without HTML it goes with the
 * other attachments, still inline.
 */
export function messageTree(spec: Pick<ComposeSpec, "text" | "html" | "attachments">): Part {
  const text: Part | null = spec.text ? { kind: "text", type: "text/plain", content: crlf(spec.text) } : null;
  const html: Part | null = spec.html !== undefined ? { kind: "text", type: "text/html", content: crlf(spec.html) } : null;
  const inline = spec.attachments.filter((a) => a.cid).map((att): Part => ({ kind: "file", att }));
  const attached = spec.attachments.filter((a) => !a.cid).map((att): Part => ({ kind: "file", att }));
  let htmlish: Part | null = html;
  if (html && inline.length) htmlish = { kind: "multipart", subtype: "related", children: [html, ...inline] };
  else if (!html) attached.unshift(...inline);
  let main: Part | null = text && htmlish ? { kind: "multipart", subtype: "alternative", children: [text, htmlish] } : (htmlish ?? text);
  main ??= { kind: "text", type: "text/plain", content: "" };
  return attached.length ? { kind: "multipart", subtype: "mixed", children: [main, ...attached] } : main;
}

function contentTypeOf(p: Part): string {
  if (p.kind === "multipart") return p.subtype === "related" ? 'multipart/related; type="text/html"' : `multipart/${p.subtype}`;
  if (p.kind === "text") return `${p.type}; charset=utf-8`;
  return "application/octet-stream"; // replaced by the prepared header below
}

function materialise(p: Part, parent: Node | null, rootOptions: object = NODE_OPTIONS): Node {
  const node: Node = parent
    ? parent.createChild(contentTypeOf(p), NODE_OPTIONS)
    : (new MimeNode(contentTypeOf(p), rootOptions) as unknown as Node);
  if (p.kind === "multipart") for (const c of p.children) materialise(c, node);
  else if (p.kind === "text") node.setContent(p.content);
  else {
    const a = p.att;
    node.setHeader("Content-Type", { prepared: true, value: attachmentContentType(a) });
    node.setHeader("Content-Transfer-Encoding", "base64");
    node.setHeader("Content-Disposition", { prepared: true, value: foldParams([a.cid ? "inline" : "attachment", ...encodeParam("filename", a.filename)]) });
    if (a.cid) node.setHeader("Content-ID", { prepared: true, value: `<${a.cid}>` });
    node.setContent(Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength));
  }
  return node;
}

/** The request's type (by default the one the filename's extension implies) with `name` set. */
function attachmentContentType(a: ComposeAttachment): string {
  const parts = splitParams(a.contentType ?? detectMimeType(a.filename));
  const kept = parts.slice(1).filter((x) => !/^name(\*|\s*=)/i.test(x));
  return foldParams([parts[0]!.toLowerCase(), ...kept, ...encodeParam("name", a.filename)]);
}

/** Splits `type/sub; a=b; c="d;e"` at the semicolons outside quoted strings. */
function splitParams(v: string): string[] {
  return (v.match(/(?:"(?:[^"\\]|\\.)*"|[^;"])+/g) ?? [v]).map((s) => s.trim()).filter(Boolean);
}

const PLAIN_VALUE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,200}$/; // printable ASCII without " and \
const ATTR_CHAR = /[A-Za-z0-9!#$&+.^_`|~-]/;

/**
 * A MIME parameter: a quoted string when the value is short printable ASCII without quotes or
 * backslashes, otherwise RFC 2231 (`name*=utf-8''…`, in continuations of at most ~60 characters
 * that never split a character). Never an RFC 2047 word inside quotes: that is not a valid parameter.
 */
export function encodeParam(name: string, value: string): string[] {
  if (PLAIN_VALUE.test(value)) return [`${name}="${value}"`];
  // Each character's %-encoding stays in one section: readers (Python's email package among
  // them) decode the sections one by one, so a UTF-8 sequence cut in two would not decode.
  const chunks: string[] = [];
  let cur = "utf-8''";
  for (const ch of value) {
    let enc = "";
    for (const byte of Buffer.from(ch, "utf8")) {
      const c = String.fromCharCode(byte);
      enc += byte < 128 && ATTR_CHAR.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
    if (cur.length + enc.length > 60) {
      chunks.push(cur);
      cur = "";
    }
    cur += enc;
  }
  chunks.push(cur);
  if (chunks.length === 1) return [`${name}*=${chunks[0]}`];
  return chunks.map((c, i) => `${name}*${i}*=${c}`);
}

/** `value; p1; p2` with each parameter on its own folded line once the line gets long. */
function foldParams(items: string[]): string {
  let out = items[0]!;
  let line = out.length + 20; // room for the header name
  for (const p of items.slice(1)) {
    if (line + p.length + 2 > 78) {
      out += `;\r\n ${p}`;
      line = p.length + 1;
    } else {
      out += `; ${p}`;
      line += p.length + 2;
    }
  }
  return out;
}

/**
 * Folds an ASCII header line at its own whitespace only (a CRLF goes in before a space, so
 * unfolding gives back exactly the value); a value without whitespace stays on one line.
 */
export function foldAtWhitespace(name: string, value: string, width = 78): string {
  let out = "";
  let line = name.length + 2;
  for (const word of value.split(/(?=[ \t])/)) {
    if (out && line + word.length > width) {
      out += `\r\n${word}`;
      line = word.length;
    } else {
      out += word;
      line += word.length;
    }
  }
  return out;
}

function addr(a: ComposeAddress): { name: string; address: string } {
  return { name: a.name ?? "", address: a.address };
}

/**
 * The shared part of the message's multipart boundaries: derived from its Message-ID, so every
 * attempt (a retry on another provider included) writes the very same bytes. nodemailer would
 * draw it at random on each build. The Message-ID holds the gateway's random message id, chosen
 * after the body was submitted, so the boundary is no easier to guess (and plant in a body) than
 * a random one.
 */
export function baseBoundary(messageId: string): string {
  return createHash("sha256").update(`boundary:${messageId}`).digest("hex").slice(0, 16);
}

/**
 * Builds the RFC 5322 message for an API send. Message-ID and Date come from the spec (fixed at
 * acceptance) and the boundaries from the Message-ID, so every attempt sends the same bytes. No
 * Bcc header is written: Bcc recipients exist only in the envelope.
 */
export async function composeRaw(spec: ComposeSpec): Promise<Buffer> {
  const root = materialise(messageTree(spec), null, { ...NODE_OPTIONS, baseBoundary: baseBoundary(spec.messageId) });
  // nodemailer silently leaves out a header whose value is empty or only spaces and tabs; such a
  // value (a subject of "   ", an empty X- header) is valid and goes out as given: it is written as
  // a placeholder here and put in place after the build.
  const blanks = new Blanks();
  root.setHeader("From", addr(spec.from));
  if (spec.to.length) root.setHeader("To", spec.to.map(addr));
  if (spec.cc.length) root.setHeader("Cc", spec.cc.map(addr));
  if (spec.replyTo) root.setHeader("Reply-To", addr(spec.replyTo));
  root.setHeader("Subject", blanks.hold("Subject", spec.subject) ?? spec.subject);
  root.setHeader("Message-ID", `<${spec.messageId}>`);
  root.setHeader("Date", new Date(spec.date));
  for (const [key, value] of spec.headers) {
    // ASCII values go out as given (folded only at their own spaces: a URL is never cut);
    // nodemailer encodes the others as RFC 2047 words, and formats References itself.
    const held = blanks.hold(key, value);
    if (held) root.addHeader(key, held);
    else if (/^[\x20-\x7e\t]*$/.test(value) && key !== "References") root.addHeader(key, { prepared: true, value: foldAtWhitespace(key, value) });
    else root.addHeader(key, value);
  }
  return blanks.restore(await root.build());
}

/** Longest header line RFC 5322 (2.1.1) allows, without its CRLF. */
const MAX_HEADER_LINE = 998;

/**
 * A header field whose value is empty or only spaces and tabs, as it goes out: `Name: value` as
 * given, or, when that line would be longer than 998 octets, RFC 2047 encoded words that decode
 * to exactly the value (folding a blank value would leave lines of nothing but whitespace, which
 * RFC 5322 only allows as obsolete syntax).
 */
export function blankField(name: string, value: string): string {
  if (value === "") return `${name}:`;
  if (name.length + 2 + value.length <= MAX_HEADER_LINE) return `${name}: ${value}`;
  const words: string[] = [];
  let cur = "";
  for (const ch of value) {
    const enc = ch === " " ? "_" : "=09";
    if (cur.length + enc.length > 57) {
      words.push(cur);
      cur = "";
    }
    cur += enc;
  }
  words.push(cur);
  return `${name}: ${words.map((w) => `=?UTF-8?Q?${w}?=`).join("\r\n ")}`;
}

/** Blank header values held out of nodemailer's hands while it builds (see composeRaw). */
class Blanks {
  private readonly held = new Map<string, string>();
  private readonly tag = `sendmux-blank-${randomUUID()}`;

  /** A placeholder to give nodemailer for a blank value, or null for any other value. */
  hold(name: string, value: string): Prepared | null {
    if (!/^[ \t]*$/.test(value)) return null;
    const placeholder = `${this.tag}-${this.held.size}`;
    this.held.set(`${name}: ${placeholder}`, blankField(name, value));
    return { prepared: true, value: placeholder };
  }

  /** The built message with every placeholder line replaced by its field. */
  restore(raw: Buffer): Buffer {
    if (this.held.size === 0) return raw;
    const end = raw.indexOf("\r\n\r\n");
    let head = raw.subarray(0, end).toString("latin1");
    for (const [line, field] of this.held) {
      const at = head.indexOf(line);
      if (at < 0 || (at > 0 && head.slice(at - 2, at) !== "\r\n")) throw new Error(`the message builder did not write the ${line.slice(0, line.indexOf(":"))} header`);
      head = head.slice(0, at) + field + head.slice(at + line.length);
    }
    return Buffer.concat([Buffer.from(head, "latin1"), raw.subarray(end)]);
  }
}
