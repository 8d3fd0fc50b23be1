import { simpleParser } from "mailparser";
import type { TestGateway } from "./gateway.ts";
import { waitFor } from "./net.ts";
import type { ReplyOrClosed } from "./smtp-client.ts";

/**
 * The shared cases (../shared/cases beside the clone, as in CI), read at test time, and the
 * checks their manifest names for the relay surface, applied to what the capture outbox stored.
 */
import { CASES_DIR, caseBytes, loadManifest } from "./cases.ts";
export { CASES_DIR };

export interface CaseExpect {
  smtp_replies?: string[];
  smtp_reply_prefix?: string;
  connection_closed?: boolean;
  upstream_messages?: number;
  upstream_messages_max?: number;
  delivered?: { recipients: string[]; checks: string[] };
  if_accepted?: CaseExpect;
  any_of?: CaseExpect[];
  spec_silent?: boolean;
}

export interface CaseEntry {
  id: string;
  files: string[];
  surface: string;
  replay?: string;
  envelope?: { mail_from: string; rcpt_to: string[] };
  expect: CaseExpect;
}

export function relayCases(): CaseEntry[] {
  const all = loadManifest() as unknown as CaseEntry[];
  return all.filter((c) => c.surface === "relay");
}

export function caseEntry(id: string): CaseEntry {
  const c = relayCases().find((x) => x.id === id);
  if (!c) throw new Error(`case ${id} is not in the manifest`);
  return c;
}

export function caseFile(name: string): Buffer {
  return caseBytes(name);
}

/** null when the replies match (each entry a prefix, `a|b` either, `closed` for a close). */
export function repliesMismatch(expected: string[], got: ReplyOrClosed[]): string | null {
  const codes = got.map((r) => (r === "closed" ? "closed" : r.text));
  for (let i = 0; i < expected.length; i++) {
    const g = codes[i];
    const ok = g !== undefined && expected[i]!.split("|").some((alt) => (alt === "closed" ? g === "closed" : g.startsWith(alt)));
    if (!ok) return `reply ${i + 1}: expected ${expected[i]}, got ${g ?? "nothing"} (all: ${JSON.stringify(codes)})`;
  }
  return null;
}

/** Checks smtp_replies and connection_closed (with any_of); null when they hold. */
export function conversationMismatch(exp: CaseExpect, got: ReplyOrClosed[], closed: boolean): string | null {
  if (exp.any_of) {
    const misses = exp.any_of.map((alt) => conversationMismatch(alt, got, closed));
    return misses.some((m) => m === null) ? null : `no alternative holds: ${misses.join(" / ")}`;
  }
  if (exp.smtp_replies) {
    const m = repliesMismatch(exp.smtp_replies, got);
    if (m) return m;
  }
  if (exp.connection_closed && !closed) return "the connection was expected to be closed";
  return null;
}

/** The message ids of `250 … queued as eml_…` replies. */
export function queuedIds(got: ReplyOrClosed[]): string[] {
  return got.flatMap((r) => (r !== "closed" && r.code === 250 ? (r.text.match(/queued as (eml_[a-z0-9]{24})/)?.slice(1) ?? []) : []));
}

export interface OutboxMessage {
  message_id: string;
  envelope: { from: string; to: string[] };
  raw: Buffer;
}

/**
 * Everything the capture outbox holds, read through the API, once every queued id has settled
 * (and a short grace for anything else that might still be on its way).
 */
export async function outboxAfter(g: TestGateway, ids: string[], graceMs = 300): Promise<OutboxMessage[]> {
  for (const id of ids) await g.settle(id);
  await Bun.sleep(graceMs);
  const list = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox?limit=1000`);
  if (list.status !== 200) throw new Error(`outbox listing failed: ${list.text}`);
  const out: OutboxMessage[] = [];
  for (const item of list.json.data as Array<{ message_id: string; envelope: { from: string; to: string[] } }>) {
    const res = await fetch(`${g.base}/api/v1/providers/${g.captureId}/outbox/${item.message_id}`, { headers: { authorization: `Bearer ${g.token}` } });
    if (res.status !== 200) throw new Error(`outbox raw ${item.message_id}: ${res.status}`);
    out.push({ message_id: item.message_id, envelope: item.envelope, raw: Buffer.from(await res.arrayBuffer()) });
  }
  return out;
}

export async function clearOutbox(g: TestGateway): Promise<void> {
  await g.running.gw.outbox.clear(g.accountId, g.captureId);
  await waitFor(async () => (await g.api("GET", `/api/v1/providers/${g.captureId}/outbox`)).json.data.length === 0, "outbox to be empty");
}

/** Python's email package with policy.default: the defects it finds anywhere in the message. */
function pythonDefects(raw: Buffer): string[] {
  const py = `
import sys, email
from email import policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
out = []
for part in m.walk():
    out += [type(d).__name__ for d in part.defects]
    for k, v in part.items():
        out += [type(d).__name__ + " in " + k for d in getattr(v, "defects", ())]
print("\\n".join(out))
`;
  const r = Bun.spawnSync(["python3", "-c", py], { stdin: raw });
  if (r.exitCode !== 0) return [`python3 failed: ${r.stderr.toString()}`];
  return r.stdout.toString().split("\n").filter(Boolean);
}

/** Problems with the delivered messages against a `delivered` expectation; [] when it holds. */
export async function deliveredProblems(want: { recipients: string[]; checks: string[] }, msgs: OutboxMessage[]): Promise<string[]> {
  const problems: string[] = [];
  const rcpts = [...new Set(msgs.flatMap((m) => m.envelope.to))].sort();
  if (JSON.stringify(rcpts) !== JSON.stringify([...want.recipients].sort())) problems.push(`recipients ${JSON.stringify(rcpts)} != ${JSON.stringify(want.recipients)}`);
  if (msgs.length === 0) return [...problems, "nothing was delivered"];
  for (const check of want.checks) {
    const colon = check.indexOf(":");
    const kind = colon < 0 ? check : check.slice(0, colon);
    const arg = colon < 0 ? "" : check.slice(colon + 1);
    for (const m of msgs) {
      const parsed = await simpleParser(m.raw);
      const text = m.raw.toString("latin1");
      const fail = (why: string) => problems.push(`${check} (${m.message_id}): ${why}`);
      switch (kind) {
        case "single_message":
          if (msgs.length !== 1) fail(`${msgs.length} messages delivered`);
          break;
        case "envelope_from":
          if (m.envelope.from !== arg) fail(`envelope from is ${m.envelope.from}`);
          break;
        case "header_equals": {
          const eq = arg.indexOf("=");
          const name = arg.slice(0, eq).toLowerCase();
          const v = parsed.headers.get(name);
          const value = typeof v === "string" ? v : v === undefined ? undefined : JSON.stringify(v);
          if (value !== arg.slice(eq + 1)) fail(`is ${JSON.stringify(value)}`);
          break;
        }
        case "no_header":
          if (parsed.headers.has(arg.toLowerCase()) || new RegExp(`^${arg}[ \\t]*:`, "im").test(text.split("\r\n\r\n")[0]!)) fail("present");
          break;
        case "crlf_only":
          if (/\r(?!\n)|(?<!\r)\n/.test(text)) fail("a bare CR or LF is in the message");
          break;
        case "parses_cleanly": {
          const d = pythonDefects(m.raw);
          if (d.length) fail(`defects: ${d.join(", ")}`);
          break;
        }
        case "body_line":
          if (!(parsed.text ?? "").split(/\r\n|\n|\r/).includes(arg)) fail(`no such line in ${JSON.stringify(parsed.text)}`);
          break;
        default:
          fail("check not implemented by this helper");
      }
    }
  }
  return problems;
}
