/**
 * Routing state survives a restart (issue 3, "State"): the gateway is stopped in the middle of a
 * provider's pause and of a nearly full cap window, and a new one starts on the same Redis with
 * the same clock. The paused provider is still paused with the same `until`, its failed sends are
 * still due for their retries, and the window keeps its count, so the cap is not overrun. A
 * message whose scope holds only the paused provider waits for the pause to end.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { createSmtpProvider, scopedKey, sendWith } from "../helpers/providers.ts";
import { startTestRedis } from "../helpers/redis.ts";
import { emailView, nextAttempt, providerView, QUOTA_AT_DATA, startScriptedSink, waitStatus, type ScriptedSink } from "../helpers/routing.ts";

setDefaultTimeout(120_000);

const MIN = 60_000;
const HOUR = 60 * MIN;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const mail = (subject: string) => ({ from: { email: "shop@example.com" }, to: { email: "buyer@example.net" }, subject, text_body: subject });

test("a restart in the middle of a pause and of a nearly full window forgets neither", async () => {
  const clock = new ManualClock(Date.UTC(2026, 6, 20, 16, 45, 10));
  const redis = await startTestRedis();
  cleanups.push(() => redis.stop());
  const dataDir = mkdtempSync(join(tmpdir(), "smx-routing-restart-"));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const sinks: ScriptedSink[] = [];
  for (let i = 0; i < 3; i++) sinks.push(await startScriptedSink());
  cleanups.push(() => Promise.all(sinks.map((s) => s.close())));
  const [sa, sb, sc] = sinks as [ScriptedSink, ScriptedSink, ScriptedSink];

  let g: TestGateway = await startTestGateway({ redisUrl: redis.url, dataDir, clock });
  let stopped = false;
  cleanups.push(() => (stopped ? Promise.resolve() : g.stop()));
  const send = async (token: string, subject: string) => {
    const r = await sendWith(g, token, mail(subject));
    if (r.status !== 200) throw new Error(`send ${subject}: ${r.status} ${r.text}`);
    return r.json.data.message_id as string;
  };

  const a = await createSmtpProvider(g, sa.port, { name: "A (quota)" });
  const b = await createSmtpProvider(g, sb.port, { name: "B" });
  const c = await createSmtpProvider(g, sc.port, { name: "C (5 a minute)", quotas: { per_minute: 5 } });
  const onlyA = await scopedKey(g, [a]);
  const aOrB = await scopedKey(g, [a, b]);
  const onlyC = await scopedKey(g, [c]);

  // A is paused: three quota blocks inside five minutes.
  sa.script.data = QUOTA_AT_DATA;
  const failed: string[] = [];
  for (let i = 0; i < 3; i++) {
    const v = await nextAttempt(g, await send(onlyA, `A fails ${i}`), 0);
    expect(v.attempts[0].outcome).toBe("quota");
    failed.push(v.id);
  }
  const paused = (await providerView(g, a)).health;
  expect(paused).toMatchObject({ state: "paused", class: "quota" });
  expect(Date.parse(paused.until)).toBe(clock.now() + 24 * HOUR);

  // C's minute is nearly full: 4 of 5.
  for (let i = 0; i < 4; i++) expect((await nextAttempt(g, await send(onlyC, `C ${i}`), 0)).status).toBe("sent");
  expect((await providerView(g, c)).usage.minute).toBe(4);

  await g.stop();
  stopped = true;
  g = await startTestGateway({ redisUrl: redis.url, dataDir, clock });
  stopped = false;

  // The pause is remembered, to the millisecond.
  const after = await providerView(g, a);
  expect(after.health).toEqual(paused);
  expect(after.status).toBe("active");
  for (let i = 0; i < 8; i++) {
    const v = await nextAttempt(g, await send(aOrB, `after restart ${i}`), 0);
    expect(`${v.attempts[0].provider_id} ${v.status}`).toBe(`${b} sent`);
  }
  expect(sa.offered.length).toBe(3);
  for (const id of failed) expect((await emailView(g, id)).waiting?.reason).toBe("retry");

  // The window's count is remembered: one more fits this minute, the other three wait.
  expect((await providerView(g, c)).usage.minute).toBe(4);
  const more: string[] = [];
  for (let i = 0; i < 4; i++) more.push(await send(onlyC, `C after restart ${i}`));
  const nextMin = Math.floor(clock.now() / MIN) * MIN + MIN;
  const views = await waitFor(async () => {
    const vs = await Promise.all(more.map((id) => emailView(g, id)));
    return vs.filter((v) => v.status === "sent").length === 1 && vs.filter((v) => v.waiting?.reason === "cap").length === 3 ? vs : null;
  }, "one more of C's sends to go out and three to wait");
  for (const v of views.filter((v) => v.status !== "sent")) expect(v.waiting).toEqual({ reason: "cap", provider_id: c, until: new Date(nextMin).toISOString() });
  expect(sc.accepted.length).toBe(5);

  clock.set(nextMin);
  for (const id of more) await waitStatus(g, id, ["sent"]);
  expect(sc.accepted.length).toBe(8);

  // A's failed sends were sent with a key that reaches only A: at their retry time they wait for
  // A's pause to end, like a new message with that key.
  clock.advance(5 * MIN);
  for (const id of failed) {
    const v = await waitStatus(g, id, ["deferred"], "no_healthy_provider");
    expect(v.waiting.until).toBe(paused.until);
  }
  const waits = await send(onlyA, "waits for A");
  expect((await waitStatus(g, waits, ["queued"], "no_healthy_provider")).waiting.until).toBe(paused.until);
  expect(sa.offered.length).toBe(3);

  // When the pause ends, A takes them, each once.
  sa.script.data = null;
  clock.set(Date.parse(paused.until));
  for (const id of failed) {
    const v = await waitStatus(g, id, ["sent"]);
    expect(v.attempts.map((x: any) => `${x.provider_id} ${x.outcome}`)).toEqual([`${a} quota`, `${a} sent`]);
  }
  expect((await waitStatus(g, waits, ["sent"])).attempts.length).toBe(1);
  expect(sa.accepted.length).toBe(4);
});
