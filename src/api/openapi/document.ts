import { accountPaths, accountSchemas } from "./accounts.ts";
import { apiKeyPaths, apiKeySchemas } from "./apikeys.ts";
import type { PathItem, Schema } from "./common.ts";
import { groupPaths, groupSchemas } from "./groups.ts";
import { logPaths, logSchemas } from "./logs.ts";
import { messagePaths, messageSchemas } from "./messages.ts";
import { operationPaths } from "./operations.ts";
import { providerPaths, providerSchemas } from "./providers.ts";
import { sendingPaths, sendingSchemas } from "./sending.ts";
import { webhookPaths, webhookSchemas } from "./webhooks.ts";

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: Schema;
  servers: Schema[];
  security: Array<Record<string, string[]>>;
  tags: Schema[];
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, Schema>; securitySchemes: Schema };
  [k: string]: unknown;
}

function merge<T>(name: string, parts: Array<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) {
      if (k in out) throw new Error(`OpenAPI ${name} ${k} is defined twice`);
      out[k] = v;
    }
  }
  return out;
}

/** The gateway's OpenAPI 3.1 document, assembled from the feature schema modules. */
export function buildDocument(version: string): OpenApiDocument {
  return {
    openapi: "3.1.0",
    info: {
      title: "Sendmux gateway API",
      version,
      description:
        "A self-hosted email sending gateway. The Sending API is wire-compatible with the hosted Sendmux service; operations and schemas marked `x-sendmux-ext: true` are this gateway's additions. Every response carries an `X-Request-Id` header; errors are `{ok:false, error:{code, message, retryable, param?, errors?}, meta:{request_id}}`. Mutating POSTs accept `Idempotency-Key` (24 h). Uploaded attachments live 24 hours; upload URLs 1 hour; one attachment is at most 18 MiB.",
    },
    servers: [{ url: "/api/v1", description: "This gateway" }],
    security: [{ BearerAuth: [] }],
    tags: [
      { name: "Emails", description: "Sending and following messages" },
      { name: "Attachments", description: "Uploading attachments once, to name them by attachment_id in sends" },
      { name: "Providers", description: "Sending accounts (needs a full key)" },
      { name: "Groups", description: "EXT: isolated pools of providers (needs a full key)" },
      {
        name: "Webhooks",
        description:
          "Event subscriptions (needs a full key). Each request is signed: `X-Sendmux-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" keyed with the secret>`, plus the Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature. Failed deliveries are retried 1 min, 5 min, 30 min, 1 h, 2 h, 6 h and 12 h after the attempt before (8 attempts), then the webhook is marked failing.",
      },
      { name: "API keys", description: "EXT: keys and their scopes (needs a full key)" },
      { name: "Accounts", description: "EXT: signup (when the operator opens it)" },
      { name: "Operator", description: "EXT: the operator API under /admin/v1 (operator token): accounts, the managed route, limit requests" },
      { name: "Operations", description: "EXT: health, readiness, metrics" },
      { name: "Meta", description: "This document" },
    ],
    paths: merge("path", [sendingPaths, messagePaths, logPaths, providerPaths, groupPaths, apiKeyPaths, webhookPaths, accountPaths, operationPaths]),
    components: {
      schemas: merge("schema", [sendingSchemas, messageSchemas, logSchemas, providerSchemas, groupSchemas, apiKeySchemas, webhookSchemas, accountSchemas]),
      securitySchemes: { BearerAuth: { description: "Sendmux API key (smx_...)", scheme: "bearer", type: "http" } },
    },
  };
}
