/**
 * k6-style scenario: 50 virtual users send the same request with the same Idempotency-Key at once,
 * over POST /emails/send, POST /emails/send/batch and the SMTP relay (an Idempotency-Key header in
 * the message). Exactly one message may be queued (counted in a capture outbox); the others get
 * the first answer again (Idempotent-Replayed: true / the same queued id) or 409 retryable (451
 * 4.7.0 over SMTP) while the first is still in flight.
 */
export const options = {
  scenarios: { same_key: { executor: "per-vu-iterations", vus: 50, iterations: 1 } },
  thresholds: { queued_messages: ["count==1"] },
};

const msg = (subject: string) => ({ from: { email: "bench@example.com" }, to: { email: "rcpt@example.net" }, subject, text_body: "Pay invoice 42." });
export const http = { method: "POST", path: "/api/v1/emails/send", body: JSON.stringify(msg("idempotent send")), idempotencyKey: "load-send-1" };
export const batch = { method: "POST", path: "/api/v1/emails/send/batch", body: JSON.stringify({ messages: [msg("idempotent batch")] }), idempotencyKey: "load-batch-1" };
export const smtp = {
  envelope: { from: "bench@example.com", to: ["rcpt@example.net"] },
  raw: Buffer.from("From: bench@example.com\r\nTo: rcpt@example.net\r\nSubject: idempotent smtp\r\nIdempotency-Key: load-smtp-1\r\n\r\nPay invoice 42.\r\n"),
};
