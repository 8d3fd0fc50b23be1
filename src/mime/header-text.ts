/**
 * Text for people from raw header bytes: the Subject, From and To summaries the API, the delivery
 * logs and the capture outbox show for a relayed message, and names taken from a message's MIME
 * parameters. Header fields may hold UTF-8 as raw bytes (RFC 6532) and RFC 2047 encoded words;
 * both are decoded here. The header code elsewhere keeps header bytes one per character (latin1)
 * so that offsets stay byte offsets; such a string is not text yet and must pass through
 * headerText() before anyone sees it.
 */

const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** What 8-bit header bytes that are not UTF-8 mean in practice (legacy mailers); maps every byte. */
const LEGACY = new TextDecoder("windows-1252");

/** Header bytes as text: UTF-8 (RFC 6532), or Windows-1252 when the bytes are not valid UTF-8. */
export function headerBytesText(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    return LEGACY.decode(bytes);
  }
}

/** A header value kept as latin1 (one character per byte, as parseHeaderBlock reads it) as text. */
export function headerText(latin1: string): string {
  if (!/[\x80-\xff]/.test(latin1)) return latin1;
  return headerBytesText(Buffer.from(latin1, "latin1"));
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

type Piece = { text: string } | { charset: string; bytes: Buffer };

function wordBytes(enc: string, data: string): Buffer {
  if (enc === "B" || enc === "b") return Buffer.from(data, "base64");
  const bytes: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === "_") bytes.push(0x20);
    else if (c === "=" && /^[0-9a-fA-F]{2}$/.test(data.slice(i + 1, i + 3))) {
      bytes.push(parseInt(data.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(c, "utf8"));
  }
  return Buffer.from(bytes);
}

function decoderFor(charset: string): TextDecoder | null {
  try {
    return new TextDecoder(charset);
  } catch {
    return null;
  }
}

/**
 * A header value with its RFC 2047 encoded words decoded: whitespace between two encoded words
 * goes (RFC 2047 6.2), and adjacent words in one charset are decoded as one run of bytes, so a
 * character that a mailer split over two words still comes out whole. A word in a charset this
 * runtime cannot decode is left as written, with the whitespace around it.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes("=?")) return value;
  const pieces: Piece[] = [];
  let last = 0;
  for (const m of value.matchAll(ENCODED_WORD)) {
    // RFC 2231 lets a language follow the charset (UTF-8*en); it does not change the bytes.
    const charset = m[1]!.replace(/\*.*$/, "").toLowerCase();
    if (!decoderFor(charset)) continue; // stays text, as written
    if (m.index > last) pieces.push({ text: value.slice(last, m.index) });
    pieces.push({ charset, bytes: wordBytes(m[2]!, m[3]!) });
    last = m.index + m[0].length;
  }
  if (last < value.length) pieces.push({ text: value.slice(last) });
  let out = "";
  let run: { charset: string; bytes: Buffer[] } | null = null;
  const flush = () => {
    if (!run) return;
    out += decoderFor(run.charset)!.decode(Buffer.concat(run.bytes));
    run = null;
  };
  pieces.forEach((p, i) => {
    if ("text" in p) {
      const separator = /^[ \t\r\n]*$/.test(p.text) && i > 0 && "bytes" in pieces[i - 1]! && i + 1 < pieces.length && "bytes" in pieces[i + 1]!;
      if (separator) return;
      flush();
      out += p.text;
      return;
    }
    if (run?.charset !== p.charset) {
      flush();
      run = { charset: p.charset, bytes: [] };
    }
    run!.bytes.push(p.bytes);
  });
  flush();
  return out;
}

/** Header bytes (latin1, see headerText) of an unstructured field such as Subject, as text. */
export function unstructuredText(latin1: string): string {
  return decodeEncodedWords(headerText(latin1));
}
