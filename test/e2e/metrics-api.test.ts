/**
 * GET /emails/metrics, /providers/usage and /providers/stats (sendmux-openapi-app.json), driven by
 * a ManualClock: counters move with each message (pending at acceptance, then its outcome),
 * windows and the comparison period, hourly and daily series, the provider filter, and every
 * response validated against the reference document. The counts agree with the delivery logs.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { OasValidator, loadReference } from "../helpers/oas.ts";
import { createProvider, createSmtpProvider, scopedKey, sendWith } from "../helpers/providers.ts";
import { startSink, type Sink } from "../helpers/sink.ts";

const app = new OasValidator(loadReference("sendmux-openapi-app.json"), "https://schemas.sendmux.test/app.json");
const DAY1 = Date.UTC(2026, 2, 18, 9, 15);
const clock = new ManualClock(DAY1);
let g: TestGateway;
let sink: Sink;
let sinkId: string;
let cappedId: string;
let captureKey: string;
let sinkKey: string;
let cappedKey: string;

beforeAll(async () => {
  g = await startTestGateway({ clock });
  sink = await startSink({
    onRcptTo(addr, _s, cb) {
      if (!addr.address.endsWith("@refused.example")) return cb();
      const e = new Error("5.1.1 no such user") as Error & { responseCode: number };
      e.responseCode = 550;
      cb(e);
    },
  });
  sinkId = await createSmtpProvider(g, sink.port, { name: "sink" });
  cappedId = await createProvider(g, { name: "capped", type: "capture", quotas: { per_day: 1 } });
  captureKey = await scopedKey(g, [g.captureId], "full");
  sinkKey = await scopedKey(g, [sinkId], "full");
  cappedKey = await scopedKey(g, [cappedId], "full");
});
afterAll(async () => {
  await g?.stop();
  await sink?.close();
});

async function send(token: string, to = "r@example.com", settle = true): Promise<string> {
  const r = await sendWith(g, token, { from: { email: "s@example.com" }, to: [{ email: to }], subject: "m", text_body: "x" });
  expect(r.status).toBe(200);
  if (settle) await g.settle(r.json.data.message_id);
  return r.json.data.message_id;
}

async function get(path: string, doc: string) {
  const r = await g.api("GET", path);
  if (r.status === 200) expect(app.check(doc, "get", 200, r.text)).toEqual([]);
  return r;
}
const metrics = (q = "") => get(`/api/v1/emails/metrics${q}`, "/emails/metrics");

test("counts by status with the comparison period, from counters kept per day", async () => {
  // Day 1 (2026-03-18): 2 sent through capture, 1 rejected by the sink.
  await send(captureKey);
  await send(captureKey);
  await send(sinkKey, "x@refused.example");
  // Day 2 (2026-03-19) 09:15-11:15: 3 sent, 1 sent through capped and 1 waiting there (pending).
  clock.set(DAY1 + 86_400_000);
  await send(captureKey);
  await send(sinkKey);
  clock.advance(2 * 3_600_000);
  await send(captureKey);
  await send(cappedKey);
  const waiting = await send(cappedKey, "w@example.com", false);
  await g.settle(waiting, ["queued"]);

  const m = await metrics();
  expect(m.status).toBe(200);
  const d = m.json.data;
  expect(d.summary).toEqual({ total: 5, sent: 4, failed: 0, rejected: 0, pending: 1 });
  expect(d.comparison).toEqual({ total: 3, sent: 2, failed: 0, rejected: 1, pending: 0, change_pct: { total: 66.67, sent: 100, failed: 0, rejected: -100, pending: 100 } });
  // 24h with daily points: the part of yesterday inside the window, and today.
  expect(d.timeseries.map((p: any) => [p.timestamp, p.total])).toEqual([["2026-03-18T00:00:00Z", 0], ["2026-03-19T00:00:00Z", 5]]);

  const hourly = (await metrics("?granularity=hourly")).json.data.timeseries;
  expect(hourly.length).toBe(24);
  expect(hourly.at(-1)).toEqual({ timestamp: "2026-03-19T11:00:00Z", total: 3, sent: 2, failed: 0, rejected: 0, pending: 1 });
  expect(hourly.find((p: any) => p.timestamp === "2026-03-19T09:00:00Z")).toMatchObject({ total: 2, sent: 2 });

  const week = (await metrics("?window=7d")).json.data;
  expect(week.summary).toEqual({ total: 8, sent: 6, failed: 0, rejected: 1, pending: 1 });
  expect(week.timeseries.length).toBe(7);
  expect(week.timeseries[0].timestamp).toBe("2026-03-13T00:00:00Z");
  expect(week.comparison.total).toBe(0);
  expect(week.comparison.change_pct.total).toBe(100);
  expect((await metrics("?window=30d")).json.data.timeseries.length).toBe(30);

  const span = (await metrics("?from_date=2026-03-18&to_date=2026-03-18")).json.data;
  expect(span.summary).toEqual({ total: 3, sent: 2, failed: 0, rejected: 1, pending: 0 });
  expect(span.timeseries.map((p: any) => p.timestamp)).toEqual(["2026-03-18T00:00:00Z"]);

  const bySink = (await metrics(`?window=7d&provider_id=${sinkId}`)).json.data.summary;
  expect(bySink).toEqual({ total: 2, sent: 1, failed: 0, rejected: 1, pending: 0 });
  // Provider counts only for logs naming a provider: the waiting message has none yet.
  const byCapped = (await metrics(`?provider_id=${cappedId}`)).json.data.summary;
  expect(byCapped).toEqual({ total: 1, sent: 1, failed: 0, rejected: 0, pending: 0 });

  // The same period's delivery logs say the same.
  const logs = (await g.api("GET", "/api/v1/emails/logs?from_date=2026-03-12&limit=100")).json.data;
  expect(logs.length).toBe(week.summary.total);
  for (const s of ["sent", "failed", "rejected", "pending"]) expect(logs.filter((l: any) => l.status === s).length, s).toBe(week.summary[s]);

  // A cancel moves the waiting message from pending to failed.
  expect((await g.api("POST", `/api/v1/emails/${waiting}/cancel`)).status).toBe(200);
  expect((await metrics()).json.data.summary).toEqual({ total: 5, sent: 4, failed: 1, rejected: 0, pending: 0 });
});

test("providers/usage: per provider, today and the trailing 7 days", async () => {
  const r = await get("/api/v1/providers/usage", "/providers/usage");
  expect(r.status).toBe(200);
  expect(r.json.data.window_days).toBe(7);
  const by = Object.fromEntries(r.json.data.providers.map((p: any) => [p.provider_id, p]));
  expect(by[g.captureId]).toEqual({ provider_id: g.captureId, sent_today: 2, total_7d: 4, sent_7d: 4, failed_7d: 0, rejected_7d: 0, pending_7d: 0 });
  expect(by[sinkId]).toEqual({ provider_id: sinkId, sent_today: 1, total_7d: 2, sent_7d: 1, failed_7d: 0, rejected_7d: 1, pending_7d: 0 });
  expect(by[cappedId]).toMatchObject({ sent_today: 1, total_7d: 1 });
  // Eight days later the first day has left the window.
  clock.set(DAY1 + 7 * 86_400_000);
  const later = (await get("/api/v1/providers/usage", "/providers/usage")).json.data;
  const sinkLater = later.providers.find((p: any) => p.provider_id === sinkId);
  expect(sinkLater).toEqual({ provider_id: sinkId, sent_today: 0, total_7d: 1, sent_7d: 1, failed_7d: 0, rejected_7d: 0, pending_7d: 0 });
});

test("providers/stats: counts by type and status", async () => {
  expect((await g.api("POST", `/api/v1/providers/${cappedId}/deactivate`)).status).toBe(200);
  const r = await get("/api/v1/providers/stats", "/providers/stats");
  expect(r.status).toBe(200);
  const all = (await g.api("GET", "/api/v1/providers?limit=100")).json.data as Array<{ type: string; status: string }>;
  const count = (f: (p: { type: string; status: string }) => boolean) => all.filter(f).length;
  expect(r.json.data).toEqual({
    total: all.length,
    active: count((p) => p.status === "active"),
    inactive: count((p) => p.status === "inactive"),
    error: count((p) => p.status === "error"),
    pending: count((p) => p.status === "pending"),
    by_type: { smtp: count((p) => p.type === "smtp"), gmail_api: count((p) => p.type === "gmail_api"), outlook_api: count((p) => p.type === "outlook_api"), amazon_ses: count((p) => p.type === "amazon_ses") },
    by_status: { active: count((p) => p.status === "active"), inactive: count((p) => p.status === "inactive"), error: count((p) => p.status === "error"), pending: count((p) => p.status === "pending") },
  });
  expect(r.json.data.inactive).toBeGreaterThanOrEqual(1);
  expect(r.json.data.by_type.smtp).toBeGreaterThanOrEqual(1);
});

test("bad parameters are 400 naming them; a send key is refused", async () => {
  const cases: Array<[string, string]> = [
    ["?window=1y", "window"],
    ["?granularity=weekly", "granularity"],
    ["?from_date=soon", "from_date"],
    ["?to_date=2026-13-01", "to_date"],
    ["?from_date=2026-03-20&to_date=2026-03-19", "from_date"],
    ["?from_date=2024-01-01&to_date=2026-01-01", "from_date"],
    ["?from_date=2026-01-01&to_date=2026-03-19&granularity=hourly", "granularity"],
    ["?windows=7d", "windows"],
  ];
  for (const [q, param] of cases) {
    const r = await g.api("GET", `/api/v1/emails/metrics${q}`);
    expect(r.status, q).toBe(400);
    expect(r.json.error, q).toMatchObject({ code: "invalid_parameter", param });
  }
  expect((await g.api("GET", "/api/v1/providers/usage?x=1")).json.error.param).toBe("x");
  const sendKey = await scopedKey(g, [g.captureId], "send");
  for (const p of ["/api/v1/emails/metrics", "/api/v1/providers/usage", "/api/v1/providers/stats"]) {
    const r = await g.api("GET", p, undefined, { authorization: `Bearer ${sendKey}` });
    expect(r.status, p).toBe(403);
  }
});
