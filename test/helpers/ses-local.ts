import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Subprocess } from "bun";
import { freePort, waitFor } from "./net.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "node_modules", "aws-ses-v2-local", "dist", "cli.js");

/** One SendEmail call as it crossed the wire to the local SES endpoint. */
export interface SesCall {
  from: string | undefined;
  to: string[];
  cc: string[];
  bcc: string[];
  /** Content.Raw.Data decoded: the exact bytes the adapter handed to SES. */
  raw: Buffer;
  /** The MessageId aws-ses-v2-local answered with (null when it refused). */
  messageId: string | null;
  status: number;
  authorization: string;
}

export interface SesLocal {
  /** The endpoint to give a provider (`config.endpoint`): the recorder in front of aws-ses-v2-local. */
  endpoint: string;
  /** SendEmail calls in the order they arrived. */
  calls: SesCall[];
  /** GetAccount calls seen. */
  accountReads(): number;
  /** aws-ses-v2-local's own store (GET /store): what it kept of each message. */
  stored(): Promise<Array<{ messageId: string; from: string; destination: { to: string[]; cc: string[]; bcc: string[] }; subject: string }>>;
  stop(): Promise<void>;
}

/** A production account as GetAccount reports it (aws-ses-v2-local returns AWS_SES_ACCOUNT as it is). */
export function sesAccount(over: { MaxSendRate?: number; Max24HourSend?: number; SentLast24Hours?: number; ProductionAccessEnabled?: boolean; SendingEnabled?: boolean } = {}) {
  return {
    DedicatedIpAutoWarmupEnabled: false,
    Details: {
      AdditionalContactEmailAddresses: [],
      ContactLanguage: "EN",
      MailType: "TRANSACTIONAL",
      ReviewDetails: { CaseId: "case-1", Status: "GRANTED" },
      UseCaseDescription: "tests",
      WebsiteURL: "https://example.com",
    },
    EnforcementStatus: "HEALTHY",
    ProductionAccessEnabled: over.ProductionAccessEnabled ?? true,
    SendingEnabled: over.SendingEnabled ?? true,
    SendQuota: { Max24HourSend: over.Max24HourSend ?? 50_000, MaxSendRate: over.MaxSendRate ?? 14, SentLast24Hours: over.SentLast24Hours ?? 0 },
    SuppressionAttributes: { SuppressedReasons: [] },
  };
}

/**
 * aws-ses-v2-local (the npm package, a local SES v2 endpoint written by others) as a child process
 * on a free 127.0.0.1 port, with `account` as its GetAccount answer. A small recorder sits in front
 * of it and passes every request through unchanged: aws-ses-v2-local keeps only a parsed summary of
 * a raw message and ignores `Destination` for raw mail, so the recorder is what lets a test see
 * the exact bytes and envelope the adapter sent.
 */
export async function startSesLocal(account: unknown = sesAccount()): Promise<SesLocal> {
  if (!existsSync(CLI)) throw new Error(`aws-ses-v2-local is not installed (${CLI})`);
  const port = await freePort();
  const node = Bun.which("node");
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn([node ?? process.execPath, CLI, "--host", "127.0.0.1", "--port", String(port)], {
    env: { PATH: process.env.PATH ?? "", AWS_SES_ACCOUNT: JSON.stringify(account) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const upstream = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${upstream}/health-check`)).ok, "aws-ses-v2-local to listen", 15_000, 50);

  const calls: SesCall[] = [];
  let reads = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
      const headers = new Headers(req.headers);
      headers.delete("host");
      const res = await fetch(upstream + url.pathname + url.search, { method: req.method, headers, body });
      const text = await res.text();
      if (url.pathname === "/v2/email/account") reads++;
      if (req.method === "POST" && url.pathname === "/v2/email/outbound-emails" && body) {
        const j = JSON.parse(Buffer.from(body).toString("utf8")) as {
          FromEmailAddress?: string;
          Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
          Content?: { Raw?: { Data?: string } };
        };
        let messageId: string | null = null;
        try {
          messageId = (JSON.parse(text) as { MessageId?: string }).MessageId ?? null;
        } catch {
          /* an error answer */
        }
        calls.push({
          from: j.FromEmailAddress,
          to: j.Destination?.ToAddresses ?? [],
          cc: j.Destination?.CcAddresses ?? [],
          bcc: j.Destination?.BccAddresses ?? [],
          raw: Buffer.from(j.Content?.Raw?.Data ?? "", "base64"),
          messageId,
          status: res.status,
          authorization: req.headers.get("authorization") ?? "",
        });
      }
      const out = new Headers(res.headers);
      out.delete("content-length");
      out.delete("content-encoding");
      return new Response(text, { status: res.status, headers: out });
    },
  });

  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    calls,
    accountReads: () => reads,
    async stored() {
      const r = (await (await fetch(`${upstream}/store`)).json()) as { emails: Array<{ messageId: string; from: string; destination: { to: string[]; cc: string[]; bcc: string[] }; subject: string }> };
      return r.emails;
    },
    async stop() {
      server.stop(true);
      proc.kill();
      await proc.exited;
    },
  };
}
