/**
 * gmail_api failures end to end: the local Google answers with the documented token-endpoint and
 * Gmail API error bodies (research §1.2), and the gateway shows what each means — the attempt's
 * outcome and text, the message's status, and the provider's health. Three invalid_grant
 * answers inside five minutes disable the provider (status error) until it is activated again.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { GMAIL_ERRORS, SCOPE_SEND, startFakeGoogle, type FakeGoogle } from "../helpers/fake-google.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { createProvider, scopedKey, sendWith } from "../helpers/providers.ts";
import { nextAttempt, providerView } from "../helpers/routing.ts";

setDefaultTimeout(60_000);

let g: TestGateway;
let google: FakeGoogle;
const CLIENT = "client-f.apps.googleusercontent.com";
const MAILBOX = "sender@example.com";

beforeAll(async () => {
  [g, google] = await Promise.all([startTestGateway(), startFakeGoogle()]);
  google.addClient(CLIENT, "secret-f");
});
afterAll(async () => {
  await g?.stop();
  await google?.close();
});

let n = 0;
/** A provider with its own refresh token (so revoking one touches no other), and a key for it alone. */
async function route(over: Record<string, unknown> = {}): Promise<{ pid: string; token: string; refresh: string }> {
  const refresh = `1//refresh-${++n}`;
  google.addRefreshToken(refresh, { clientId: CLIENT, mailbox: MAILBOX });
  const config = { client_id: CLIENT, client_secret: "secret-f", refresh_token: refresh, token_url: google.tokenUrl, api_base_url: google.url, ...over };
  const pid = await createProvider(g, { type: "gmail_api", name: `gmail ${n}`, config, quotas: { per_minute: 1000, per_day: 100000 } });
  return { pid, token: await scopedKey(g, [pid]), refresh };
}

async function send(token: string, subject: string): Promise<string> {
  const r = await sendWith(g, token, { from: { email: MAILBOX }, to: { email: "alice@example.net" }, subject, text_body: "hello" });
  if (r.status !== 200) throw new Error(`send: ${r.status} ${r.text}`);
  return r.json.data.message_id;
}

/** Sends one message and returns its view after the first attempt. */
async function once(token: string, subject: string): Promise<any> {
  return nextAttempt(g, await send(token, subject), 0);
}

describe("token endpoint", () => {
  test("invalid_grant three times inside five minutes disables the provider (status error) until /activate", async () => {
    const { pid, token, refresh } = await route();
    google.revokeRefreshToken(refresh);
    for (let i = 1; i <= 3; i++) {
      const v = await once(token, `revoked ${i}`);
      expect(v.attempts[0].outcome).toBe("auth_config");
      expect(v.attempts[0].response).toContain("Google refused the refresh token");
      expect(v.attempts[0].response).toContain("invalid_grant Token has been expired or revoked.");
      expect(v.attempts[0].response).not.toContain(refresh);
      // Not the message's fault: it waits for a retry rather than failing.
      expect(v.status).toBe("deferred");
      const p = await providerView(g, pid);
      if (i < 3) expect(p.health).toMatchObject({ state: "ok", recent_failures: i });
    }
    const p = await providerView(g, pid);
    expect(p.status).toBe("error");
    expect(p.status_reason).toContain("invalid_grant");
    expect(p.status_reason).toContain("/activate");
    expect(p.health.state).toBe("disabled");
    expect(google.sent).toHaveLength(0);
    // Nothing else in the key's scope: refused at once.
    const r = await sendWith(g, token, { from: { email: MAILBOX }, to: { email: "alice@example.net" }, subject: "while disabled", text_body: "x" });
    expect(r.status).toBe(503);
    expect(r.json.error.message).toContain("no_active_providers");
    // The user authorises again (the same token is valid again here), then activates.
    google.addRefreshToken(refresh, { clientId: CLIENT, mailbox: MAILBOX });
    const act = await g.api("POST", `/api/v1/providers/${pid}/activate`);
    expect(act.status).toBe(200);
    expect((await providerView(g, pid)).health.state).toBe("ok");
    const v = await once(token, "after activate");
    expect(v.status).toBe("sent");
    expect(google.sent.filter((s) => s.raw.toString().includes("Subject: after activate"))).toHaveLength(1);
  });

  test("invalid_client: auth_config, naming client_id and client_secret", async () => {
    const { pid, token } = await route({ client_secret: "not-the-secret" });
    const v = await once(token, "bad client");
    expect(v.attempts[0].outcome).toBe("auth_config");
    expect(v.attempts[0].response).toContain("check config.client_id and config.client_secret");
    expect(v.attempts[0].response).toContain("401 invalid_client");
    expect(v.attempts[0].response).not.toContain("not-the-secret");
    expect((await providerView(g, pid)).health.recent_failures).toBe(1);
  });

  test("token endpoint 503: transient", async () => {
    const { token } = await route();
    // google-auth-library retries its token POST on 5xx (gaxios: 3 retries); every try gets the 503.
    google.failTokens(...Array.from({ length: 4 }, () => ({ status: 503, body: { error: "server_error", error_description: "Service Unavailable" } })));
    const t0 = google.tokenRequests.length;
    const v = await once(token, "token 503");
    expect(google.tokenRequests.slice(t0).map((t) => t.status)).toEqual([503, 503, 503, 503]);
    expect(v.attempts[0].outcome).toBe("transient");
    expect(v.status).toBe("deferred");
  });

  test("unreachable token endpoint: connection", async () => {
    const { token } = await route({ token_url: "http://127.0.0.1:1/token" });
    const v = await once(token, "no token endpoint");
    expect(v.attempts[0].outcome).toBe("connection");
    expect(v.attempts[0].response).toContain("could not reach Google's token endpoint");
  });
});

describe("service account key", () => {
  const SA_MAILBOX = "boss-f@example.com";
  /** The key file with its private_key damaged the way a bad copy and paste does (base64 broken). */
  function corrupt(json: string): { json: string; key: string } {
    const file = JSON.parse(json) as { private_key: string };
    const lines = file.private_key.split("\n");
    lines[3] = `${lines[3]!.slice(0, 10)}!!!!${lines[3]!.slice(14)}`;
    file.private_key = lines.join("\n");
    return { json: JSON.stringify(file), key: file.private_key };
  }
  const sa = () => google.addServiceAccount(`sa-${++n}@project.iam.gserviceaccount.com`);
  const saConfig = (json: string) => ({ service_account_json: json, impersonate: SA_MAILBOX, token_url: google.tokenUrl, api_base_url: google.url });

  test("a private_key that cannot be read is refused at create and PATCH, naming config.service_account_json.private_key", async () => {
    const good = sa();
    const bad = corrupt(good.json);
    for (const json of [bad.json, JSON.stringify({ ...JSON.parse(good.json), private_key: "not a key" })]) {
      const r = await g.api("POST", "/api/v1/providers", { type: "gmail_api", name: "bad key", config: saConfig(json) });
      expect(r.status).toBe(422);
      const e = r.json.error.errors.find((x: { field: string }) => x.field === "config.service_account_json.private_key");
      expect(e, r.text).toBeDefined();
      expect(e.message).toContain("cannot be read");
      expect(e.message).toContain("BEGIN PRIVATE KEY");
      expect(r.text).not.toContain(bad.key.slice(40, 80));
    }
    const pid = await createProvider(g, { type: "gmail_api", name: "good key", config: saConfig(good.json) });
    const p = await g.api("PATCH", `/api/v1/providers/${pid}`, { config: saConfig(bad.json) });
    expect(p.status).toBe(422);
    expect(p.json.error.errors.map((x: { field: string }) => x.field)).toContain("config.service_account_json.private_key");
  });

  test("a stored key that cannot be read (saved before that check): /test and sends say so, as an auth/config fault, not the network", async () => {
    const account = sa();
    google.mailboxes.add(SA_MAILBOX);
    google.delegate(account.client_email, [SCOPE_SEND]);
    const bad = corrupt(account.json);
    const file = JSON.parse(bad.json);
    // Written straight to the store, as a provider created before create checked the key.
    const rec = await g.running.gw.providers.create(
      g.accountId,
      { type: "gmail_api", name: "stored bad key", oauth_email: SA_MAILBOX, quotas: { per_second: null, per_minute: 1000, per_hour: null, per_day: 100000 } },
      { config: { service_account_json: { client_email: file.client_email, private_key: file.private_key, private_key_id: file.private_key_id }, impersonate: SA_MAILBOX, token_url: google.tokenUrl, api_base_url: google.url } },
    );
    const t0 = google.tokenRequests.length;
    const t = await g.api("POST", `/api/v1/providers/${rec.id}/test`);
    expect(t.status).toBe(200);
    expect(t.json.data.success).toBe(false);
    expect(t.json.data.message).toContain("private_key in config.service_account_json cannot be read");
    expect(t.json.data.message).not.toContain("could not reach");
    expect(t.json.data.message).not.toContain("network");
    const token = await scopedKey(g, [rec.id]);
    const v = await once(token, "stored bad key");
    expect(v.attempts[0].outcome).toBe("auth_config");
    expect(v.attempts[0].response).toContain("cannot be read");
    expect(v.attempts[0].response).not.toContain(bad.key.slice(40, 80));
    expect(google.tokenRequests.length).toBe(t0);
  });
});

describe("Gmail API", () => {
  const cases: Array<{ name: string; reply: () => ReturnType<typeof GMAIL_ERRORS.backendError>; outcome: string; status: string; text: string; counts: boolean }> = [
    { name: "429 (Mail sending): the daily sending limit", reply: () => GMAIL_ERRORS.mailSending(new Date(Date.now() + 3 * 3_600_000)), outcome: "quota", status: "deferred", text: "daily sending limit", counts: true },
    { name: "429 Resource has been exhausted: throttling", reply: GMAIL_ERRORS.resourceExhausted, outcome: "transient", status: "deferred", text: "throttling", counts: true },
    { name: "403 userRateLimitExceeded (queries per minute): throttling", reply: GMAIL_ERRORS.queriesPerMinute, outcome: "transient", status: "deferred", text: "userRateLimitExceeded", counts: true },
    { name: "403 dailyLimitExceeded: the project's quota", reply: GMAIL_ERRORS.dailyLimitExceeded, outcome: "quota", status: "deferred", text: "daily Gmail API quota", counts: true },
    { name: "403 domainPolicy: the domain forbids the app", reply: GMAIL_ERRORS.domainPolicy, outcome: "auth_config", status: "deferred", text: "domain administrator", counts: true },
    { name: "400 failedPrecondition: Mail service not enabled", reply: GMAIL_ERRORS.mailServiceNotEnabled, outcome: "auth_config", status: "deferred", text: "Gmail is not enabled", counts: true },
    { name: "400 invalidArgument Invalid To header: the message fails, the provider is not blamed", reply: GMAIL_ERRORS.invalidTo, outcome: "permanent_recipient", status: "failed", text: "Gmail refused the message", counts: false },
    { name: "500 backendError: transient", reply: GMAIL_ERRORS.backendError, outcome: "transient", status: "deferred", text: "500 backendError", counts: true },
    { name: "503 unavailable: transient", reply: GMAIL_ERRORS.unavailable, outcome: "transient", status: "deferred", text: "503", counts: true },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { pid, token } = await route();
      google.failSends(c.reply());
      const v = await once(token, c.name);
      expect(v.attempts[0].outcome).toBe(c.outcome);
      expect(v.status).toBe(c.status);
      expect(v.attempts[0].response).toContain(c.text);
      expect((await providerView(g, pid)).health.recent_failures).toBe(c.counts ? 1 : 0);
    });
  }

  test("401 even after a fresh token: auth_config, one refresh only", async () => {
    const { token } = await route();
    const t0 = google.tokenRequests.length;
    google.failSends(
      { ...GMAIL_ERRORS.backendError(), status: 401, body: { error: { code: 401, message: "Invalid Credentials", errors: [{ message: "Invalid Credentials", domain: "global", reason: "authError" }], status: "UNAUTHENTICATED" } } },
      { status: 401, body: { error: { code: 401, message: "Invalid Credentials", errors: [{ message: "Invalid Credentials", domain: "global", reason: "authError" }], status: "UNAUTHENTICATED" } } },
    );
    const v = await once(token, "401 twice");
    expect(v.attempts[0].outcome).toBe("auth_config");
    expect(v.attempts[0].response).toContain("refused a freshly issued access token");
    expect(google.tokenRequests.length - t0).toBe(2);
  });

  test("unreachable Gmail API: connection", async () => {
    const { token } = await route({ api_base_url: "http://127.0.0.1:1/" });
    const v = await once(token, "no api");
    expect(v.attempts[0].outcome).toBe("connection");
    expect(v.attempts[0].response).toContain("could not reach the Gmail API (http://127.0.0.1:1/)");
  });
});
