#!/usr/bin/env bun
/**
 * Sendmux: a self-hosted email sending gateway. Entry point: reads the environment once,
 * starts the gateway, stops it cleanly on SIGINT/SIGTERM.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, envHelp, loadConfig } from "./config.ts";
import { RedisBinaryMissing } from "./redis/managed.ts";
import { startGateway } from "./server.ts";

const HELP = `Sendmux - a self-hosted email sending gateway

Usage: sendmux [--help] [--version]
       npm start            (the same, through Bun)

Starts the HTTP API, the SMTP relay (STARTTLS and implicit TLS) and the delivery workers.
With no settings it runs a managed local redis-server under ./data, and on first start
creates an account, a full API key (written to ./data/bootstrap-key) and a capture provider.

${envHelp()}

Docs: README.md; the API description is served at GET /api/v1/openapi.json.`;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}
if (args.includes("--version")) {
  console.log("sendmux 0.1.0");
  process.exit(0);
}
if (args.length) {
  console.error(`sendmux: unknown argument ${args[0]}; see sendmux --help`);
  process.exit(2);
}

let cfg;
try {
  cfg = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`sendmux: ${e.message}\nSee sendmux --help for every setting.`);
    process.exit(2);
  }
  throw e;
}

// In the compiled binary this file is /$bunfs/root/<binary name> and the worker entry sits beside
// it under /$bunfs/root/workers/ (scripts/build.ts embeds it); from source it is ../workers/.
const workerFile = new URL(Bun.isStandaloneExecutable ? "./workers/send-worker.ts" : "../workers/send-worker.ts", import.meta.url).href;
try {
  const running = await startGateway(cfg, { workerFile });
  const keyFile = join(cfg.dataDir, "bootstrap-key");
  if (running.bootstrap.created) {
    console.error(`sendmux: first start. A full API key was written to ${keyFile} (read it with: cat ${keyFile})`);
  } else if (existsSync(keyFile)) {
    console.error(`sendmux: the bootstrap API key is in ${keyFile}`);
  }
  if (cfg.benchNoRateLimit) console.error("sendmux: WARNING: SENDMUX_BENCH_NO_RATE_LIMIT=true, the per-key rate limit is OFF (a benchmarking switch; never use it in production)");
  console.error(`sendmux: HTTP API on http://${cfg.httpAddr.host}:${running.httpPort}, SMTP relay on ${cfg.smtpAddr.host}:${running.smtpPort} (STARTTLS) and ${cfg.smtpsAddr.host}:${running.smtpsPort} (TLS)`);
  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`sendmux: ${sig} received, stopping`);
    await running.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
} catch (e) {
  if (e instanceof RedisBinaryMissing) {
    console.error(`sendmux: ${e.message}`);
    process.exit(1);
  }
  const msg = (e as Error).message;
  if (/EADDRINUSE|address already in use|Failed to start server/i.test(msg)) {
    console.error(`sendmux: a port is already in use (${msg}). Set SENDMUX_HTTP_ADDR, SENDMUX_SMTP_ADDR or SENDMUX_SMTPS_ADDR to free ones.`);
    process.exit(1);
  }
  console.error(`sendmux: could not start: ${msg}`);
  process.exit(1);
}
