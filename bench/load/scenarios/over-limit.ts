/**
 * k6-style scenario: two API keys, each offered 3x its limit (1,800 requests in any 60 s) for
 * LOAD_MINUTES (default 3) over HTTP and SMTP together: 45 POST /api/v1/emails/send a second and 45
 * SMTP messages a second through 4 relay connections (STARTTLS, AUTH with the key), per key. Open
 * loop (k6's constant-arrival-rate): refusals do not slow the offered rate down. Every accepted
 * message goes to the key's own capture provider. The runner checks the thresholds.
 */
import { message } from "../../scenarios/message.ts";

const minutes = Number(process.env.LOAD_MINUTES ?? 3);
const perKey = (key: string) => ({
  [`${key}_http`]: { executor: "constant-arrival-rate", exec: "httpSend", rate: 45, timeUnit: "1s", duration: `${minutes}m`, preAllocatedVUs: 16, maxVUs: 256, env: { KEY: key } },
  [`${key}_smtp`]: { executor: "constant-arrival-rate", exec: "smtpSend", rate: 45, timeUnit: "1s", duration: `${minutes}m`, preAllocatedVUs: 4, maxVUs: 256, env: { KEY: key, SMTP_CONNECTIONS: "4" } },
});

export const options = {
  scenarios: { ...perKey("a"), ...perKey("b") },
  thresholds: {
    // Per key and per minute of the gateway's own acceptance times (its Redis rate log).
    accepted_per_minute: ["value==1800"],
    accepted_in_any_60s: ["max<=1800"],
    retry_after_consistent: ["rate==1"],
    accepted_not_sent: ["count==0"],
  },
};

export function httpSend(i: number, key: string) {
  return { method: "POST", path: "/api/v1/emails/send", body: JSON.stringify({ ...message(i), subject: `load ${key} http ${i}` }) };
}

export function smtpSend(i: number, key: string) {
  const raw = `From: Bench <bench@example.com>\r\nTo: rcpt${i}@example.net\r\nSubject: load ${key} smtp ${i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour code is 123456. It expires in 10 minutes.\r\n`;
  return { envelope: { from: "bench@example.com", to: [`rcpt${i}@example.net`] }, raw: Buffer.from(raw) };
}
