/**
 * amazon_ses end to end: the gateway sends through @aws-sdk/client-sesv2 to aws-ses-v2-local (a
 * local SES v2 endpoint written by others; a recorder in front of it shows the exact request), and
 * to a local endpoint that answers with SES's documented errors for the failure rows. What SES
 * received is parsed with mailparser; message status and provider health are read from the API.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { simpleParser } from "mailparser";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/net.ts";
import { caseBytes, getCase, judge } from "../helpers/cases.ts";
import { createProvider, relaySubmit, scopedKey, sendWith } from "../helpers/providers.ts";
import { nextAttempt, providerView } from "../helpers/routing.ts";
import { sesAccount, startSesLocal, type SesLocal } from "../helpers/ses-local.ts";
import { SES_ERRORS, startFakeSes, type FakeSes } from "../helpers/fake-ses.ts";

setDefaultTimeout(60_000);

const clock = new ManualClock(Date.UTC(2026, 5, 1, 9, 0, 0));
let g: TestGateway;
let local: SesLocal;
let sandbox: SesLocal;
const fakes: FakeSes[] = [];
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

beforeAll(async () => {
  [g, local, sandbox] = await Promise.all([
    startTestGateway({ clock }),
    startSesLocal(sesAccount({ MaxSendRate: 14, Max24HourSend: 50_000, SentLast24Hours: 7 })),
    startSesLocal(sesAccount({ MaxSendRate: 1, Max24HourSend: 200, ProductionAccessEnabled: false })),
  ]);
});
afterAll(async () => {
  await g?.stop();
  await local?.stop();
  await sandbox?.stop();
  for (const f of fakes) f.stop();
});

function fake(): FakeSes {
  const f = startFakeSes(sesAccount());
  fakes.push(f);
  return f;
}

async function sesProvider(endpoint: string, extra: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
  const id = await createProvider(g, {
    type: "amazon_ses",
    name: `ses ${endpoint}`,
    config: { region: "eu-west-1", access_key_id: "AKIAIOSFODNN7EXAMPLE", secret_access_key: SECRET, endpoint },
    ...extra,
  });
  return { id, token: await scopedKey(g, [id]) };
}

async function send(token: string, body: Record<string, unknown>): Promise<string> {
  const r = await sendWith(g, token, body);
  if (r.status !== 200) throw new Error(`send: ${r.status} ${r.text}`);
  return r.json.data.message_id;
}

const mail = (subject: string, extra: Record<string, unknown> = {}) => ({
  from: { email: "sender@example.com", name: "Sam Sender" },
  to: { email: "alice@example.net" },
  subject,
  text_body: "Grüße aus Köln",
  ...extra,
});

/** The record as stored (detected_quotas is not part of the API item). */
async function record(id: string) {
  g.running.gw.providers.invalidate(g.accountId);
  return (await g.running.gw.providers.get(g.accountId, id))!;
}

describe("sending through aws-ses-v2-local", () => {
  test("the envelope is the Destination (Bcc delivered, no Bcc header), the raw message arrives whole, signed with the config's key", async () => {
    const { id, token } = await sesProvider(local.endpoint);
    const before = local.calls.length;
    const mid = await send(token, mail("to, cc and bcc", { to: [{ email: "alice@example.net" }], cc: [{ email: "carol@example.org" }], bcc: [{ email: "hidden@example.com" }], html_body: "<p>Grüße</p>", attachments: [{ filename: "a.txt", content: Buffer.from("attached").toString("base64") }] }));
    const v = await g.settle(mid, ["sent", "failed"]);
    expect(v.status).toBe("sent");
    expect(v.provider_id).toBe(id);
    const calls = local.calls.slice(before);
    expect(calls).toHaveLength(1);
    const c = calls[0]!;
    expect(c.from).toBe("sender@example.com");
    expect(c.to.sort()).toEqual(["alice@example.net", "carol@example.org", "hidden@example.com"]);
    expect(c.status).toBe(200);
    expect(c.authorization).toContain("Credential=AKIAIOSFODNN7EXAMPLE/");
    expect(c.authorization).toContain("/eu-west-1/ses/aws4_request");
    expect(v.attempts[0].response).toContain(c.messageId!);
    const parsed = await simpleParser(c.raw);
    expect(parsed.subject).toBe("to, cc and bcc");
    expect(parsed.text?.trim()).toBe("Grüße aus Köln");
    expect(parsed.html).toContain("Grüße");
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([["a.txt", "attached"]]);
    expect(parsed.headers.has("bcc")).toBe(false);
    expect(c.raw.toString("latin1")).not.toMatch(/^Bcc:/im);
    // aws-ses-v2-local kept it under the MessageId it answered with.
    const stored = (await local.stored()).find((e) => e.messageId === c.messageId);
    expect(stored?.subject).toBe("to, cc and bcc");
    // The provider's credentials never come back.
    const p = await g.api("GET", `/api/v1/providers/${id}`);
    expect(p.text).not.toContain(SECRET);
    expect(p.text).not.toContain("AKIAIOSFODNN7EXAMPLE");
  });

  test("GetAccount at creation sets the default caps (90 %); /test reports production, the quota and sending enabled", async () => {
    const { id } = await sesProvider(local.endpoint);
    const rec = await waitFor(async () => (await record(id)).detected_quotas, "GetAccount read at creation");
    expect(rec).toMatchObject({ per_second: 12, per_day: 45_000, max_send_rate: 14, max_24_hour_send: 50_000, sent_last_24_hours: 7, production_access: true, sending_enabled: true });
    const full = await record(id);
    expect(full.version).toBe(1);
    expect(full.status_reason).toBeNull();
    const { CapStore } = await import("../../src/routing/caps.ts");
    expect(CapStore.args(full, clock.now(), 1).caps).toEqual([12, null, null, 45_000]);
    // The API shows the caps in force, though the user set none.
    const shown = await g.api("GET", `/api/v1/providers/${id}`);
    expect(shown.json.data.quotas).toEqual({ per_second: null, per_minute: null, per_hour: null, per_day: null });
    expect(shown.json.data.quotas_in_force).toEqual({ per_second: { min: 12, max: 12 }, per_minute: null, per_hour: null, per_day: { min: 45_000, max: 45_000 } });
    const reads = local.accountReads();
    const t = await g.api("POST", `/api/v1/providers/${id}/test`);
    expect(t.status).toBe(200);
    expect(t.json.data.success).toBe(true);
    expect(t.json.data.message).toContain("production access in eu-west-1");
    expect(t.json.data.message).toContain("send quota 14/s, 50000/24 h");
    expect(t.json.data.message).toContain("sending enabled");
    expect(local.accountReads()).toBe(reads + 1);
    expect(t.text).not.toContain(SECRET);
  });

  test("user quotas win over the account's", async () => {
    const { id } = await sesProvider(local.endpoint, { quotas: { per_second: 3 } });
    await waitFor(async () => (await record(id)).detected_quotas, "GetAccount read at creation");
    const { CapStore } = await import("../../src/routing/caps.ts");
    expect(CapStore.args(await record(id), clock.now(), 1).caps).toEqual([3, null, null, 45_000]);
    expect((await g.api("GET", `/api/v1/providers/${id}`)).json.data.quotas_in_force).toEqual({ per_second: { min: 3, max: 3 }, per_minute: null, per_hour: null, per_day: { min: 45_000, max: 45_000 } });
  });

  test("a sandbox account is shown in status_reason and /test; caps 1/s and 180/day", async () => {
    const { id } = await sesProvider(sandbox.endpoint);
    await waitFor(async () => (await record(id)).detected_quotas, "GetAccount read at creation");
    const p = await providerView(g, id);
    expect(p.status).toBe("active");
    expect(p.status_reason).toContain("sandbox in eu-west-1");
    const t = await g.api("POST", `/api/v1/providers/${id}/test`);
    expect(t.json.data.success).toBe(true);
    expect(t.json.data.message).toContain("sandbox");
    const { CapStore } = await import("../../src/routing/caps.ts");
    expect(CapStore.args(await record(id), clock.now(), 1).caps).toEqual([1, null, null, 180]);
  });

  test("the reading is refreshed while sending once it is an hour old, without a version bump", async () => {
    const { id, token } = await sesProvider(local.endpoint);
    await waitFor(async () => (await record(id)).detected_quotas, "GetAccount read at creation");
    const first = (await record(id)).detected_quotas!.read_at;
    clock.advance(61 * 60_000);
    const reads = local.accountReads();
    const mid = await send(token, mail("an hour later"));
    expect((await g.settle(mid, ["sent", "failed"])).status).toBe("sent");
    await waitFor(async () => (await record(id)).detected_quotas!.read_at !== first, "a fresh reading");
    expect(local.accountReads()).toBe(reads + 1);
    expect((await record(id)).version).toBe(1);
  });
});

describe("cases through an amazon_ses provider", () => {
  test("B37: two DKIM-Signature headers fail once, permanently, naming DKIM-Signature; nothing reaches SES", async () => {
    const c = getCase("B37");
    const { token } = await sesProvider(local.endpoint);
    const before = local.calls.length;
    const env = { from: (c.envelope as any).mail_from, to: (c.envelope as any).rcpt_to };
    const r = await relaySubmit(g, token, caseBytes(c.files[0]!), env);
    expect(r.id).not.toBeNull();
    const message = await g.settle(r.id!, ["sent", "failed", "rejected"]);
    const fails = await judge(c.expect, { smtp: { replies: [r.response], closed: false }, message });
    expect(fails).toEqual([]);
    expect(message.status).toBe("failed");
    expect(local.calls.length).toBe(before);
  });

  test("B42a: an IDN domain reaches SES as its A-label", async () => {
    const c = getCase("B42a");
    const { token } = await sesProvider(local.endpoint);
    const before = local.calls.length;
    const body = JSON.parse(caseBytes(c.files[0]!).toString("utf8"));
    const r = await sendWith(g, token, body);
    let message = null;
    if (r.status === 200) message = await g.settle(r.json.data.message_id, ["sent", "failed"]);
    const delivered = local.calls.slice(before).map((x) => ({ raw: x.raw, envelope: { from: x.from ?? "", to: x.to } }));
    const fails = await judge(c.expect, { http: { status: r.status, json: r.json }, message, delivered, request: body });
    expect(fails).toEqual([]);
    // This gateway takes the address and converts it: the A-label is what SES saw.
    expect(r.status).toBe(200);
    expect(delivered.flatMap((d) => d.envelope.to)).toEqual(["user@xn--bcher-kva.example"]);
  });
});

describe("SES errors (local endpoint with the documented error answers)", () => {
  test("Maximum sending rate exceeded (429): retried later, the provider stays in rotation", async () => {
    const f = fake();
    const { id, token } = await sesProvider(f.endpoint);
    f.script.SendEmail.push(SES_ERRORS.maxRate);
    const mid = await send(token, mail("throttled"));
    const v = await nextAttempt(g, mid, 0);
    expect(v.attempts[0].outcome).toBe("transient");
    expect(v.attempts[0].response).toContain("TooManyRequestsException (HTTP 429): Maximum sending rate exceeded.");
    expect(["deferred", "queued"]).toContain(v.status);
    expect(v.next_attempt_at).not.toBeNull();
    const p = await providerView(g, id);
    expect(p.health.state).toBe("ok");
    expect(p.health.recent_failures).toBe(1);
  });

  test("Daily message quota exceeded three times: quota, the provider pauses for 24 h", async () => {
    const f = fake();
    const { id, token } = await sesProvider(f.endpoint);
    for (let i = 0; i < 3; i++) f.script.SendEmail.push(SES_ERRORS.dailyQuota);
    for (let i = 0; i < 3; i++) {
      const mid = await send(token, mail(`quota ${i}`));
      const v = await nextAttempt(g, mid, 0);
      expect(v.attempts[0].outcome).toBe("quota");
      expect(v.attempts[0].response).toContain("daily sending quota is used up");
    }
    const p = await providerView(g, id);
    expect(p.health.state).toBe("paused");
    expect(Date.parse(p.health.until) - clock.now()).toBeGreaterThan(23 * 3_600_000);
  });

  for (const [name, err] of [
    ["InvalidClientTokenId", SES_ERRORS.invalidToken],
    ["SendingPausedException", SES_ERRORS.sendingPaused],
    ["MessageRejected: the sender is not verified", SES_ERRORS.senderNotVerified],
  ] as const) {
    test(`${name}: auth_config; three disable the provider until /activate`, async () => {
      const f = fake();
      const { id, token } = await sesProvider(f.endpoint);
      for (let i = 0; i < 3; i++) f.script.SendEmail.push(err);
      for (let i = 0; i < 3; i++) {
        const mid = await send(token, mail(`${name} ${i}`));
        const v = await nextAttempt(g, mid, 0);
        expect(v.attempts[0].outcome).toBe("auth_config");
        expect(v.attempts[0].response).toContain(err.message);
        expect(v.attempts[0].response).not.toContain(SECRET);
      }
      const p = await providerView(g, id);
      expect(p.health.state).toBe("disabled");
      const a = await g.api("POST", `/api/v1/providers/${id}/activate`);
      expect(a.status).toBe(200);
      expect((await providerView(g, id)).health.state).toBe("ok");
    });
  }

  test("MessageRejected for an unverified recipient (sandbox): the message fails, the provider is not blamed", async () => {
    const f = fake();
    const { id, token } = await sesProvider(f.endpoint);
    f.script.SendEmail.push(SES_ERRORS.recipientNotVerified);
    const mid = await send(token, mail("sandbox recipient"));
    const v = await g.settle(mid, ["failed", "rejected"]);
    expect(v.attempts).toHaveLength(1);
    expect(v.attempts[0].outcome).toBe("permanent_recipient");
    expect(v.attempts[0].response).toContain("SES sandbox");
    const p = await providerView(g, id);
    expect(p.health.state).toBe("ok");
    expect(p.health.recent_failures).toBe(0);
  });

  test("InternalServiceErrorException (500): transient", async () => {
    const f = fake();
    const { token } = await sesProvider(f.endpoint);
    f.script.SendEmail.push(SES_ERRORS.internal);
    const v = await nextAttempt(g, await send(token, mail("500")), 0);
    expect(v.attempts[0].outcome).toBe("transient");
  });

  test("nothing listening at the endpoint: connection, and /test says so", async () => {
    const port = await freePort();
    const { id, token } = await sesProvider(`http://127.0.0.1:${port}`);
    const v = await nextAttempt(g, await send(token, mail("nobody home")), 0);
    expect(v.attempts[0].outcome).toBe("connection");
    expect(v.attempts[0].response).toContain(`could not reach Amazon SES at http://127.0.0.1:${port}`);
    const t = await g.api("POST", `/api/v1/providers/${id}/test`);
    expect(t.json.data.success).toBe(false);
    expect(t.json.data.message).toContain("could not reach");
  });

  test("/test with refused credentials or a paused account fails and says why; nothing is sent", async () => {
    const f = fake();
    const { id } = await sesProvider(f.endpoint);
    await waitFor(() => f.calls.some((c) => c.op === "GetAccount"), "GetAccount read at creation");
    f.script.GetAccount.push(SES_ERRORS.signature);
    const t = await g.api("POST", `/api/v1/providers/${id}/test`);
    expect(t.json.data.success).toBe(false);
    expect(t.json.data.message).toContain("refused the credentials");
    expect(t.json.data.message).toContain("SignatureDoesNotMatch");
    f.script.GetAccount.push({ ok: true, body: sesAccount({ SendingEnabled: false }) });
    const t2 = await g.api("POST", `/api/v1/providers/${id}/test`);
    expect(t2.json.data.success).toBe(false);
    expect(t2.json.data.message).toContain("sending PAUSED");
    expect((await providerView(g, id)).status_reason).toContain("PAUSED");
    expect(f.calls.filter((c) => c.op === "SendEmail")).toHaveLength(0);
  });
});
