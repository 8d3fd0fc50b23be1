import { fileURLToPath } from "node:url";
import type { HttpRequestSpec, LoadResult } from "./wrk.ts";

const AUTOCANNON = fileURLToPath(new URL("../../node_modules/.bin/autocannon", import.meta.url));

/** Runs the autocannon CLI (under Node, in its own process) with one fixed bearer token. */
export async function runAutocannon(base: string, req: HttpRequestSpec, token: string, connections: number, seconds: number): Promise<LoadResult> {
  const p = Bun.spawn(
    [AUTOCANNON, "-j", "-c", String(connections), "-d", String(seconds), "-m", req.method, "-b", req.body,
      "-H", "content-type=application/json", "-H", `authorization=Bearer ${token}`, base + req.path],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  let j: { requests: { total: number; average: number }; duration: number; non2xx: number; errors: number; timeouts: number; latency: { p50: number; p99: number } };
  try {
    j = JSON.parse(out);
  } catch {
    throw new Error(`autocannon gave no JSON (exit ${p.exitCode}): ${out}${err}`);
  }
  return {
    tool: "autocannon",
    connections,
    seconds: j.duration,
    requests: j.requests.total,
    reqPerSec: j.requests.total / j.duration,
    non2xx: j.non2xx,
    socketErrors: j.errors + j.timeouts,
    p50Ms: j.latency.p50,
    p99Ms: j.latency.p99,
  };
}
