/**
 * Caps that wait (SPEC "Routing" step 3): over-cap sends stay `queued`, show what they wait for
 * (`waiting: {reason: "cap", provider_id, until}`) and go out as the clock moves into the next
 * windows; none fails and no window takes more than its cap (counted at the sink). With a second
 * provider in scope, traffic spills over to it instead of waiting. A `{min, max}` range draws a
 * cap inside the range for each window.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { capFor } from "../../src/routing/windows.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { createSmtpProvider, scopedKey } from "../helpers/providers.ts";
import { emailView, providerView, QUIET_MS, startScriptedSink, type ScriptedSink } from "../helpers/routing.ts";

setDefaultTimeout(120_000);

const MIN = 60_000;
// Mid-minute on purpose: windows are aligned to UTC minutes, not to the first send.
const clock = new ManualClock(Date.UTC(2026, 5, 15, 10, 20, 30));
let g: TestGateway;
const sinks: ScriptedSink[] = [];

beforeAll(async () => {
  g = await startTestGateway({ clock });
});
afterAll(async () => {
  await g?.stop();
  for (const s of sinks) await s.close();
});

async function sink(): Promise<ScriptedSink> {
  const s = await startScriptedSink();
  sinks.push(s);
  return s;
}

const nextMinute = () => Math.floor(clock.now() / MIN) * MIN + MIN;

async function batch(token: string, n: number, tag: string): Promise<string[]> {
  const messages = Array.from({ length: n }, (_, i) => ({ from: { email: "news@example.com" }, to: { email: `r${i}@example.net` }, subject: `${tag} ${i}`, text_body: `${tag} ${i}` }));
  const r = await g.api("POST", "/api/v1/emails/send/batch", { messages }, { authorization: `Bearer ${token}` });
  if (r.status !== 200) throw new Error(`batch: ${r.status} ${r.text}`);
  expect(r.json.data.summary).toEqual({ total: n, queued: n, failed: 0 });
  return r.json.data.results.map((x: any) => x.message_id);
}

/**
 * Waits until nothing more can happen before the clock moves: every message is sent or waits for
 * a cap window that has not begun yet. Returns the views.
 */
async function settled(ids: string[]): Promise<any[]> {
  return waitFor(async () => {
    const views = await Promise.all(ids.map((id) => emailView(g, id)));
    return views.every((v) => v.status === "sent" || (v.status === "queued" && v.waiting?.reason === "cap" && Date.parse(v.waiting.until) > clock.now())) ? views : null;
  }, "every message sent or waiting for a cap", 20_000);
}

test("per_minute 5 on the only provider: 12 messages go out 5, 5, 2 as the minutes turn; the rest wait for the cap, none fails", async () => {
  const s = await sink();
  const p = await createSmtpProvider(g, s.port, { name: "capped", quotas: { per_minute: 5 } });
  const token = await scopedKey(g, [p]);
  const ids = await batch(token, 12, "capped");

  for (const [window, expectSent] of [[0, 5], [1, 10], [2, 12]] as const) {
    if (window > 0) clock.set(nextMinute());
    const views = await settled(ids);
    const sent = views.filter((v) => v.status === "sent");
    expect(sent.length).toBe(expectSent);
    expect(s.accepted.length).toBe(expectSent);
    const until = new Date(nextMinute()).toISOString();
    for (const v of views.filter((v) => v.status !== "sent")) {
      expect(v.waiting).toEqual({ reason: "cap", provider_id: p, until });
      expect(v.attempts).toEqual([]);
    }
    expect((await providerView(g, p)).usage.minute).toBe(expectSent - [0, 5, 10][window]!);
    if (window === 0) {
      // However long we wait, the minute's cap holds.
      await Bun.sleep(QUIET_MS);
      expect(s.accepted.length).toBe(5);
    }
  }
  const views = await Promise.all(ids.map((id) => emailView(g, id)));
  expect(views.every((v) => v.status === "sent" && v.attempts.length === 1 && v.waiting === null)).toBe(true);
  expect(new Set(s.accepted.map((m) => m.to[0])).size).toBe(12);
  expect((await providerView(g, p)).usage).toMatchObject({ minute: 2, hour: 12, day: 12 });
});

test("two providers, one capped at 2 per minute: the rest spills over to the other, nothing waits", async () => {
  const [sc, so] = [await sink(), await sink()];
  const capped = await createSmtpProvider(g, sc.port, { name: "capped at 2", quotas: { per_minute: 2 } });
  const open = await createSmtpProvider(g, so.port, { name: "open" });
  const token = await scopedKey(g, [capped, open]);
  clock.set(nextMinute());
  const ids = await batch(token, 20, "spill");
  const views = await waitFor(async () => {
    const vs = await Promise.all(ids.map((id) => emailView(g, id)));
    return vs.every((v) => v.status === "sent") ? vs : null;
  }, "all 20 sent");
  expect(sc.accepted.length).toBe(2);
  expect(so.accepted.length).toBe(18);
  expect(views.every((v) => v.attempts.length === 1)).toBe(true);
  // Where the capped provider was drawn first, the message says why it went to the other one.
  const spilled = views.filter((v) => v.routing.provider_id === open && v.routing.why.includes("at their cap"));
  expect(spilled.length).toBeGreaterThan(0);
  expect(spilled[0].routing.why).toContain(`${capped} (minute cap 2)`);
});

test("a {min, max} range draws its cap per window inside the range, and each window sends exactly that many", async () => {
  const s = await sink();
  const range = { min: 2, max: 6 };
  const p = await createSmtpProvider(g, s.port, { name: "ranged", quotas: { per_minute: range } });
  expect((await providerView(g, p)).quotas.per_minute).toEqual(range);
  const token = await scopedKey(g, [p]);
  clock.set(nextMinute());
  const total = 30;
  const ids = await batch(token, total, "ranged");
  const caps: number[] = [];
  let before = 0;
  while (before < total) {
    const win = Math.floor(clock.now() / MIN) * MIN;
    const cap = capFor(range, p, win)!;
    expect(cap).toBeGreaterThanOrEqual(range.min);
    expect(cap).toBeLessThanOrEqual(range.max);
    caps.push(cap);
    await settled(ids);
    expect(s.accepted.length - before).toBe(Math.min(cap, total - before));
    before = s.accepted.length;
    clock.set(nextMinute());
  }
  // Over this many windows the draws differ (all equal has a chance of 5^-(n-1)).
  expect(caps.length).toBeGreaterThan(5);
  expect(new Set(caps).size).toBeGreaterThan(1);
});
