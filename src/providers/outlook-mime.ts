/**
 * What the outlook_api adapter does to a finished message before Microsoft Graph sees it.
 *
 * Recipients. Graph has no envelope: Exchange sends a MIME message to the addresses in its To, Cc
 * and Bcc header fields, and never shows Bcc to the other recipients (the MIME format takes "the
 * applicable Internet message headers (To, CC, BCC, Subject)", learn.microsoft.com
 * message-createforward and user-post-messages). So the envelope recipients that are not in To or
 * Cc — the Bcc recipients, which the gateway keeps only in the envelope — go into a Bcc field of
 * the copy given to Graph. The reverse cannot be expressed: a To or Cc address left out of the
 * envelope would still receive the message, so such a message is refused (the envelope decides
 * who receives, SPEC "SMTP relay").
 *
 * Size. One Graph request holds at most 4 MB and the MIME travels base64 encoded (4/3 larger), so
 * a bigger message is split here: its largest attachments are taken out (decoded to their bytes,
 * with name, type and Content-ID) until the rest fits in one request; the adapter then creates a
 * draft from the rest and attaches the parts through the attachments API and upload sessions
 * (learn.microsoft.com/graph/outlook-large-attachments).
 */
import addressparser from "nodemailer/lib/addressparser/index.js";
import { BLIND_FIELDS, parseHeaderBlock, rewriteHeaders, toCrlf } from "../mime/headers.ts";
import { decodeEncodedWords, headerText } from "../mime/header-text.ts";
import { decodeQp, splitHeaders } from "../mime/sevenbit.ts";
import type { Envelope } from "../types.ts";

export type Prepared = { ok: true; mime: Buffer; bcc: string[] } | { ok: false; reason: string };

type Parsed = ReturnType<typeof addressparser>;

function flatten(list: Parsed, out: string[]): void {
  for (const a of list) {
    if ("group" in a && a.group) flatten(a.group as Parsed, out);
    else if ("address" in a && a.address) out.push(a.address);
  }
}

/** The addresses in every field of these names (groups flattened), as written. */
export function headerAddresses(raw: Buffer, names: string[]): string[] {
  const block = parseHeaderBlock(toCrlf(raw));
  const want = new Set(names.map((n) => n.toLowerCase()));
  const out: string[] = [];
  for (const f of block.fields) {
    if (!want.has(f.name.toLowerCase())) continue;
    const value = f.raw.slice(f.raw.indexOf(":") + 1).replace(/\r?\n(?=[ \t])/g, "");
    flatten(addressparser(value), out);
  }
  return out;
}

/** The message as Graph must get it for this envelope, or why it cannot be sent through Graph. */
export function prepareForGraph(raw: Buffer, envelope: Envelope): Prepared {
  const crlf = toCrlf(raw);
  const visible = headerAddresses(crlf, ["to", "cc"]);
  const inEnvelope = new Set(envelope.to.map((a) => a.toLowerCase()));
  const left = [...new Set(visible.filter((a) => !inEnvelope.has(a.toLowerCase())))];
  if (left.length) {
    return {
      ok: false,
      reason: `Microsoft Graph delivers to every To and Cc address of a message and the envelope leaves out ${left.join(", ")}; an outlook_api provider cannot skip them. Send such a message through an smtp or amazon_ses provider, or with headers that name only its recipients`,
    };
  }
  const shown = new Set(visible.map((a) => a.toLowerCase()));
  const bcc: string[] = [];
  for (const a of envelope.to) if (!shown.has(a.toLowerCase()) && !bcc.some((b) => b.toLowerCase() === a.toLowerCase())) bcc.push(a);
  const block = parseHeaderBlock(crlf);
  const mime = rewriteHeaders(crlf, block, BLIND_FIELDS, bcc.length ? [["Bcc", bcc.join(",\r\n ")]] : []);
  return { ok: true, mime, bcc };
}

// ---------------------------------------------------------------- splitting off attachments

export interface GraphAttachment {
  name: string;
  contentType: string;
  bytes: Buffer;
  isInline: boolean;
  contentId?: string;
}

interface Entity {
  /** The header fields, exactly as written (latin1). */
  head: string;
  type: string;
  multipart?: { boundary: string; preamble: string; parts: Entity[]; epilogue: string };
  body: string;
  attachment?: GraphAttachment;
}

const MAX_DEPTH = 40;

function fieldValue(fields: Array<{ name: string; raw: string }>, name: string): string | null {
  const f = fields.find((x) => x.name.toLowerCase() === name);
  return f ? f.raw.slice(f.raw.indexOf(":") + 1).replace(/\r\n|\r|\n/g, "").trim() : null;
}

/** Parameters of a Content-Type or Content-Disposition value, RFC 2231 continuations and charsets decoded. */
export function parseParams(v: string): { value: string; params: Record<string, string> } {
  const parts: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (quoted && c === "\\" && i + 1 < v.length) cur += v[++i];
    else if (c === '"') quoted = !quoted;
    else if (c === ";" && !quoted) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  const value = parts.shift()!.trim().toLowerCase();
  const plain: Record<string, string> = {};
  const ext: Record<string, Array<{ n: number; v: string; enc: boolean }>> = {};
  for (const p of parts) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    const val = p.slice(eq + 1).trim();
    const m = /^([^*]+)\*(\d+)?(\*)?$/.exec(key);
    if (m) (ext[m[1]!] ??= []).push({ n: Number(m[2] ?? 0), v: val, enc: !!m[3] || m[2] === undefined });
    // A value is header bytes (latin1 here): a name may be raw UTF-8 (RFC 6532). The boundary
    // stays bytes, to be found in the body as written.
    else plain[key] = key === "boundary" ? val : headerText(val);
  }
  for (const [key, pieces] of Object.entries(ext)) {
    pieces.sort((a, b) => a.n - b.n);
    let charset = "utf-8";
    const bytes: number[] = [];
    pieces.forEach((p, i) => {
      let s = p.v;
      if (p.enc && i === 0) {
        const q = /^([^']*)'[^']*'(.*)$/.exec(s);
        if (q) {
          charset = q[1] || "utf-8";
          s = q[2]!;
        }
      }
      if (p.enc) s.replace(/%([0-9a-f]{2})|[^%]/gi, (all, hex: string | undefined) => (bytes.push(...(hex ? [parseInt(hex, 16)] : Buffer.from(all, "latin1"))), ""));
      else bytes.push(...Buffer.from(s, "latin1"));
    });
    plain[key] = decodeCharset(Buffer.from(bytes), charset);
  }
  for (const k of Object.keys(plain)) if (k !== "boundary") plain[k] = decodeEncodedWords(plain[k]!);
  return { value, params: plain };
}

function decodeCharset(b: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(b);
  } catch {
    return b.toString("latin1");
  }
}

function parseEntity(s: string, defaultType: string, depth: number): Entity {
  const split = splitHeaders(s);
  const head = s.slice(0, split.bodyStart);
  const body = s.slice(split.bodyStart);
  const ct = parseParams(fieldValue(split.fields, "content-type") ?? defaultType);
  const type = ct.value || defaultType;
  const cte = (fieldValue(split.fields, "content-transfer-encoding") ?? "7bit").toLowerCase();
  if (type.startsWith("multipart/") && ct.params.boundary && depth < MAX_DEPTH) {
    const mp = splitMultipart(body, ct.params.boundary);
    if (mp) {
      const partDefault = type === "multipart/digest" ? "message/rfc822" : "text/plain";
      return { head, type, body, multipart: { ...mp, parts: mp.parts.map((p) => parseEntity(p, partDefault, depth + 1)) } };
    }
  }
  const disp = parseParams(fieldValue(split.fields, "content-disposition") ?? "");
  const name = disp.params.filename ?? ct.params.name;
  const cid = fieldValue(split.fields, "content-id")?.replace(/^<|>$/g, "");
  const isBodyText = type.startsWith("text/") && !name && disp.value !== "attachment";
  if (isBodyText || type.startsWith("multipart/")) return { head, type, body };
  const bytes = cte === "base64" ? Buffer.from(body, "base64") : cte === "quoted-printable" ? decodeQp(body) : Buffer.from(body, "latin1");
  const attachment: GraphAttachment = { name: name || (type === "message/rfc822" ? "message.eml" : "attachment"), contentType: type, bytes, isInline: disp.value === "inline" || (!!cid && disp.value !== "attachment"), contentId: cid || undefined };
  return { head, type, body, attachment };
}

function splitMultipart(body: string, boundary: string): { boundary: string; preamble: string; parts: string[]; epilogue: string } | null {
  const delim = "--" + boundary;
  const starts: Array<{ at: number; end: number; close: boolean }> = [];
  let pos = body.startsWith(delim) ? 0 : body.indexOf("\r\n" + delim);
  while (pos >= 0) {
    const lineStart = pos === 0 && body.startsWith(delim) ? 0 : pos + 2;
    const eol = body.indexOf("\r\n", lineStart);
    const lineEnd = eol < 0 ? body.length : eol;
    const rest = body.slice(lineStart + delim.length, lineEnd).replace(/[ \t]+$/, "");
    if (rest === "" || rest === "--") {
      starts.push({ at: pos, end: eol < 0 ? body.length : eol + 2, close: rest === "--" });
      if (rest === "--") break;
    }
    pos = body.indexOf("\r\n" + delim, lineEnd);
  }
  if (!starts.length || starts[0]!.close) return null;
  const parts: string[] = [];
  for (let i = 0; i < starts.length && !starts[i]!.close; i++) {
    const from = starts[i]!.end;
    const to = i + 1 < starts.length ? starts[i + 1]!.at : body.length;
    parts.push(body.slice(from, Math.max(from, to)));
  }
  const last = starts[starts.length - 1]!;
  return { boundary, preamble: body.slice(0, starts[0]!.at), parts, epilogue: last.close ? body.slice(last.end) : "" };
}

/** Serialises the tree without the removed attachments; a multipart left without parts is dropped (null). */
function serialize(e: Entity, removed: Set<Entity>): string | null {
  if (removed.has(e)) return null;
  if (!e.multipart) return e.head + e.body;
  const parts = e.multipart.parts.map((p) => serialize(p, removed)).filter((p): p is string => p !== null);
  if (!parts.length) return null;
  const d = "--" + e.multipart.boundary;
  return e.head + e.multipart.preamble + parts.map((p) => `${d}\r\n${p}\r\n`).join("") + `${d}--\r\n`;
}

function leaves(e: Entity, out: Entity[]): Entity[] {
  if (e.multipart) for (const p of e.multipart.parts) leaves(p, out);
  else if (e.attachment) out.push(e);
  return out;
}

export const base64Length = (n: number) => Math.ceil(n / 3) * 4;

export type Split = { ok: true; mime: Buffer; attachments: GraphAttachment[] } | { ok: false; reason: string };

/**
 * Takes attachments out of a message, largest first, until its base64 form is at most
 * `maxBase64` bytes. The parts that stay keep their exact bytes.
 */
export function splitOffAttachments(mime: Buffer, maxBase64: number): Split {
  const root = parseEntity(mime.toString("latin1"), "text/plain", 0);
  const candidates = leaves(root, []).sort((a, b) => b.body.length - a.body.length);
  const removed = new Set<Entity>();
  let text = serialize(root, removed)!;
  for (const c of candidates) {
    if (base64Length(text.length) <= maxBase64) break;
    removed.add(c);
    // A message of attachments only keeps an empty text body.
    text = serialize(root, removed) ?? `${root.head.replace(/^content-(type|transfer-encoding):.*\r\n([ \t].*\r\n)*/gim, "").replace(/\r\n$/, "")}Content-Type: text/plain; charset=utf-8\r\n\r\n`;
  }
  if (base64Length(text.length) > maxBase64) {
    const mb = (base64Length(text.length) / 1_048_576).toFixed(1);
    return { ok: false, reason: `the message without its attachments is still ${mb} MB once base64 encoded, over the 4 MB that Microsoft Graph takes in one request; shorten its text or HTML body` };
  }
  return { ok: true, mime: Buffer.from(text, "latin1"), attachments: candidates.filter((c) => removed.has(c)).map((c) => c.attachment!) };
}
