/**
 * Replays every http-surface case of shared/cases (and B04, whose adapter-smtp upstream another
 * test covers) through POST /api/v1/emails/send with the bootstrap key, whose scope holds the
 * capture provider, and judges each outcome against the case's `expect`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { CASES_DIR, caseBytes, judge, loadManifest, type CaseEntry, type Delivered } from "../helpers/cases.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const EXTRA = ["B04"];
const cases: CaseEntry[] = loadManifest().filter((c) => c.surface === "http" || EXTRA.includes(c.id));

let g: TestGateway;
let accepted = 0;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

async function outboxIds(): Promise<Set<string>> {
  const r = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
  expect(r.status).toBe(200);
  return new Set(r.json.data.map((x: { message_id: string }) => x.message_id));
}

async function deliveredSince(before: Set<string>): Promise<Delivered[]> {
  const r = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
  const out: Delivered[] = [];
  for (const item of r.json.data.filter((x: { message_id: string }) => !before.has(x.message_id))) {
    const raw = await fetch(`${g.base}/api/v1/providers/${g.captureId}/outbox/${item.message_id}`, { headers: { authorization: `Bearer ${g.token}` } });
    expect(raw.headers.get("content-type")).toBe("message/rfc822");
    out.push({ raw: Buffer.from(await raw.arrayBuffer()), envelope: item.envelope });
  }
  return out;
}

test("the shared cases folder is beside the repository", () => {
  expect(existsSync(`${CASES_DIR}manifest.json`)).toBe(true);
  expect(cases.length).toBeGreaterThanOrEqual(28);
});

for (const c of cases) {
  test(`${c.id} (${c.theme}): ${c.why}`, async () => {
    const body = caseBytes(c.files[0]!);
    const before = await outboxIds();
    const res = await g.api("POST", "/api/v1/emails/send", body, { "content-type": "application/json" });
    // Every answer, good or bad, is the documented envelope with the request id.
    expect(res.json).toBeObject();
    expect(res.json.meta.request_id).toBe(res.headers.get("x-request-id"));
    expect(res.status).not.toBe(500);
    let message = null;
    let delivered: Delivered[] = [];
    if (res.status === 200) {
      accepted++;
      message = await g.settle(res.json.data.message_id);
      delivered = await deliveredSince(before);
    } else {
      expect(res.json.ok).toBe(false);
      expect((await outboxIds()).size).toBe(before.size);
    }
    const fails = await judge(c.expect, { http: { status: res.status, json: res.json }, message, delivered, request: JSON.parse(body.toString("utf8")) });
    expect(fails).toEqual([]);
  });
}

test("nothing but the accepted cases reached the provider", async () => {
  expect((await outboxIds()).size).toBe(accepted);
});
