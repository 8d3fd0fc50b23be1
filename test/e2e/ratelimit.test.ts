import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { relaySubmit, scopedKey } from "../helpers/providers.ts";

let g: TestGateway;
const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
beforeAll(async () => {
  g = await startTestGateway({ clock });
});
afterAll(async () => {
  await g?.stop();
});

const msg = { from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "rl", text_body: "x" };
const raw = Buffer.from("From: a@example.com\r\nTo: b@example.com\r\nSubject: rl smtp\r\n\r\nhi\r\n");

/** `n` cheap counted requests (a GET of an unknown message answers 404 and still counts). */
async function burn(token: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => g.api("GET", "/api/v1/emails/eml_aaaaaaaaaaaaaaaaaaaaaaaa", undefined, { authorization: `Bearer ${token}` })));
  }
}

test("1,800 requests in any 60 s per key: headers on every response, the 1,801st is 429 with Retry-After, the window slides", async () => {
  const token = await scopedKey(g, [g.captureId]);
  const first = await g.api("GET", "/api/v1/emails/eml_aaaaaaaaaaaaaaaaaaaaaaaa", undefined, { authorization: `Bearer ${token}` });
  expect(first.headers.get("ratelimit-limit")).toBe("1800");
  expect(first.headers.get("ratelimit-remaining")).toBe("1799");
  expect(first.headers.get("ratelimit-reset")).toBe("60");
  clock.advance(30_000);
  await burn(token, 1799);
  const over = await g.api("POST", "/api/v1/emails/send", msg, { authorization: `Bearer ${token}` });
  expect(over.status).toBe(429);
  expect(over.json.error.code).toBe("rate_limit_exceeded");
  expect(over.json.error.retryable).toBe(true);
  // The oldest counted request (30 s ago) leaves the window in 30 s.
  expect(over.headers.get("retry-after")).toBe("30");
  expect(over.headers.get("ratelimit-remaining")).toBe("0");
  // Sliding, not fixed: 29 s later still full; just past 60 s from the first, one more fits.
  clock.advance(29_000);
  expect((await g.api("POST", "/api/v1/emails/send", msg, { authorization: `Bearer ${token}` })).status).toBe(429);
  clock.advance(1_001);
  const again = await g.api("POST", "/api/v1/emails/send", msg, { authorization: `Bearer ${token}` });
  expect(again.status).toBe(200);
  expect(again.headers.get("ratelimit-remaining")).toBe("0");
  expect((await g.api("POST", "/api/v1/emails/send", msg, { authorization: `Bearer ${token}` })).status).toBe(429);
}, 120_000);

test("HTTP and SMTP share the budget: a batch of 100 counts once, an SMTP message counts once, a full key gets 451 4.7.1 at MAIL", async () => {
  clock.advance(120_000);
  const token = await scopedKey(g, [g.captureId]);
  const batch = await g.api("POST", "/api/v1/emails/send/batch", { messages: Array.from({ length: 100 }, () => msg) }, { authorization: `Bearer ${token}` });
  expect(batch.status).toBe(200);
  expect(batch.headers.get("ratelimit-remaining")).toBe("1799");
  const s = await relaySubmit(g, token, raw, { from: "a@example.com", to: ["b@example.com"] });
  expect(s.ok).toBe(true);
  const after = await g.api("GET", "/api/v1/emails/eml_aaaaaaaaaaaaaaaaaaaaaaaa", undefined, { authorization: `Bearer ${token}` });
  expect(after.headers.get("ratelimit-remaining")).toBe("1797");
  await burn(token, 1797);
  const refused = await relaySubmit(g, token, raw, { from: "a@example.com", to: ["b@example.com"] });
  expect(refused.ok).toBe(false);
  expect(refused.response).toMatch(/^451 4\.7\.1 Rate limit exceeded.*try again in \d+ seconds/);
  // Another key is not affected.
  expect((await g.api("POST", "/api/v1/emails/send", msg)).status).toBe(200);
}, 120_000);
