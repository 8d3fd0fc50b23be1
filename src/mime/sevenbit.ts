/**
 * 7-bit safety for SMTP upstreams. An upstream that did not offer 8BITMIME must never see a byte
 * above 127, and no SMTP server has to take a line over 998 octets (RFC 5321 §4.5.3.1.6). A message
 * that breaks either rule is rewritten here so that neither happens and every part still decodes to
 * the bytes that were submitted:
 * - the MIME tree is walked (multipart, nested, message/rfc822); only the leaf parts that need it
 *   are re-encoded, quoted-printable for text/*, base64 otherwise, with their
 *   Content-Transfer-Encoding set; every other byte stays as it was;
 * - non-ASCII unstructured header fields (Subject, X-…) become RFC 2047 encoded-words, non-ASCII
 *   Content-Type / Content-Disposition parameters become RFC 2231 parameters, and over-long header
 *   lines are folded;
 * - where no safe encoding exists (addresses, message ids, bytes that are not UTF-8) the message
 *   cannot go out 7-bit: SevenBitError says why, and the send fails as permanent.
 * Line ends: the SMTP client turns bare CR and LF into CRLF, so both count as line ends here.
 */
export class SevenBitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SevenBitError";
  }
}

export const MAX_LINE_OCTETS = 998;
const NEEDS = /[\x80-\xff]|[^\r\n]{999}/;
const MAX_DEPTH = 40;

/** True when the bytes hold a byte above 127 or a line longer than 998 octets. */
export function needsSevenBit(raw: Buffer): boolean {
  return NEEDS.test(raw.toString("latin1"));
}

/** The message made 7-bit safe (the same Buffer when it already is). Throws SevenBitError. */
export function toSevenBit(raw: Buffer): Buffer {
  if (!needsSevenBit(raw)) return raw;
  return Buffer.from(convertEntity(raw.toString("latin1"), "text/plain", "the message", 0), "latin1");
}

/** Fields where RFC 2047 is not allowed or would change meaning: addresses, ids, dates, MIME control. */
const ADDRESS_FIELDS = new Set(["from", "sender", "reply-to", "to", "cc", "bcc", "return-path", "delivered-to", "disposition-notification-to", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc", "resent-reply-to", "mail-followup-to", "mail-reply-to", "errors-to"]);
const STRUCTURED_FIELDS = new Set(["message-id", "in-reply-to", "references", "resent-message-id", "date", "resent-date", "received", "mime-version", "content-transfer-encoding", "content-id", "content-location", "content-md5", "dkim-signature", "arc-seal", "arc-message-signature", "arc-authentication-results", "authentication-results", "list-unsubscribe", "list-unsubscribe-post", "list-id", "list-post", "list-help", "list-subscribe", "list-owner", "list-archive", "keywords"]);
const PARAM_FIELDS = new Set(["content-type", "content-disposition"]);

// ---------------------------------------------------------------- entities

/**
 * One entity (a message or a body part): its header fields, then its body. `s` is latin1 text, so
 * one character is one byte and offsets are byte offsets.
 */
function convertEntity(s: string, defaultType: string, where: string, depth: number): string {
  if (!NEEDS.test(s)) return s;
  if (depth > MAX_DEPTH) throw new SevenBitError(`${where} is nested more than ${MAX_DEPTH} MIME levels deep`);
  const block = splitHeaders(s);
  const sep = s.slice(block.headerEnd, block.bodyStart);
  const body = s.slice(block.bodyStart);

  const ctField = block.fields.find((f) => f.name.toLowerCase() === "content-type");
  const ct = ctField ? parseParams(unfold(valueOf(ctField.raw))) : { value: defaultType, params: [] };
  const mediaType = ct.value.toLowerCase() || defaultType;
  const cteField = block.fields.find((f) => f.name.toLowerCase() === "content-transfer-encoding");
  const cte = cteField ? unfold(valueOf(cteField.raw)).trim().toLowerCase() : "7bit";
  const identity = cte === "7bit" || cte === "8bit" || cte === "binary";

  let newBody = body;
  let newCte: string | null = null;
  if (NEEDS.test(body)) {
    if (mediaType.startsWith("multipart/") && identity) {
      const boundary = paramOf(ct.params, "boundary");
      if (!boundary) throw new SevenBitError(`${where} is ${mediaType} without a boundary parameter, so its parts cannot be found and re-encoded`);
      newBody = convertMultipart(body, boundary, mediaType === "multipart/digest" ? "message/rfc822" : "text/plain", where, depth);
    } else if (mediaType === "message/rfc822" && identity) {
      newBody = convertEntity(body, "text/plain", `the message inside ${where}`, depth + 1);
    } else {
      const bytes = cte === "base64" ? Buffer.from(body, "base64") : cte === "quoted-printable" ? decodeQp(body) : Buffer.from(body, "latin1");
      if (mediaType.startsWith("text/")) {
        newBody = encodeQp(bytes);
        newCte = "quoted-printable";
      } else {
        newBody = encodeBase64(bytes);
        newCte = "base64";
      }
    }
  }

  // A multipart or message whose parts are now all 7-bit is itself 7bit.
  if (!newCte && newBody !== body && cteField && cte !== "7bit") newCte = "7bit";
  const fields: string[] = [];
  for (const f of block.fields) {
    if (newCte && f.name.toLowerCase() === "content-transfer-encoding") {
      if (f === cteField) fields.push(`Content-Transfer-Encoding: ${newCte}\r\n`);
      continue;
    }
    fields.push(convertField(f.name, f.raw, where));
  }
  if (newCte && !cteField && newCte !== "7bit") fields.push(`Content-Transfer-Encoding: ${newCte}\r\n`);
  // A header block with no blank line after it still needs one before a body we add.
  return fields.join("") + (sep || (newBody ? "\r\n" : "")) + newBody;
}

/**
 * Splits a multipart body at its delimiter lines ("--boundary" or "--boundary--", optionally
 * followed by whitespace, RFC 2046 §5.1.1) and converts each part. Delimiter lines, the line
 * breaks before them and the parts that need nothing are kept byte for byte; a preamble or
 * epilogue that is not 7-bit is dropped (readers ignore both).
 */
function convertMultipart(body: string, boundary: string, partDefault: string, where: string, depth: number): string {
  const delim = "--" + boundary;
  const out: string[] = [];
  let partStart = -1; // start of the current part's content; -1 while in the preamble
  let closed = false;
  let pos = 0;
  let lastEmitted = 0;
  while (pos <= body.length && !closed) {
    const m = /\r\n|\n|\r/g;
    m.lastIndex = pos;
    const brk = m.exec(body);
    const lineEnd = brk ? brk.index : body.length;
    const next = brk ? brk.index + brk[0].length : body.length + 1;
    const line = body.slice(pos, lineEnd);
    if (line.startsWith(delim)) {
      const rest = line.slice(delim.length).replace(/[ \t]+$/, "");
      if (rest === "" || rest === "--") {
        // The line break before a delimiter belongs to the delimiter.
        const before = pos >= 2 && body.slice(pos - 2, pos) === "\r\n" ? 2 : pos >= 1 && /[\r\n]/.test(body[pos - 1]!) ? 1 : 0;
        const contentEnd = Math.max(pos - before, partStart < 0 ? 0 : partStart);
        const content = body.slice(partStart < 0 ? 0 : partStart, contentEnd);
        if (partStart < 0) out.push(NEEDS.test(content) ? "" : content);
        else out.push(convertEntity(content, partDefault, `part ${out.length / 2} of ${where}`, depth + 1));
        out.push(body.slice(contentEnd, Math.min(next, body.length)));
        lastEmitted = Math.min(next, body.length);
        partStart = lastEmitted;
        closed = rest === "--";
      }
    }
    pos = next;
  }
  if (out.length === 0) throw new SevenBitError(`${where} declares boundary "${boundary}" but no delimiter line with it was found`);
  const tail = body.slice(lastEmitted);
  // After the closing delimiter: the epilogue. Without one, the last part runs to the end.
  out.push(closed ? (NEEDS.test(tail) ? "" : tail) : convertEntity(tail, partDefault, `part ${out.length / 2} of ${where}`, depth + 1));
  return out.join("");
}

// ---------------------------------------------------------------- header fields

interface HeaderSplit {
  fields: Array<{ name: string; raw: string }>;
  /** Where the field lines end (the empty line, if any, starts here). */
  headerEnd: number;
  /** Where the body starts (after the empty line). */
  bodyStart: number;
}

/**
 * The header fields of an entity, each with its exact text (continuation lines and line breaks
 * included). An entity that starts with an empty line has no fields; one without an empty line
 * is all fields. CRLF, LF and a lone CR all end a line.
 */
export function splitHeaders(s: string): HeaderSplit {
  const fields: HeaderSplit["fields"] = [];
  const re = /\r\n|\n|\r/g;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    const lineEnd = m ? m.index : s.length;
    const next = m ? m.index + m[0].length : s.length;
    if (lineEnd === pos) return { fields, headerEnd: pos, bodyStart: next };
    const raw = s.slice(pos, next);
    if ((raw[0] === " " || raw[0] === "\t") && fields.length) fields[fields.length - 1]!.raw += raw;
    else {
      const colon = raw.indexOf(":");
      fields.push({ name: colon > 0 ? raw.slice(0, colon).trim() : "", raw });
    }
    pos = next;
  }
  return { fields, headerEnd: s.length, bodyStart: s.length };
}

function valueOf(raw: string): string {
  const colon = raw.indexOf(":");
  return colon < 0 ? raw : raw.slice(colon + 1);
}

function unfold(v: string): string {
  return v.replace(/\r\n|\r|\n/g, "").replace(/^[ \t]+/, "").replace(/[ \t]+$/, "");
}

function asciiShort(raw: string): boolean {
  return !NEEDS.test(raw);
}

/** One header field, made 7-bit: kept as is when it already is. */
function convertField(name: string, raw: string, where: string): string {
  if (asciiShort(raw)) return raw;
  const shown = /^[\x21-\x39\x3b-\x7e]+$/.test(name) ? name : "(unnamed)";
  const lname = name.toLowerCase();
  if (!name || !/^[\x21-\x39\x3b-\x7e]+$/.test(name)) throw new SevenBitError(`${where} has a header line that is not a valid field; it cannot be sent 7-bit`);
  const value = unfold(valueOf(raw));
  const text = decodeUtf8(value);
  if (text === null) throw new SevenBitError(`the ${shown} header of ${where} has bytes that are not UTF-8, so their characters are unknown and cannot be encoded for an upstream without 8-bit support`);
  const nonAscii = /[^\x00-\x7f]/.test(text);
  if (nonAscii && ADDRESS_FIELDS.has(lname)) {
    throw new SevenBitError(`the ${shown} header of ${where} has non-ASCII characters where RFC 2047 cannot encode them safely (an address field); encode display names as =?UTF-8?B?…?= words and use ASCII addresses, or send through an upstream that offers SMTPUTF8`);
  }
  if (PARAM_FIELDS.has(lname)) return `${name}: ${encodeParams(text, shown, where)}\r\n`;
  if (nonAscii && (STRUCTURED_FIELDS.has(lname) || lname.startsWith("resent-"))) {
    throw new SevenBitError(`the ${shown} header of ${where} has non-ASCII characters, and it is a structured field that RFC 2047 does not apply to; it cannot be sent to an upstream without 8-bit support`);
  }
  if (!nonAscii) {
    // ASCII with an over-long line: fold at whitespace.
    const folded = foldAtSpace(`${name}: ${value}`);
    if (folded !== null) return folded + "\r\n";
    if (STRUCTURED_FIELDS.has(lname) || lname.startsWith("resent-")) {
      throw new SevenBitError(`the ${shown} header of ${where} has a line over ${MAX_LINE_OCTETS} octets with no whitespace to fold it at`);
    }
  }
  return `${name}: ${encodedWords(text).join("\r\n ")}\r\n`;
}

/** Folds an unfolded ASCII field at whitespace so no line passes 998 octets; null if impossible. */
function foldAtSpace(line: string): string | null {
  const words = line.split(/(?=[ \t])/);
  const lines: string[] = [];
  let cur = "";
  for (const w of words) {
    if (cur && cur.length + w.length > 76) {
      lines.push(cur);
      cur = w;
    } else cur += w;
  }
  lines.push(cur);
  return lines.some((l) => l.length > MAX_LINE_OCTETS) ? null : lines.join("\r\n");
}

/**
 * RFC 2047 "B" encoded-words, UTF-8, each at most 75 characters and holding whole characters
 * (so every word decodes to valid UTF-8 on its own). Whitespace between encoded-words is not
 * part of the decoded text, so splitting loses nothing.
 */
export function encodedWords(text: string): string[] {
  const words: string[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (size) words.push(`=?UTF-8?B?${Buffer.concat(chunk).toString("base64")}?=`);
    chunk = [];
    size = 0;
  };
  for (const ch of text) {
    const b = Buffer.from(ch, "utf8");
    if (size + b.length > 45) flush(); // 45 bytes → 60 base64 characters + 12 = 72
    chunk.push(b);
    size += b.length;
  }
  flush();
  return words.length ? words : ["=?UTF-8?B??="];
}

interface Params {
  value: string;
  params: Array<{ key: string; value: string; raw: string }>;
}

/** `type/sub; a=b; c="d e"` → value and parameters (quotes removed, raw text kept). */
function parseParams(v: string): Params {
  const parts: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (quoted && c === "\\" && i + 1 < v.length) {
      cur += c + v[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ";" && !quoted) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  const params: Params["params"] = [];
  for (const p of parts.slice(1)) {
    const eq = p.indexOf("=");
    if (eq < 0) {
      if (p.trim()) params.push({ key: p.trim(), value: "", raw: p.trim() });
      continue;
    }
    let val = p.slice(eq + 1).trim();
    if (val.startsWith('"') && val.endsWith('"') && val.length >= 2) val = val.slice(1, -1).replace(/\\(.)/g, "$1");
    params.push({ key: p.slice(0, eq).trim().toLowerCase(), value: val, raw: p.trim() });
  }
  return { value: parts[0]!.trim(), params };
}

function paramOf(params: Params["params"], key: string): string | null {
  return params.find((p) => p.key === key)?.value ?? null;
}

/**
 * Content-Type / Content-Disposition with non-ASCII or over-long parameters: those become
 * RFC 2231 `key*0*=utf-8''…` continuations; the others are kept as written.
 */
function encodeParams(text: string, shown: string, where: string): string {
  const p = parseParams(text);
  if (/[^\x00-\x7f]/.test(p.value)) throw new SevenBitError(`the ${shown} header of ${where} has a non-ASCII media type`);
  const out: string[] = [p.value];
  for (const prm of p.params) {
    if (!/[^\x00-\x7f]/.test(prm.raw) && prm.raw.length < 900) {
      out.push(prm.raw);
      continue;
    }
    if (prm.key.endsWith("*") || /\*\d+\*?$/.test(prm.key)) {
      throw new SevenBitError(`the ${shown} header of ${where} has an RFC 2231 parameter (${prm.key}) with raw non-ASCII bytes`);
    }
    if (!/^[\x21-\x7e]+$/.test(prm.key)) throw new SevenBitError(`the ${shown} header of ${where} has a parameter name that is not ASCII`);
    const pct = Array.from(Buffer.from(prm.value, "utf8"), (b) => (/[A-Za-z0-9!#$&+.^_`|~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : "%" + b.toString(16).toUpperCase().padStart(2, "0"))).join("");
    const chunks: string[] = [];
    for (let i = 0; i < pct.length; ) {
      let end = Math.min(i + 60, pct.length);
      if (pct[end - 1] === "%") end -= 1;
      else if (pct[end - 2] === "%") end -= 2;
      chunks.push(pct.slice(i, end));
      i = end;
    }
    chunks.forEach((c, i) => out.push(`${prm.key}*${i}*=${i === 0 ? "utf-8''" : ""}${c}`));
  }
  return out.join(";\r\n\t");
}

function decodeUtf8(latin1: string): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(latin1, "latin1"));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- body encodings

function hex(b: number): string {
  return "=" + b.toString(16).toUpperCase().padStart(2, "0");
}

/**
 * Quoted-printable (RFC 2045 §6.7) of a text body: its line breaks (CRLF, LF or a lone CR) become
 * CRLF hard breaks, every other byte outside printable ASCII is =XX, lines are soft-broken at 76.
 * A continuation line never starts with "-" or ".", so no soft-broken line can look like a
 * multipart delimiter.
 */
export function encodeQp(bytes: Buffer): string {
  const lines = bytes.toString("latin1").split(/\r\n|\r|\n/);
  return lines.map(encodeQpLine).join("\r\n");
}

function encodeQpLine(line: string): string {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < line.length; i++) {
    const b = line.charCodeAt(i);
    const last = i === line.length - 1;
    let tok: string;
    if (b === 0x3d || b > 126 || (b < 32 && b !== 9) || ((b === 32 || b === 9) && last)) tok = hex(b);
    else tok = line[i]!;
    if (cur === "" && out.length && (tok === "-" || tok === ".")) tok = hex(b);
    if (cur.length + tok.length > (last ? 76 : 75)) {
      out.push(cur + "=");
      cur = "";
      if (tok === "-" || tok === ".") tok = hex(b);
    }
    cur += tok;
  }
  out.push(cur);
  return out.join("\r\n");
}

export function decodeQp(s: string): Buffer {
  const t = s.replace(/=(\r\n|\n|\r)/g, "");
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(t.slice(i + 1, i + 3))) {
      out.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c & 0xff);
  }
  return Buffer.from(out);
}

export function encodeBase64(bytes: Buffer): string {
  const b = bytes.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 76) lines.push(b.slice(i, i + 76));
  return lines.join("\r\n") + "\r\n";
}
