import type { Gateway } from "../../gateway.ts";
import { newId } from "../../ids.ts";
import type { Submission } from "../../submit.ts";
import type { ComposeAddress } from "../../types.ts";
import type { ValidatedSend } from "./validate.ts";

function display(a: ComposeAddress): string {
  return a.name ? `${a.name} <${a.address}>` : a.address;
}

/** Rough size of the built message, for listings (base64 grows attachments by 4/3). */
function estimateSize(v: ValidatedSend): number {
  let n = 1024 + v.subject.length + (v.text?.length ?? 0) + (v.html?.length ?? 0);
  for (const a of v.attachments) n += Math.ceil((a.content.byteLength * 4) / 3) + 256;
  return n;
}

/**
 * Turns a validated API request into a submission: the envelope (return_path or From; every
 * to, cc and bcc once) and what builds the MIME message in a worker, with the Message-ID and
 * Date fixed now.
 */
export function toSubmission(gw: Gateway, v: ValidatedSend): Submission {
  const id = newId("eml");
  const rcpts: string[] = [];
  const seen = new Set<string>();
  for (const a of [...v.to, ...v.cc, ...v.bcc]) {
    const k = a.address.toLowerCase();
    if (!seen.has(k)) {
      seen.add(k);
      rcpts.push(a.address);
    }
  }
  const messageIdHeader = `${id}@${gw.cfg.hostname}`;
  return {
    id,
    source: "api",
    envelope: { from: v.returnPath ?? v.from.address, to: rcpts },
    from: display(v.from),
    to: v.to.map(display),
    cc: v.cc.map(display),
    subject: v.subject,
    message_id_header: messageIdHeader,
    size_bytes: estimateSize(v),
    body: {
      kind: "compose",
      mail: {
        from: v.from,
        to: v.to,
        cc: v.cc,
        bcc: v.bcc,
        replyTo: v.replyTo,
        subject: v.subject,
        text: v.text,
        html: v.html,
        headers: v.headers,
        attachments: v.attachments,
        messageId: messageIdHeader,
        date: new Date(gw.clock.now()).toUTCString(),
      },
    },
  };
}
