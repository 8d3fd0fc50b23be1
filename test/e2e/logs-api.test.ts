/**
 * Delivery logs (sendmux-openapi-app.json GET /emails/logs and /emails/logs/{public_id}): every
 * response validated against the reference document's schemas; dlog_ ids name eml_ messages;
 * per-recipient outcomes (to/cc/bcc, a recipient refused while the others were accepted, all
 * refused → rejected); pending with the reason it waits, canceled → failed; every filter and
 * cursor paging; bad parameters → 400 naming them; a send key → 403; another account → 404.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { OasValidator, loadReference } from "../helpers/oas.ts";
import { createProvider, createSmtpProvider, scopedKey, sendWith } from "../helpers/providers.ts";
import { startSink, type Sink } from "../helpers/sink.ts";

const app = new OasValidator(loadReference("sendmux-openapi-app.json"), "https://schemas.sendmux.test/app.json");
const T0 = Date.UTC(2026, 2, 19, 10, 30);
const clock = new ManualClock(T0);
let g: TestGateway;
let sink: Sink;
let sinkId: string;
let sinkKey: string;
let captureKey: string;

beforeAll(async () => {
  g = await startTestGateway({ clock });
  // Refuses one recipient for good, and every recipient of the refused.example domain.
  sink = await startSink({
    onRcptTo(addr, _s, cb) {
      if (addr.address === "nobody@example.org" || addr.address.endsWith("@refused.example")) {
        const e = new Error("5.1.1 no such user") as Error & { responseCode: number };
        e.responseCode = 550;
        return cb(e);
      }
      cb();
    },
  });
  sinkId = await createSmtpProvider(g, sink.port, { name: "the sink" });
  sinkKey = await scopedKey(g, [sinkId], "full");
  captureKey = await scopedKey(g, [g.captureId], "full");
});
afterAll(async () => {
  await g?.stop();
  await sink?.close();
});

async function send(body: Record<string, unknown>, token = g.token): Promise<string> {
  const r = await sendWith(g, token, { from: { email: "sender@example.com", name: "Sender" }, subject: "hello", text_body: "hi", ...body });
  expect(r.status).toBe(200);
  return r.json.data.message_id;
}
const dlog = (eml: string) => eml.replace(/^eml_/, "dlog_");

async function list(query: string, token = g.token) {
  const r = await g.api("GET", `/api/v1/emails/logs${query}`, undefined, { authorization: `Bearer ${token}` });
  if (r.status === 200) expect(app.check("/emails/logs", "get", r.status, r.text)).toEqual([]);
  return r;
}
async function detail(id: string, headers: Record<string, string> = {}) {
  const r = await g.api("GET", `/api/v1/emails/logs/${id}`, undefined, headers);
  if (r.status !== 304) expect(app.check("/emails/logs/{public_id}", "get", r.status, r.text)).toEqual([]);
  return r;
}

let sentId: string;
let partialId: string;
let rejectedId: string;
let queuedId: string;
let canceledId: string;

test("a sent message's log: the documented shape, recipients typed to/cc/bcc, weak ETag and 304", async () => {
  sentId = await send({ to: [{ email: "a@example.net", name: "A" }], cc: [{ email: "c@example.net" }], bcc: [{ email: "b@example.net" }], subject: "Invoice 42" }, captureKey);
  await g.settle(sentId);
  const r = await detail(dlog(sentId));
  expect(r.status).toBe(200);
  const d = r.json.data;
  expect(d).toMatchObject({
    id: dlog(sentId),
    provider_id: g.captureId,
    status: "sent",
    status_reason: null,
    attempts: 1,
    from_email: "sender@example.com",
    sent_from_email: null,
    to_email: "a@example.net",
    subject: "Invoice 42",
    created_at: new Date(T0).toISOString(),
    sent_at: new Date(T0).toISOString(),
    recipient_count: 3,
    accepted_recipient_count: 3,
    rejected_recipient_count: 0,
  });
  expect(d.message_id).toMatch(new RegExp(`^<${sentId}@`));
  expect(typeof d.provider_name).toBe("string");
  expect(d.size_bytes).toBeGreaterThan(0);
  expect(d.recipients).toEqual([
    { email: "a@example.net", type: "to", status: "accepted", reason: null },
    { email: "c@example.net", type: "cc", status: "accepted", reason: null },
    { email: "b@example.net", type: "bcc", status: "accepted", reason: null },
  ]);
  const tag = r.headers.get("etag")!;
  expect(tag).toMatch(/^W\/"/);
  const again = await detail(dlog(sentId), { "if-none-match": tag });
  expect(again.status).toBe(304);
  expect(again.text).toBe("");
  expect(again.headers.get("etag")).toBe(tag);
});

test("one recipient refused while the others were accepted; every recipient refused → rejected", async () => {
  partialId = await send({ to: [{ email: "ok@example.org" }, { email: "nobody@example.org" }], subject: "partial" }, sinkKey);
  rejectedId = await send({ to: [{ email: "x@refused.example" }, { email: "y@refused.example" }], subject: "refused" }, sinkKey);
  await g.settle(partialId);
  await g.settle(rejectedId);
  const p = (await detail(dlog(partialId))).json.data;
  expect(p).toMatchObject({ status: "sent", provider_id: sinkId, provider_name: "the sink", recipient_count: 2, accepted_recipient_count: 1, rejected_recipient_count: 1 });
  expect(p.status_reason).toContain("nobody@example.org");
  expect(p.recipients[0]).toEqual({ email: "ok@example.org", type: "to", status: "accepted", reason: null });
  expect(p.recipients[1]).toMatchObject({ email: "nobody@example.org", type: "to", status: "rejected" });
  const x = (await detail(dlog(rejectedId))).json.data;
  expect(x).toMatchObject({ status: "rejected", attempts: 1, sent_at: null, recipient_count: 2, accepted_recipient_count: 0, rejected_recipient_count: 2 });
  expect(x.status_reason).toMatch(/550|no such user|rejected/i);
  for (const r of x.recipients) expect(r).toMatchObject({ status: "rejected", type: "to" });
});

test("pending while waiting for a cap window (with the reason), failed once canceled", async () => {
  const capped = await createProvider(g, { name: "capped", type: "capture", quotas: { per_day: 1 } });
  const key = await scopedKey(g, [capped], "full");
  const first = await send({ to: [{ email: "one@example.com" }] }, key);
  await g.settle(first);
  queuedId = await send({ to: [{ email: "two@example.com" }], subject: "waits" }, key);
  canceledId = await send({ to: [{ email: "three@example.com" }], subject: "canceled" }, key);
  await g.settle(queuedId, ["queued"]);
  let q: any;
  for (let i = 0; i < 100; i++) {
    q = (await detail(dlog(queuedId))).json.data;
    if (q.status_reason) break;
    await Bun.sleep(50);
  }
  expect(q).toMatchObject({ status: "pending", attempts: 0, sent_at: null, recipients: null, recipient_count: null, accepted_recipient_count: null, rejected_recipient_count: null });
  expect(q.status_reason).toContain("cap window");
  await g.settle(canceledId, ["queued"]);
  expect((await g.api("POST", `/api/v1/emails/${canceledId}/cancel`)).status).toBe(200);
  const c = (await detail(dlog(canceledId))).json.data;
  expect(c).toMatchObject({ status: "failed", status_reason: "canceled before it was sent", recipients: null });
});

test("the list: newest first, every filter, the items of the detail without recipients", async () => {
  const all = await list("?limit=100");
  expect(all.status).toBe(200);
  const ids: string[] = all.json.data.map((x: any) => x.id);
  for (const id of [sentId, partialId, rejectedId, queuedId, canceledId]) expect(ids).toContain(dlog(id));
  expect(all.json.pagination).toEqual({ has_more: false });
  const times = all.json.data.map((x: any) => x.created_at);
  expect([...times].sort().reverse()).toEqual(times);
  const one = all.json.data.find((x: any) => x.id === dlog(partialId));
  const { recipients: _r, ...rest } = (await detail(dlog(partialId))).json.data;
  expect(one).toEqual(rest);

  const byStatus = async (s: string) => (await list(`?status=${s}&limit=100`)).json.data.map((x: any) => x.id);
  expect(await byStatus("rejected")).toEqual([dlog(rejectedId)]);
  expect(await byStatus("pending")).toEqual([dlog(queuedId)]);
  expect(await byStatus("failed")).toEqual([dlog(canceledId)]);
  const sent = await byStatus("sent");
  expect(sent).toContain(dlog(sentId));
  expect(sent).toContain(dlog(partialId));
  expect(sent).not.toContain(dlog(rejectedId));

  expect((await list(`?provider_id=${sinkId}`)).json.data.map((x: any) => x.id).sort()).toEqual([dlog(partialId), dlog(rejectedId)].sort());
  expect((await list(`?provider_id=${sinkId}&status=sent`)).json.data.map((x: any) => x.id)).toEqual([dlog(partialId)]);
  expect((await list("?provider_id=dprov_nosuchprovider00000000000")).json.data).toEqual([]);
  // search: subject, recipient, sender, Message-ID, case-insensitive
  expect((await list("?search=invoice%2042")).json.data.map((x: any) => x.id)).toEqual([dlog(sentId)]);
  expect((await list("?search=NOBODY@example.org")).json.data.map((x: any) => x.id)).toEqual([dlog(partialId)]);
  expect((await list(`?search=${sentId}`)).json.data.map((x: any) => x.id)).toEqual([dlog(sentId)]);
  expect((await list("?search=sender@example.com&limit=100")).json.data.length).toBe(ids.length);
});

test("date range: date-only bounds cover whole UTC days; date-times are exact", async () => {
  clock.set(Date.UTC(2026, 2, 21, 8, 0));
  const later = await send({ to: [{ email: "later@example.com" }], subject: "two days later" }, captureKey);
  await g.settle(later);
  const on21 = await list("?from_date=2026-03-21&to_date=2026-03-21");
  expect(on21.json.data.map((x: any) => x.id)).toEqual([dlog(later)]);
  const on19 = (await list("?from_date=2026-03-19&to_date=2026-03-19&limit=100")).json.data.map((x: any) => x.id);
  expect(on19).toContain(dlog(sentId));
  expect(on19).not.toContain(dlog(later));
  expect((await list("?to_date=2026-03-20")).json.data.map((x: any) => x.id)).not.toContain(dlog(later));
  expect((await list("?from_date=2026-03-21T07:59:59Z")).json.data.map((x: any) => x.id)).toEqual([dlog(later)]);
  expect((await list("?from_date=2026-03-21T08:00:00.001Z")).json.data).toEqual([]);
  expect((await list("?from_date=2026-03-21T09:00:00%2B01:00")).json.data.map((x: any) => x.id)).toEqual([dlog(later)]);
});

test("cursor paging walks every log once, also across a batch accepted in one millisecond", async () => {
  clock.set(Date.UTC(2026, 2, 22, 12, 0));
  const batch = await g.api("POST", "/api/v1/emails/send/batch", {
    messages: Array.from({ length: 7 }, (_, i) => ({ from: { email: "sender@example.com" }, to: [{ email: `p${i}@example.com` }], subject: `page ${i}`, text_body: "x" })),
  });
  expect(batch.status).toBe(200);
  const want: string[] = batch.json.data.results.map((x: any) => dlog(x.message_id));
  const seen: string[] = [];
  let cursor = "";
  let pages = 0;
  for (;;) {
    const r = await list(`?from_date=2026-03-22&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
    expect(r.status).toBe(200);
    seen.push(...r.json.data.map((x: any) => x.id));
    pages++;
    if (!r.json.pagination.has_more) break;
    expect(r.json.data.length).toBe(3);
    cursor = r.json.pagination.next_cursor;
  }
  expect(pages).toBe(3);
  expect(seen.length).toBe(7);
  expect([...seen].sort()).toEqual([...want].sort());
  // A filter applies on every page.
  const firstPage = await list("?limit=1&status=sent");
  const next = await list(`?limit=100&status=sent&cursor=${firstPage.json.pagination.next_cursor}`);
  expect(next.json.data.some((x: any) => x.id === firstPage.json.data[0].id)).toBe(false);
  for (const x of next.json.data) expect(x.status).toBe("sent");
});

test("bad query parameters are 400 invalid_parameter naming the parameter", async () => {
  const cases: Array<[string, string]> = [
    ["?limit=0", "limit"],
    ["?limit=101", "limit"],
    ["?limit=ten", "limit"],
    ["?status=delivered", "status"],
    ["?from_date=yesterday", "from_date"],
    ["?to_date=2026-02-30", "to_date"],
    ["?from_date=2026-03-20&to_date=2026-03-19", "from_date"],
    ["?cursor=not-a-cursor", "cursor"],
    ["?statuses=sent", "statuses"],
    ["?status=sent&status=failed", "status"],
    [`?search=${"x".repeat(201)}`, "search"],
  ];
  for (const [q, param] of cases) {
    const r = await list(q);
    expect(r.status, q).toBe(400);
    expect(r.json.error, q).toMatchObject({ code: "invalid_parameter", param, retryable: false });
    expect(r.json.error.message.length, q).toBeGreaterThan(10);
  }
});

test("a send key gets 403; another account's log and unknown ids are 404", async () => {
  const sendKey = await scopedKey(g, [g.captureId], "send");
  const r = await list("", sendKey);
  expect(r.status).toBe(403);
  expect(r.json.error.code).toBe("insufficient_permissions");
  expect((await g.api("GET", `/api/v1/emails/logs/${dlog(sentId)}`, undefined, { authorization: `Bearer ${sendKey}` })).status).toBe(403);

  const other = await g.running.gw.accounts.create("other", null);
  const { token } = await g.running.gw.keys.create(other.id, { name: "other", permission: "full", scope: { type: "all" } });
  const foreign = await g.api("GET", `/api/v1/emails/logs/${dlog(sentId)}`, undefined, { authorization: `Bearer ${token}` });
  expect(foreign.status).toBe(404);
  expect(app.check("/emails/logs/{public_id}", "get", 404, foreign.text)).toEqual([]);
  const theirs = await g.api("GET", "/api/v1/emails/logs?limit=100", undefined, { authorization: `Bearer ${token}` });
  expect(theirs.status).toBe(200);
  expect(theirs.json.data).toEqual([]);
  for (const id of ["dlog_x", sentId, "dlog_" + "a".repeat(24)]) expect((await detail(id)).status, id).toBe(404);
});
