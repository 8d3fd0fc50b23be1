/**
 * k6-style scenario: every virtual user (one keep-alive connection) POSTs one message to
 * /api/v1/emails/send in a loop. The runner drives it with wrk; each request takes the next API key
 * of a pool, so the per-key rate limit (1,800/min) measures nothing here.
 */
import { message } from "./message.ts";

export const options = { vus: 64, duration: "10s" };
export const messagesPerRequest = 1;

export default function () {
  return { method: "POST", path: "/api/v1/emails/send", body: JSON.stringify(message(0)) };
}
