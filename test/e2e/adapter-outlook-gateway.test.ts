/**
 * outlook_api providers end to end: created through the API, sending through the gateway's worker
 * threads to a local Entra token endpoint and Graph (test/helpers/fake-graph.ts). The shared cases
 * B27 and B69 (surface adapter-graph, through the relay) and B55 at 3.5 MiB (over Graph's 4 MB
 * request limit, so it goes through the upload session); failures show in the message's status
 * and attempts and in the provider's health.
 */
import { afterAll, beforeAll, beforeEach, expect, setDefaultTimeout, test } from "bun:test";
import { getCase, judge, caseBytes as caseFile } from "../helpers/cases.ts";
import { startFakeGraph, type FakeGraph } from "../helpers/fake-graph.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { createProvider, relaySubmit, scopedKey, sendWith } from "../helpers/providers.ts";
import { CASES_DIR } from "../helpers/cases.ts";

setDefaultTimeout(60_000);

let g: TestGateway;
let fg: FakeGraph;
const SENDER = "keith@example.com";
beforeAll(async () => {
  fg = await startFakeGraph({ mailboxes: [SENDER, "sender@example.com"] });
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
  await fg?.stop();
});
beforeEach(() => {
  fg.delivered.length = 0;
  fg.requests.length = 0;
  fg.maxRequestBytes = 0;
  fg.invalidRecipients.clear();
});

async function outlook(over: Record<string, unknown> = {}, sender = SENDER): Promise<{ pid: string; token: string }> {
  const pid = await createProvider(g, {
    name: `m365 ${sender}`,
    type: "outlook_api",
    config: { tenant_id: fg.tenant, client_id: fg.clientId, client_secret: fg.clientSecret, sender, graph_base_url: fg.graphBase, authority_url: fg.authority, ...over },
  });
  return { pid, token: await scopedKey(g, [pid]) };
}

async function relayCase(id: string, sender: string) {
  const c = getCase(id);
  const { token } = await outlook({}, sender);
  const raw = caseFile(c.files[0]!);
  const env = c.envelope as unknown as { mail_from: string; rcpt_to: string[] };
  const sent = await relaySubmit(g, token, raw, { from: env.mail_from, to: env.rcpt_to });
  expect(sent.ok).toBe(true);
  const message = await g.settle(sent.id!);
  const fails = await judge(c.expect, { smtp: { replies: [sent.response], closed: false }, message, delivered: fg.delivered.map((d) => ({ raw: d.raw, envelope: d.envelope })), submitted: raw });
  expect(fails).toEqual([]);
  return message;
}

test("the provider is created with its config write-only, and /test gets a token and finds the mailbox", async () => {
  const { pid } = await outlook();
  const r = await g.api("GET", `/api/v1/providers/${pid}`);
  expect(r.status).toBe(200);
  expect(r.text).not.toContain(fg.clientSecret);
  expect(r.json.data.type).toBe("outlook_api");
  const t = await g.api("POST", `/api/v1/providers/${pid}/test`);
  expect(t.status).toBe(200);
  expect(t.json.data.success).toBe(true);
  expect(t.json.data.message).toContain("Mail.Send");
  expect(t.text).not.toContain(fg.clientSecret);
  expect(fg.delivered).toHaveLength(0);
});

test("B27 (.eml via the relay): encoded commas in display names stay one mailbox each; sent", async () => {
  const m = await relayCase("B27", SENDER);
  expect(m.status).toBe("sent");
  expect(fg.delivered).toHaveLength(1);
  expect(fg.delivered[0]!.via).toBe("sendMail");
});

test("B69 (.eml via the relay): hello.txt with indented base64 arrives as the exact 120 bytes", async () => {
  const m = await relayCase("B69", "sender@example.com");
  expect(m.status).toBe("sent");
});

test("B55 at 3.5 MiB (JSON): over Graph's 4 MB request, sent through a draft and an upload session, bytes equal, no request over 4 MB", async () => {
  const rename = `import json,sys; d=json.load(sys.stdin); a=d["attachments"][0]; json.dump({"from":{"email":"sender@example.com","name":"Sam Sender"},"to":{"email":"alice@example.net"},"subject":d["subject"],"text_body":d["text"],"attachments":[{"filename":a["filename"],"type":a["contentType"],"content":a["content"]}]},sys.stdout)`;
  const gen = Bun.spawnSync(["sh", "-c", `python3 '${CASES_DIR}B55.gen.py' 3.5 | python3 -c '${rename}'`]);
  expect(gen.exitCode).toBe(0);
  const body = gen.stdout;
  const request = JSON.parse(body.toString("utf8"));
  const { token } = await outlook({}, "sender@example.com");
  const r = await sendWith(g, token, new Uint8Array(body));
  expect(r.status).toBe(200);
  const message = await g.settle(r.json.data.message_id);
  const c = getCase("B55");
  const fails = await judge(c.expect, { http: { status: r.status, json: r.json }, message, request, delivered: fg.delivered.map((d) => ({ raw: d.raw, envelope: d.envelope })) });
  expect(fails).toEqual([]);
  expect(fg.delivered[0]!.via).toBe("draft");
  expect(fg.requests.some((q) => q.path.endsWith("/attachments/createUploadSession"))).toBe(true);
  expect(fg.requests.filter((q) => q.method === "PUT").length).toBeGreaterThanOrEqual(2);
  expect(fg.maxRequestBytes).toBeLessThanOrEqual(4_194_304);
});

test("Bcc recipients over the API receive the message; nobody sees them", async () => {
  const { token } = await outlook({}, "sender@example.com");
  const r = await sendWith(g, token, { from: { email: "sender@example.com" }, to: { email: "alice@example.net" }, bcc: [{ email: "hidden@example.org" }], subject: "bcc", text_body: "hi" });
  expect(r.status).toBe(200);
  const m = await g.settle(r.json.data.message_id);
  expect(m.status).toBe("sent");
  expect(fg.delivered[0]!.envelope.to.sort()).toEqual(["alice@example.net", "hidden@example.org"]);
  expect(fg.delivered[0]!.raw.toString("latin1")).not.toContain("hidden@example.org");
});

test("a recipient Graph refuses (400 ErrorInvalidRecipients) fails the message at once and leaves the provider healthy", async () => {
  fg.invalidRecipients.add("nobody@example.net");
  const { pid, token } = await outlook({}, "sender@example.com");
  const r = await sendWith(g, token, { from: { email: "sender@example.com" }, to: { email: "nobody@example.net" }, subject: "x", text_body: "x" });
  const m = await g.settle(r.json.data.message_id);
  expect(m.status).toBe("failed");
  expect(m.attempts).toHaveLength(1);
  expect(m.attempts[0].response).toContain("ErrorInvalidRecipients");
  expect(m.next_attempt_at).toBeNull();
  const p = await g.api("GET", `/api/v1/providers/${pid}`);
  expect(p.json.data.health.state).toBe("ok");
  expect(p.json.data.health.recent_failures).toBe(0);
});

test("a wrong client secret: each send deferred with invalid_client; after 3 the provider is disabled (status error) until /activate; /test says why", async () => {
  const { pid, token } = await outlook({ client_secret: "not-the-secret" }, "sender@example.com");
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await sendWith(g, token, { from: { email: "sender@example.com" }, to: { email: "alice@example.net" }, subject: `s${i}`, text_body: "x" });
    expect(r.status).toBe(200);
    ids.push(r.json.data.message_id);
    const m = await g.settle(ids[i]!, ["deferred", "failed"]);
    expect(m.status).toBe("deferred");
    expect(m.attempts[0].outcome).toBe("auth_config");
    expect(m.attempts[0].response).toContain("invalid_client");
    expect(m.attempts[0].response).not.toContain("not-the-secret");
  }
  const p = await waitFor(async () => {
    const x = await g.api("GET", `/api/v1/providers/${pid}`);
    return x.json.data.health.state === "disabled" ? x.json.data : null;
  }, "provider disabled");
  expect(p.status).toBe("error");
  expect(p.status_reason).toContain("activate");
  const t = await g.api("POST", `/api/v1/providers/${pid}/test`);
  expect(t.json.data.success).toBe(false);
  expect(t.json.data.message).toContain("AADSTS7000215");
  expect(fg.delivered).toHaveLength(0);
});
