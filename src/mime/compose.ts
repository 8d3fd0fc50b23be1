import MailComposer from "nodemailer/lib/mail-composer/index.js";
import type { ComposeAddress, ComposeSpec } from "../types.ts";

/** CRLF for every line end, a lone CR or LF included (strict upstreams refuse bare LF). */
export function crlf(s: string): string {
  return s.replace(/\r\n|\r|\n/g, "\r\n");
}

function addr(a: ComposeAddress): { name: string; address: string } {
  return { name: a.name ?? "", address: a.address };
}

/**
 * Builds the RFC 5322 message for an API send with nodemailer's MailComposer. Message-ID and Date
 * come from the spec (fixed at acceptance), so every attempt sends the same message. No Bcc header
 * is written: Bcc recipients exist only in the envelope.
 */
export async function composeRaw(spec: ComposeSpec): Promise<Buffer> {
  const mail = {
    from: addr(spec.from),
    to: spec.to.map(addr),
    cc: spec.cc.length ? spec.cc.map(addr) : undefined,
    replyTo: spec.replyTo ? addr(spec.replyTo) : undefined,
    subject: spec.subject,
    text: spec.text !== undefined ? crlf(spec.text) : undefined,
    html: spec.html !== undefined ? crlf(spec.html) : undefined,
    messageId: `<${spec.messageId}>`,
    date: new Date(spec.date),
    headers: spec.headers.map(([key, value]) => ({ key, value })),
    attachments: spec.attachments.map((a) => ({
      filename: a.filename,
      content: Buffer.from(a.content),
      contentType: a.contentType,
      cid: a.cid,
      contentDisposition: a.cid ? ("inline" as const) : ("attachment" as const),
    })),
    disableFileAccess: true,
    disableUrlAccess: true,
    keepBcc: false,
  };
  const composer = new MailComposer(mail as ConstructorParameters<typeof MailComposer>[0]);
  return new Promise<Buffer>((resolve, reject) => {
    composer.compile().build((err, msg) => (err ? reject(err) : resolve(msg)));
  });
}
