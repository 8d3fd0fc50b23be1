/**
 * Group-scoped API keys end to end: two groups in one account, "transactional" (the capture
 * provider) and "bulk" (an smtp provider pointed at a sink). Each group's key sends over
 * /emails/send, /emails/send/batch and the SMTP relay; every message lands in its own group's
 * provider and never in the other's (both sides checked: the capture outbox and the sink). Also:
 * a member's weight override (0 = never chosen within the group, whatever the provider's own
 * percentage), an empty group (503 no_active_providers / relay 550), and group edits taking
 * effect for keys already scoped to the group.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { createProvider, createSmtpProvider, relaySubmit, sendWith } from "../helpers/providers.ts";
import { startSink, type Sink } from "../helpers/sink.ts";

setDefaultTimeout(60_000);

let g: TestGateway;
let sink: Sink;
let smtpId: string;

beforeAll(async () => {
  g = await startTestGateway();
  sink = await startSink();
  smtpId = await createSmtpProvider(g, sink.port, { name: "bulk upstream" });
});
afterAll(async () => {
  await g?.stop();
  await sink?.close();
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const mail = (subject: string) => ({ from: { email: "sender@example.com" }, to: { email: "alice@example.net" }, subject, text_body: `body of ${subject}` });
const eml = (subject: string) => Buffer.from(`From: sender@example.com\r\nTo: alice@example.net\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`);
const envelope = { from: "sender@example.com", to: ["alice@example.net"] };

async function newGroup(name: string, members: Array<{ provider_id: string; percentage?: number | null }>): Promise<string> {
  const r = await g.api("POST", "/api/v1/groups", { name, members });
  if (r.status !== 201) throw new Error(`creating group ${name} failed: ${r.status} ${r.text}`);
  return r.json.data.id;
}

async function groupKey(group: string, name = `key for ${group}`): Promise<string> {
  const r = await g.api("POST", "/api/v1/api-keys", { name, permission: "send", scope: { type: "group", group } });
  if (r.status !== 201) throw new Error(`creating a key for ${group} failed: ${r.status} ${r.text}`);
  return r.json.data.token;
}

/** Sends one message per surface (send ×2, batch of 2, relay ×2); returns the accepted ids by subject. */
async function sendEverywhere(token: string, tag: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (let i = 0; i < 2; i++) {
    const subject = `${tag} send ${i}`;
    const r = await sendWith(g, token, mail(subject));
    expect(`${subject}: ${r.status}`).toBe(`${subject}: 200`);
    ids.set(subject, r.json.data.message_id);
  }
  const batch = [0, 1].map((i) => mail(`${tag} batch ${i}`));
  const b = await g.api("POST", "/api/v1/emails/send/batch", { messages: batch }, bearer(token));
  expect(b.status).toBe(200);
  expect(b.json.data.summary).toEqual({ total: 2, queued: 2, failed: 0 });
  b.json.data.results.forEach((x: { index: number; message_id: string }) => ids.set(batch[x.index]!.subject, x.message_id));
  for (let i = 0; i < 2; i++) {
    const subject = `${tag} relay ${i}`;
    const r = await relaySubmit(g, token, eml(subject), envelope);
    expect(`${subject}: ${r.response}`).toMatch(/: 250 /);
    ids.set(subject, r.id!);
  }
  return ids;
}

async function outbox(providerId: string): Promise<Array<{ message_id: string; subject: string }>> {
  const r = await g.api("GET", `/api/v1/providers/${providerId}/outbox?limit=1000`);
  expect(r.status).toBe(200);
  return r.json.data;
}

async function sinkSubjects(): Promise<string[]> {
  return Promise.all(sink.messages.map(async (m) => (await simpleParser(m.raw)).subject ?? ""));
}

describe("two groups in one account never share traffic", () => {
  test("transactional (capture) and bulk (smtp sink) keys each land only in their own group, over send, batch and relay", async () => {
    const transactional = await newGroup("transactional", [{ provider_id: g.captureId }]);
    const bulk = await newGroup("bulk", [{ provider_id: smtpId }]);
    const tKey = await groupKey(transactional, "transactional sender");
    const bKey = await groupKey(bulk, "bulk sender");
    const tIds = await sendEverywhere(tKey, "transactional");
    const bIds = await sendEverywhere(bKey, "bulk");
    expect(tIds.size).toBe(6);
    expect(bIds.size).toBe(6);

    for (const [subject, id] of tIds) {
      const v = await g.settle(id);
      expect(`${subject} ${v.status} ${v.provider_id}`).toBe(`${subject} sent ${g.captureId}`);
      expect(v.scope).toEqual({ type: "group", group: transactional });
      expect(v.attempts.map((a: { provider_id: string }) => a.provider_id)).toEqual([g.captureId]);
    }
    for (const [subject, id] of bIds) {
      const v = await g.settle(id);
      expect(`${subject} ${v.status} ${v.provider_id}`).toBe(`${subject} sent ${smtpId}`);
      expect(v.scope).toEqual({ type: "group", group: bulk });
      expect(v.attempts.map((a: { provider_id: string }) => a.provider_id)).toEqual([smtpId]);
    }

    // The capture outbox holds every transactional message and no bulk one.
    const box = await outbox(g.captureId);
    const boxIds = new Set(box.map((x) => x.message_id));
    for (const id of tIds.values()) expect(boxIds.has(id)).toBe(true);
    for (const id of bIds.values()) expect(boxIds.has(id)).toBe(false);
    expect(box.filter((x) => x.subject.startsWith("bulk"))).toEqual([]);

    // The sink got every bulk message, each once, and no transactional one.
    const subjects = await sinkSubjects();
    for (const s of bIds.keys()) expect(subjects.filter((x) => x === s).length).toBe(1);
    expect(subjects.filter((s) => s.startsWith("transactional"))).toEqual([]);
    // The relayed bulk messages left through the smtp provider's AUTH, not the client's.
    expect(sink.messages.every((m) => m.authUser === "gateway-user")).toBe(true);
  });
});

describe("member weight overrides", () => {
  test("a member at 0 is never chosen within its group, even when the provider's own percentage is set", async () => {
    const favoured = await createProvider(g, { type: "capture", name: "favoured elsewhere", percentage: 1000 });
    const plain = await createProvider(g, { type: "capture", name: "plain", percentage: 1 });
    const grp = await newGroup("override zero", [{ provider_id: favoured, percentage: 0 }, { provider_id: plain }]);
    const key = await groupKey(grp);
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) {
      const r = await sendWith(g, key, mail(`override zero ${i}`));
      expect(r.status).toBe(200);
      ids.push(r.json.data.message_id);
    }
    const b = await g.api("POST", "/api/v1/emails/send/batch", { messages: [0, 1, 2, 3, 4].map((i) => mail(`override zero batch ${i}`)) }, bearer(key));
    ids.push(...b.json.data.results.map((x: { message_id: string }) => x.message_id));
    const relayed = await relaySubmit(g, key, eml("override zero relay"), envelope);
    expect(relayed.response).toMatch(/^250 /);
    ids.push(relayed.id!);
    for (const id of ids) expect((await g.settle(id)).provider_id).toBe(plain);
    expect(await outbox(favoured)).toEqual([]);
    expect((await outbox(plain)).map((x) => x.message_id).sort()).toEqual([...ids].sort());
  });

  test("a member override replaces the provider's own percentage: a provider at 0 in the account is chosen in a group that weights it", async () => {
    const off = await createProvider(g, { type: "capture", name: "zero on its own", percentage: 0 });
    const grp = await newGroup("override up", [{ provider_id: off, percentage: 5 }]);
    const key = await groupKey(grp);
    const r = await sendWith(g, key, mail("override up"));
    expect(r.status).toBe(200);
    const v = await g.settle(r.json.data.message_id);
    expect(v.status).toBe("sent");
    expect(v.provider_id).toBe(off);
    expect((await outbox(off)).map((x) => x.message_id)).toEqual([r.json.data.message_id]);
  });

  test("a group whose every member is at 0 refuses at once: 503 no_active_providers, relay 550", async () => {
    const p = await createProvider(g, { type: "capture", name: "all zero" });
    const grp = await newGroup("all zero", [{ provider_id: p, percentage: 0 }]);
    const key = await groupKey(grp);
    const r = await sendWith(g, key, mail("all zero"));
    expect(r.status).toBe(503);
    expect(r.json.error.message).toContain("no_active_providers");
    const relay = await relaySubmit(g, key, eml("all zero relay"), envelope);
    expect(relay.response).toMatch(/^550 5\.7\.1/);
    expect(await outbox(p)).toEqual([]);
  });
});

describe("empty groups and edits", () => {
  test("a key scoped to an empty group sends nothing: 503 no_active_providers on send and batch, 550 on the relay", async () => {
    const grp = await newGroup("empty", []);
    const key = await groupKey(grp);
    const r = await sendWith(g, key, mail("empty"));
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe("service_unavailable");
    expect(r.json.error.message).toContain("no_active_providers");
    const b = await g.api("POST", "/api/v1/emails/send/batch", { messages: [mail("empty batch")] }, bearer(key));
    expect(b.status).toBe(503);
    expect(b.json.error.message).toContain("no_active_providers");
    const relay = await relaySubmit(g, key, eml("empty relay"), envelope);
    expect(relay.ok).toBe(false);
    expect(relay.response).toMatch(/^550 5\.7\.1/);
  });

  test("a group edit applies to keys already scoped to it: new members take traffic, removed ones none", async () => {
    const first = await createProvider(g, { type: "capture", name: "edit first" });
    const second = await createProvider(g, { type: "capture", name: "edit second" });
    const grp = await newGroup("edited", [{ provider_id: first }]);
    const key = await groupKey(grp);
    const a = await sendWith(g, key, mail("edited a"));
    expect((await g.settle(a.json.data.message_id)).provider_id).toBe(first);
    const p = await g.api("PATCH", `/api/v1/groups/${grp}`, { members: [{ provider_id: second }] });
    expect(p.status).toBe(200);
    const b = await sendWith(g, key, mail("edited b"));
    const relayed = await relaySubmit(g, key, eml("edited relay"), envelope);
    expect(relayed.response).toMatch(/^250 /);
    expect((await g.settle(b.json.data.message_id)).provider_id).toBe(second);
    expect((await g.settle(relayed.id!)).provider_id).toBe(second);
    expect((await outbox(first)).map((x) => x.subject)).toEqual(["edited a"]);
    expect((await outbox(second)).map((x) => x.subject).sort()).toEqual(["edited b", "edited relay"]);
  });

  test("deleting a group's only provider leaves the group empty and its key refused, not rerouted outside the group", async () => {
    const only = await createProvider(g, { type: "capture", name: "only member" });
    const grp = await newGroup("loses its member", [{ provider_id: only }]);
    const key = await groupKey(grp);
    expect((await sendWith(g, key, mail("before delete"))).status).toBe(200);
    expect((await g.api("DELETE", `/api/v1/providers/${only}`)).status).toBe(200);
    expect((await g.api("GET", `/api/v1/groups/${grp}`)).json.data.members).toEqual([]);
    const before = (await outbox(g.captureId)).length;
    const r = await sendWith(g, key, mail("after delete"));
    expect(r.status).toBe(503);
    expect(r.json.error.message).toContain("no_active_providers");
    // Nothing slipped out through the account's other providers.
    await Bun.sleep(300);
    expect((await outbox(g.captureId)).length).toBe(before);
    expect(await sinkSubjects()).not.toContain("after delete");
  });
});
