/** The domain words of Sendmux, one definition each. */

export type Permission = "full" | "send";

export type Scope =
  | { type: "all" }
  | { type: "specific"; providers: string[] }
  | { type: "group"; group: string };

export interface Account {
  id: string;
  name: string;
  email: string | null;
  status: "active" | "suspended";
  created_at: string;
  /** Why the operator suspended it (shown to the account's keys), while suspended. */
  status_reason?: string | null;
  suspended_at?: string | null;
}

/** What authenticating with an API key yields; cached in memory, invalidated on change. */
export interface KeyContext {
  accountId: string;
  keyId: string;
  permission: Permission;
  scope: Scope;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  permission: Permission;
  scope: Scope;
  /** First characters of the token, to tell keys apart in listings ("smx_AbC…"). */
  token_prefix: string;
  hash: string;
  created_at: string;
  last_used_at: string | null;
}

export type ProviderType = "smtp" | "capture" | "gmail_api" | "outlook_api" | "amazon_ses";
export type ProviderStatus = "active" | "inactive" | "error" | "pending";
export type SmtpProtocol = "tls" | "ssl" | "none" | "starttls";

export interface QuotaRange {
  min: number;
  max: number;
}
export type QuotaValue = number | QuotaRange | null;
export interface Quotas {
  per_second: QuotaValue;
  per_minute: QuotaValue;
  per_hour: QuotaValue;
  per_day: QuotaValue;
}

/** A provider as stored: public fields plus `sealed`, the encrypted credentials. */
export interface ProviderRecord {
  id: string;
  account_id: string;
  name: string;
  type: ProviderType;
  status: ProviderStatus;
  status_reason: string | null;
  is_shared: boolean;
  smtp_host: string | null;
  smtp_port: number | null;
  smtp_protocol: SmtpProtocol | null;
  smtp_username: string | null;
  /** EXT: verify the upstream's TLS certificate (default true; false only for test servers). */
  smtp_tls_verify?: boolean;
  /** gmail_api / outlook_api: the mailbox the provider sends as (from its config). */
  oauth_email?: string | null;
  /** gmail_api: whether the config holds an OAuth refresh token. */
  has_refresh_token?: boolean;
  has_smtp_password: boolean;
  from_email: string | null;
  from_name: string | null;
  reply_to_email: string | null;
  reply_to_name: string | null;
  tracking_domain: string | null;
  percentage: number | null;
  quotas: Quotas;
  created_at: string;
  updated_at: string;
  last_tested_at: string | null;
  last_used_at: string | null;
  /** Sealed JSON of the secret settings (smtp_password, or the `config` of other types). */
  sealed: string | null;
  /** Bumped on every change; workers rebuild their client when it moves. */
  version: number;
  /**
   * amazon_ses: what GetAccount last said about the account's sending limits. Written without
   * bumping `version` (it changes no credential, so warm clients stay); caps use it where the
   * user set no quota (src/routing/windows.ts effectiveQuotas).
   */
  detected_quotas?: DetectedQuotas | null;
}

/** Limits a provider reported about itself (amazon_ses: GetAccount), and the caps derived from them. */
export interface DetectedQuotas {
  /** Caps derived from the report (90 % of the provider's figures); null where it has no limit. */
  per_second: number | null;
  per_day: number | null;
  /** What the provider said, for the record. */
  max_send_rate: number | null;
  max_24_hour_send: number | null;
  sent_last_24_hours: number | null;
  /** amazon_ses: false while the account is in the sandbox (verified recipients only). */
  production_access: boolean;
  sending_enabled: boolean;
  enforcement_status: string | null;
  /** When it was read (ISO 8601, gateway clock). */
  read_at: string;
}

export type MessageStatus = "queued" | "sending" | "sent" | "deferred" | "failed" | "rejected" | "canceled";

/** Failure classes every provider adapter maps its errors into (routing reacts to these). */
export type FailureClass = "transient" | "quota" | "connection" | "auth_config" | "permanent_recipient";

export interface Envelope {
  from: string;
  to: string[];
}

/** Fixed at acceptance; never changes afterwards. */
export interface MessageMeta {
  id: string;
  account_id: string;
  key_id: string;
  source: "api" | "smtp";
  created_at: string;
  scope: Scope;
  envelope: Envelope;
  /** Header summaries for listings. */
  from: string;
  to: string[];
  /** The Cc header's addresses (absent on records from before it was kept): tells Cc from Bcc in delivery logs. */
  cc?: string[];
  subject: string;
  /** The Message-ID header (without <>), fixed at acceptance so every attempt sends the same one. */
  message_id_header: string;
  size_bytes: number;
}

export interface Attempt {
  at: string;
  provider_id: string;
  outcome: "sent" | FailureClass | "error";
  response: string;
  duration_ms: number;
  /** Recipients the provider refused while it accepted the message for the others (delivery logs). */
  rejected?: string[];
}

/** How the message body is kept: raw bytes (relay) or what builds them (API, built in a worker). */
export type MessageBody =
  | { kind: "raw"; raw: Uint8Array }
  | { kind: "compose"; mail: ComposeSpec };

export interface ComposeAddress {
  name?: string;
  address: string;
}

export interface ComposeAttachment {
  filename: string;
  content: Uint8Array;
  contentType?: string;
  cid?: string;
}

/** The validated send request in the shape the MIME builder takes. */
export interface ComposeSpec {
  from: ComposeAddress;
  to: ComposeAddress[];
  cc: ComposeAddress[];
  bcc: ComposeAddress[];
  replyTo?: ComposeAddress;
  subject: string;
  text?: string;
  html?: string;
  headers: Array<[string, string]>;
  attachments: ComposeAttachment[];
  messageId: string;
  date: string;
}
