import addressparser from "nodemailer/lib/addressparser";
import { BLIND_FIELDS } from "../mime/headers.ts";
import type { Envelope } from "../types.ts";

/**
 * The copy of a message that goes to Gmail. `users.messages.send` has no envelope: Gmail takes the
 * recipients from the To, Cc and Bcc fields of `raw` (a message without any is refused with 400
 * "Recipient address required", research §1.2) and removes Bcc from the copies recipients get.
 * The gateway's envelope decides who receives (SPEC "SMTP relay"), so:
 * - any Bcc or Resent-Bcc field already in the message is dropped (SPEC: a Bcc header is never
 *   relayed);
 * - envelope recipients that To and Cc do not name go into one new Bcc field, which Gmail removes;
 * - a message whose To or Cc names someone outside the envelope cannot be sent through Gmail
 *   without reaching that person, so it is refused (the caller fails it, naming the addresses).
 */
export type GmailCopy = { ok: true; raw: Buffer; bcc: string[] } | { ok: false; reason: string };

interface Field {
  name: string;
  value: string;
  start: number;
  end: number;
}

/** The header fields (unfolded), each with its byte range in `raw`. */
export function headerFields(raw: Buffer): { fields: Field[]; headerEnd: number } {
  // Headers are ASCII (8-bit bytes survive latin1 one to one), so offsets in the string are byte offsets.
  const limit = Math.min(raw.length, 1_048_576);
  const text = raw.subarray(0, limit).toString("latin1");
  let headerEnd = text.search(/\r?\n\r?\n/);
  if (headerEnd < 0) headerEnd = text.length;
  const fields: Field[] = [];
  const re = /([!-9;-~]+)[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)(?:\r?\n|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex <= headerEnd && (m = re.exec(text))) {
    fields.push({ name: m[1]!.toLowerCase(), value: m[2]!.replace(/\r?\n/g, ""), start: m.index, end: re.lastIndex });
    if (re.lastIndex > headerEnd) break;
  }
  return { fields, headerEnd };
}

/** The addresses in an address-list header value (groups flattened), lower-cased. */
export function addressesIn(value: string): string[] {
  const out: string[] = [];
  const walk = (list: ReturnType<typeof addressparser>) => {
    for (const a of list) {
      if ("group" in a && a.group) walk(a.group);
      else if (a.address) out.push(a.address.toLowerCase());
    }
  };
  walk(addressparser(value));
  return out;
}

export function gmailCopy(raw: Buffer, envelope: Envelope): GmailCopy {
  const { fields } = headerFields(raw);
  const named = new Set(fields.filter((f) => f.name === "to" || f.name === "cc").flatMap((f) => addressesIn(f.value)));
  const envelopeTo = [...new Set(envelope.to)];
  const inEnvelope = new Set(envelopeTo.map((a) => a.toLowerCase()));
  const outside = [...named].filter((a) => !inEnvelope.has(a));
  if (outside.length) {
    return {
      ok: false,
      reason: `To/Cc name ${outside.join(", ")}, who ${outside.length === 1 ? "is" : "are"} not among the message's recipients; Gmail delivers to every address in To and Cc, so this message cannot go out through a gmail_api provider without reaching them`,
    };
  }
  const bcc = envelopeTo.filter((a) => !named.has(a.toLowerCase()));
  const parts: Buffer[] = [];
  if (bcc.length) parts.push(Buffer.from(`Bcc: ${bcc.join(",\r\n ")}\r\n`, "utf8"));
  let at = 0;
  for (const f of fields.filter((x) => BLIND_FIELDS.includes(x.name))) {
    parts.push(raw.subarray(at, f.start));
    at = f.end;
  }
  if (at === 0 && parts.length === 0) return { ok: true, raw, bcc };
  parts.push(raw.subarray(at));
  return { ok: true, raw: Buffer.concat(parts), bcc };
}
