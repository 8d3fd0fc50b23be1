import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { CapStore } from "../../src/routing/caps.ts";
import { CircuitStore } from "../../src/routing/circuit.ts";
import { connectRedis, type SendmuxRedis } from "../../src/store/redis.ts";
import type { ProviderRecord } from "../../src/types.ts";
import { startTestRedis } from "../helpers/redis.ts";

let redis: Awaited<ReturnType<typeof startTestRedis>>;
let r: SendmuxRedis;
beforeAll(async () => {
  redis = await startTestRedis();
  r = connectRedis(redis.url);
});
afterAll(async () => {
  r?.disconnect();
  await redis?.stop();
});

function provider(id: string, quotas: Partial<ProviderRecord["quotas"]>): ProviderRecord {
  return {
    id, account_id: "acct_x", name: id, type: "smtp", status: "active", status_reason: null, is_shared: false,
    smtp_host: null, smtp_port: null, smtp_protocol: null, smtp_username: null, has_smtp_password: false,
    from_email: null, from_name: null, reply_to_email: null, reply_to_name: null, tracking_domain: null, percentage: null,
    quotas: { per_second: null, per_minute: null, per_hour: null, per_day: null, ...quotas },
    created_at: "", updated_at: "", last_tested_at: null, last_used_at: null, sealed: null, version: 1,
  };
}

test("caps: every window is enforced, a refused send counts nothing, and the next window frees", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 10, 0, 0));
  const caps = new CapStore(r, clock);
  const p = provider("dprov_caps1", { per_second: 3, per_minute: 5 });
  const results = [];
  for (let i = 0; i < 4; i++) results.push(await caps.reserve(p));
  expect(results.slice(0, 3).every((x) => x.ok)).toBe(true);
  expect(results[3]).toEqual({ ok: false, window: "second", cap: 3, until: Date.UTC(2026, 0, 1, 10, 0, 1) });
  clock.advance(1000);
  expect((await caps.reserve(p)).ok).toBe(true);
  expect((await caps.reserve(p)).ok).toBe(true);
  const minuteFull = await caps.reserve(p);
  expect(minuteFull).toEqual({ ok: false, window: "minute", cap: 5, until: Date.UTC(2026, 0, 1, 10, 1, 0) });
  expect(await caps.usage(p.id)).toEqual({ second: 2, minute: 5, hour: 5, day: 5 });
  clock.set(Date.UTC(2026, 0, 1, 10, 1, 0));
  expect((await caps.reserve(p)).ok).toBe(true);
});

test("caps: concurrent reservations never exceed the cap", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 2));
  const caps = new CapStore(r, clock);
  const p = provider("dprov_caps2", { per_hour: 100 });
  const all = await Promise.all(Array.from({ length: 500 }, () => caps.reserve(p)));
  expect(all.filter((x) => x.ok).length).toBe(100);
});

test("circuit: 3 provider-side failures inside 5 minutes pause by class; older ones do not count", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 3));
  const c = new CircuitStore(r, clock);
  expect((await c.recordFailure("dprov_c1", "connection", "ECONNREFUSED")).state).toBe("ok");
  clock.advance(6 * 60_000);
  expect((await c.recordFailure("dprov_c1", "connection", "ECONNREFUSED")).state).toBe("ok");
  expect((await c.recordFailure("dprov_c1", "connection", "ECONNREFUSED")).state).toBe("ok");
  const h = await c.recordFailure("dprov_c1", "connection", "ECONNREFUSED");
  expect(h.state).toBe("paused");
  expect(h.until).toBe(clock.now() + 3_600_000);
  clock.advance(3_600_000 - 1);
  expect((await c.get("dprov_c1")).state).toBe("paused");
  clock.advance(1);
  expect((await c.get("dprov_c1")).state).toBe("ok");
});

test("circuit: a quota block pauses 24 h, an auth fault disables until reset, recipient rejections never count", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 4));
  const c = new CircuitStore(r, clock);
  for (let i = 0; i < 5; i++) expect((await c.recordFailure("dprov_c2", "permanent_recipient", "550 5.1.1")).state).toBe("ok");
  await c.recordFailure("dprov_c2", "transient", "421");
  await c.recordFailure("dprov_c2", "quota", "550 5.4.5 Daily user sending limit exceeded");
  const q = await c.recordFailure("dprov_c2", "transient", "421");
  expect(q.state).toBe("paused");
  expect(q.cls).toBe("quota");
  expect(q.until).toBe(clock.now() + 24 * 3_600_000);

  for (let i = 0; i < 3; i++) await c.recordFailure("dprov_c3", "auth_config", "535 5.7.8");
  clock.advance(30 * 24 * 3_600_000);
  expect((await c.get("dprov_c3")).state).toBe("disabled");
  await c.reset("dprov_c3");
  expect((await c.get("dprov_c3")).state).toBe("ok");
});

test("circuit state survives a new store (a restart) because it lives in Redis", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 5));
  const c1 = new CircuitStore(r, clock);
  for (let i = 0; i < 3; i++) await c1.recordFailure("dprov_c4", "connection", "ETIMEDOUT");
  const c2 = new CircuitStore(r, clock);
  const h = await c2.get("dprov_c4");
  expect(h.state).toBe("paused");
  expect(h.until).toBe(clock.now() + 3_600_000);
});
