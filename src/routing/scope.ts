import type { ProviderRecord, Scope } from "../types.ts";

/**
 * The routing seam, step 1 of SPEC "Routing": the key's scope gives the candidates. A key only
 * ever reaches providers of its own account that its scope names.
 */
export function providersInScope(all: ProviderRecord[], scope: Scope, groupMembers?: (groupId: string) => string[]): ProviderRecord[] {
  switch (scope.type) {
    case "all":
      return all;
    case "specific": {
      const want = new Set(scope.providers);
      return all.filter((p) => want.has(p.id));
    }
    case "group": {
      const want = new Set(groupMembers ? groupMembers(scope.group) : []);
      return all.filter((p) => want.has(p.id));
    }
  }
}

/** Providers that may be chosen at all: active, and not excluded by a zero weight. */
export function activeCandidates(inScope: ProviderRecord[]): ProviderRecord[] {
  return inScope.filter((p) => p.status === "active" && p.percentage !== 0);
}
