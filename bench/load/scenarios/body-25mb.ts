/**
 * k6-style scenario: one POST /api/v1/emails/send/batch of 100 messages with an attachment each,
 * the whole body just under 25 MB (26,214,400 bytes); then a body of 25 MB + 1 byte, which must be
 * refused with 413 before it is read whole.
 */
export const LIMIT = 25 * 1024 * 1024;
export const options = {
  scenarios: { big_batch: { executor: "per-vu-iterations", vus: 1, iterations: 1 } },
  thresholds: { big_batch_status: ["value==200"], over_limit_status: ["value==413"] },
};

/** A batch body of exactly `bytes` bytes (100 messages, one attachment each; base64 sized to fit). */
export function bigBatch(bytes: number): string {
  const shell = (att: string[]) =>
    JSON.stringify({
      messages: att.map((content, i) => ({
        from: { email: "bench@example.com" },
        to: { email: `rcpt${i}@example.net` },
        subject: `Big batch ${i}`,
        text_body: "The report is attached.",
        attachments: [{ filename: `report-${i}.bin`, content, type: "application/octet-stream" }],
      })),
    });
  const empty = shell(Array.from({ length: 100 }, () => "")).length;
  let room = bytes - empty;
  const per = Math.floor(room / 100 / 4) * 4;
  const atts = Array.from({ length: 100 }, () => per);
  room -= per * 100;
  // The rest on the last attachment (base64 comes in fours) and any last 1-3 bytes as spaces, which JSON allows.
  atts[99] += Math.floor(room / 4) * 4;
  const pad = room % 4;
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const b64 = (n: number, seed: number) => {
    let s = "";
    const chunk = Array.from({ length: 4096 }, (_, k) => chars[(k * 7 + seed) % 64]).join("");
    while (s.length < n) s += chunk;
    return s.slice(0, n);
  };
  const body = shell(atts.map((n, i) => b64(n, i))) + " ".repeat(pad);
  if (body.length !== bytes) throw new Error(`built ${body.length} bytes, wanted ${bytes}`);
  return body;
}
