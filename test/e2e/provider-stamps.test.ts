import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

test("sending stamps last_used_at without touching the record: an ETag taken before the send still matches for PATCH", async () => {
  const before = await g.api("GET", `/api/v1/providers/${g.captureId}`);
  expect(before.json.data.last_used_at).toBeNull();
  const etag = before.headers.get("etag")!;
  const versionBefore = (await g.running.gw.providers.get(g.accountId, g.captureId))!.version;

  const s = await g.api("POST", "/api/v1/emails/send", { from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "stamp", text_body: "x" });
  await g.settle(s.json.data.message_id);
  const after = await waitFor(async () => {
    const r = await g.api("GET", `/api/v1/providers/${g.captureId}`);
    return r.json.data.last_used_at ? r : null;
  }, "last_used_at to be set");
  expect(Date.parse(after.json.data.last_used_at)).toBeGreaterThan(0);
  expect(after.json.data.usage.day).toBe(1);
  expect((await g.running.gw.providers.get(g.accountId, g.captureId))!.version).toBe(versionBefore);

  const patch = await g.api("PATCH", `/api/v1/providers/${g.captureId}`, { name: "Renamed capture" }, { "if-match": etag });
  expect(patch.status).toBe(200);
  expect(patch.json.data.name).toBe("Renamed capture");
  expect(patch.json.data.last_used_at).toBe(after.json.data.last_used_at);
});
