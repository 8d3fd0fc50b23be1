/**
 * The seed's story (SPEC "Routing" steps 4–5), end to end with real SMTP upstreams and a manual
 * clock: provider A fails provider-side three times inside five minutes, so it leaves rotation;
 * new traffic goes to B only; A's failed sends are retried on B and delivered, each exactly once
 * and byte for byte as A was offered them. A comes back by itself after the pause of its class
 * (quota 24 h, connection 1 h) and stays off after an auth fault until POST /activate. Failures
 * spread over more than five minutes do not pull a provider.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/net.ts";
import { createSmtpProvider, scopedKey, sendWith } from "../helpers/providers.ts";
import { AUTH_REFUSED, emailView, nextAttempt, providerView, QUOTA_AT_DATA, startScriptedSink, waitStatus, type ScriptedSink } from "../helpers/routing.ts";

setDefaultTimeout(120_000);

const MIN = 60_000;
const HOUR = 60 * MIN;
const clock = new ManualClock(Date.UTC(2026, 2, 2, 9, 0, 0));
let g: TestGateway;
const sinks: ScriptedSink[] = [];

beforeAll(async () => {
  g = await startTestGateway({ clock });
});
afterAll(async () => {
  await g?.stop();
  for (const s of sinks) await s.close();
});

async function sink(port?: number): Promise<ScriptedSink> {
  const s = await startScriptedSink({ port });
  sinks.push(s);
  return s;
}

const mail = (subject: string) => ({ from: { email: "shop@example.com" }, to: { email: "buyer@example.net" }, subject, text_body: `body of ${subject}` });

async function send(token: string, subject: string): Promise<string> {
  const r = await sendWith(g, token, mail(subject));
  if (r.status !== 200) throw new Error(`send ${subject}: ${r.status} ${r.text}`);
  return r.json.data.message_id;
}

const messageIdOf = (raw: Buffer) => /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(raw.toString("latin1"))?.[1] ?? "";

/**
 * Sends one message at a time (the key's scope holds A and B, equal weights) until A has failed
 * `n` times, moving the clock a minute after each of A's failures (so they are spread, but inside
 * five minutes). Returns the ids whose first attempt failed on A, and the ids B took at once.
 */
async function failOnA(token: string, a: string, n: number, tag: string, expectedOutcome: string) {
  const failed: string[] = [];
  const atB: string[] = [];
  for (let i = 0; failed.length < n; i++) {
    if (i >= 60) throw new Error(`A was chosen only ${failed.length} times in 60 sends`);
    const id = await send(token, `${tag} ${i}`);
    const v = await nextAttempt(g, id, 0);
    if (v.attempts[0].provider_id !== a) {
      expect(v.status).toBe("sent");
      atB.push(id);
      continue;
    }
    expect(v.attempts[0].outcome).toBe(expectedOutcome);
    expect(v.status).toBe("deferred");
    failed.push(id);
    const h = (await providerView(g, a)).health;
    if (failed.length < n) {
      expect(h).toMatchObject({ state: "ok", recent_failures: failed.length });
      clock.advance(MIN);
    }
  }
  return { failed, atB };
}

/** Sends `n` messages and returns, per message, the provider that took its first attempt. */
async function sendMany(token: string, n: number, tag: string): Promise<Array<{ id: string; provider: string; status: string }>> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await send(token, `${tag} ${i}`));
  const out = [];
  for (const id of ids) {
    const v = await nextAttempt(g, id, 0);
    out.push({ id, provider: v.attempts[0].provider_id, status: v.status });
  }
  return out;
}

describe("A answers a quota block at DATA three times inside five minutes", () => {
  let sinkA: ScriptedSink;
  let sinkB: ScriptedSink;
  let a: string;
  let b: string;
  let token: string;
  let failed: string[] = [];
  let atB: string[] = [];
  let pausedUntil = 0;

  beforeAll(async () => {
    sinkA = await sink();
    sinkB = await sink();
    a = await createSmtpProvider(g, sinkA.port, { name: "A (quota)" });
    b = await createSmtpProvider(g, sinkB.port, { name: "B" });
    token = await scopedKey(g, [a, b]);
    sinkA.script.data = QUOTA_AT_DATA;
  });

  test("the third failure pauses A for 24 hours (health paused, class quota)", async () => {
    ({ failed, atB } = await failOnA(token, a, 3, "quota", "quota"));
    const third = Date.parse((await emailView(g, failed[2]!)).attempts[0].at);
    const h = (await providerView(g, a)).health;
    expect(h.state).toBe("paused");
    expect(h.class).toBe("quota");
    expect(h.reason).toContain("SubmissionQuotaExceeded");
    expect(Date.parse(h.until)).toBe(third + 24 * HOUR);
    // A is paused, not disabled: its status is untouched.
    expect((await providerView(g, a)).status).toBe("active");
    expect((await providerView(g, b)).health).toMatchObject({ state: "ok", recent_failures: 0 });
    // Each of A's failed sends waits for its retry, 5 minutes after its attempt.
    for (const id of failed) {
      const v = await emailView(g, id);
      const at = Date.parse(v.attempts[0].at);
      expect(v.next_attempt_at).toBe(new Date(at + 5 * MIN).toISOString());
      expect(v.waiting).toEqual({ reason: "retry", at: v.next_attempt_at });
    }
    pausedUntil = Date.parse(h.until);
  });

  test("new traffic goes only to B while A is paused", async () => {
    const offeredAtA = sinkA.offered.length;
    const res = await sendMany(token, 12, "during pause");
    expect(res.map((r) => `${r.provider} ${r.status}`)).toEqual(res.map(() => `${b} sent`));
    expect(sinkA.offered.length).toBe(offeredAtA);
    atB.push(...res.map((r) => r.id));
  });

  test("A's failed sends are retried on B after 5 minutes and each is delivered once, as A was offered it", async () => {
    // Nothing is retried before its time.
    expect(sinkB.accepted.length).toBe(atB.length);
    clock.advance(6 * MIN); // past the latest retry time (third failure + 5 min)
    for (const id of failed) {
      const v = await waitStatus(g, id, ["sent"]);
      expect(v.attempts.map((x: any) => `${x.provider_id} ${x.outcome}`)).toEqual([`${a} quota`, `${b} sent`]);
      expect(v.routing.provider_id).toBe(b);
      expect(v.waiting).toBeNull();
      expect(v.next_attempt_at).toBeNull();
    }
    // B received every message exactly once.
    const all = [...atB, ...failed];
    const headerOf = new Map<string, string>();
    for (const id of all) headerOf.set((await emailView(g, id)).message_id_header, id);
    const atSinkB = sinkB.accepted.map((m) => messageIdOf(m.raw));
    expect(atSinkB.length).toBe(all.length);
    expect(new Set(atSinkB).size).toBe(all.length);
    expect(atSinkB.every((h) => headerOf.has(h))).toBe(true);
    // The retry carries the very bytes A was offered.
    for (const id of failed) {
      const h = (await emailView(g, id)).message_id_header;
      const offered = sinkA.offered.filter((m) => messageIdOf(m.raw) === h);
      const received = sinkB.accepted.filter((m) => messageIdOf(m.raw) === h);
      expect(offered.length).toBe(1);
      expect(received.length).toBe(1);
      expect(received[0]!.raw.equals(offered[0]!.raw)).toBe(true);
    }
  });

  test("A stays out until the 24 h pause ends, then takes traffic again by itself", async () => {
    sinkA.script.data = null; // the quota has reset upstream
    clock.set(pausedUntil - 1000);
    expect((await providerView(g, a)).health.state).toBe("paused");
    const before = await sendMany(token, 6, "just before the end");
    expect(before.every((r) => r.provider === b && r.status === "sent")).toBe(true);

    clock.set(pausedUntil);
    expect((await providerView(g, a)).health).toMatchObject({ state: "ok", until: null, recent_failures: 0 });
    const after = await sendMany(token, 24, "after the pause");
    expect(after.every((r) => r.status === "sent")).toBe(true);
    const toA = after.filter((r) => r.provider === a).length;
    // Equal weights again: 24 draws with none for A has a chance of 2^-24.
    expect(toA).toBeGreaterThan(0);
    expect(sinkA.accepted.length).toBe(toA);
  });
});

describe("A cannot be reached (connection refused) three times", () => {
  test("A is paused for 1 hour, its sends are delivered by B, and A takes traffic again after the hour", async () => {
    const portA = await freePort(); // nothing listens here yet
    const sinkB = await sink();
    const a = await createSmtpProvider(g, portA, { name: "A (down)" });
    const b = await createSmtpProvider(g, sinkB.port, { name: "B" });
    const token = await scopedKey(g, [a, b]);

    const { failed } = await failOnA(token, a, 3, "unreachable", "connection");
    const h = (await providerView(g, a)).health;
    const third = Date.parse((await emailView(g, failed[2]!)).attempts[0].at);
    expect(h).toMatchObject({ state: "paused", class: "connection" });
    expect(Date.parse(h.until)).toBe(third + HOUR);

    clock.advance(6 * MIN);
    for (const id of failed) {
      const v = await waitStatus(g, id, ["sent"]);
      expect(v.attempts.map((x: any) => `${x.provider_id} ${x.outcome}`)).toEqual([`${a} connection`, `${b} sent`]);
    }

    const sinkA = await sink(portA); // A is back up
    clock.set(Date.parse(h.until) - 1000);
    expect((await sendMany(token, 6, "A still paused")).every((r) => r.provider === b)).toBe(true);
    expect(sinkA.offered.length).toBe(0);
    clock.set(Date.parse(h.until));
    const after = await sendMany(token, 24, "A back");
    expect(after.every((r) => r.status === "sent")).toBe(true);
    expect(after.filter((r) => r.provider === a).length).toBeGreaterThan(0);
    expect(sinkA.accepted.length).toBe(after.filter((r) => r.provider === a).length);
  });
});

describe("A refuses the login (535) three times", () => {
  test("A is disabled (status error) and stays off, even a day later, until POST /activate", async () => {
    const sinkA = await sink();
    const sinkB = await sink();
    const a = await createSmtpProvider(g, sinkA.port, { name: "A (bad password)" });
    const b = await createSmtpProvider(g, sinkB.port, { name: "B" });
    const token = await scopedKey(g, [a, b]);
    sinkA.script.auth = AUTH_REFUSED;

    const { failed } = await failOnA(token, a, 3, "auth", "auth_config");
    const pa = await providerView(g, a);
    expect(pa.health).toMatchObject({ state: "disabled", class: "auth_config", until: null });
    expect(pa.status).toBe("error");
    expect(pa.status_reason).toContain(`/api/v1/providers/${a}/activate`);
    expect(sinkA.offered.length).toBe(0); // refused at AUTH: no message ever reached DATA

    clock.advance(6 * MIN);
    for (const id of failed) {
      const v = await waitStatus(g, id, ["sent"]);
      expect(v.attempts.map((x: any) => `${x.provider_id} ${x.outcome}`)).toEqual([`${a} auth_config`, `${b} sent`]);
    }

    // Fixing the password upstream is not enough: it stays off, however long we wait.
    sinkA.script.auth = null;
    clock.advance(25 * HOUR);
    const authsBefore = sinkA.auths;
    expect((await providerView(g, a)).health.state).toBe("disabled");
    const off = await sendMany(token, 10, "still disabled");
    expect(off.every((r) => r.provider === b && r.status === "sent")).toBe(true);
    expect(sinkA.auths).toBe(authsBefore);

    const act = await g.api("POST", `/api/v1/providers/${a}/activate`);
    expect(act.status).toBe(200);
    expect(act.json.data.status).toBe("active");
    expect(act.json.data.health).toMatchObject({ state: "ok", reason: null, until: null, recent_failures: 0 });
    const after = await sendMany(token, 24, "activated");
    expect(after.every((r) => r.status === "sent")).toBe(true);
    expect(after.filter((r) => r.provider === a).length).toBeGreaterThan(0);
    expect(sinkA.accepted.length).toBe(after.filter((r) => r.provider === a).length);
  });
});

describe("the five-minute window", () => {
  test("three failures spread over more than five minutes do not pull the provider; three inside do", async () => {
    const s = await sink();
    const a = await createSmtpProvider(g, s.port, { name: "only provider" });
    const token = await scopedKey(g, [a]);
    s.script.data = QUOTA_AT_DATA;
    const failOnce = async (subject: string) => {
      const id = await send(token, subject);
      const v = await nextAttempt(g, id, 0);
      expect(v.attempts[0].outcome).toBe("quota");
      // Canceled, so its own retry does not add failures to the count.
      expect((await g.api("POST", `/api/v1/emails/${id}/cancel`)).status).toBe(200);
      return (await providerView(g, a)).health;
    };
    expect(await failOnce("t+0")).toMatchObject({ state: "ok", recent_failures: 1 });
    clock.advance(3 * MIN);
    expect(await failOnce("t+3")).toMatchObject({ state: "ok", recent_failures: 2 });
    clock.advance(3 * MIN);
    // The failure at t+0 is older than five minutes now: two inside the window, not three.
    expect(await failOnce("t+6")).toMatchObject({ state: "ok", recent_failures: 2 });
    expect(await failOnce("t+6 again")).toMatchObject({ state: "paused", class: "quota" });
  });
});
