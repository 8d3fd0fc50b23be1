import type { FailureClass } from "../types.ts";

/**
 * Classification of provider failures into the five classes routing reacts to. One table per
 * provider type; rows are matched in order and the first match wins. Quota texts that arrive as
 * 5xx are matched before the generic reply-code rules. Sources: shared/research/
 * provider-specifics.md §4 (nodemailer error objects, RFC 5321/3463/4954 reply codes).
 */
export interface ProviderError {
  /** nodemailer's `code` (ECONNECTION, EAUTH, EENVELOPE, …) or an SDK error name. */
  code?: string;
  /** The numeric reply code, when the server answered. */
  responseCode?: number;
  /** The server's reply line(s) or the error message. */
  response?: string;
  /** The SMTP command that failed (CONN, EHLO, AUTH PLAIN, MAIL FROM, RCPT TO, DATA, …). */
  command?: string;
}

export interface ClassRow {
  /** What the row matches, in words; shown in tests and docs. */
  signal: string;
  cls: FailureClass;
  match(e: ProviderError): boolean;
  /** Marked where the research file calls the choice a guess. */
  guess?: boolean;
}

const QUOTA_TEXT = /\b5\.4\.5\b|daily\b.*\b(limit|quota)\b.*\bexceeded|SubmissionQuotaExceeded|Throttling failure: Daily message quota|quota exceeded/i;
const THROTTLE_TEXT = /try again later|rate limit|too many|Throttling failure: Maximum sending rate/i;
const enhanced = (e: ProviderError): string | null => /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(e.response ?? "")?.[0] ?? null;
const isCmd = (e: ProviderError, prefix: string) => (e.command ?? "").toUpperCase().startsWith(prefix);
const rc = (e: ProviderError) => e.responseCode ?? 0;

export const SMTP_TABLE: ClassRow[] = [
  { signal: "quota text (5.4.5, daily … limit exceeded, SubmissionQuotaExceeded, Daily message quota) at any code", cls: "quota", match: (e) => QUOTA_TEXT.test(e.response ?? "") },
  { signal: "EAUTH with 454 or 4.7.0 on AUTH (temporary authentication failure)", cls: "transient", match: (e) => (e.code === "EAUTH" || isCmd(e, "AUTH")) && (rc(e) === 454 || enhanced(e) === "4.7.0") },
  { signal: "EAUTH / ENOAUTH, or 535/534/530, or 5.7.8 / 5.7.0 / 5.7.139 / 5.7.3 / 5.7.57", cls: "auth_config", match: (e) => e.code === "EAUTH" || e.code === "ENOAUTH" || [530, 534, 535].includes(rc(e)) || ["5.7.8", "5.7.0", "5.7.139", "5.7.3", "5.7.57"].includes(enhanced(e) ?? "") },
  { signal: "ETLS with a 530 or certificate problem (the upstream's TLS is misconfigured or not offered)", cls: "auth_config", guess: true, match: (e) => e.code === "ETLS" && (rc(e) === 530 || /certificate|self[- ]signed|STARTTLS/i.test(e.response ?? "")) },
  { signal: "ETLS otherwise (handshake or network failure)", cls: "connection", guess: true, match: (e) => e.code === "ETLS" },
  { signal: "EOAUTH2 (token endpoint failure)", cls: "transient", guess: true, match: (e) => e.code === "EOAUTH2" && !/invalid_grant|invalid_client/.test(e.response ?? "") },
  { signal: "EOAUTH2 with invalid_grant / invalid_client", cls: "auth_config", match: (e) => e.code === "EOAUTH2" },
  { signal: "421, or 4.7.x / 4.4.5, or 'try again later' / rate texts (throttling, even when nodemailer says ECONNECTION)", cls: "transient", match: (e) => rc(e) === 421 || /^4\.7\.\d+$/.test(enhanced(e) ?? "") || enhanced(e) === "4.4.5" || (rc(e) >= 400 && THROTTLE_TEXT.test(e.response ?? "")) },
  { signal: "connection failures without a reply: ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, EPROXY", cls: "connection", match: (e) => !e.responseCode && ["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "EPROXY", "ECONNREFUSED", "ECONNRESET"].includes(e.code ?? "") },
  { signal: "EENVELOPE at RCPT TO with 5xx (bad or unknown recipient)", cls: "permanent_recipient", match: (e) => isCmd(e, "RCPT") && rc(e) >= 500 },
  { signal: "EENVELOPE at MAIL FROM with 5xx (sender not allowed)", cls: "auth_config", guess: true, match: (e) => isCmd(e, "MAIL") && rc(e) >= 500 },
  { signal: "EENVELOPE / EMESSAGE with 4xx (mailbox full, local error, storage)", cls: "transient", match: (e) => rc(e) >= 400 && rc(e) < 500 },
  { signal: "EMESSAGE with 5xx at DATA (too big, media, content policy, 554)", cls: "permanent_recipient", match: (e) => rc(e) >= 500 },
  { signal: "EENVELOPE at API (address syntax refused before sending) or message size over the upstream's SIZE", cls: "permanent_recipient", match: (e) => (e.code === "EENVELOPE" && isCmd(e, "API")) || (e.code === "EMESSAGE" && /size/i.test(e.response ?? "")) },
  { signal: "EPROTOCOL (invalid greeting, failed RSET)", cls: "transient", match: (e) => e.code === "EPROTOCOL" },
  { signal: "EMAXLIMIT (pool connection reached its message limit: a recycle signal)", cls: "transient", match: (e) => e.code === "EMAXLIMIT" },
];

/** Anything no row matches is transient: retried, and counted as a provider-side failure. */
export function classify(table: ClassRow[], e: ProviderError): { cls: FailureClass; row: string } {
  for (const row of table) if (row.match(e)) return { cls: row.cls, row: row.signal };
  return { cls: "transient", row: "no row matched (default: transient)" };
}

/**
 * Whether a class fails the message at once. Only a recipient's permanent rejection is the
 * message's own fault; every other class is the provider's, so the message is retried.
 */
export function isPermanent(cls: FailureClass): boolean {
  return cls === "permanent_recipient";
}
