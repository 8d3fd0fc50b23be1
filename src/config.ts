import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, hostname as osHostname } from "node:os";
import { join, resolve } from "node:path";

export interface HostPort {
  host: string;
  port: number;
}

export interface Config {
  httpAddr: HostPort;
  smtpAddr: HostPort;
  smtpsAddr: HostPort;
  /** Set: connect there and spawn nothing. Unset: a managed redis-server under dataDir. */
  redisUrl: string | null;
  dataDir: string;
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  /** 32-byte key that seals provider credentials (from SENDMUX_SECRET_KEY or the data dir). */
  secretKeyHex: string | null;
  adminToken: string | null;
  logLevel: string;
  /** Worker threads that own provider connections. */
  workers: number;
  /** SMTP relay: a client silent for this long gets 421 and is disconnected. */
  smtpIdleTimeoutMs: number;
  /** Hostname the relay greets with and uses in generated Message-IDs. */
  hostname: string;
  /** Redis AOF fsync policy for the managed redis-server. */
  redisFsync: "always" | "everysec";
  /** Consumer name in the dispatch consumer group; stable across restarts of the same node. */
  nodeId: string;
  /** Messages a capture outbox keeps per provider. */
  captureMaxItems: number;
  /** Days a settled message's record is kept. */
  retentionDays: number;
  /** Webhook targets may be http:// to a loopback host (for tests); otherwise https:// only. */
  webhookAllowHttpLoopback: boolean;
  /** One webhook request (connect, send, answer) may take this long before it counts as failed. */
  webhookTimeoutMs: number;
  /** How long POST /providers/{id}/test waits for the provider. */
  providerTestTimeoutMs: number;
  /** Days the per-day delivery-log counters (metrics, provider usage) are kept. */
  countersRetentionDays: number;
  /** POST /api/v1/signup creates accounts (true) or answers 403 (false, the default). */
  openSignup: boolean;
  /** Sends per account per UTC day through the managed route, unless the operator set another. */
  managedDailyLimit: number;
  /** Sender address of the operator's notices (limit-request outcomes) sent through the managed route. */
  noticeFrom: string;
  /** BENCHMARKING ONLY (SENDMUX_BENCH_NO_RATE_LIMIT): no per-key rate limit at all; bench/load compares with it. */
  benchNoRateLimit: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super("invalid configuration:\n  - " + problems.join("\n  - "));
    this.name = "ConfigError";
  }
}

/** Every variable the gateway reads, with its meaning; --help prints this table. */
export const ENV_DOC: Array<[string, string, string]> = [
  ["SENDMUX_HTTP_ADDR", "127.0.0.1:8080", "host:port of the HTTP API"],
  ["SENDMUX_SMTP_ADDR", "127.0.0.1:2587", "host:port of the SMTP relay with STARTTLS (587 in production)"],
  ["SENDMUX_SMTPS_ADDR", "127.0.0.1:2465", "host:port of the SMTP relay with implicit TLS (465 in production)"],
  ["REDIS_URL", "(unset)", "redis://, rediss:// or unix:// URL (unix:///path/to/redis.sock); when unset a managed redis-server with AOF runs under the data dir"],
  ["SENDMUX_DATA_DIR", "./data", "where the managed Redis, the TLS pair, the secret key, the operator token (admin-token), the bootstrap key and gateway.pid live"],
  ["SENDMUX_TLS_CERT", "(generated)", "PEM certificate file for the relay; a self-signed one is generated into the data dir"],
  ["SENDMUX_TLS_KEY", "(generated)", "PEM private key file matching SENDMUX_TLS_CERT"],
  ["SENDMUX_SECRET_KEY", "(generated)", "64 hex characters; encrypts provider credentials at rest"],
  ["SENDMUX_ADMIN_TOKEN", "(generated)", "operator token for /admin/v1"],
  ["SENDMUX_WORKERS", "2", "worker threads that hold provider connections (1-64)"],
  ["SENDMUX_SMTP_IDLE_TIMEOUT_MS", "60000", "idle time after which the relay answers 421 and closes (1000-3600000)"],
  ["SENDMUX_HOSTNAME", "(system hostname)", "name used in the SMTP greeting and generated Message-IDs"],
  ["SENDMUX_REDIS_FSYNC", "always", "managed Redis appendfsync policy: always (no acknowledged message lost even on power loss) or everysec"],
  ["SENDMUX_NODE_ID", "(hostname)", "this gateway's consumer name in the dispatch group"],
  ["SENDMUX_CAPTURE_MAX_ITEMS", "10000", "messages a capture provider's outbox keeps (the oldest go first; each is kept 7 days at most) (100-10000000)"],
  ["SENDMUX_RETENTION_DAYS", "30", "days a settled message's record (status, attempts) is kept; bodies are dropped when a message settles (1-3650)"],
  ["SENDMUX_COUNTERS_RETENTION_DAYS", "400", "days the per-day delivery counters behind /emails/metrics and /providers/usage are kept (60-3650); a few hundred bytes to a few KB per account per day"],
  ["SENDMUX_OPEN_SIGNUP", "false", "true lets anyone create an account with POST /api/v1/signup (each gets the managed route at once); false answers 403"],
  ["SENDMUX_MANAGED_DAILY_LIMIT", "50", "sends per account per UTC day through the managed route when PUT /admin/v1/managed-route gave no default_daily_limit (1-10000000)"],
  ["SENDMUX_NOTICE_FROM", "noreply@<SENDMUX_HOSTNAME>", "sender address of the emails telling an account the outcome of its limit request (sent through the managed route: use an address SES has verified)"],
  ["SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK", "false", "true accepts webhook URLs http://127.0.0.1…, http://localhost… and http://[::1]… (for tests and local receivers); every other target must be https://"],
  ["SENDMUX_WEBHOOK_TIMEOUT_MS", "10000", "time one webhook request may take before it counts as a failed attempt (1000-60000)"],
  ["SENDMUX_PROVIDER_TEST_TIMEOUT_MS", "30000", "time POST /providers/{id}/test waits for the provider before it answers success:false (1000-120000)"],
  ["SENDMUX_BENCH_NO_RATE_LIMIT", "false", "BENCHMARKING ONLY, never in production: true turns the per-key rate limit off (no Redis call, every request allowed) so `npm run bench:load` can measure what the limiter costs per request; the gateway warns at start when it is on"],
  ["LOG_LEVEL", "info", "JSON logs on stdout: fatal, error, warn, info, debug, trace or silent (no logs)"],
];

/**
 * SENDMUX_* variables that only the test suite reads (README "Quick start"). The gateway ignores
 * them, so a shell that exports one for `npm test` can still run `npm start`; every other unknown
 * SENDMUX_* variable is refused as a likely typo.
 */
export const TEST_ONLY_ENV: Array<[string, string]> = [
  ["SENDMUX_TEST_LOAD_N", "messages test/e2e/routing-caps-load.test.ts drives (a multiple of 10,000; default 100,000)"],
  ["SENDMUX_TEST_MEMORY_N", "messages test/e2e/logs-memory.test.ts measures (default 2,000)"],
  ["SENDMUX_CASES_DIR", "folder of the shared case corpus the case tests read (default ../shared/cases beside the checkout)"],
];

/** The settings part of `--help`: names in one column as wide as the longest name plus two spaces. */
export function envHelp(): string {
  const width = Math.max(...[...ENV_DOC, ...TEST_ONLY_ENV].map(([k]) => k.length)) + 2;
  const settings = ENV_DOC.map(([k, d, m]) => `  ${k.padEnd(width)}${m}\n  ${"".padEnd(width)}default: ${d}`);
  const tests = TEST_ONLY_ENV.map(([k, m]) => `  ${k.padEnd(width)}${m}`);
  return `Settings (environment variables):\n${settings.join("\n")}\n\nRead only by the tests (npm test); the gateway ignores them:\n${tests.join("\n")}`;
}

function parseHostPort(name: string, value: string, problems: string[]): HostPort {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) {
    problems.push(`${name}: expected host:port (e.g. 127.0.0.1:8080), got "${value}"`);
    return { host: "127.0.0.1", port: 0 };
  }
  const port = Number(m[3]);
  if (port > 65535) problems.push(`${name}: port must be 0-65535, got ${port}`);
  return { host: (m[1] ?? m[2])!, port };
}

function parseIntIn(name: string, value: string | undefined, dflt: number, min: number, max: number, problems: string[]): number {
  if (value === undefined || value === "") return dflt;
  if (!/^\d+$/.test(value.trim())) {
    problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${value}"`);
    return dflt;
  }
  const n = Number(value);
  if (n < min || n > max) problems.push(`${name}: expected a whole number from ${min} to ${max}, got ${n}`);
  return n;
}

/** Reads and validates the environment once, at start; never at module load. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const known = new Set(ENV_DOC.map((e) => e[0]));
  const testOnly = new Set(TEST_ONLY_ENV.map((e) => e[0]));
  for (const k of Object.keys(env)) {
    if (k.startsWith("SENDMUX_") && !known.has(k) && !testOnly.has(k)) {
      problems.push(`${k}: unknown setting (known: ${[...known].filter((x) => x.startsWith("SENDMUX_")).join(", ")})`);
    }
  }
  const httpAddr = parseHostPort("SENDMUX_HTTP_ADDR", env.SENDMUX_HTTP_ADDR ?? "127.0.0.1:8080", problems);
  const smtpAddr = parseHostPort("SENDMUX_SMTP_ADDR", env.SENDMUX_SMTP_ADDR ?? "127.0.0.1:2587", problems);
  const smtpsAddr = parseHostPort("SENDMUX_SMTPS_ADDR", env.SENDMUX_SMTPS_ADDR ?? "127.0.0.1:2465", problems);

  const redisUrl = env.REDIS_URL?.trim() || null;
  if (redisUrl && !/^(redis|rediss|unix):\/\//.test(redisUrl)) {
    problems.push(`REDIS_URL: expected a redis://, rediss:// or unix:// URL, got "${redisUrl}"`);
  }

  const tlsCertFile = env.SENDMUX_TLS_CERT?.trim() || null;
  const tlsKeyFile = env.SENDMUX_TLS_KEY?.trim() || null;
  if (!!tlsCertFile !== !!tlsKeyFile) problems.push("SENDMUX_TLS_CERT and SENDMUX_TLS_KEY must be set together");
  for (const [n, f] of [["SENDMUX_TLS_CERT", tlsCertFile], ["SENDMUX_TLS_KEY", tlsKeyFile]] as const) {
    if (f && !existsSync(f)) problems.push(`${n}: file not found: ${f}`);
  }

  const secretKeyHex = env.SENDMUX_SECRET_KEY?.trim() || null;
  if (secretKeyHex && !/^[0-9a-fA-F]{64}$/.test(secretKeyHex)) {
    problems.push("SENDMUX_SECRET_KEY: expected 64 hexadecimal characters (32 bytes), e.g. from `openssl rand -hex 32`");
  }
  const adminToken = env.SENDMUX_ADMIN_TOKEN?.trim() || null;
  if (adminToken !== null && adminToken.length < 24) problems.push("SENDMUX_ADMIN_TOKEN: must be at least 24 characters");

  const logLevel = (env.LOG_LEVEL ?? "info").trim();
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    problems.push(`LOG_LEVEL: expected fatal, error, warn, info, debug, trace or silent, got "${logLevel}"`);
  }
  const cores = availableParallelism();
  const workers = parseIntIn("SENDMUX_WORKERS", env.SENDMUX_WORKERS, Math.min(2, Math.max(1, cores)), 1, 64, problems);
  const smtpIdleTimeoutMs = parseIntIn("SENDMUX_SMTP_IDLE_TIMEOUT_MS", env.SENDMUX_SMTP_IDLE_TIMEOUT_MS, 60_000, 1000, 3_600_000, problems);
  const captureMaxItems = parseIntIn("SENDMUX_CAPTURE_MAX_ITEMS", env.SENDMUX_CAPTURE_MAX_ITEMS, 10_000, 100, 10_000_000, problems);
  const retentionDays = parseIntIn("SENDMUX_RETENTION_DAYS", env.SENDMUX_RETENTION_DAYS, 30, 1, 3650, problems);
  const countersRetentionDays = parseIntIn("SENDMUX_COUNTERS_RETENTION_DAYS", env.SENDMUX_COUNTERS_RETENTION_DAYS, 400, 60, 3650, problems);
  const fsync = (env.SENDMUX_REDIS_FSYNC ?? "always").trim();
  if (fsync !== "always" && fsync !== "everysec") problems.push(`SENDMUX_REDIS_FSYNC: expected always or everysec, got "${fsync}"`);
  const hostname = (env.SENDMUX_HOSTNAME ?? osHostname()).trim() || "localhost";
  if (!/^[A-Za-z0-9.-]+$/.test(hostname)) problems.push(`SENDMUX_HOSTNAME: expected a DNS name, got "${hostname}"`);
  const nodeId = (env.SENDMUX_NODE_ID ?? hostname).trim();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(nodeId)) problems.push(`SENDMUX_NODE_ID: expected 1-64 characters of A-Z a-z 0-9 . _ -, got "${nodeId}"`);

  const signup = (env.SENDMUX_OPEN_SIGNUP ?? "false").trim().toLowerCase();
  if (signup !== "true" && signup !== "false") problems.push(`SENDMUX_OPEN_SIGNUP: expected true or false, got "${env.SENDMUX_OPEN_SIGNUP}"`);
  const managedDailyLimit = parseIntIn("SENDMUX_MANAGED_DAILY_LIMIT", env.SENDMUX_MANAGED_DAILY_LIMIT, 50, 1, 10_000_000, problems);
  const noticeFrom = (env.SENDMUX_NOTICE_FROM ?? `noreply@${hostname}`).trim();
  if (!/^[^\s@<>"]+@[A-Za-z0-9.-]+$/.test(noticeFrom)) problems.push(`SENDMUX_NOTICE_FROM: expected a plain email address such as noreply@example.com, got "${noticeFrom}"`);

  const whLoopback = (env.SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK ?? "false").trim().toLowerCase();
  if (whLoopback !== "true" && whLoopback !== "false") problems.push(`SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK: expected true or false, got "${env.SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK}"`);
  const webhookTimeoutMs = parseIntIn("SENDMUX_WEBHOOK_TIMEOUT_MS", env.SENDMUX_WEBHOOK_TIMEOUT_MS, 10_000, 1000, 60_000, problems);
  const providerTestTimeoutMs = parseIntIn("SENDMUX_PROVIDER_TEST_TIMEOUT_MS", env.SENDMUX_PROVIDER_TEST_TIMEOUT_MS, 30_000, 1000, 120_000, problems);

  const noRateLimit = (env.SENDMUX_BENCH_NO_RATE_LIMIT ?? "false").trim().toLowerCase();
  if (noRateLimit !== "true" && noRateLimit !== "false") problems.push(`SENDMUX_BENCH_NO_RATE_LIMIT: expected true or false (a benchmarking switch), got "${env.SENDMUX_BENCH_NO_RATE_LIMIT}"`);

  if (problems.length) throw new ConfigError(problems);
  return {
    httpAddr,
    smtpAddr,
    smtpsAddr,
    redisUrl,
    dataDir: resolve(env.SENDMUX_DATA_DIR?.trim() || "./data"),
    tlsCertFile,
    tlsKeyFile,
    secretKeyHex,
    adminToken,
    logLevel,
    workers,
    smtpIdleTimeoutMs,
    hostname,
    redisFsync: fsync as "always" | "everysec",
    nodeId,
    retentionDays,
    captureMaxItems,
    webhookAllowHttpLoopback: whLoopback === "true",
    webhookTimeoutMs,
    providerTestTimeoutMs,
    countersRetentionDays,
    openSignup: signup === "true",
    managedDailyLimit,
    noticeFrom,
    benchNoRateLimit: noRateLimit === "true",
  };
}

/** Reads a secret file from the data dir, creating it (0600) with `make()` on first start. */
export function dataDirSecret(dataDir: string, name: string, make: () => string): string {
  mkdirSync(dataDir, { recursive: true });
  const p = join(dataDir, name);
  if (existsSync(p)) return readFileSync(p, "utf8").trim();
  const v = make();
  writeFileSync(p, v + "\n", { mode: 0o600 });
  chmodSync(p, 0o600);
  return v;
}

export function resolveSecretKey(cfg: Config): Buffer {
  const hex = cfg.secretKeyHex ?? dataDirSecret(cfg.dataDir, "secret-key", () => randomBytes(32).toString("hex"));
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ConfigError([`${join(cfg.dataDir, "secret-key")}: expected 64 hexadecimal characters`]);
  return Buffer.from(hex, "hex");
}

export function resolveAdminToken(cfg: Config): string {
  return cfg.adminToken ?? dataDirSecret(cfg.dataDir, "admin-token", () => "smxadm_" + randomBytes(24).toString("base64url"));
}
