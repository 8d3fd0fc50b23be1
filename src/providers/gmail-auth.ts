import { JWT, OAuth2Client } from "google-auth-library";

/** The only scope the gateway asks for: sending, nothing else (https://developers.google.com/workspace/gmail/api/auth/scopes). */
export const GMAIL_SEND_SCOPE = "https://www.googleapis.com/auth/gmail.send";
export const DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token";
export const DEFAULT_API_BASE_URL = "https://gmail.googleapis.com/";

/** Token requests: a slow token endpoint fails the send instead of holding it. */
const TOKEN_TIMEOUT_MS = 30_000;

export interface GmailConfig {
  client_id?: string;
  client_secret?: string;
  refresh_token?: string;
  service_account_json?: { client_email: string; private_key: string; private_key_id?: string };
  impersonate?: string;
  api_base_url?: string;
  token_url?: string;
}

export interface GmailAuth {
  kind: "oauth_client" | "service_account";
  client: OAuth2Client;
  /** The `userId` path parameter: "me" for a user's own grant, the impersonated user for a service account. */
  userId: string;
  /** Who the credentials act for, for messages ("the mailbox of …"); null when only Google knows (refresh token). */
  mailbox: string | null;
  tokenUrl: string;
}

/**
 * The auth client for a provider's config; it caches the access token and refreshes it five
 * minutes before it expires (google-auth-library's eagerRefreshThresholdMillis), and concurrent
 * sends share one refresh.
 *
 * - OAuth client + refresh token: OAuth2Client with `endpoints.oauth2TokenUrl` = token_url.
 * - Service account: JWT (RFC 7523 bearer grant, `sub` = impersonate, scope gmail.send). This
 *   google-auth-library version posts the grant to a fixed https://oauth2.googleapis.com/token
 *   (src/gtoken/getToken.ts) through the client's transporter; a request interceptor on that
 *   transporter sends it to token_url instead. The JWT's `aud` stays Google's token URL, as
 *   Google requires.
 */
export function gmailAuth(cfg: GmailConfig): GmailAuth {
  const tokenUrl = cfg.token_url ?? DEFAULT_TOKEN_URL;
  if (cfg.service_account_json) {
    const sa = cfg.service_account_json;
    const client = new JWT({ email: sa.client_email, key: sa.private_key, keyId: sa.private_key_id, scopes: [GMAIL_SEND_SCOPE], subject: cfg.impersonate, transporterOptions: { timeout: TOKEN_TIMEOUT_MS } });
    if (tokenUrl !== DEFAULT_TOKEN_URL) {
      client.transporter.interceptors.request.add({
        resolved: async (opts) => {
          if (opts.url instanceof URL ? opts.url.href === DEFAULT_TOKEN_URL : String(opts.url) === DEFAULT_TOKEN_URL) opts.url = new URL(tokenUrl);
          return opts;
        },
      });
    }
    return { kind: "service_account", client, userId: cfg.impersonate ?? "me", mailbox: cfg.impersonate ?? null, tokenUrl };
  }
  const client = new OAuth2Client({
    clientId: cfg.client_id,
    clientSecret: cfg.client_secret,
    endpoints: { oauth2TokenUrl: tokenUrl },
    transporterOptions: { timeout: TOKEN_TIMEOUT_MS },
  });
  client.setCredentials({ refresh_token: cfg.refresh_token });
  return { kind: "oauth_client", client, userId: "me", mailbox: null, tokenUrl };
}
