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

test("a provider added to a group lets the messages waiting for the group's capped provider go at once", async () => {
  const c1 = await createProvider(g, { name: "group one an hour", type: "capture", quotas: { per_hour: 1 } });
  const grp = await g.api("POST", "/api/v1/groups", { name: "wake group", members: [{ provider_id: c1 }] });
  expect(grp.status).toBe(201);
  const k = await g.api("POST", "/api/v1/api-keys", { name: "wake group key", permission: "send", scope: { type: "group", group: grp.json.data.id } });
  expect(k.status).toBe(201);
  const key: string = k.json.data.token;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await sendWith(g, key, msg(`group wake ${i}`))).json.data.message_id);
  await waitFor(async () => {
    const v = await Promise.all(ids.map(status));
    return v.filter((x) => x.status === "sent").length === 1 && v.filter((x) => x.waiting?.reason === "cap").length === 2;
  }, "1 sent and 2 waiting for the hour");
  const c2 = await createProvider(g, { name: "group uncapped", type: "capture" });
  const patch = await g.api("PATCH", `/api/v1/groups/${grp.json.data.id}`, { members: [{ provider_id: c1 }, { provider_id: c2 }] });
  expect(patch.status).toBe(200);
  // The clock does not move: only the provider added to the group can take them.
  const v = await waitFor(async () => {
    const all = await Promise.all(ids.map(status));
    return all.every((x) => x.status === "sent") ? all : null;
  }, "all 3 sent after a provider joined the group", 10_000);
  expect(v.filter((x) => x.routing.provider_id === c2)).toHaveLength(2);
});

test("a message waiting for a provider that is then deleted says at once that no provider is active", async () => {
  const c5 = await createProvider(g, { name: "deleted while they wait", type: "capture", quotas: { per_hour: 1 } });
  const key = await scopedKey(g, [c5]);
  await sendWith(g, key, msg("fills the hour"));
  const id = (await sendWith(g, key, msg("waits for the deleted"))).json.data.message_id;
  await waitFor(async () => (await status(id)).waiting?.provider_id === c5, "the second to wait for the hour of its provider");
  expect((await g.api("DELETE", `/api/v1/providers/${c5}`)).status).toBe(200);
  // No clock move: the deletion itself makes the message look again.
  const s = await waitFor(async () => {
    const x = await status(id);
    return x.waiting?.reason === "no_active_provider" ? x : null;
  }, "the reason to say no provider is active", 10_000);
  expect(s.status).toBe("queued");
  expect(s.waiting.provider_id).toBeUndefined();
});
