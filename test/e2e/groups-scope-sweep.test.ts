/**
 * Scope isolation over every endpoint that sends (/emails/send, /emails/send/batch, the SMTP
 * relay) for every scope type (all, specific, group). Two accounts: the first has providers A, B,
 * D (capture) and C (smtp, to a sink); the second has its own capture provider E. Each key sends
 * through every surface; then everything every provider actually received is collected (all
 * outboxes and the sink) and each message must have landed exactly once, at a provider its key's
 * scope allows. A key with scope `all` still never reaches another account's provider.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { createProvider, createSmtpProvider, relaySubmit } from "../helpers/providers.ts";
import { startSink, type Sink } from "../helpers/sink.ts";

setDefaultTimeout(120_000);

let g: TestGateway;
let sink: Sink;
const P: Record<"A" | "B" | "C" | "D" | "E", string> = { A: "", B: "", C: "", D: "", E: "" };
let otherAccount: string;
let otherFullKey: string;

beforeAll(async () => {
  g = await startTestGateway();
  sink = await startSink();
  P.A = g.captureId;
  P.B = await createProvider(g, { type: "capture", name: "sweep B" });
  P.C = await createSmtpProvider(g, sink.port, { name: "sweep C" });
  P.D = await createProvider(g, { type: "capture", name: "sweep D" });
  const gw = g.running.gw;
  otherAccount = (await gw.accounts.create("other account", null)).id;
  P.E = (await gw.providers.create(otherAccount, { type: "capture", name: "other account's E" }, null)).id;
  otherFullKey = (await gw.keys.create(otherAccount, { name: "other admin", permission: "full", scope: { type: "all" } })).token;
});
afterAll(async () => {
  await g?.stop();
  await sink?.close();
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const mail = (subject: string) => ({ from: { email: "sender@example.com" }, to: { email: "bob@example.org" }, subject, text_body: subject });
const envelope = { from: "sender@example.com", to: ["bob@example.org"] };

interface Sent {
  subject: string;
  id: string;
  token: string;
  allowed: Set<string>;
}

async function key(token: string, body: Record<string, unknown>): Promise<string> {
  const r = await g.api("POST", "/api/v1/api-keys", body, bearer(token));
  if (r.status !== 201) throw new Error(`creating key ${JSON.stringify(body)} failed: ${r.status} ${r.text}`);
  return r.json.data.token;
}

async function group(name: string, members: string[]): Promise<string> {
  const r = await g.api("POST", "/api/v1/groups", { name, members: members.map((provider_id) => ({ provider_id })) });
  if (r.status !== 201) throw new Error(`creating group ${name} failed: ${r.status} ${r.text}`);
  return r.json.data.id;
}

/** Everything the providers received (capture outboxes and the sink), by subject and provider. */
async function received(): Promise<Array<{ subject: string; at: string }>> {
  const out: Array<{ subject: string; at: string }> = [];
  for (const [name, token] of [["A", g.token], ["B", g.token], ["D", g.token], ["E", otherFullKey]] as const) {
    const r = await g.api("GET", `/api/v1/providers/${P[name]}/outbox?limit=1000`, undefined, bearer(token));
    expect(r.status).toBe(200);
    for (const x of r.json.data) out.push({ subject: x.subject, at: P[name] });
  }
  for (const m of sink.messages) out.push({ subject: (await simpleParser(m.raw)).subject ?? "", at: P.C });
  return out;
}

test("send, batch and relay × all, specific and group scopes: every message lands once, only inside its key's scope", async () => {
  const groupCD = await group("C and D", [P.C, P.D]);
  const groupB = await group("B alone", [P.B]);
  const scopes: Array<{ label: string; token: string; allowed: string[] }> = [
    { label: "all", token: await key(g.token, { name: "all", scope: { type: "all" } }), allowed: [P.A, P.B, P.C, P.D] },
    { label: "specific B", token: await key(g.token, { name: "specific B", scope: { type: "specific", providers: [P.B] } }), allowed: [P.B] },
    { label: "specific A+C", token: await key(g.token, { name: "specific A+C", scope: { type: "specific", providers: [P.A, P.C] } }), allowed: [P.A, P.C] },
    { label: "group C+D", token: await key(g.token, { name: "group C+D", scope: { type: "group", group: groupCD } }), allowed: [P.C, P.D] },
    { label: "group B", token: await key(g.token, { name: "group B", scope: { type: "group", group: groupB } }), allowed: [P.B] },
    { label: "other account all", token: await key(otherFullKey, { name: "other all", scope: { type: "all" } }), allowed: [P.E] },
  ];

  const sent: Sent[] = [];
  for (const s of scopes) {
    const allowed = new Set(s.allowed);
    for (let i = 0; i < 4; i++) {
      const subject = `sweep [${s.label}] send ${i}`;
      const r = await g.api("POST", "/api/v1/emails/send", mail(subject), bearer(s.token));
      expect(`${subject} ${r.status}`).toBe(`${subject} 200`);
      sent.push({ subject, id: r.json.data.message_id, token: s.token, allowed });
    }
    const batch = [0, 1, 2, 3].map((i) => mail(`sweep [${s.label}] batch ${i}`));
    const b = await g.api("POST", "/api/v1/emails/send/batch", { messages: batch }, bearer(s.token));
    expect(`${s.label} batch ${b.status} ${JSON.stringify(b.json.data?.summary)}`).toBe(`${s.label} batch 200 {"total":4,"queued":4,"failed":0}`);
    for (const x of b.json.data.results) sent.push({ subject: batch[x.index]!.subject, id: x.message_id, token: s.token, allowed });
    for (let i = 0; i < 3; i++) {
      const subject = `sweep [${s.label}] relay ${i}`;
      const raw = Buffer.from(`From: sender@example.com\r\nTo: bob@example.org\r\nSubject: ${subject}\r\n\r\n${subject}\r\n`);
      const r = await relaySubmit(g, s.token, raw, envelope);
      expect(`${subject} ${r.response}`).toMatch(/ 250 2\.0\.0 /);
      sent.push({ subject, id: r.id!, token: s.token, allowed });
    }
  }
  expect(sent.length).toBe(scopes.length * 11);

  // Each message, read back with the key that sent it: sent, through an allowed provider, once.
  for (const m of sent) {
    const v = await waitFor(async () => {
      const r = await g.api("GET", `/api/v1/emails/${m.id}`, undefined, bearer(m.token));
      return r.status === 200 && ["sent", "failed", "rejected", "canceled"].includes(r.json.data.status) ? r.json.data : null;
    }, `${m.subject} to settle`, 20_000);
    expect(`${m.subject} ${v.status}`).toBe(`${m.subject} sent`);
    expect(`${m.subject} via ${v.provider_id} allowed: ${m.allowed.has(v.provider_id)}`).toBe(`${m.subject} via ${v.provider_id} allowed: true`);
    for (const a of v.attempts) expect(m.allowed.has(a.provider_id)).toBe(true);
  }

  // What the providers really received: each message exactly once, at a provider its scope allows.
  const got = await waitFor(async () => {
    const all = await received();
    return all.filter((x) => x.subject.startsWith("sweep [")).length >= sent.length ? all : null;
  }, "every message at its provider", 20_000);
  const bySubject = new Map(sent.map((m) => [m.subject, m]));
  const landed = got.filter((x) => x.subject.startsWith("sweep ["));
  expect(landed.length).toBe(sent.length);
  for (const x of landed) {
    const m = bySubject.get(x.subject);
    expect(m).toBeDefined();
    expect(`${x.subject} at ${x.at} allowed: ${m!.allowed.has(x.at)}`).toBe(`${x.subject} at ${x.at} allowed: true`);
  }
  expect(new Set(landed.map((x) => x.subject)).size).toBe(sent.length);
  // The other account's E got all of its own account's traffic and nothing else; the all-key's
  // messages spread over several providers (all four have an equal share; 11 on one is ~1e-6).
  const atE = landed.filter((x) => x.at === P.E).map((x) => x.subject);
  expect(atE.length).toBe(11);
  expect(atE.every((s) => s.startsWith("sweep [other account all]"))).toBe(true);
  const spread = (label: string) => new Set(landed.filter((x) => x.subject.startsWith(`sweep [${label}]`)).map((x) => x.at)).size;
  expect(spread("all")).toBeGreaterThan(1);
});
