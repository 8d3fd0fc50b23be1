import type { DetectedQuotas, Envelope, FailureClass, ProviderRecord } from "../types.ts";

/** What a worker is given to build a provider client: the record and its opened secrets. */
export interface ProviderSnapshot {
  record: ProviderRecord;
  secrets: Record<string, unknown>;
}

export interface OutgoingMessage {
  id: string;
  accountId: string;
  envelope: Envelope;
  raw: Buffer;
  /** The gateway clock's time (ms) when the send was handed over; workers have no clock of their own. */
  now: number;
  /** Header summaries, for outboxes and logs. */
  from: string;
  to: string[];
  subject: string;
}

export type SendOutcome =
  /** `rejected`: recipients the provider refused while it accepted the others. */
  | { ok: true; response: string; providerMessageId?: string; rejected?: string[] }
  | { ok: false; class: FailureClass; response: string; code?: string };

export interface TestOutcome {
  success: boolean;
  message: string;
  /** Limits the provider reported while being checked (amazon_ses GetAccount), to be stored on it. */
  detected_quotas?: DetectedQuotas;
}

/**
 * A provider adapter: a tiny contract, as nodemailer's transports are. One instance per provider
 * per worker thread, kept warm between sends, closed when the provider changes or is deleted.
 */
export interface ProviderAdapter {
  readonly type: string;
  send(msg: OutgoingMessage): Promise<SendOutcome>;
  /** Checks credentials and reachability without sending mail to anyone. */
  verify(): Promise<TestOutcome>;
  close(): Promise<void>;
}
