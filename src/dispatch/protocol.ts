import type { FailureClass } from "../types.ts";
import type { ProviderSnapshot } from "../providers/types.ts";

/** One message for one provider, handed to the worker that owns the provider. */
export interface SendJob {
  messageId: string;
  accountId: string;
  provider: ProviderSnapshot;
  /** The gateway clock's time when the job was handed over (workers have no clock of their own). */
  now: number;
}

export interface SendJobResult {
  messageId: string;
  ok: boolean;
  cls?: FailureClass | "missing";
  response: string;
  durationMs: number;
  /** Recipients the provider refused while it accepted the message for the others. */
  rejected?: string[];
  /** The failure was the gateway's own (building the message, Redis, a worker): never counted against the provider. */
  gatewayFault?: boolean;
}

/** Tasks a worker thread runs; work is handed over in batches (one task per flush, not per message). */
export type WorkerTask =
  | { kind: "send"; jobs: SendJob[] }
  | { kind: "verify"; provider: ProviderSnapshot }
  | { kind: "close"; providerId: string }
  /** Closes every warm connection of the worker (before the pool is destroyed). */
  | { kind: "closeAll" };

export interface WorkerInit {
  redis: string | { path: string } | { host: string; port: number };
  /** Capture outboxes keep at most this many messages per provider. */
  captureMaxItems: number;
}
