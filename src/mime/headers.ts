/**
 * Minimal, byte-preserving access to the header block of a raw RFC 5322 message: find it, read
 * field values, drop fields, add fields at the top. The body and every untouched header line are
 * kept byte for byte.
 */

export interface HeaderBlock {
  /** Each field with its original bytes (folded lines included, line end included). */
  fields: Array<{ name: string; raw: string }>;
  /** Offset of the body in the message (after the empty line), or raw.length when there is none. */
  bodyStart: number;
  /** The separator line ending found ("\r\n" or "\n"). */
  eol: string;
}

export function parseHeaderBlock(raw: Buffer): HeaderBlock {
  // Headers are ASCII (or UTF-8 in the wild); latin1 keeps a 1:1 byte mapping for offsets.
  const text = raw.toString("latin1");
  let end = -1;
  let sepLen = 0;
  const crlf = text.indexOf("\r\n\r\n");
  const lf = text.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) {
    end = crlf + 2;
    sepLen = 2;
  } else if (lf >= 0) {
    end = lf + 1;
    sepLen = 1;
  }
  const headerText = end >= 0 ? text.slice(0, end) : text.startsWith("\r\n") || text.startsWith("\n") ? "" : text;
  const bodyStart = end >= 0 ? end + sepLen : text.startsWith("\r\n") ? 2 : text.startsWith("\n") ? 1 : raw.length;
  const fields: HeaderBlock["fields"] = [];
  const lines = headerText.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  for (const line of lines) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && fields.length) {
      fields[fields.length - 1]!.raw += line;
    } else {
      const colon = line.indexOf(":");
      fields.push({ name: colon > 0 ? line.slice(0, colon).trim() : "", raw: line });
    }
  }
  return { fields, bodyStart, eol: sepLen === 1 ? "\n" : "\r\n" };
}

export function headerValue(block: HeaderBlock, name: string): string | null {
  const lc = name.toLowerCase();
  const f = block.fields.find((x) => x.name.toLowerCase() === lc);
  if (!f) return null;
  return f.raw.slice(f.raw.indexOf(":") + 1).replace(/\r?\n[ \t]/g, " ").trim();
}

/**
 * Rebuilds the message with the named fields removed and `add` fields placed first.
 * Returns the original buffer when nothing changes.
 */
export function rewriteHeaders(raw: Buffer, block: HeaderBlock, remove: string[], add: Array<[string, string]>): Buffer {
  const drop = new Set(remove.map((r) => r.toLowerCase()));
  const kept = block.fields.filter((f) => !drop.has(f.name.toLowerCase()));
  if (kept.length === block.fields.length && add.length === 0) return raw;
  const head = add.map(([n, v]) => `${n}: ${v}\r\n`).join("") + kept.map((f) => f.raw).join("");
  const sep = block.bodyStart < raw.length || block.fields.length ? "\r\n" : "";
  return Buffer.concat([Buffer.from(head, "latin1"), Buffer.from(sep), raw.subarray(block.bodyStart)]);
}
