/** k6-style scenario: every virtual user POSTs batches of 100 messages to /api/v1/emails/send/batch. */
import { message } from "./message.ts";

export const options = { vus: 64, duration: "10s" };
export const messagesPerRequest = 100;

export default function () {
  const messages = Array.from({ length: messagesPerRequest }, (_, i) => message(i));
  return { method: "POST", path: "/api/v1/emails/send/batch", body: JSON.stringify({ messages }) };
}
