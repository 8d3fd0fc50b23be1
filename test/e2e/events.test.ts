import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import type { GatewayEvent } from "../../src/events.ts";
import { K } from "../../src/store/keys.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/net.ts";
import { createSmtpProvider, scopedKey, sendWith } from "../helpers/providers.ts";

let g: TestGateway;
const clock = new ManualClock(Date.UTC(2026, 6, 1, 8, 0, 0));
beforeAll(async () => {
  g = await startTestGateway({ clock });
});
afterAll(async () => {
  await g?.stop();
});

async function events(): Promise<GatewayEvent[]> {
  const rows = (await g.running.gw.redis.xrange(K.events(g.accountId), "-", "+")) as Array<[string, string[]]>;
  return rows.map(([, f]) => JSON.parse(f[1]!) as GatewayEvent);
}

const msg = (s: string) => ({ from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: s, text_body: "x" });

test("the lifecycle is recorded as events: sent, deferred, provider paused and, after the pause, resumed", async () => {
  const s = await g.api("POST", "/api/v1/emails/send", msg("ev sent"));
  await g.settle(s.json.data.message_id);
  const sent = await waitFor(async () => (await events()).find((e) => e.type === "message.sent" && e.data.message_id === s.json.data.message_id), "message.sent");
  expect(sent.id).toMatch(/^evt_[a-z0-9]{24}$/);
  expect(sent.data.provider_id).toBe(g.captureId);
  expect(sent.data.recipients).toEqual(["b@example.com"]);

  // A provider nobody listens on: connection failures, three of them pause it for an hour.
  const dead = await createSmtpProvider(g, await freePort());
  const key = await scopedKey(g, [dead]);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await sendWith(g, key, msg(`ev dead ${i}`))).json.data.message_id);
  for (const id of ids) await g.settle(id, ["deferred"]);
  const all = await events();
  expect(all.filter((e) => e.type === "message.deferred" && ids.includes(String(e.data.message_id)))).toHaveLength(3);
  const paused = all.find((e) => e.type === "provider.paused" && e.data.provider_id === dead)!;
  expect(paused.data.class).toBe("connection");
  expect(paused.data.until).toBe(new Date(clock.now() + 3_600_000).toISOString());

  clock.advance(3_600_000);
  const resumed = await waitFor(async () => (await events()).find((e) => e.type === "provider.resumed" && e.data.provider_id === dead), "provider.resumed", 10_000);
  expect(resumed.data.how).toBe("pause_ended");
  // Announced once, not every second.
  await Bun.sleep(1500);
  expect((await events()).filter((e) => e.type === "provider.resumed" && e.data.provider_id === dead)).toHaveLength(1);
});
