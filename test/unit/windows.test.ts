import { expect, test } from "bun:test";
import { capFor, effectiveQuotas, windowStart } from "../../src/routing/windows.ts";

test("windows are aligned to UTC: a day starts at 00:00 UTC", () => {
  const t = Date.UTC(2026, 11, 3, 17, 45, 12, 345);
  expect(windowStart(t, 86_400_000)).toBe(Date.UTC(2026, 11, 3));
  expect(windowStart(t, 3_600_000)).toBe(Date.UTC(2026, 11, 3, 17));
  expect(windowStart(t, 1000)).toBe(Date.UTC(2026, 11, 3, 17, 45, 12));
});

test("a fixed cap is itself; a range draws a cap inside it, the same for the same window, new for the next", () => {
  expect(capFor(10, "p", 0)).toBe(10);
  expect(capFor(null, "p", 0)).toBeNull();
  const seen = new Set<number>();
  for (let w = 0; w < 200; w++) {
    const c = capFor({ min: 5, max: 9 }, "dprov_x", w * 60_000)!;
    expect(c).toBeGreaterThanOrEqual(5);
    expect(c).toBeLessThanOrEqual(9);
    expect(capFor({ min: 5, max: 9 }, "dprov_x", w * 60_000)).toBe(c);
    seen.add(c);
  }
  expect(seen.size).toBe(5);
});

test("defaults by type apply only where the user set none; smtp has none", () => {
  const none = { per_second: null, per_minute: null, per_hour: null, per_day: null };
  expect(effectiveQuotas("smtp", none)).toEqual(none);
  expect(effectiveQuotas("gmail_api", none).per_day).toBe(1800);
  expect(effectiveQuotas("gmail_api", { ...none, per_day: 100 }).per_day).toBe(100);
});
