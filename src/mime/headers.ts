/**
 * Byte-preserving access to the header block of a raw RFC 5322 message, for the relay: find the
 * fields, read a value, drop fields (with their folded continuation lines), add fields at the
 * top. The body and every field that is not touched keep their exact bytes.
 *
 * The functions here expect CRLF line ends; toCrlf() makes any message so first.
 */

/**
 * Blind-copy fields, lower-cased: never relayed, whichever provider the message goes out through.
 * Resent-Bcc (RFC 5322 3.6.6) is Bcc for a resent message and would show the blind recipients
 * in the same way.
 */
export const BLIND_FIELDS = ["bcc", "resent-bcc"];

const CR = 0x0d;
const LF = 0x0a;

/**
 * Rewrites every bare LF and bare CR into CRLF; returns the same buffer when every line end is
 * already CRLF (the common case costs one native scan per line end).
 */
export function toCrlf(raw: Buffer): Buffer {
  if (isCrlfOnly(raw)) return raw;
  const out = Buffer.allocUnsafe(raw.length * 2);
  let o = 0;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === CR) {
      out[o++] = CR;
      out[o++] = LF;
      if (raw[i + 1] === LF) i++;
    } else if (b === LF) {
      out[o++] = CR;
      out[o++] = LF;
    } else out[o++] = b;
  }
  return out.subarray(0, o);
}

export function isCrlfOnly(raw: Buffer): boolean {
  for (let i = raw.indexOf(LF); i >= 0; i = raw.indexOf(LF, i + 1)) if (i === 0 || raw[i - 1] !== CR) return false;
  for (let i = raw.indexOf(CR); i >= 0; i = raw.indexOf(CR, i + 1)) if (raw[i + 1] !== LF) return false;
  return true;
}

export interface HeaderField {
  /** The field name as written, without surrounding blanks ("" for a line that is not a field). */
  name: string;
  /** The field's original bytes (latin1), folded lines and the final CRLF included. */
  raw: string;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** Offset of the body: after the empty line, or raw.length when the message has no body. */
  bodyStart: number;
}

export function parseHeaderBlock(raw: Buffer): HeaderBlock {
  // latin1 maps bytes 1:1 to chars, so offsets and 8-bit bytes survive the round trip.
  const text = raw.toString("latin1");
  let headerEnd: number;
  let bodyStart: number;
  if (text.startsWith("\r\n")) {
    headerEnd = 0;
    bodyStart = 2;
  } else {
    const sep = text.indexOf("\r\n\r\n");
    headerEnd = sep >= 0 ? sep + 2 : text.length;
    bodyStart = sep >= 0 ? sep + 4 : text.length;
  }
  const fields: HeaderField[] = [];
  const lines = text.slice(0, headerEnd).match(/[^\n]*\n|[^\n]+$/g) ?? [];
  for (const line of lines) {
    const last = fields[fields.length - 1];
    if ((line.startsWith(" ") || line.startsWith("\t")) && last) {
      last.raw += line;
      continue;
    }
    const colon = line.indexOf(":");
    fields.push({ name: colon > 0 ? line.slice(0, colon).trim() : "", raw: line });
  }
  return { fields, bodyStart };
}

function valueOf(f: HeaderField): string {
  return f.raw.slice(f.raw.indexOf(":") + 1).replace(/\r?\n(?=[ \t])/g, "").replace(/\r?\n$/, "").trim();
}

/** The unfolded value of the first field with that name (case-insensitive), or null. */
export function headerValue(block: HeaderBlock, name: string): string | null {
  const lc = name.toLowerCase();
  const f = block.fields.find((x) => x.name.toLowerCase() === lc);
  return f ? valueOf(f) : null;
}

/** Whether the message has a field of that name with a non-blank value. */
export function hasHeader(block: HeaderBlock, name: string): boolean {
  const lc = name.toLowerCase();
  return block.fields.some((x) => x.name.toLowerCase() === lc && valueOf(x) !== "");
}

/**
 * The message with every field named in `remove` dropped (folded lines included) and the `add`
 * fields placed first, in order. Returns the original buffer when nothing changes.
 */
export function rewriteHeaders(raw: Buffer, block: HeaderBlock, remove: string[], add: Array<[string, string]>): Buffer {
  const drop = new Set(remove.map((r) => r.toLowerCase()));
  const kept = block.fields.filter((f) => !drop.has(f.name.toLowerCase()));
  if (kept.length === block.fields.length && add.length === 0) return raw;
  let head = add.map(([n, v]) => `${n}: ${v}\r\n`).join("");
  for (const f of kept) head += f.raw.endsWith("\n") ? f.raw : `${f.raw}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), Buffer.from("\r\n"), raw.subarray(block.bodyStart)]);
}
