/**
 * gmail_api providers end to end: a gateway sends through @googleapis/gmail and
 * google-auth-library, unchanged, pointed at a local Google (test/helpers/fake-google.ts) with
 * the provider's config.token_url and config.api_base_url. Both credential kinds, the token
 * cache, the upload URI for large messages, envelope-only recipients, /test, and the shared
 * cases B29b and B55 (surface adapter-gmail).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { simpleParser } from "mailparser";
import { startFakeGoogle, SCOPE_READONLY, SCOPE_SEND, type FakeGoogle, type SentMessage } from "../helpers/fake-google.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { caseBytes, getCase, judge, CASES_DIR } from "../helpers/cases.ts";
import { createProvider, relaySubmit, scopedKey, sendWith } from "../helpers/providers.ts";

setDefaultTimeout(60_000);

let g: TestGateway;
let google: FakeGoogle;
const MAILBOX = "sender@example.com";
const SA_MAILBOX = "boss@example.com";
let serviceAccountJson = "";
let saEmail = "";

beforeAll(async () => {
  [g, google] = await Promise.all([startTestGateway(), startFakeGoogle()]);
  google.addClient("client-1.apps.googleusercontent.com", "client-secret-1");
  google.addRefreshToken("1//refresh-main", { clientId: "client-1.apps.googleusercontent.com", mailbox: MAILBOX });
  const sa = google.addServiceAccount("sendmux@project.iam.gserviceaccount.com");
  serviceAccountJson = sa.json;
  saEmail = sa.client_email;
  google.mailboxes.add(SA_MAILBOX);
  google.delegate(saEmail, [SCOPE_SEND]);
});
afterAll(async () => {
  await g?.stop();
  await google?.close();
});

const oauthConfig = (refresh = "1//refresh-main") => ({
  client_id: "client-1.apps.googleusercontent.com",
  client_secret: "client-secret-1",
  refresh_token: refresh,
  token_url: google.tokenUrl,
  api_base_url: google.url,
});
const saConfig = (impersonate = SA_MAILBOX) => ({ service_account_json: serviceAccountJson, impersonate, token_url: google.tokenUrl, api_base_url: google.url });

/** A gmail_api provider with room under its caps, and a send key scoped to it alone. */
async function route(config: Record<string, unknown>, name = "gmail"): Promise<{ pid: string; token: string }> {
  const pid = await createProvider(g, { type: "gmail_api", name, config, quotas: { per_minute: 1000, per_day: 100000 } });
  return { pid, token: await scopedKey(g, [pid]) };
}

/** Every message id this file sent, for the check that no secret shows in any attempt. */
const ids: string[] = [];

async function sendOk(token: string, body: unknown): Promise<string> {
  const r = await sendWith(g, token, body);
  if (r.status !== 200) throw new Error(`send: ${r.status} ${r.text}`);
  ids.push(r.json.data.message_id);
  return r.json.data.message_id;
}

const mail = (subject: string, extra: Record<string, unknown> = {}) => ({
  from: { email: MAILBOX, name: "Sam Sender" },
  to: { email: "alice@example.net" },
  subject,
  text_body: "Grüße aus Köln\nline two",
  ...extra,
});

const sentWith = (subject: string): SentMessage[] => google.sent.filter((s) => s.raw.toString("latin1").includes(`Subject: ${subject}`));

describe("OAuth client with a refresh token", () => {
  let r: { pid: string; token: string };
  beforeAll(async () => {
    r = await route(oauthConfig(), "gmail oauth");
  });

  test("sends the raw message through the metadata URI as userId me, body and headers intact", async () => {
    const id = await sendOk(r.token, mail("hello gmail"));
    const view = await g.settle(id);
    expect(view.status).toBe("sent");
    expect(view.provider_id).toBe(r.pid);
    expect(view.attempts).toHaveLength(1);
    expect(view.attempts[0].response).toMatch(/^Gmail accepted it as message [0-9a-f]+/);
    const [m] = sentWith("hello gmail");
    expect(m).toBeDefined();
    expect(m!.via).toBe("metadata");
    expect(m!.userId).toBe("me");
    expect(m!.mailbox).toBe(MAILBOX);
    expect(m!.recipients).toEqual(["alice@example.net"]);
    const parsed = await simpleParser(m!.delivered);
    expect(parsed.subject).toBe("hello gmail");
    expect(parsed.from?.value).toEqual([{ address: MAILBOX, name: "Sam Sender" }]);
    expect(parsed.text?.trim()).toBe("Grüße aus Köln\nline two");
    expect(parsed.messageId).toMatch(/^<.+@.+>$/);
    // The refresh-token grant went to config.token_url with the client's id.
    expect(google.tokenRequests.filter((t) => t.client_id === "client-1.apps.googleusercontent.com" && t.status === 200).length).toBeGreaterThanOrEqual(1);
  });

  test("one token serves many sends: ten messages, concurrent, no new token request", async () => {
    const before = google.tokenRequests.length;
    const batch = await Promise.all(Array.from({ length: 10 }, (_, i) => sendOk(r.token, mail(`batch ${i}`))));
    for (const id of batch) expect((await g.settle(id)).status).toBe("sent");
    expect(google.tokenRequests.length).toBe(before);
    for (let i = 0; i < 10; i++) expect(sentWith(`batch ${i}`)).toHaveLength(1);
  });

  test("a token about to expire is refreshed before it does: Gmail never sees an expired token", async () => {
    // 302 s lifetime: google-auth-library refreshes 5 minutes early, so two seconds later it is due.
    google.tokenTtl = 302;
    try {
      const { token } = await route(oauthConfig(), "gmail short tokens");
      const t0 = google.tokenRequests.length;
      const a0 = google.apiRequests.length;
      expect((await g.settle(await sendOk(token, mail("short 1")))).status).toBe("sent");
      expect(google.tokenRequests.length).toBe(t0 + 1);
      await Bun.sleep(2200);
      expect((await g.settle(await sendOk(token, mail("short 2")))).status).toBe("sent");
      expect(google.tokenRequests.length).toBe(t0 + 2);
      expect(google.apiRequests.slice(a0).map((a) => a.status)).toEqual([200, 200]);
    } finally {
      google.tokenTtl = 3599;
    }
  });

  test("a 401 from Gmail (token revoked on Google's side) gets one refresh and the same message goes out once", async () => {
    const t0 = google.tokenRequests.length;
    const a0 = google.apiRequests.length;
    google.revokeAccessTokens();
    const id = await sendOk(r.token, mail("after 401"));
    const view = await g.settle(id);
    expect(view.status).toBe("sent");
    expect(view.attempts).toHaveLength(1);
    expect(google.tokenRequests.length).toBe(t0 + 1);
    expect(google.apiRequests.slice(a0).map((a) => a.status)).toEqual([401, 200]);
    expect(sentWith("after 401")).toHaveLength(1);
  });

  test("Bcc recipients (envelope only) are delivered; the copy To and Cc get has no Bcc header", async () => {
    const id = await sendOk(r.token, mail("with bcc", { cc: [{ email: "carol@example.org" }], bcc: [{ email: "dave@example.com" }, { email: "erin@example.com" }] }));
    expect((await g.settle(id)).status).toBe("sent");
    const [m] = sentWith("with bcc");
    expect(m!.recipients.sort()).toEqual(["alice@example.net", "carol@example.org", "dave@example.com", "erin@example.com"]);
    // What the gateway gave Gmail: one Bcc field naming exactly the envelope-only recipients.
    const given = await simpleParser(m!.raw);
    expect((given.bcc as { value: Array<{ address: string }> }).value.map((a) => a.address)).toEqual(["dave@example.com", "erin@example.com"]);
    // What recipients see.
    const seen = await simpleParser(m!.delivered);
    expect(seen.headers.has("bcc")).toBe(false);
    expect(m!.delivered.toString("latin1")).not.toMatch(/^bcc:/im);
    expect(m!.delivered.toString("latin1")).not.toContain("dave@example.com");
    expect((seen.to as { value: Array<{ address: string }> }).value.map((a) => a.address)).toEqual(["alice@example.net"]);
    expect((seen.cc as { value: Array<{ address: string }> }).value.map((a) => a.address)).toEqual(["carol@example.org"]);
  });

  test("relay: a Bcc header in the submitted message is replaced by the envelope's own Bcc recipients", async () => {
    const raw = Buffer.from(
      `From: ${MAILBOX}\r\nTo: alice@example.net\r\nBcc: leaked@example.org\r\nSubject: relayed bcc\r\nMessage-ID: <relayed-bcc@example.com>\r\n\r\nbody\r\n`,
    );
    const res = await relaySubmit(g, r.token, raw, { from: MAILBOX, to: ["alice@example.net", "hidden@example.org"] });
    expect(res.ok).toBe(true);
    expect((await g.settle(res.id!)).status).toBe("sent");
    const [m] = sentWith("relayed bcc");
    expect(m!.recipients.sort()).toEqual(["alice@example.net", "hidden@example.org"]);
    expect(m!.raw.toString("latin1")).not.toContain("leaked@example.org");
    expect(m!.delivered.toString("latin1")).not.toMatch(/^bcc:/im);
  });

  test("relay: To naming someone outside the envelope fails the message (Gmail would deliver to them), nothing reaches Gmail, the provider is not blamed", async () => {
    const raw = Buffer.from(`From: ${MAILBOX}\r\nTo: alice@example.net, bob@example.net\r\nSubject: header outside envelope\r\nMessage-ID: <outside@example.com>\r\n\r\nbody\r\n`);
    const res = await relaySubmit(g, r.token, raw, { from: MAILBOX, to: ["alice@example.net"] });
    expect(res.ok).toBe(true);
    ids.push(res.id!);
    const view = await g.settle(res.id!, ["failed"]);
    expect(view.attempts).toHaveLength(1);
    expect(view.attempts[0].outcome).toBe("permanent_recipient");
    expect(view.attempts[0].response).toContain("bob@example.net");
    expect(view.attempts[0].response).toContain("not among the message's recipients");
    expect(sentWith("header outside envelope")).toHaveLength(0);
    const p = await g.api("GET", `/api/v1/providers/${r.pid}`);
    expect(p.json.data.health.state).toBe("ok");
  });

  test("neither the credentials nor access tokens show in the provider or in attempts", async () => {
    const p = await g.api("GET", `/api/v1/providers/${r.pid}`);
    expect(p.json.data.has_refresh_token).toBe(true);
    for (const secret of ["client-secret-1", "1//refresh-main", "ya29."]) expect(p.text).not.toContain(secret);
    // Every attempt of this suite so far, failed ones included.
    for (const id of ids) {
      const v = await g.api("GET", `/api/v1/emails/${id}`);
      expect(v.status).toBe(200);
      for (const secret of ["client-secret-1", "1//refresh-main", "ya29."]) expect(v.text).not.toContain(secret);
    }
    expect(ids.length).toBeGreaterThan(10);
  });
});

describe("service account with domain-wide delegation", () => {
  test("sends as the impersonated user: JWT bearer grant (sub, gmail.send scope, Google's aud) at config.token_url, userId = that user", async () => {
    const { token } = await route(saConfig(), "gmail sa");
    const t0 = google.tokenRequests.length;
    const sent = await Promise.all([1, 2, 3].map((i) => sendOk(token, mail(`sa ${i}`, { from: { email: SA_MAILBOX } }))));
    for (const id of sent) expect((await g.settle(id)).status).toBe("sent");
    const grants = google.tokenRequests.slice(t0);
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", status: 200 });
    expect(grants[0]!.claims).toMatchObject({ iss: saEmail, sub: SA_MAILBOX, scope: SCOPE_SEND, aud: "https://oauth2.googleapis.com/token" });
    for (const i of [1, 2, 3]) {
      const [m] = sentWith(`sa ${i}`);
      expect(m!.userId).toBe(SA_MAILBOX);
      expect(m!.mailbox).toBe(SA_MAILBOX);
    }
  });
});

describe("POST /providers/{id}/test", () => {
  const test_ = async (pid: string) => {
    const r = await g.api("POST", `/api/v1/providers/${pid}/test`);
    expect(r.status).toBe(200);
    return r.json.data as { success: boolean; message: string; latency_ms: number; tested_at: string };
  };

  test("OAuth client: a token, then Gmail accepts it for messages.send; no mail is sent", async () => {
    const { pid } = await route(oauthConfig(), "gmail test ok");
    const before = google.sent.length;
    const t = await test_(pid);
    expect(t.success).toBe(true);
    expect(t.message).toContain("Gmail accepts it for messages.send");
    expect(typeof t.latency_ms).toBe("number");
    expect(google.sent.length).toBe(before);
  });

  test("a grant that may also read the mailbox names it", async () => {
    google.addRefreshToken("1//refresh-readonly", { clientId: "client-1.apps.googleusercontent.com", mailbox: MAILBOX, scopes: [SCOPE_SEND, SCOPE_READONLY] });
    const { pid } = await route(oauthConfig("1//refresh-readonly"), "gmail test profile");
    const t = await test_(pid);
    expect(t.success).toBe(true);
    expect(t.message).toContain(`for ${MAILBOX}`);
  });

  test("service account: success names the impersonated user", async () => {
    const { pid } = await route(saConfig(), "gmail test sa");
    const t = await test_(pid);
    expect(t.success).toBe(true);
    expect(t.message).toContain(SA_MAILBOX);
  });

  test("a revoked refresh token fails with invalid_grant and says what to do", async () => {
    google.addRefreshToken("1//refresh-revoked", { clientId: "client-1.apps.googleusercontent.com", mailbox: MAILBOX });
    google.revokeRefreshToken("1//refresh-revoked");
    const { pid } = await route(oauthConfig("1//refresh-revoked"), "gmail test revoked");
    const t = await test_(pid);
    expect(t.success).toBe(false);
    expect(t.message).toContain("invalid_grant");
    expect(t.message).toContain("config.refresh_token");
    expect(t.message).not.toContain("1//refresh-revoked");
  });

  test("a wrong client secret fails with invalid_client", async () => {
    const { pid } = await route({ ...oauthConfig(), client_secret: "wrong" }, "gmail test bad client");
    const t = await test_(pid);
    expect(t.success).toBe(false);
    expect(t.message).toContain("invalid_client");
    expect(t.message).toContain("client_secret");
    expect(t.message).not.toContain("wrong");
  });

  test("a service account without domain-wide delegation for the user's domain fails naming the scope to grant", async () => {
    const other = google.addServiceAccount("undelegated@project.iam.gserviceaccount.com");
    const { pid } = await route({ ...saConfig(), service_account_json: other.json }, "gmail test no dwd");
    const t = await test_(pid);
    expect(t.success).toBe(false);
    expect(t.message).toContain("domain-wide delegation");
    expect(t.message).toContain(SCOPE_SEND);
  });

  test("an unreachable token endpoint fails naming it", async () => {
    const { pid } = await route({ ...oauthConfig(), token_url: "http://127.0.0.1:1/token" }, "gmail test unreachable");
    const t = await test_(pid);
    expect(t.success).toBe(false);
    expect(t.message).toContain("could not reach Google's token endpoint (http://127.0.0.1:1/token)");
  });
});

describe("shared cases (surface adapter-gmail)", () => {
  let token = "";
  beforeAll(async () => {
    ({ token } = await route(oauthConfig(), "gmail cases"));
  });

  const delivered = (m: SentMessage) => ({ raw: m.delivered, envelope: { from: m.mailbox, to: m.recipients } });

  test("B29b (JSON): To parses as \"Zoë Example\" <zoe@example.com>, only the name encoded, headers 7-bit, sent", async () => {
    const c = getCase("B29b");
    const body = caseBytes("B29b.json");
    const before = google.sent.length;
    const r = await sendWith(g, token, new Uint8Array(body));
    const message = r.status === 200 ? await g.settle(r.json.data.message_id) : null;
    const got = google.sent.slice(before);
    expect(got).toHaveLength(1);
    const fails = await judge(c.expect, { http: { status: r.status, json: r.json }, message, delivered: got.map(delivered), request: JSON.parse(body.toString("utf8")) });
    expect(fails).toEqual([]);
  });

  test("B55 (JSON, 10 MiB attachment): goes through the upload URI (multipart) and arrives byte for byte", async () => {
    const c = getCase("B55");
    const rename =
      'import json,sys; d=json.load(sys.stdin); a=d["attachments"][0]; json.dump({"from":{"email":"sender@example.com","name":"Sam Sender"},"to":{"email":"alice@example.net"},"subject":d["subject"],"text_body":d["text"],"attachments":[{"filename":a["filename"],"type":a["contentType"],"content":a["content"]}]},sys.stdout)';
    const gen = Bun.spawn(["sh", "-c", `python3 '${CASES_DIR}B55.gen.py' 10 | python3 -c '${rename}'`], { stdout: "pipe", stderr: "pipe" });
    const body = Buffer.from(await new Response(gen.stdout).arrayBuffer());
    expect(await gen.exited).toBe(0);
    const request = JSON.parse(body.toString("utf8"));
    expect(Buffer.from(request.attachments[0].content, "base64").length).toBe(10 * 1_048_576);
    const before = google.sent.length;
    const uploadsBefore = google.apiRequests.filter((a) => a.path.startsWith("/upload/")).length;
    const r = await sendWith(g, token, new Uint8Array(body));
    const message = r.status === 200 ? await g.settle(r.json.data.message_id, undefined, 60_000) : null;
    const got = google.sent.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.via).toBe("multipart");
    const uploads = google.apiRequests.filter((a) => a.path.startsWith("/upload/")).slice(uploadsBefore);
    expect(uploads.map((u) => u.path)).toEqual(["/upload/gmail/v1/users/me/messages/send?uploadType=multipart"]);
    const fails = await judge(c.expect, { http: { status: r.status, json: r.json }, message, delivered: got.map(delivered), request });
    expect(fails).toEqual([]);
    const parsed = await simpleParser(got[0]!.delivered);
    expect(parsed.attachments[0]!.content.equals(Buffer.from(request.attachments[0].content, "base64"))).toBe(true);
  });
});
