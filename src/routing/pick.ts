import type { ProviderRecord } from "../types.ts";

/**
 * Step 2 of SPEC "Routing": one candidate drawn by cumulative-weight random selection over
 * `percentage` (a relative weight; unset = an equal share, 0 = never). The full routing layer
 * (caps, the circuit, retries on another provider) replaces this seam in its own change.
 */
export function pickProvider(candidates: ProviderRecord[], random: () => number = Math.random): ProviderRecord | null {
  if (candidates.length === 0) return null;
  const weights = candidates.map((p) => (p.percentage === null ? defaultWeight(candidates) : p.percentage));
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  let r = random() * total;
  for (let i = 0; i < candidates.length; i++) {
    r -= weights[i]!;
    if (r < 0) return candidates[i]!;
  }
  return candidates[candidates.length - 1]!;
}

/** Unset weights share equally with each other: each counts as the mean of the set ones, or 1. */
function defaultWeight(candidates: ProviderRecord[]): number {
  const set = candidates.filter((p) => p.percentage !== null).map((p) => p.percentage!);
  if (set.length === 0) return 1;
  return set.reduce((a, b) => a + b, 0) / set.length;
}
