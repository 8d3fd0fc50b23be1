/**
 * Over-cap messages go out as soon as a window frees (issue 3, "Caps"), even while new sends keep
 * arriving. Waiting messages sit in the scheduled queue until they are due; a new send that finds
 * due ones moves them to the ready queue and goes behind them (the dispatcher's yieldToDue), so it
 * never takes the slot they were waiting for. Without that, a steady stream of new sends at the
 * cap's rate kept them waiting for ever.
 *
 * The test: per_minute 5 on the only provider. 5 go, 5 more wait. For three minutes, each new minute
 * brings 5 new sends right after it starts (as a client sending at the cap's rate would). The 5 that
 * waited must go in the first minute that frees; the new ones wait their turn.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { K } from "../../src/store/keys.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { createProvider, scopedKey, sendWith } from "../helpers/providers.ts";

const MINUTE = 60_000;
const clock = new ManualClock(Date.UTC(2026, 0, 5, 9, 0, 10));
let g: TestGateway;
let providerId = "";
let token = "";

beforeAll(async () => {
  g = await startTestGateway({ clock });
  providerId = await createProvider(g, { name: "5 a minute", type: "capture", quotas: { per_minute: 5 } });
  token = await scopedKey(g, [providerId]);
});
afterAll(async () => {
  await g?.stop();
});

async function send(tag: string, n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const r = await sendWith(g, token, { from: { email: "f@example.com" }, to: { email: `${tag}${i}@example.net` }, subject: `${tag} ${i}`, text_body: "x" });
      expect(r.status).toBe(200);
      return r.json.data.message_id as string;
    }),
  );
}

const ready = () => g.running.gw.redis.xlen(K.ready(g.accountId));
const sentIds = async () => new Set(await g.running.gw.redis.zrange(K.outbox(g.accountId, providerId), 0, -1));

test("messages waiting for a full minute go out when it frees, before new sends that arrive after it freed", async () => {
  const first = await send("first", 5);
  await waitFor(async () => (await sentIds()).size === 5, "the first 5 to be sent");
  const waiting = await send("waiting", 5);
  await waitFor(async () => (await ready()) === 0, "the 5 over the cap to be put back to wait");
  for (const id of waiting) expect((await g.api("GET", `/api/v1/emails/${id}`)).json.data.waiting).toMatchObject({ reason: "cap", provider_id: providerId });

  const waitedFor: number[] = [];
  for (let minute = 1; minute <= 3; minute++) {
    clock.set(Math.floor(clock.now() / MINUTE) * MINUTE + MINUTE);
    await send(`new${minute}-`, 5);
    // Let the promotion timer (every second of real time) run, and everything settle.
    await Bun.sleep(1300);
    await waitFor(async () => (await ready()) === 0, "the ready queue to drain");
    const sent = await sentIds();
    waitedFor.push(waiting.filter((id) => !sent.has(id)).length);
    expect(sent.size).toBe(5 + 5 * minute);
  }
  expect(first.length).toBe(5);
  // How many of the waiting 5 were still waiting after each of the three minutes that freed.
  expect(waitedFor).toEqual([0, 0, 0]);
}, 60_000);
