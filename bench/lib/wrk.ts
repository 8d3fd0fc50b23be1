import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface HttpRequestSpec {
  method: string;
  path: string;
  body: string;
}

export interface LoadResult {
  tool: "wrk" | "autocannon";
  connections: number;
  seconds: number;
  requests: number;
  reqPerSec: number;
  /** Responses with a status of 400 or above (wrk) / outside 2xx (autocannon). */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  socketErrors: number;
  p50Ms: number;
  p99Ms: number;
}

/** Lua long-bracket string that cannot be closed by the text inside it. */
function luaString(s: string): string {
  let eq = "=";
  while (s.includes(`]${eq}]`)) eq += "=";
  return `[${eq}[${s}]${eq}]`;
}

/** A wrk script: the fixed request, the next bearer token of the pool on every request, a JSON summary. */
export function wrkScript(req: HttpRequestSpec, tokens: string[]): string {
  return `
local tokens = { ${tokens.map((t) => `"${t}"`).join(", ")} }
local n = 0
wrk.method = "${req.method}"
wrk.body = ${luaString(req.body)}
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]
  return wrk.format(nil, "${req.path}")
end
done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket":%d,"p50_us":%d,"p99_us":%d}\\n',
    s.requests, s.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;
}

/** Runs wrk (2 threads: the machine has 2 cores) against base + req.path. */
export async function runWrk(base: string, req: HttpRequestSpec, tokens: string[], connections: number, seconds: number): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "smx-wrk-"));
  try {
    const script = join(dir, "scenario.lua");
    writeFileSync(script, wrkScript(req, tokens));
    const p = Bun.spawn(["wrk", "-t2", `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "-s", script, base], { stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    await p.exited;
    const line = out.split("\n").find((l) => l.startsWith("WRKJSON "));
    if (!line) throw new Error(`wrk gave no summary (exit ${p.exitCode}): ${out}${err}`);
    const j = JSON.parse(line.slice(8)) as { requests: number; duration_us: number; non2xx: number; socket: number; p50_us: number; p99_us: number };
    const secs = j.duration_us / 1e6;
    return { tool: "wrk", connections, seconds: secs, requests: j.requests, reqPerSec: j.requests / secs, non2xx: j.non2xx, socketErrors: j.socket, p50Ms: j.p50_us / 1000, p99Ms: j.p99_us / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
