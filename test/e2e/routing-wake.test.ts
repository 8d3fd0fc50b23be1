import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { createProvider, scopedKey, sendWith } from "../helpers/providers.ts";

const clock = new ManualClock(Date.UTC(2026, 2, 2, 9, 0, 5));
let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway({ clock });
});
afterAll(async () => {
  await g?.stop();
});

const msg = (s: string) => ({ from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: s, text_body: "x" });
const status = async (id: string) => (await g.api("GET", `/api/v1/emails/${id}`)).json.data;

test("raising a cap lets the messages waiting for it go at once, without waiting for the window's end", async () => {
  const p = await createProvider(g, { name: "2 a minute", type: "capture", quotas: { per_minute: 2 } });
  const key = await scopedKey(g, [p]);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await sendWith(g, key, msg(`wake ${i}`))).json.data.message_id);
  const waiting = await waitFor(async () => {
    const v = await Promise.all(ids.map(status));
    const w = v.filter((x) => x.waiting?.reason === "cap");
    return v.filter((x) => x.status === "sent").length === 2 && w.length === 2 ? w : null;
  }, "2 sent and 2 waiting for the minute");
  expect(waiting[0].waiting.until).toBe(new Date(Date.UTC(2026, 2, 2, 9, 1, 0)).toISOString());
  const patch = await g.api("PATCH", `/api/v1/providers/${p}`, { quotas: { per_minute: 10 } });
  expect(patch.status).toBe(200);
  // The clock does not move: only the raised cap can let them go.
  await waitFor(async () => (await Promise.all(ids.map(status))).every((x) => x.status === "sent"), "all 4 sent after the cap was raised", 10_000);
});

test("a message whose only provider was deactivated after it was accepted waits, and says why", async () => {
  const p = await createProvider(g, { name: "soon off", type: "capture", quotas: { per_minute: 1 } });
  const key = await scopedKey(g, [p]);
  await sendWith(g, key, msg("fills the minute"));
  const id = (await sendWith(g, key, msg("waits"))).json.data.message_id;
  await waitFor(async () => (await status(id)).waiting?.reason === "cap", "the second to wait for the minute");
  await g.api("POST", `/api/v1/providers/${p}/deactivate`);
  clock.advance(60_000);
  const v = await waitFor(async () => {
    const s = await status(id);
    return s.waiting?.reason === "no_active_provider" ? s : null;
  }, "the reason to say no provider is active");
  expect(v.status).toBe("queued");
  expect(v.waiting.hint).toMatch(/activate/);
  await g.api("POST", `/api/v1/providers/${p}/activate`);
  clock.advance(31_000);
  await waitFor(async () => (await status(id)).status === "sent", "it to be sent once the provider is active again");
});
