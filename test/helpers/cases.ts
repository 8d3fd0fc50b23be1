import { existsSync } from "node:fs";
/**
 * The shared cases (shared/cases/README.md): loading them and judging an outcome against a case's
 * `expect`. Surfaces differ only in how they collect the outcome (an HTTP response, SMTP replies,
 * what a provider received); the judging is here, once, for all of them. Checks on a delivered
 * message run in pycheck.py (Python's email package, policy.default) plus mailparser here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { simpleParser } from "mailparser";

/** shared/ sits beside the repository (CI has a read-only copy there too). */
/**
 * The shared case corpus: ../shared/cases beside the checkout (as CI lays it out), or wherever
 * SENDMUX_CASES_DIR points. A missing corpus fails the case tests with this explanation.
 */
export const CASES_DIR = process.env.SENDMUX_CASES_DIR
  ? process.env.SENDMUX_CASES_DIR.replace(/\/?$/, "/")
  : fileURLToPath(new URL("../../../shared/cases/", import.meta.url));

/** Fails a case test with an explanation (not a bare ENOENT) when the corpus is not there. */
export function assertCasesPresent(): void {
  if (!existsSync(CASES_DIR + "manifest.json")) {
    throw new Error(`the shared case corpus was not found at ${CASES_DIR} (CI lays it out as ../shared/cases beside the checkout); set SENDMUX_CASES_DIR to its folder`);
  }
}
const PYCHECK = fileURLToPath(new URL("./pycheck.py", import.meta.url));

export interface CaseEntry {
  id: string;
  files: string[];
  surface: string;
  theme: string;
  expect: Expect;
  why: string;
  replay?: string;
  envelope?: { from: string; to: string[] };
}

export type Expect = Record<string, unknown>;

export function loadManifest(): CaseEntry[] {
  assertCasesPresent();
  return JSON.parse(readFileSync(join(CASES_DIR, "manifest.json"), "utf8")) as CaseEntry[];
}

export function getCase(id: string): CaseEntry {
  const c = loadManifest().find((x) => x.id === id);
  if (!c) throw new Error(`case ${id} is not in ${CASES_DIR}manifest.json`);
  return c;
}

/** A case file's bytes exactly as stored (never re-serialised). */
export function caseBytes(file: string): Buffer {
  assertCasesPresent();
  return readFileSync(join(CASES_DIR, file));
}

/** One message as the provider received it. */
export interface Delivered {
  raw: Buffer;
  envelope: { from: string; to: string[] };
}

/** Everything observed while replaying one case; a surface fills in what applies to it. */
export interface CaseOutcome {
  http?: { status: number; json: any };
  /** Reply codes in order, one per command after the greeting ("closed" when the server hung up). */
  smtp?: { replies: string[]; closed: boolean; seconds?: number };
  /** GET /api/v1/emails/{id} data once the message settled (null when there is no message). */
  message?: any | null;
  /** Every message the provider received during the case. */
  delivered?: Delivered[];
  /** The send request as JSON, for the *_equal_request checks. */
  request?: unknown;
  /** The submitted raw message (relay), for relayed_unchanged and parts_decode_as_submitted. */
  submitted?: Buffer;
}

const ACCEPTED = /^2/;

function normPath(p: string): string {
  return p.replace(/\[(\d+)\]/g, ".$1");
}

/** `to` matches `to`, `to.email`, `to.0.email`, `to[0]` but not `token`. */
function pathStartsWith(field: string, prefix: string): boolean {
  const f = normPath(field);
  const p = normPath(prefix);
  return f === p || f.startsWith(`${p}.`);
}

function errorFields(json: any): string[] {
  const e = json?.error ?? {};
  const out: string[] = [];
  if (typeof e.param === "string") out.push(e.param);
  for (const x of e.errors ?? []) if (typeof x?.field === "string") out.push(x.field);
  return out;
}

function errorTexts(json: any): string[] {
  const e = json?.error ?? {};
  const out = [e.param, e.message];
  for (const x of e.errors ?? []) out.push(x?.field, x?.message);
  return out.filter((s): s is string => typeof s === "string");
}

function wasAccepted(o: CaseOutcome): boolean {
  if (o.http) return ACCEPTED.test(String(o.http.status));
  const last = o.smtp?.replies.at(-1);
  return !!last && ACCEPTED.test(last);
}

function codeMatches(got: string | undefined, want: string): boolean {
  if (got === undefined) return false;
  return want.split("|").some((w) => (w === "closed" ? got === "closed" : got.startsWith(w)));
}

/** Returns what does not hold (empty when the outcome meets the expectation). */
export async function judge(expect: Expect, o: CaseOutcome): Promise<string[]> {
  const fails: string[] = [];
  const need = (cond: boolean, what: string) => {
    if (!cond) fails.push(what);
  };
  const http = o.http;
  const status = http?.status;
  const err = http?.json?.error;
  for (const [key, want] of Object.entries(expect)) {
    switch (key) {
      case "spec_silent":
        break;
      case "http_status":
        need(status === want, `HTTP status ${status}, expected ${want} (${JSON.stringify(http?.json?.error ?? {}).slice(0, 300)})`);
        break;
      case "http_status_in":
        need((want as number[]).includes(status!), `HTTP status ${status}, expected one of ${want}`);
        break;
      case "error_code":
        need(err?.code === want, `error.code ${err?.code}, expected ${want}`);
        break;
      case "error_code_in":
        need((want as string[]).includes(err?.code), `error.code ${err?.code}, expected one of ${want}`);
        break;
      case "error_field_prefix":
        need(errorFields(http?.json).some((f) => pathStartsWith(f, want as string)), `no error field starts with ${want}: ${errorFields(http?.json).join(", ")}`);
        break;
      case "error_field_prefix_in":
        need(
          (want as string[]).some((p) => errorFields(http?.json).some((f) => pathStartsWith(f, p))),
          `no error field starts with any of ${want}: ${errorFields(http?.json).join(", ")}`,
        );
        break;
      case "error_fields_exclude_prefixes": {
        const fields = (err?.errors ?? []).map((x: any) => String(x.field));
        const bad = fields.filter((f: string) => (want as string[]).some((p) => pathStartsWith(f, p)));
        need(bad.length === 0, `error fields that should not be there: ${bad.join(", ")}`);
        break;
      }
      case "error_mentions":
        for (const s of want as string[]) need(errorTexts(http?.json).some((t) => t.includes(s)), `the error does not mention ${s}`);
        break;
      case "delivered":
        fails.push(...(await judgeDelivered(want as { recipients: string[]; checks?: string[] }, o)));
        break;
      case "message_status":
        need(o.message?.status === want, `message status ${o.message?.status}, expected ${want}`);
        break;
      case "message_status_in":
        need((want as string[]).includes(o.message?.status), `message status ${o.message?.status}, expected one of ${want}`);
        break;
      case "attempts_max":
        need((o.message?.attempts?.length ?? 0) <= (want as number), `${o.message?.attempts?.length} attempts, at most ${want} expected`);
        break;
      case "attempt_response_contains":
        need((o.message?.attempts ?? []).some((a: any) => String(a.response).includes(want as string)), `no attempt response contains ${want}`);
        break;
      case "next_attempt_at_set":
        need(!!o.message?.next_attempt_at === want, `next_attempt_at is ${o.message?.next_attempt_at}`);
        break;
      case "smtp_replies": {
        const got = o.smtp?.replies ?? [];
        (want as string[]).forEach((w, i) => need(codeMatches(got[i], w), `reply ${i + 1} is ${got[i] ?? "missing"}, expected ${w} (all: ${got.join(" ")})`));
        break;
      }
      case "smtp_reply_prefix":
        need(codeMatches(o.smtp?.replies.at(-1), want as string), `end-of-data reply ${o.smtp?.replies.at(-1)}, expected ${want}`);
        break;
      case "connection_closed":
        need(!!o.smtp?.closed === want, `connection ${o.smtp?.closed ? "was" : "was not"} closed`);
        break;
      case "upstream_messages":
        need((o.delivered?.length ?? 0) === want, `${o.delivered?.length ?? 0} messages reached the provider, expected ${want}`);
        break;
      case "upstream_messages_max":
        need((o.delivered?.length ?? 0) <= (want as number), `${o.delivered?.length ?? 0} messages reached the provider, at most ${want} expected`);
        break;
      case "reply_within_s":
        need(o.smtp?.seconds !== undefined && o.smtp.seconds <= (want as number), `the reply took ${o.smtp?.seconds} s`);
        break;
      case "if_accepted":
        if (wasAccepted(o)) fails.push(...(await judge(want as Expect, o)));
        break;
      case "any_of": {
        const alts = await Promise.all((want as Expect[]).map((alt) => judge(alt, o)));
        if (!alts.some((f) => f.length === 0)) fails.push(`no alternative holds: ${alts.map((f, i) => `[${i}] ${f.join("; ")}`).join(" | ")}`);
        break;
      }
      default:
        fails.push(`expect key ${key} is not implemented by test/helpers/cases.ts`);
    }
  }
  return fails;
}

async function judgeDelivered(want: { recipients: string[]; checks?: string[] }, o: CaseOutcome): Promise<string[]> {
  const got = o.delivered ?? [];
  if (got.length === 0) return ["nothing was delivered"];
  const fails: string[] = [];
  const rcpts = [...new Set(got.flatMap((d) => d.envelope.to))].sort();
  const wantR = [...new Set(want.recipients)].sort();
  if (JSON.stringify(rcpts) !== JSON.stringify(wantR)) fails.push(`envelope recipients ${JSON.stringify(rcpts)}, expected ${JSON.stringify(wantR)}`);
  const py: string[] = [];
  for (const c of want.checks ?? []) {
    const [name, arg] = splitCheck(c);
    if (name === "single_message") {
      if (got.length !== 1) fails.push(`${got.length} messages delivered, expected exactly one`);
    } else if (name === "envelope_from") {
      for (const d of got) if (d.envelope.from !== arg) fails.push(`envelope sender ${d.envelope.from}, expected ${arg}`);
    } else {
      if (name === "parses_cleanly") {
        for (const d of got) await simpleParser(d.raw).catch((e) => fails.push(`mailparser cannot parse it: ${(e as Error).message}`));
      }
      py.push(c);
    }
  }
  if (py.length) {
    for (const d of got) fails.push(...(await pycheck(d.raw, py, o.request, o.submitted)));
  }
  return fails;
}

function splitCheck(c: string): [string, string] {
  const i = c.indexOf(":");
  return i < 0 ? [c, ""] : [c.slice(0, i), c.slice(i + 1)];
}

/** Runs pycheck.py on one message; returns the checks that failed, with their reasons. */
export async function pycheck(raw: Buffer, checks: string[], request?: unknown, submitted?: Buffer): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "smx-pycheck-"));
  try {
    const rawPath = join(dir, "delivered.eml");
    writeFileSync(rawPath, raw);
    let subPath: string | null = null;
    if (submitted) {
      subPath = join(dir, "submitted.eml");
      writeFileSync(subPath, submitted);
    }
    const proc = Bun.spawn(["python3", PYCHECK], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    proc.stdin.write(JSON.stringify({ raw: rawPath, checks, request: request ?? null, submitted: subPath }));
    await proc.stdin.end();
    const [out, errText, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) return [`pycheck.py exited with ${code}: ${errText.slice(-500)}`];
    const res = JSON.parse(out) as { results: Array<{ check: string; ok: boolean; detail: string }> };
    return res.results.filter((r) => !r.ok).map((r) => `${r.check.slice(0, 80)}: ${r.detail}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
