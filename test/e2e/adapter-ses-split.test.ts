/**
 * SES takes at most 50 recipients a call. The gateway's own API and relay stop at 50 recipients a
 * message, so this drives the adapter directly (as a worker does) against aws-ses-v2-local and the
 * error endpoint: 120 envelope recipients go out in calls of 50, 50 and 20, each with the same raw
 * bytes; a failure after the first call is reported, not retried (that would send twice).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { SesAdapter } from "../../src/providers/ses.ts";
import type { OutgoingMessage, ProviderSnapshot } from "../../src/providers/types.ts";
import type { ProviderRecord } from "../../src/types.ts";
import { SES_ERRORS, startFakeSes, type FakeSes } from "../helpers/fake-ses.ts";
import { sesAccount, startSesLocal, type SesLocal } from "../helpers/ses-local.ts";

setDefaultTimeout(30_000);

let local: SesLocal;
let f: FakeSes;
beforeAll(async () => {
  local = await startSesLocal();
  f = startFakeSes(sesAccount());
});
afterAll(async () => {
  await local?.stop();
  f?.stop();
});

function snap(endpoint: string): ProviderSnapshot {
  const record = { id: "dprov_split", account_id: "acc", type: "amazon_ses", version: 1, detected_quotas: null } as unknown as ProviderRecord;
  return { record, secrets: { config: { region: "us-east-1", access_key_id: "AKIDSPLIT", secret_access_key: "s3cret", endpoint } } };
}

const rcpts = Array.from({ length: 120 }, (_, i) => `r${i}@example.net`);
const raw = Buffer.from("From: sender@example.com\r\nTo: undisclosed-recipients:;\r\nSubject: many\r\nMessage-ID: <many@example.com>\r\n\r\nhello\r\n");
const msg: OutgoingMessage = { id: "eml_many", accountId: "acc", envelope: { from: "sender@example.com", to: rcpts }, raw, now: Date.now(), from: "sender@example.com", to: [], subject: "many" };

test("120 recipients: three calls of 50, 50 and 20, the same bytes each time, every recipient once", async () => {
  const a = new SesAdapter(snap(local.endpoint));
  try {
    const r = await a.send(msg);
    expect(r.ok).toBe(true);
    expect(local.calls.map((c) => c.to.length)).toEqual([50, 50, 20]);
    expect(local.calls.flatMap((c) => c.to)).toEqual(rcpts);
    for (const c of local.calls) expect(c.raw.equals(raw)).toBe(true);
    expect(r.response).toContain("in 3 calls");
    for (const c of local.calls) expect(r.response).toContain(c.messageId!);
    expect((await local.stored()).length).toBe(3);
  } finally {
    await a.close();
  }
});

test("the first call refused: the whole message fails as one (nothing went out)", async () => {
  const a = new SesAdapter(snap(f.endpoint));
  try {
    f.script.SendEmail.push(SES_ERRORS.maxRate);
    const r = await a.send(msg);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.class).toBe("transient");
    expect(f.calls.filter((c) => c.op === "SendEmail")).toHaveLength(1);
  } finally {
    await a.close();
  }
});

test("a later call refused: sent, and the response names who did not get it and why", async () => {
  f.calls.length = 0;
  const a = new SesAdapter(snap(f.endpoint));
  try {
    f.script.SendEmail.push({ ok: true }, SES_ERRORS.dailyQuota);
    const r = await a.send(msg);
    expect(r.ok).toBe(true);
    expect(f.calls.map((c) => c.to.length)).toEqual([50, 50]);
    expect(r.response).toContain("NOT sent to 70 recipient(s)");
    expect(r.response).toContain("r50@example.net");
    expect(r.response).toContain("Daily message quota exceeded");
  } finally {
    await a.close();
  }
});

test("credentials and region come from the config only, whatever the environment says", async () => {
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_REGION: "ap-south-1", AWS_DEFAULT_REGION: "ap-south-1", AWS_ACCESS_KEY_ID: "AKIAFROMENV", AWS_SECRET_ACCESS_KEY: "env", AWS_PROFILE: "nope", AWS_MAX_ATTEMPTS: "5", AWS_USE_FIPS_ENDPOINT: "true" });
  const before = local.calls.length;
  const a = new SesAdapter(snap(local.endpoint));
  try {
    const r = await a.send({ ...msg, envelope: { from: "sender@example.com", to: ["one@example.net"] } });
    expect(r.ok).toBe(true);
    const c = local.calls[before]!;
    expect(c.authorization).toContain("Credential=AKIDSPLIT/");
    expect(c.authorization).toContain("/us-east-1/ses/aws4_request");
  } finally {
    await a.close();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});
