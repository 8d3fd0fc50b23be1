import type { Gateway } from "../../gateway.ts";
import type { ApiKeyRecord } from "../../types.ts";
import type { GroupContext } from "./model.ts";

const chains = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` after every earlier call for the same account has finished. Group writes, deleting a
 * provider (which edits groups) and creating a group-scoped key go through here, so a check made
 * at the start of one (this provider is in no other group; no key is scoped to this group; this
 * group exists) still holds when it writes. It serialises within one gateway process only.
 */
export async function withGroupLock<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
  const prev = chains.get(accountId) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => {});
  chains.set(accountId, tail);
  try {
    return await run;
  } finally {
    if (chains.get(accountId) === tail) chains.delete(accountId);
  }
}

/** The account's providers, and which group each member provider already belongs to. */
export async function groupContext(gw: Gateway, accountId: string, editing: string | null): Promise<GroupContext> {
  const [providers, groups] = await Promise.all([gw.providers.list(accountId), gw.groups.list(accountId)]);
  const memberOf = new Map<string, { id: string; name: string }>();
  for (const g of groups) {
    if (g.id === editing) continue;
    for (const m of g.members) memberOf.set(m.provider_id, { id: g.id, name: g.name });
  }
  return { providerIds: new Set(providers.map((p) => p.id)), memberOf };
}

/** The account's API keys whose scope is this group. */
export async function keysScopedTo(gw: Gateway, accountId: string, groupId: string): Promise<ApiKeyRecord[]> {
  return (await gw.keys.list(accountId)).filter((k) => k.scope.type === "group" && k.scope.group === groupId);
}
