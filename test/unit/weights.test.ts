import { expect, test } from "bun:test";
import { WeightedTable, resolveWeights } from "../../src/routing/weights.ts";

function draws(t: WeightedTable, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = t.pick(Math.random())!;
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

test("weights 3:1 over 10,000 draws land within 2 percentage points of 75/25", () => {
  const t = new WeightedTable([{ id: "a", weight: 3 }, { id: "b", weight: 1 }]);
  const c = draws(t, 10_000);
  expect(Math.abs(c.a! / 10_000 - 0.75)).toBeLessThan(0.02);
  expect(Math.abs(c.b! / 10_000 - 0.25)).toBeLessThan(0.02);
});

test("unset weights split equally", () => {
  const t = new WeightedTable([{ id: "a", weight: null }, { id: "b", weight: null }, { id: "c", weight: null }]);
  const c = draws(t, 12_000);
  for (const id of ["a", "b", "c"]) expect(Math.abs(c[id]! / 12_000 - 1 / 3)).toBeLessThan(0.02);
});

test("a 0-weight provider is never chosen", () => {
  const t = new WeightedTable([{ id: "a", weight: 0 }, { id: "b", weight: 5 }, { id: "c", weight: null }]);
  const c = draws(t, 10_000);
  expect(c.a).toBeUndefined();
  expect(t.ids).not.toContain("a");
  // Edge draws: the very bottom and the very top of [0, 1).
  expect(t.pick(0)).toBe("b");
  expect(t.pick(0.999999999)).toBe("c");
});

test("an unset weight among set ones counts as their mean", () => {
  expect(resolveWeights([{ id: "a", weight: 2 }, { id: "b", weight: 4 }, { id: "c", weight: null }])).toEqual([2, 4, 3]);
  expect(resolveWeights([{ id: "a", weight: 0 }, { id: "b", weight: null }])).toEqual([0, 1]);
});

test("nothing to choose gives null; without() renormalises the rest", () => {
  expect(new WeightedTable([]).pick(0.5)).toBeNull();
  expect(new WeightedTable([{ id: "a", weight: 0 }]).pick(0.5)).toBeNull();
  const t = new WeightedTable([{ id: "a", weight: 3 }, { id: "b", weight: 1 }]).without("a");
  expect(t.ids).toEqual(["b"]);
  expect(t.shares()).toEqual({ b: 1 });
});
