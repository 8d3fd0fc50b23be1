/**
 * Retries (SPEC "Routing" steps 4–5): a transient failure is retried at +5 min, +2 h and +12 h,
 * each time on another healthy provider in scope, and then the message fails with 4 attempts;
 * nothing goes out before its time. A recipient's permanent rejection fails the message at once
 * and never counts against the provider; failures the gateway causes itself never count either.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { pack } from "msgpackr";
import { ManualClock } from "../../src/clock.ts";
import { K } from "../../src/store/keys.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { createSmtpProvider, scopedKey, sendWith } from "../helpers/providers.ts";
import { CONTENT_REJECTED, emailView, nextAttempt, NO_SUCH_USER, providerView, QUIET_MS, startScriptedSink, TRY_LATER, waitStatus, type ScriptedSink } from "../helpers/routing.ts";

setDefaultTimeout(120_000);

const MIN = 60_000;
const HOUR = 60 * MIN;
const clock = new ManualClock(Date.UTC(2026, 3, 6, 8, 0, 0));
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

const mail = (subject: string, to = "buyer@example.net") => ({ from: { email: "shop@example.com" }, to: { email: to }, subject, text_body: `body of ${subject}` });

async function send(token: string, subject: string, to?: string): Promise<string> {
  const r = await sendWith(g, token, mail(subject, to));
  if (r.status !== 200) throw new Error(`send ${subject}: ${r.status} ${r.text}`);
  return r.json.data.message_id;
}

test("a message that fails transiently everywhere is retried at +5 min, +2 h, +12 h on the other provider, never early, then fails with 4 attempts", async () => {
  const [sa, sb] = [await sink(), await sink()];
  sa.script.data = TRY_LATER;
  sb.script.data = TRY_LATER;
  const a = await createSmtpProvider(g, sa.port, { name: "A (busy)" });
  const b = await createSmtpProvider(g, sb.port, { name: "B (busy)" });
  const token = await scopedKey(g, [a, b]);
  const offered = () => sa.offered.length + sb.offered.length;

  const id = await send(token, "retried everywhere");
  let v = await nextAttempt(g, id, 0);
  const schedule = [5 * MIN, 2 * HOUR, 12 * HOUR];
  for (let n = 1; n <= 3; n++) {
    const last = v.attempts[n - 1];
    expect(last.outcome).toBe("transient");
    expect(last.response).toContain("4.3.0");
    expect(v.status).toBe("deferred");
    const due = Date.parse(last.at) + schedule[n - 1]!;
    expect(v.next_attempt_at).toBe(new Date(due).toISOString());
    expect(v.waiting).toEqual({ reason: "retry", at: new Date(due).toISOString() });

    // One second before its time nothing happens, however long we wait in real time.
    clock.set(due - 1000);
    await Bun.sleep(QUIET_MS);
    expect(offered()).toBe(n);
    expect((await emailView(g, id)).attempts.length).toBe(n);

    clock.set(due);
    v = await nextAttempt(g, id, n);
    expect(Date.parse(v.attempts[n].at)).toBe(due);
    expect(offered()).toBe(n + 1);
  }
  expect(v.status).toBe("failed");
  expect(v.attempts.length).toBe(4);
  expect(v.next_attempt_at).toBeNull();
  expect(v.waiting).toBeNull();
  // Each retry avoided the provider the previous attempt failed on.
  const used = v.attempts.map((x: any) => x.provider_id);
  for (let i = 1; i < 4; i++) expect(used[i]).not.toBe(used[i - 1]);
  expect(new Set(used)).toEqual(new Set([a, b]));
  // Spread over 14 hours, these failures never made three inside five minutes.
  expect((await providerView(g, a)).health.state).toBe("ok");
  expect((await providerView(g, b)).health.state).toBe("ok");
  // Nothing more, ever.
  clock.advance(48 * HOUR);
  await Bun.sleep(QUIET_MS);
  expect(offered()).toBe(4);
});

test("a recipient's permanent rejection (RCPT 550 5.1.1, or 550 5.7.1 at DATA) fails at once and never counts against the provider", async () => {
  const s = await sink();
  const p = await createSmtpProvider(g, s.port, { name: "strict upstream" });
  const token = await scopedKey(g, [p]);

  s.script.rcpt = NO_SUCH_USER;
  for (let i = 0; i < 4; i++) {
    const id = await send(token, `unknown user ${i}`, "nobody@example.net");
    const v = await nextAttempt(g, id, 0);
    expect(v.status).toBe("failed");
    expect(v.attempts.length).toBe(1);
    expect(v.attempts[0].outcome).toBe("permanent_recipient");
    expect(v.attempts[0].response).toContain("5.1.1");
    expect(v.next_attempt_at).toBeNull();
    expect(v.waiting).toBeNull();
  }
  s.script.rcpt = null;
  s.script.data = CONTENT_REJECTED;
  for (let i = 0; i < 4; i++) {
    const v = await nextAttempt(g, await send(token, `spammy ${i}`), 0);
    expect(v.status).toBe("failed");
    expect(v.attempts.map((x: any) => x.outcome)).toEqual(["permanent_recipient"]);
  }
  // Eight rejections at one instant, and the provider is as healthy as before.
  expect((await providerView(g, p)).health).toEqual({ state: "ok", reason: null, class: null, until: null, recent_failures: 0 });
  clock.advance(13 * HOUR);
  await Bun.sleep(QUIET_MS);
  expect(s.offered.length).toBe(4); // the DATA ones, once each; the RCPT ones never reached DATA
  s.script.data = null;
  expect((await nextAttempt(g, await send(token, "fine"), 0)).status).toBe("sent");
});

test("failures the gateway causes itself (a message it cannot build) are retried and never count against the provider", async () => {
  const s = await sink();
  // A cap of 1 per minute holds the messages back while the test breaks them.
  const p = await createSmtpProvider(g, s.port, { name: "innocent upstream", quotas: { per_minute: 1 } });
  const token = await scopedKey(g, [p]);
  clock.set(Math.ceil(clock.now() / MIN) * MIN);
  expect((await nextAttempt(g, await send(token, "takes the minute's one send"), 0)).status).toBe("sent");
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push(await send(token, `broken ${i}`));
  for (const id of ids) await waitStatus(g, id, ["queued"], "cap");

  // Their stored bodies no longer decode into a message: building them fails inside the gateway.
  const key = (id: string) => K.msg(g.accountId, id);
  const bodies = new Map<string, Buffer>();
  for (const id of ids) {
    bodies.set(id, (await g.running.gw.redis.hgetBuffer(key(id), "body"))!);
    await g.running.gw.redis.hset(key(id), "body", pack({ kind: "mail" }));
  }
  expect((await g.api("PATCH", `/api/v1/providers/${p}`, { quotas: { per_minute: null } })).status).toBe(200);
  clock.advance(MIN);
  for (const id of ids) {
    const v = await nextAttempt(g, id, 0);
    expect(v.status).toBe("deferred");
    expect(v.attempts[0].outcome).toBe("transient");
    expect(v.attempts[0].response).toMatch(/^gateway error: /);
    expect(v.waiting).toEqual({ reason: "retry", at: v.next_attempt_at });
  }
  // Three failures at one instant, none of them the provider's.
  expect((await providerView(g, p)).health).toMatchObject({ state: "ok", recent_failures: 0 });
  expect(s.offered.length).toBe(1);

  for (const id of ids) await g.running.gw.redis.hset(key(id), "body", bodies.get(id)!);
  clock.advance(5 * MIN);
  for (const id of ids) {
    const v = await waitStatus(g, id, ["sent"]);
    expect(v.attempts.map((x: any) => x.outcome)).toEqual(["transient", "sent"]);
  }
  expect(s.accepted.length).toBe(4);
});
