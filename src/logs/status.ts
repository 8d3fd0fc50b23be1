import type { LogStatus } from "../store/logs.ts";
import type { Attempt, MessageStatus } from "../types.ts";

/**
 * A message's delivery-log status (the Management API's `pending · sent · failed · rejected`):
 * - queued, sending, deferred: `pending` (it may still go out);
 * - sent: `sent`;
 * - failed because the provider refused the recipients for good (outcome `permanent_recipient`),
 *   or `rejected`: `rejected`;
 * - failed for any other reason (retries used up, an auth or config fault) and canceled: `failed`.
 */
export function logStatusOf(status: MessageStatus, lastOutcome: Attempt["outcome"] | null): LogStatus {
  switch (status) {
    case "sent":
      return "sent";
    case "rejected":
      return "rejected";
    case "failed":
      return lastOutcome === "permanent_recipient" ? "rejected" : "failed";
    case "canceled":
      return "failed";
    default:
      return "pending";
  }
}
