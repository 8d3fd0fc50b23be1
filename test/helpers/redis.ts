import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisServer } from "../../src/redis/managed.ts";
import { freePort } from "./net.ts";

/** A redis-server of the test's own on a free 127.0.0.1 port (never 6379), removed on stop. */
export async function startTestRedis(): Promise<{ server: RedisServer; url: string; port: number; dir: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "smx-redis-"));
  // A port looked up free can be taken before redis-server binds it: then try another.
  let port = 0;
  let server: RedisServer | undefined;
  for (let tryNo = 1; !server; tryNo++) {
    port = await freePort();
    try {
      server = await RedisServer.start({ dir, port, fsync: "everysec" });
    } catch (e) {
      if (tryNo >= 4) throw e;
    }
  }
  return {
    server,
    url: server.url,
    port,
    dir,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
