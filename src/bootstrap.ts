import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Gateway } from "./gateway.ts";
import { K } from "./store/keys.ts";

export interface BootstrapResult {
  created: boolean;
  accountId: string;
  keyFile: string | null;
  captureProviderId: string | null;
}

/**
 * First start on an empty Redis: one account, a `full` key written to <data dir>/bootstrap-key
 * (0600; the path is printed, never the key), and a `capture` provider so that a send works at
 * once. Later starts find the marker and do nothing.
 */
export async function bootstrap(gw: Gateway, dataDir: string): Promise<BootstrapResult> {
  const existing = await gw.redis.get(K.bootstrap());
  if (existing) return { created: false, accountId: existing, keyFile: null, captureProviderId: null };
  const acct = await gw.accounts.create("default", null);
  // SET NX: two gateways starting together on one Redis bootstrap once.
  const won = await gw.redis.set(K.bootstrap(), acct.id, "NX");
  if (won !== "OK") {
    await gw.redis.srem(K.accounts(), acct.id);
    await gw.redis.del(K.account(acct.id));
    return { created: false, accountId: (await gw.redis.get(K.bootstrap()))!, keyFile: null, captureProviderId: null };
  }
  const { token } = await gw.keys.create(acct.id, { name: "bootstrap", permission: "full", scope: { type: "all" } });
  const capture = await gw.providers.create(acct.id, { name: "Capture outbox", type: "capture" }, null);
  mkdirSync(dataDir, { recursive: true });
  const keyFile = join(dataDir, "bootstrap-key");
  writeFileSync(keyFile, token + "\n", { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  return { created: true, accountId: acct.id, keyFile, captureProviderId: capture.id };
}
