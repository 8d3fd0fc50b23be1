/**
 * No provider at all (SPEC "Routing" step 6): a scope with no active provider refuses new sends
 * at once — HTTP 503 `service_unavailable` naming `no_active_providers`, relay `550 5.7.1` —
 * whether its providers are deactivated, disabled by the circuit (status `error`) or weighted 0.
 * A scope whose providers are only paused does not refuse: the message waits
 * (`waiting.reason` `no_healthy_provider`, until the pause ends) and then goes out.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { createSmtpProvider, relaySubmit, scopedKey, sendWith } from "../helpers/providers.ts";
import { AUTH_REFUSED, nextAttempt, providerView, QUIET_MS, QUOTA_AT_DATA, startScriptedSink, waitStatus, type ScriptedSink } from "../helpers/routing.ts";

setDefaultTimeout(120_000);

const clock = new ManualClock(Date.UTC(2026, 7, 3, 12, 0, 0));
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

const mail = (subject: string) => ({ from: { email: "app@example.com" }, to: { email: "user@example.net" }, subject, text_body: subject });
const eml = (subject: string) => Buffer.from(`From: app@example.com\r\nTo: user@example.net\r\nSubject: ${subject}\r\n\r\n${subject}\r\n`);
const envelope = { from: "app@example.com", to: ["user@example.net"] };

/** Every way in refuses at once, and nothing is queued. */
async function expectRefused(token: string, what: string) {
  const one = await sendWith(g, token, mail(what));
  expect(one.status).toBe(503);
  expect(one.json.error.code).toBe("service_unavailable");
  expect(one.json.error.message).toContain("no_active_providers");
  const batch = await g.api("POST", "/api/v1/emails/send/batch", { messages: [mail(`${what} batch`)] }, { authorization: `Bearer ${token}` });
  expect(batch.status).toBe(503);
  expect(batch.json.error.message).toContain("no_active_providers");
  const relay = await relaySubmit(g, token, eml(`${what} relay`), envelope);
  expect(relay.ok).toBe(false);
  expect(relay.response).toMatch(/^550 5\.7\.1 .*no_active_providers/);
}

test("a scope whose only provider is deactivated, or weighted 0, refuses at once (503 / 550 5.7.1)", async () => {
  const s = await sink();
  const p = await createSmtpProvider(g, s.port, { name: "switched off" });
  const token = await scopedKey(g, [p]);
  expect((await g.api("POST", `/api/v1/providers/${p}/deactivate`)).status).toBe(200);
  await expectRefused(token, "inactive");

  expect((await g.api("POST", `/api/v1/providers/${p}/activate`)).status).toBe(200);
  expect((await g.api("PATCH", `/api/v1/providers/${p}`, { percentage: 0 })).status).toBe(200);
  await expectRefused(token, "weight 0");

  expect((await g.api("PATCH", `/api/v1/providers/${p}`, { percentage: null })).status).toBe(200);
  expect((await nextAttempt(g, (await sendWith(g, token, mail("usable again"))).json.data.message_id, 0)).status).toBe("sent");
  expect(s.accepted.length).toBe(1);
});

test("a provider the circuit disabled (auth) leaves its scope with no active provider: refused until /activate", async () => {
  const s = await sink();
  s.script.auth = AUTH_REFUSED;
  const p = await createSmtpProvider(g, s.port, { name: "wrong password" });
  const token = await scopedKey(g, [p]);
  for (let i = 0; i < 3; i++) {
    const r = await sendWith(g, token, mail(`auth ${i}`));
    expect(r.status).toBe(200);
    expect((await nextAttempt(g, r.json.data.message_id, 0)).attempts[0].outcome).toBe("auth_config");
  }
  expect((await providerView(g, p)).status).toBe("error");
  await expectRefused(token, "disabled");
  s.script.auth = null;
  expect((await g.api("POST", `/api/v1/providers/${p}/activate`)).status).toBe(200);
  expect((await sendWith(g, token, mail("after activate"))).status).toBe(200);
});

test("a scope whose providers are only paused accepts: the message waits for no_healthy_provider, then goes out when the pause ends", async () => {
  const s = await sink();
  const p = await createSmtpProvider(g, s.port, { name: "quota for today" });
  const off = await createSmtpProvider(g, s.port, { name: "inactive sibling" });
  expect((await g.api("POST", `/api/v1/providers/${off}/deactivate`)).status).toBe(200);
  const token = await scopedKey(g, [p, off]);
  s.script.data = QUOTA_AT_DATA;
  for (let i = 0; i < 3; i++) {
    const r = await sendWith(g, token, mail(`quota ${i}`));
    expect((await nextAttempt(g, r.json.data.message_id, 0)).attempts[0].outcome).toBe("quota");
  }
  const h = (await providerView(g, p)).health;
  expect(h.state).toBe("paused");

  const r = await sendWith(g, token, mail("waits"));
  expect(r.status).toBe(200);
  const id = r.json.data.message_id;
  const relayed = await relaySubmit(g, token, eml("waits too"), envelope);
  expect(relayed.response).toMatch(/^250 /);
  for (const m of [id, relayed.id!]) {
    const v = await waitStatus(g, m, ["queued"], "no_healthy_provider");
    expect(v.waiting).toEqual({ reason: "no_healthy_provider", until: h.until });
    expect(v.attempts).toEqual([]);
  }
  await Bun.sleep(QUIET_MS);
  expect(s.offered.length).toBe(3);

  s.script.data = null;
  clock.set(Date.parse(h.until));
  for (const m of [id, relayed.id!]) {
    const v = await waitStatus(g, m, ["sent"]);
    expect(v.attempts.map((x: any) => `${x.provider_id} ${x.outcome}`)).toEqual([`${p} sent`]);
  }
});
