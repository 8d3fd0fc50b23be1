import addressparser from "nodemailer/lib/addressparser";
import { hasHeader, headerValue, parseHeaderBlock, rewriteHeaders, toCrlf } from "../mime/headers.ts";

export interface RelayedMessage {
  /** The bytes every provider is given. */
  raw: Buffer;
  /** The Message-ID without <>, as the message carries it. */
  messageIdHeader: string;
  /** Header summaries for listings (raw header values, unfolded). */
  from: string;
  to: string[];
  cc: string[];
  subject: string;
}

/**
 * What the relay does to a submitted message (SPEC "SMTP relay"), and nothing more:
 * - bare LF and bare CR line ends become CRLF (DATA itself only ever ends at CRLF.CRLF, so this
 *   cannot split a message; it makes every provider get CRLF only);
 * - every `Bcc:` field is removed with its folded lines (the envelope decides who receives);
 * - `Message-ID` and `Date` are added at the top where missing or blank.
 * A CRLF message with a Message-ID, a Date and no Bcc comes out byte for byte as it came.
 */
export function prepareRelayed(submitted: Buffer, opts: { id: string; hostname: string; nowMs: number }): RelayedMessage {
  const crlf = toCrlf(submitted);
  const block = parseHeaderBlock(crlf);
  // Idempotency-Key (EXT) is ours, read by the relay: it is never relayed.
  const remove = ["bcc", "idempotency-key"];
  const add: Array<[string, string]> = [];
  let messageId = headerValue(block, "message-id") ?? "";
  if (!hasHeader(block, "message-id")) {
    messageId = `<${opts.id}@${opts.hostname}>`;
    add.push(["Message-ID", messageId]);
    remove.push("message-id");
  }
  if (!hasHeader(block, "date")) {
    add.push(["Date", rfc5322Date(opts.nowMs)]);
    remove.push("date");
  }
  return {
    raw: rewriteHeaders(crlf, block, remove, add),
    messageIdHeader: messageId.replace(/^<|>$/g, ""),
    from: headerValue(block, "from") ?? "",
    to: mailboxes(headerValue(block, "to")),
    cc: mailboxes(headerValue(block, "cc")),
    subject: headerValue(block, "subject") ?? "",
  };
}

/** "Mon, 03 Jun 2024 10:00:00 +0000" */
export function rfc5322Date(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, "+0000");
}

function mailboxes(value: string | null): string[] {
  if (!value) return [];
  const out: string[] = [];
  const walk = (list: ReturnType<typeof addressparser>) => {
    for (const a of list) {
      if ("group" in a && a.group) walk(a.group);
      else if ("address" in a && a.address) out.push(a.name ? `${a.name} <${a.address}>` : a.address);
    }
  };
  walk(addressparser(value));
  return out;
}
