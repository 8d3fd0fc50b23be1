import { EXT, cursorParams, envelope, errors, idempotencyKeyParam, jsonBody, limitParam, managementErrors, pagination, pathId, ref, type PathItem, type Schema } from "./common.ts";

/** EXT (SPEC "Managing"): API keys. POST implements ApiKeyCreateRequest by hand in src/api/apikeys/index.ts. */
export const apiKeySchemas: Record<string, Schema> = {
  ApiKeyCreateRequest: {
    ...EXT,
    additionalProperties: false,
    properties: {
      name: { maxLength: 255, minLength: 1, type: "string" },
      permission: { default: "send", description: "full: everything; send: send and read its own messages", enum: ["full", "send"], type: "string" },
      scope: { allOf: [ref("Scope")], description: 'Default {"type":"all"}' },
    },
    required: ["name"],
    type: "object",
  },
  ApiKeyData: {
    ...EXT,
    properties: {
      id: { type: "string" },
      name: { type: "string" },
      permission: { enum: ["full", "send"], type: "string" },
      scope: ref("Scope"),
      token_prefix: { description: "First characters of the token", type: "string" },
      created_at: { format: "date-time", type: "string" },
      last_used_at: { format: "date-time", type: ["string", "null"] },
      token: { description: "Only in the creation response: the key itself, shown once", type: "string" },
    },
    required: ["id", "name", "permission", "scope", "token_prefix", "created_at", "last_used_at"],
    type: "object",
  },
  Deleted: { ...EXT, properties: { id: { type: "string" }, deleted: { const: true } }, required: ["id", "deleted"], type: "object" },
};

const keyId = pathId("id", "^key_[a-z0-9]{24}$", "API key ID");
const bearer = [{ BearerAuth: [] }];
const tags = ["API keys"];

export const apiKeyPaths: Record<string, PathItem> = {
  "/api-keys": {
    get: {
      ...EXT,
      description: "The account's API keys (never the tokens), newest first, cursor paging. Needs a `full` key.",
      operationId: "extListApiKeys",
      parameters: [limitParam(100, 50), ...cursorParams],
      responses: { 200: { content: jsonBody(envelope({ items: ref("ApiKeyData"), type: "array" }, { pagination })), description: "A page of keys" }, ...errors({ ...managementErrors, 400: "Bad limit or cursor (`param` names it)" }) },
      security: bearer,
      summary: "List API keys",
      tags,
    },
    post: {
      ...EXT,
      description: "Creates a key; the response carries its `token` once. Needs a `full` key.",
      operationId: "extCreateApiKey",
      parameters: [idempotencyKeyParam],
      requestBody: { content: jsonBody(ref("ApiKeyCreateRequest")), required: true },
      responses: {
        201: { content: jsonBody(envelope(ref("ApiKeyData"))), description: "Created", headers: { Location: { schema: { type: "string" } } } },
        ...errors({ ...managementErrors, 400: "Malformed request", 409: "Idempotency conflict", 422: "Validation error" }),
      },
      security: bearer,
      summary: "Create an API key",
      tags,
    },
  },
  "/api-keys/{id}": {
    get: {
      ...EXT,
      description: "One API key. Needs a `full` key.",
      operationId: "extGetApiKey",
      parameters: [keyId],
      responses: { 200: { content: jsonBody(envelope(ref("ApiKeyData"))), description: "The key" }, ...errors({ ...managementErrors, 404: "Not found" }) },
      security: bearer,
      summary: "Get an API key",
      tags,
    },
    delete: {
      ...EXT,
      description: "Revokes a key at once: its next request is 401. Needs a `full` key.",
      operationId: "extRevokeApiKey",
      parameters: [keyId],
      responses: { 200: { content: jsonBody(envelope(ref("Deleted"))), description: "Revoked" }, ...errors({ ...managementErrors, 404: "Not found" }) },
      security: bearer,
      summary: "Revoke an API key",
      tags,
    },
  },
};
