/**
 * Memory per kept delivery log (docs/logs.md): N settled messages of a typical size (one To, one
 * Cc, a subject, sent at the first attempt), measured with MEMORY USAGE over the message hash,
 * its attempts list, its share of the index and of the day's counters. Fails when an entry
 * grows past the budget the docs promise. SENDMUX_TEST_MEMORY_N sets N (default 2,000).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { K } from "../../src/store/keys.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { scopedKey } from "../helpers/providers.ts";
import { waitFor } from "../helpers/net.ts";

const N = Number(process.env.SENDMUX_TEST_MEMORY_N ?? 2000);
/** What docs/logs.md says one kept log costs at most. */
const BUDGET_BYTES = 2200;
let g: TestGateway;

beforeAll(async () => {
  g = await startTestGateway({ clock: new ManualClock(Date.UTC(2026, 2, 19, 12)) });
});
afterAll(async () => {
  await g?.stop();
});

test(`memory per kept log entry over ${N} settled messages`, async () => {
  const key = await scopedKey(g, [g.captureId], "full");
  const ids: string[] = [];
  for (let i = 0; i < N; i += 100) {
    const messages = Array.from({ length: Math.min(100, N - i) }, (_, k) => ({
      from: { email: "billing@shop.example", name: "Shop Billing" },
      to: [{ email: `customer${i + k}@example.com`, name: "A Customer" }],
      cc: [{ email: "accounts@shop.example" }],
      subject: `Your invoice #${100000 + i + k} is ready`,
      text_body: "Thank you for your order.",
    }));
    const b = await g.api("POST", "/api/v1/emails/send/batch", { messages }, { authorization: `Bearer ${key}` });
    expect(b.status).toBe(200);
    ids.push(...b.json.data.results.map((x: any) => x.message_id));
  }
  const redis = g.running.gw.redis;
  const acct = g.accountId;
  await waitFor(async () => (await redis.zcard(K.scheduled(acct))) === 0 && (await Promise.all(ids.slice(-50).map((id) => redis.hget(K.msg(acct, id), "status")))).every((s) => s === "sent"), "every message sent", 120_000);
  await waitFor(async () => (await Promise.all(ids.map((id) => redis.hget(K.msg(acct, id), "status")))).every((s) => s === "sent"), "every message sent", 120_000);
  let perMessage = 0;
  for (const id of ids) {
    perMessage += Number(await redis.call("MEMORY", "USAGE", K.msg(acct, id), "SAMPLES", "0"));
    perMessage += Number(await redis.call("MEMORY", "USAGE", K.attempts(acct, id), "SAMPLES", "0"));
  }
  const index = Number(await redis.call("MEMORY", "USAGE", K.msgIndex(acct), "SAMPLES", "0"));
  const totalMessages = await redis.zcard(K.msgIndex(acct));
  const counters = Number(await redis.call("MEMORY", "USAGE", K.logCounters(acct, "2026-03-19"), "SAMPLES", "0"));
  const each = perMessage / ids.length + index / totalMessages;
  const report = `memory per kept log: ${Math.round(each)} B (record+attempts ${Math.round(perMessage / ids.length)} B, index ${Math.round(index / totalMessages)} B); day counters ${counters} B`;
  expect(each, report).toBeLessThan(BUDGET_BYTES);
  // The day's counters are a few hundred bytes per account, whatever the number of messages.
  expect(counters).toBeLessThan(4096);
}, 300_000);
