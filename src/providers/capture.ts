import type { Clock } from "../clock.ts";
import type { OutboxStore } from "../store/outbox.ts";
import type { OutgoingMessage, ProviderAdapter, ProviderSnapshot, SendOutcome, TestOutcome } from "./types.ts";

/**
 * The `capture` provider (EXT): a local outbox for development and tests. It "sends" by storing
 * the exact bytes another provider would have been given, with the envelope, in Redis, where
 * `GET /api/v1/providers/{id}/outbox` reads them back.
 */
export class CaptureAdapter implements ProviderAdapter {
  readonly type = "capture";
  constructor(private readonly snap: ProviderSnapshot, private readonly outbox: OutboxStore, private readonly clock: Clock) {}

  async send(msg: OutgoingMessage): Promise<SendOutcome> {
    // The send's own time: the adapter lives across many sends, so a clock fixed at its creation would stamp them all alike.
    const now = msg.now;
    await this.outbox.put(
      msg.accountId,
      this.snap.record.id,
      {
        message_id: msg.id,
        envelope: { from: msg.envelope.from, to: msg.envelope.to },
        from: msg.from,
        to: msg.to,
        subject: msg.subject,
        received_at: new Date(now).toISOString(),
        size_bytes: msg.raw.byteLength,
      },
      msg.raw,
      now,
    );
    return { ok: true, response: `250 2.0.0 captured as ${msg.id}` };
  }

  async verify(): Promise<TestOutcome> {
    return { success: true, message: "capture outbox is ready (messages are stored, never delivered)" };
  }

  async close(): Promise<void> {}
}
