import type { ProviderRecord, Scope } from "../types.ts";
import type { CapStore } from "./caps.ts";
import type { CircuitStore, Health } from "./circuit.ts";
import { providersInScope } from "./scope.ts";
import { WeightedTable, type WeightedEntry } from "./weights.ts";

/** What a message waits for when no provider can take it now (shown by GET /emails/{id}). */
export type Waiting =
  | { reason: "cap"; provider_id: string; until: number }
  | { reason: "no_healthy_provider"; until: number }
  /** Nothing in scope is active (deactivated, or disabled by an auth/config fault until /activate). */
  | { reason: "no_active_provider"; until: number };

export type RouteDecision =
  | { kind: "send"; provider: ProviderRecord; why: string }
  | { kind: "wait"; waiting: Waiting };

export interface RouterDeps {
  providers: { list(accountId: string): Promise<ProviderRecord[]> };
  caps: Pick<CapStore, "reserve">;
  circuit: Pick<CircuitStore, "get">;
  /** Members of a group with their weight overrides, for `group` scopes. */
  groupMembers?: (accountId: string, groupId: string) => Promise<Array<{ provider_id: string; percentage: number | null }>>;
  now(): number;
  random?: () => number;
}

/** How long a message waits when every provider in scope is paused and no pause end is known. */
export const NO_HEALTHY_RECHECK_MS = 30_000;

/**
 * Routing (SPEC "Routing", steps 1–3): the key's scope gives the candidates; inactive, paused and
 * disabled providers are skipped; one is drawn by weight; if its cap is reached it is set aside
 * and another is drawn; when every candidate is at its cap the message waits for the first
 * window to free. `avoid` (the provider a retry failed on) is skipped when another is healthy.
 */
export class Router {
  private tables = new Map<string, { sig: string; table: WeightedTable }>();
  private readonly random: () => number;

  constructor(private readonly deps: RouterDeps) {
    this.random = deps.random ?? Math.random;
  }

  async candidates(accountId: string, scope: Scope): Promise<Array<{ p: ProviderRecord; weight: number | null }>> {
    const all = await this.deps.providers.list(accountId);
    if (scope.type === "group") {
      const members = this.deps.groupMembers ? await this.deps.groupMembers(accountId, scope.group) : [];
      const byId = new Map(all.map((p) => [p.id, p]));
      return members
        .map((m) => ({ p: byId.get(m.provider_id)!, weight: m.percentage ?? byId.get(m.provider_id)?.percentage ?? null }))
        .filter((c) => !!c.p);
    }
    return providersInScope(all, scope).map((p) => ({ p, weight: p.percentage }));
  }

  async route(accountId: string, scope: Scope, opts: { avoid?: string | null } = {}): Promise<RouteDecision> {
    const now = this.deps.now();
    const inScope = (await this.candidates(accountId, scope)).filter((c) => c.p.status === "active" && c.weight !== 0);
    const healths = await Promise.all(inScope.map((c) => this.deps.circuit.get(c.p.id)));
    let healthy = inScope.filter((_, i) => healths[i]!.state === "ok");
    if (inScope.length === 0) {
      // Accepted while something was active; now nothing is. It waits (looked at again every
      // NO_HEALTHY_RECHECK_MS) until a provider is activated or added.
      return { kind: "wait", waiting: { reason: "no_active_provider", until: now + NO_HEALTHY_RECHECK_MS } };
    }
    if (healthy.length === 0) {
      const untils = healths.filter((h: Health) => h.state === "paused" && h.until !== null).map((h) => h.until!);
      return { kind: "wait", waiting: { reason: "no_healthy_provider", until: untils.length ? Math.min(...untils) : now + NO_HEALTHY_RECHECK_MS } };
    }
    if (opts.avoid && healthy.length > 1) healthy = healthy.filter((c) => c.p.id !== opts.avoid);
    let table = this.table(accountId, scope, opts.avoid ?? "", healthy);
    const byId = new Map(healthy.map((c) => [c.p.id, c.p]));
    let firstFree: { id: string; until: number } | null = null;
    const capped: string[] = [];
    while (table.size > 0) {
      const shares = table.shares();
      const id = table.pick(this.random())!;
      const p = byId.get(id)!;
      const r = await this.deps.caps.reserve(p, 1, accountId);
      if (r.ok) {
        const share = Math.round(shares[id]! * 1000) / 10;
        const why =
          `weighted pick among ${table.size} healthy provider(s) in scope (${share}% share)` +
          (capped.length ? `; at their cap: ${capped.join(", ")}` : "") +
          (opts.avoid && opts.avoid !== id ? `; retry avoids ${opts.avoid}` : "");
        return { kind: "send", provider: p, why };
      }
      capped.push(`${id} (${r.window} cap ${r.cap})`);
      if (!firstFree || r.until < firstFree.until) firstFree = { id, until: r.until };
      table = table.without(id);
    }
    return { kind: "wait", waiting: { reason: "cap", provider_id: firstFree!.id, until: firstFree!.until } };
  }

  /** The cumulative table for a scope, rebuilt only when its candidates or weights change. */
  private table(accountId: string, scope: Scope, avoid: string, cands: Array<{ p: ProviderRecord; weight: number | null }>): WeightedTable {
    const key = `${accountId}|${JSON.stringify(scope)}|${avoid}`;
    const sig = cands.map((c) => `${c.p.id}:${c.weight}`).join(",");
    const hit = this.tables.get(key);
    if (hit && hit.sig === sig) return hit.table;
    const entries: WeightedEntry[] = cands.map((c) => ({ id: c.p.id, weight: c.weight }));
    const table = new WeightedTable(entries);
    if (this.tables.size > 10_000) this.tables.clear();
    this.tables.set(key, { sig, table });
    return table;
  }
}
