import { EXT, cursorParams, envelope, errors, idempotencyKeyParam, ifNoneMatchParam, jsonBody, limitParam, managementErrors, notModified, pagination, pathId, ref, type PathItem, type Schema } from "./common.ts";

/**
 * Sending accounts (sendmux-openapi-app.json "/providers…", plus EXT). The create and update bodies
 * are validated by hand in src/api/providers/model.ts (parseProviderBody) and implement
 * ProviderCreateRequest / ProviderUpdateRequest; responses are providerItem plus EXT health and usage.
 */
const capValue: Schema = { maximum: 1_000_000_000, minimum: 1, type: "integer" };
const quota: Schema = {
  description: "A whole-number cap, a {min, max} range, or null (no cap). Responses always give a range or null. EXT: every value is at most 1,000,000,000 sends per window (422 naming the field above that).",
  anyOf: [capValue, { additionalProperties: false, properties: { min: capValue, max: capValue }, required: ["min", "max"], type: "object" }, { type: "null" }],
};
const quotas: Schema = {
  additionalProperties: false,
  properties: { per_second: quota, per_minute: quota, per_hour: quota, per_day: quota },
  type: "object",
};
const nstr: Schema = { type: ["string", "null"] };
const types = ["smtp", "gmail_api", "outlook_api", "amazon_ses", "capture"];

const writable: Record<string, Schema> = {
  name: { maxLength: 255, minLength: 1, type: "string" },
  type: { default: "smtp", description: "EXT: the provider type (capture is a local outbox for development and tests)", enum: types, type: "string" },
  smtp_host: nstr,
  smtp_port: { maximum: 65535, minimum: 1, type: ["integer", "null"] },
  smtp_protocol: { enum: ["tls", "ssl", "none", "starttls", null], type: ["string", "null"] },
  smtp_username: {
    description: "Goes with smtp_password: give both, or neither for an upstream without AUTH (EXT). EXT: in a PATCH, null together with `smtp_password: null` removes the credentials; null for one of them alone, or a PATCH that would leave one without the other, is 422 naming the field.",
    maxLength: 255,
    minLength: 1,
    type: ["string", "null"],
  },
  smtp_password: { description: "Write-only. Goes with smtp_username (see there); EXT: null only together with `smtp_username: null`, to remove the credentials.", maxLength: 500, minLength: 1, type: ["string", "null"], writeOnly: true },
  smtp_tls_verify: { description: "EXT: verify the upstream's certificate (default true)", type: "boolean" },
  from_email: nstr,
  from_name: nstr,
  reply_to_email: nstr,
  reply_to_name: nstr,
  tracking_domain: nstr,
  percentage: { description: "Relative routing weight; unset means an equal share, 0 never chosen", minimum: 0, type: ["number", "null"] },
  quotas,
  config: {
    ...EXT,
    description:
      "Write-only credentials for gmail_api ({client_id, client_secret, refresh_token} or {service_account_json, impersonate}; api_base_url, token_url), outlook_api ({tenant_id, client_id, client_secret, sender}; graph_base_url, authority_url) and amazon_ses ({region, access_key_id, secret_access_key}; endpoint). Encrypted at rest, never returned.",
    type: "object",
    writeOnly: true,
  },
};

export const providerSchemas: Record<string, Schema> = {
  ProviderCreateRequest: { additionalProperties: false, properties: writable, required: ["name"], type: "object" },
  ProviderUpdateRequest: { additionalProperties: false, properties: writable, type: "object" },
  ProviderData: {
    properties: {
      id: { pattern: "^dprov_[a-z0-9]{24}$", type: "string" },
      name: { type: "string" },
      type: { enum: types, type: "string" },
      status: { enum: ["active", "inactive", "error", "pending"], type: "string" },
      status_reason: nstr,
      is_active: { type: "boolean" },
      is_shared: { description: "The operator's managed route", type: "boolean" },
      is_editable: { type: "boolean" },
      allowed_actions: { properties: { update: { type: "boolean" }, delete: { type: "boolean" }, activate: { type: "boolean" }, deactivate: { type: "boolean" }, test: { type: "boolean" } }, type: "object" },
      smtp_host: nstr,
      smtp_port: { type: ["integer", "null"] },
      smtp_protocol: nstr,
      smtp_username: nstr,
      smtp_tls_verify: { type: ["boolean", "null"] },
      has_smtp_password: { type: "boolean" },
      from_email: nstr,
      from_name: nstr,
      reply_to_email: nstr,
      reply_to_name: nstr,
      oauth_email: nstr,
      has_refresh_token: { type: "boolean" },
      quotas,
      percentage: { type: ["number", "null"] },
      tracking_domain: nstr,
      created_at: { format: "date-time", type: "string" },
      updated_at: { format: "date-time", type: "string" },
      last_tested_at: { format: "date-time", type: ["string", "null"] },
      last_used_at: { format: "date-time", type: ["string", "null"] },
      health: {
        ...EXT,
        description: "The provider's circuit as routing sees it",
        properties: { state: { enum: ["ok", "paused", "disabled"], type: "string" }, reason: nstr, class: nstr, until: { format: "date-time", type: ["string", "null"] }, recent_failures: { type: "integer" } },
        type: "object",
      },
      quotas_in_force: {
        ...quotas,
        ...EXT,
        description: "The caps routing applies in each window: your `quotas` where set, else the type's default (amazon_ses: from the account's GetAccount reading when there is one); null = no cap. A range draws a cap per window.",
      },
      usage: {
        ...EXT,
        description: "Sends counted in the current second, minute, hour and day windows. On the shared managed route: your own sends of the current UTC day in `day`, and null in the shorter windows (counted for all accounts together, not shown).",
        properties: { second: { type: ["integer", "null"] }, minute: { type: ["integer", "null"] }, hour: { type: ["integer", "null"] }, day: { type: "integer" } },
        type: "object",
      },
    },
    required: ["id", "name", "type", "status", "quotas", "created_at", "updated_at"],
    type: "object",
  },
  ProviderTestResult: {
    properties: { success: { type: "boolean" }, message: { type: "string" }, latency_ms: { type: ["number", "null"] }, tested_at: { format: "date-time", type: "string" } },
    required: ["success", "message", "tested_at"],
    type: "object",
  },
  OutboxItem: {
    ...EXT,
    properties: {
      message_id: { type: "string" },
      envelope: { properties: { from: { type: "string" }, to: { items: { type: "string" }, type: "array" } }, required: ["from", "to"], type: "object" },
      from: { type: "string" },
      to: { items: { type: "string" }, type: "array" },
      subject: { type: "string" },
      received_at: { format: "date-time", type: "string" },
      size_bytes: { type: "integer" },
    },
    required: ["message_id", "envelope", "from", "to", "subject", "received_at", "size_bytes"],
    type: "object",
  },
};

const id = pathId("id", "^dprov_[a-z0-9]{24}$", "Provider ID");
const bearer = [{ BearerAuth: [] }];
const tags = ["Providers"];
const one = (description: string): Schema => ({ content: jsonBody(envelope(ref("ProviderData"))), description });
const notFound = { ...managementErrors, 404: "No such provider (or another account's)" };

function action(name: string, operationId: string, summary: string, description: string): PathItem {
  return {
    post: {
      description,
      operationId,
      parameters: [id, idempotencyKeyParam],
      responses: { 200: one(`Provider ${name}`), ...errors({ ...notFound, 409: "Idempotency conflict" }) },
      security: bearer,
      summary,
      tags,
    },
  };
}

export const providerPaths: Record<string, PathItem> = {
  "/providers": {
    get: {
      description: "The account's sending accounts, oldest first. Needs a `full` key.",
      operationId: "listProviders",
      parameters: [
        limitParam(100, 50),
        ...cursorParams,
        { in: "query", name: "status", required: false, schema: { enum: ["active", "inactive", "error", "pending"], type: "string" } },
        { in: "query", name: "type", required: false, schema: { enum: types, type: "string" } },
      ],
      responses: { 200: { content: jsonBody(envelope({ items: ref("ProviderData"), type: "array" }, { pagination })), description: "A page of providers" }, ...errors({ ...managementErrors, 400: "Bad query parameter" }) },
      security: bearer,
      summary: "List providers",
      tags,
    },
    post: {
      description: "Adds a sending account. Needs a `full` key.",
      operationId: "createProvider",
      parameters: [idempotencyKeyParam],
      requestBody: { content: jsonBody(ref("ProviderCreateRequest")), required: true },
      responses: { 201: { ...one("Created"), headers: { Location: { schema: { type: "string" } } } }, ...errors({ ...managementErrors, 400: "Malformed request", 409: "Idempotency conflict", 422: "Validation error" }) },
      security: bearer,
      summary: "Create a provider",
      tags,
    },
  },
  "/providers/{id}": {
    get: {
      description: "One provider. Needs a `full` key.",
      operationId: "getProvider",
      parameters: [id, ifNoneMatchParam],
      responses: { 200: { ...one("The provider"), headers: { ETag: { schema: { type: "string" } } } }, 304: notModified, ...errors(notFound) },
      security: bearer,
      summary: "Get a provider",
      tags,
    },
    patch: {
      description: "Changes the given fields. `If-Match` with the ETag from a GET refuses the change (409) when the provider changed since. Needs a `full` key.",
      operationId: "updateProvider",
      parameters: [id, { in: "header", name: "If-Match", required: false, schema: { type: "string" } }],
      requestBody: { content: jsonBody(ref("ProviderUpdateRequest")), required: true },
      responses: { 200: one("Updated"), ...errors({ ...notFound, 400: "Malformed request", 409: "If-Match does not match", 422: "Validation error; or the provider is the shared managed route (`is_shared: true`), which cannot be edited (use activate or deactivate)" }) },
      security: bearer,
      summary: "Update a provider",
      tags,
    },
    delete: {
      description: "Removes a provider (and drops it from its group). Needs a `full` key.",
      operationId: "deleteProvider",
      parameters: [id],
      responses: { 200: { content: jsonBody(envelope(ref("Deleted"))), description: "Deleted" }, ...errors({ ...notFound, 422: "The provider is the shared managed route (`is_shared: true`), which cannot be deleted (deactivate it instead)" }) },
      security: bearer,
      summary: "Delete a provider",
      tags,
    },
  },
  "/providers/{id}/activate": action("activated", "activateProvider", "Activate a provider", "Puts a provider back into rotation, also after an auth or config fault disabled it."),
  "/providers/{id}/deactivate": action("deactivated", "deactivateProvider", "Deactivate a provider", "Takes a provider out of rotation."),
  "/providers/{id}/test": {
    post: {
      description: "Verifies credentials and connectivity (every type; EXT: not only SMTP). The shared managed route cannot be tested here (422): its operator tests it.",
      operationId: "testProvider",
      parameters: [id, idempotencyKeyParam],
      responses: {
        200: { content: jsonBody(envelope(ref("ProviderTestResult"))), description: "The outcome (success false when the check failed)" },
        ...errors({ ...notFound, 409: "Idempotency conflict", 422: "The provider is the shared managed route (`is_shared: true`), which only its operator tests" }),
      },
      security: bearer,
      summary: "Test a provider",
      tags,
    },
  },
  "/providers/{id}/outbox": {
    get: {
      ...EXT,
      description: "What a capture provider has \"sent\", newest first.",
      operationId: "extListOutbox",
      parameters: [id, limitParam(1000, 50), ...cursorParams],
      responses: { 200: { content: jsonBody(envelope({ items: ref("OutboxItem"), type: "array" }, { pagination })), description: "A page of captured messages" }, ...errors({ ...notFound, 400: "Bad query parameter" }) },
      security: bearer,
      summary: "List a capture provider's outbox",
      tags,
    },
  },
  "/providers/{id}/outbox/{message_id}": {
    get: {
      ...EXT,
      description: "One captured message, raw.",
      operationId: "extGetOutboxMessage",
      parameters: [id, pathId("message_id", "^eml_[a-z0-9]{24}$", "Message ID")],
      responses: { 200: { content: { "message/rfc822": { schema: { format: "binary", type: "string" } } }, description: "The message as the provider received it" }, ...errors({ ...notFound }) },
      security: bearer,
      summary: "Get a captured message",
      tags,
    },
  },
};
