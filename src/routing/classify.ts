import type { FailureClass } from "../types.ts";
import { SES_TABLE } from "./classify-ses.ts";
import { GMAIL_TABLE } from "./classify-gmail.ts";
import { OUTLOOK_TABLE } from "./classify-outlook.ts";

/**
 * Classification of provider failures into the five classes routing reacts to
 * (shared/research/provider-specifics.md: transient · quota · connection · auth_config ·
 * permanent_recipient). One table per provider type, all in the same shape: rows matched in
 * order, the first match wins, anything unmatched is transient. Provider-specific texts come
 * before generic reply-code rules (a quota block that arrives as a 5xx is not a bad recipient),
 * and reply codes come before nodemailer's error code (a 421 to EHLO reported as ECONNECTION is
 * throttling, not a network failure). Sources: provider-specifics.md §0 and §4.
 */
export interface ProviderError {
  /** nodemailer's `code` (ECONNECTION, EAUTH, EENVELOPE, …) or an SDK error name / code. */
  code?: string;
  /** The numeric SMTP reply code, when the server answered. */
  responseCode?: number;
  /** The server's reply line(s), or the error message when there was no reply. */
  response?: string;
  /** The SMTP command that failed (CONN, EHLO, STARTTLS, AUTH PLAIN, MAIL FROM, RCPT TO, DATA, API). */
  command?: string;
  /** HTTP API providers: the response status (gmail_api, outlook_api, amazon_ses tables). */
  status?: number;
  /** HTTP API providers: the error's machine reason (`rateLimitExceeded`, `ErrorQuotaExceeded`, `Throttling`, `invalid_grant`). */
  reason?: string;
}

export interface ClassRow {
  /** What the row matches, in words; shown in tests and docs. */
  signal: string;
  cls: FailureClass;
  match(e: ProviderError): boolean;
  /** Marked where the research file calls the choice a guess. */
  guess?: boolean;
}

export type ClassTable = readonly ClassRow[];

// Provider quota texts that may arrive with any reply code (Gmail 550 5.4.5, Exchange 554 5.2.0
// SubmissionQuotaExceeded, SES "Daily message quota exceeded").
const QUOTA_TEXT = /\b5\.4\.5\b|daily\b.*\b(limit|quota)\b.*\bexceeded|SubmissionQuotaExceeded|Throttling failure: Daily message quota|sending (limit|quota) exceeded/i;
// Throttling texts strong enough to count even on a 5xx.
const THROTTLE_TEXT = /try again later|Throttling failure: Maximum sending rate|rate limit(ed)?\b|sender thread limit exceeded/i;
const CONNECTION_CODES = ["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "EPROXY", "ECONNREFUSED", "ECONNRESET"];
const AUTH_ENHANCED = ["5.7.8", "5.7.0", "5.7.139", "5.7.3", "5.7.57"];

/** The first RFC 3463 enhanced status code in the reply ("5.7.1"), or null. */
export function enhancedCode(e: ProviderError): string | null {
  return /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(e.response ?? "")?.[0] ?? null;
}
const isCmd = (e: ProviderError, prefix: string) => (e.command ?? "").toUpperCase().startsWith(prefix);
const rc = (e: ProviderError) => e.responseCode ?? 0;

export const SMTP_TABLE: ClassTable = [
  { signal: "quota text (5.4.5, daily … limit exceeded, SubmissionQuotaExceeded, Daily message quota) at any code", cls: "quota", match: (e) => QUOTA_TEXT.test(e.response ?? "") },
  { signal: "EAUTH with 454 or 4.7.0 on AUTH (temporary authentication failure)", cls: "transient", match: (e) => (e.code === "EAUTH" || isCmd(e, "AUTH")) && (rc(e) === 454 || enhancedCode(e) === "4.7.0") },
  { signal: "EAUTH / ENOAUTH, or 535/534/530, or 5.7.8 / 5.7.0 / 5.7.139 / 5.7.3 / 5.7.57", cls: "auth_config", match: (e) => e.code === "EAUTH" || e.code === "ENOAUTH" || [530, 534, 535].includes(rc(e)) || AUTH_ENHANCED.includes(enhancedCode(e) ?? "") },
  { signal: "ETLS refused by the upstream (STARTTLS answered 5xx or not offered, 530) or a certificate problem", cls: "auth_config", guess: true, match: (e) => e.code === "ETLS" && ((isCmd(e, "STARTTLS") && rc(e) >= 500) || rc(e) === 530 || /certificate|self[- ]signed|STARTTLS/i.test(e.response ?? "")) },
  { signal: "ETLS otherwise (handshake or network failure)", cls: "connection", guess: true, match: (e) => e.code === "ETLS" },
  { signal: "EOAUTH2 with invalid_grant / invalid_client", cls: "auth_config", match: (e) => e.code === "EOAUTH2" && /invalid_grant|invalid_client/.test(e.response ?? "") },
  { signal: "EOAUTH2 otherwise (token endpoint failure)", cls: "transient", guess: true, match: (e) => e.code === "EOAUTH2" },
  { signal: "421, or 4.7.x / 4.4.5, or a throttling text (even when nodemailer says ECONNECTION)", cls: "transient", match: (e) => rc(e) === 421 || /^4\.7\.\d+$/.test(enhancedCode(e) ?? "") || enhancedCode(e) === "4.4.5" || (rc(e) >= 400 && THROTTLE_TEXT.test(e.response ?? "")) },
  { signal: "connection failures without a reply: ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, EPROXY", cls: "connection", match: (e) => !e.responseCode && CONNECTION_CODES.includes(e.code ?? "") },
  { signal: "EENVELOPE at RCPT TO with 5xx (bad or unknown recipient)", cls: "permanent_recipient", match: (e) => isCmd(e, "RCPT") && rc(e) >= 500 },
  { signal: "EENVELOPE at MAIL FROM with 5xx (sender not allowed for this account)", cls: "auth_config", guess: true, match: (e) => isCmd(e, "MAIL") && rc(e) >= 500 },
  { signal: "EENVELOPE / EMESSAGE with 4xx (mailbox full, local error, storage)", cls: "transient", match: (e) => rc(e) >= 400 && rc(e) < 500 },
  { signal: "EMESSAGE with 5xx at DATA (too big, media, content policy, 554)", cls: "permanent_recipient", match: (e) => rc(e) >= 500 },
  { signal: "EENVELOPE at API (address syntax refused before sending) or message larger than the upstream's SIZE", cls: "permanent_recipient", match: (e) => (e.code === "EENVELOPE" && isCmd(e, "API")) || (e.code === "EMESSAGE" && /size/i.test(e.response ?? "")) },
  { signal: "EPROTOCOL (invalid greeting, failed RSET)", cls: "transient", match: (e) => e.code === "EPROTOCOL" },
  { signal: "EMAXLIMIT (pool connection reached its message limit: a recycle signal)", cls: "transient", match: (e) => e.code === "EMAXLIMIT" },
];

/** The table for each provider type; the API providers add theirs here in the same shape. */
export const TABLES: Record<string, ClassTable> = {
  smtp: SMTP_TABLE,
  amazon_ses: SES_TABLE,
  gmail_api: GMAIL_TABLE,
  outlook_api: OUTLOOK_TABLE,
};

export const DEFAULT_ROW = "no row matched (default: transient)";

/** Anything no row matches is transient: retried, and counted as a provider-side failure. */
export function classify(table: ClassTable, e: ProviderError): { cls: FailureClass; row: string } {
  for (const row of table) if (row.match(e)) return { cls: row.cls, row: row.signal };
  return { cls: "transient", row: DEFAULT_ROW };
}

/**
 * Whether a class fails the message at once. Only a recipient's permanent rejection is the
 * message's own fault; every other class is the provider's, so the message is retried.
 */
export function isPermanent(cls: FailureClass): boolean {
  return cls === "permanent_recipient";
}
