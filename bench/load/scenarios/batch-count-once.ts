/**
 * k6-style scenario: one key sends 100-message batches (POST /api/v1/emails/send/batch) with 8
 * virtual users in a closed loop until 1,800 are accepted, then one more: a batch counts once, so
 * 1,800 batches (180,000 messages) fit in the minute and the 1,801st is 429. Delivery is held (an
 * smtp provider that never greets) so the figure is the accept path.
 */
import { message } from "../../scenarios/message.ts";

export const options = {
  scenarios: { batches: { executor: "shared-iterations", vus: 8, iterations: 1800, maxDuration: "60s" } },
  thresholds: { accepted_batches: ["count==1800"], batch_1801_status: ["value==429"] },
};
export const messagesPerRequest = 100;

export default function (i: number) {
  return { method: "POST", path: "/api/v1/emails/send/batch", body: JSON.stringify({ messages: Array.from({ length: 100 }, (_, k) => message(i * 100 + k)) }) };
}
