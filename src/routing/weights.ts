/**
 * Weighted selection (SPEC "Routing" step 2): a precomputed cumulative-weight table, drawn from
 * with one random number and a binary search. Tables are immutable; a change of providers, health
 * or weights builds a new one, so drawing needs no lock.
 */
export interface WeightedEntry {
  id: string;
  /** A relative weight; null means "an equal share". 0 means never chosen. */
  weight: number | null;
}

export class WeightedTable {
  readonly ids: string[];
  readonly cumulative: number[];
  readonly total: number;

  constructor(entries: WeightedEntry[]) {
    const weights = resolveWeights(entries);
    this.ids = [];
    this.cumulative = [];
    let sum = 0;
    entries.forEach((e, i) => {
      const w = weights[i]!;
      if (w <= 0) return;
      sum += w;
      this.ids.push(e.id);
      this.cumulative.push(sum);
    });
    this.total = sum;
  }

  get size(): number {
    return this.ids.length;
  }

  /** One draw; `r` in [0, 1). Null when nothing can be chosen. */
  pick(r: number): string | null {
    if (this.total <= 0) return null;
    const x = r * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x < this.cumulative[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return this.ids[lo]!;
  }

  /** The share of traffic each id gets, for display ("why this provider"). */
  shares(): Record<string, number> {
    const out: Record<string, number> = {};
    let prev = 0;
    this.ids.forEach((id, i) => {
      out[id] = (this.cumulative[i]! - prev) / this.total;
      prev = this.cumulative[i]!;
    });
    return out;
  }

  without(id: string): WeightedTable {
    const entries: WeightedEntry[] = [];
    let prev = 0;
    this.ids.forEach((x, i) => {
      if (x !== id) entries.push({ id: x, weight: this.cumulative[i]! - prev });
      prev = this.cumulative[i]!;
    });
    return new WeightedTable(entries);
  }
}

/**
 * Unset weights: when no entry has a weight, every entry counts 1 (an equal split). When some do,
 * an unset entry counts as the mean of the set, non-zero ones, so it gets an ordinary share
 * instead of none or all.
 */
export function resolveWeights(entries: WeightedEntry[]): number[] {
  const set = entries.filter((e) => e.weight !== null && e.weight > 0).map((e) => e.weight!);
  const dflt = set.length ? set.reduce((a, b) => a + b, 0) / set.length : 1;
  return entries.map((e) => (e.weight === null ? dflt : e.weight));
}
