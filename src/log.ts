import pino, { type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs on stdout. Every line has `component`; lines about a message carry
 * `message_id`. Credentials and API keys are never passed to the logger; the redact list is a
 * second fence in case a whole config object ever is.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "sendmux" },
    redact: {
      paths: ["*.smtp_password", "*.password", "*.secret_access_key", "*.client_secret", "*.refresh_token", "*.token", "*.authorization", "*.credentials"],
      censor: "[redacted]",
    },
  });
}

export const silentLogger: Logger = pino({ level: "silent" });
