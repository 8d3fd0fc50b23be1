import addressparser from "nodemailer/lib/addressparser";
import { BLIND_FIELDS, hasHeader, headerValue, parseHeaderBlock, rewriteHeaders, toCrlf } from "../mime/headers.ts";
import { decodeEncodedWords, headerText, unstructuredText } from "../mime/header-text.ts";

export interface RelayedMessage {
  /** The bytes every provider is given. */
  raw: Buffer;
  /** The Message-ID without <>, as the message carries it. */
  messageIdHeader: string;
  /**
   * Header summaries for listings, as text: UTF-8 header bytes (RFC 6532) and RFC 2047 encoded
   * words decoded; From, To and Cc as `Name <address>` (or the address alone), like an API send.
   */
  from: string;
  to: string[];
  cc: string[];
  subject: string;
}

/**
 * What the relay does to a submitted message (SPEC "SMTP relay"), and nothing more:
 * - bare LF and bare CR line ends become CRLF (DATA itself only ever ends at CRLF.CRLF, so this
 *   cannot split a message; it makes every provider get CRLF only);
 * - every `Bcc:` and `Resent-Bcc:` field is removed with its folded lines (the envelope decides
 *   who receives; RFC 5322 3.6.6 gives Resent-Bcc the meaning of Bcc);
 * - `Message-ID` and `Date` are added at the top where missing or blank.
 * A CRLF message with a Message-ID, a Date and no Bcc or Resent-Bcc comes out byte for byte as it came.
 */
export function prepareRelayed(submitted: Buffer, opts: { id: string; hostname: string; nowMs: number }): RelayedMessage {
  const crlf = toCrlf(submitted);
  const block = parseHeaderBlock(crlf);
  // Idempotency-Key (EXT) is ours, read by the relay: it is never relayed.
  const remove = [...BLIND_FIELDS, "idempotency-key"];
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
    from: sender(headerValue(block, "from")),
    to: mailboxes(headerValue(block, "to")),
    cc: mailboxes(headerValue(block, "cc")),
    subject: unstructuredText(headerValue(block, "subject") ?? ""),
  };
}

/** "Mon, 03 Jun 2024 10:00:00 +0000" */
export function rfc5322Date(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, "+0000");
}

/** The mailboxes of an address field (groups flattened); `value` is its bytes as latin1. */
function mailboxes(value: string | null): string[] {
  if (!value) return [];
  const out: string[] = [];
  const walk = (list: ReturnType<typeof addressparser>) => {
    for (const a of list) {
      if ("group" in a && a.group) walk(a.group);
      else if ("address" in a && a.address) {
        const name = a.name ? decodeEncodedWords(a.name).trim() : "";
        out.push(name ? `${name} <${a.address}>` : a.address);
      }
    }
  };
  walk(addressparser(headerText(value)));
  return out;
}

/** The From field's mailboxes, or its text as written when it names no address. */
function sender(value: string | null): string {
  const list = mailboxes(value);
  return list.length ? list.join(", ") : unstructuredText(value ?? "");
}
