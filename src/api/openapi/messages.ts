import { EXT, envelope, errors, ifNoneMatchParam, idempotencyKeyParam, jsonBody, notModified, pathId, ref, type PathItem, type Schema } from "./common.ts";

/** EXT (SPEC "Sending"): a message's state, GET /emails/{message_id} and its cancel. Implemented by viewMessage in src/api/emails/index.ts. */
const nullableTime: Schema = { format: "date-time", type: ["string", "null"] };

export const messageSchemas: Record<string, Schema> = {
  Scope: {
    ...EXT,
    description: "Which providers a key may send through.",
    oneOf: [
      { additionalProperties: false, properties: { type: { const: "all" } }, required: ["type"], type: "object" },
      { additionalProperties: false, properties: { type: { const: "specific" }, providers: { items: { type: "string" }, minItems: 1, type: "array" } }, required: ["type", "providers"], type: "object" },
      { additionalProperties: false, properties: { type: { const: "group" }, group: { type: "string" } }, required: ["type", "group"], type: "object" },
    ],
  },
  MessageAttempt: {
    ...EXT,
    properties: {
      at: { format: "date-time", type: "string" },
      provider_id: { type: "string" },
      outcome: { description: "sent, or the failure class", enum: ["sent", "transient", "quota", "connection", "auth_config", "permanent_recipient", "error"], type: "string" },
      response: { description: "The provider's reply", type: "string" },
      duration_ms: { type: "number" },
    },
    required: ["at", "provider_id", "outcome", "response"],
    type: "object",
  },
  MessageData: {
    ...EXT,
    properties: {
      id: { pattern: "^eml_[a-z0-9]{24}$", type: "string" },
      status: { enum: ["queued", "sending", "sent", "deferred", "failed", "rejected", "canceled"], type: "string" },
      created_at: { format: "date-time", type: "string" },
      updated_at: { format: "date-time", type: "string" },
      source: { enum: ["api", "smtp"], type: "string" },
      from: { type: "string" },
      to: { items: { type: "string" }, type: "array" },
      subject: { type: "string" },
      envelope: { properties: { from: { type: "string" }, to: { items: { type: "string" }, type: "array" } }, required: ["from", "to"], type: "object" },
      message_id_header: { description: "The Message-ID header, with <>", type: "string" },
      scope: ref("Scope"),
      provider_id: { description: "The provider that sent it, or is sending it", type: ["string", "null"] },
      attempts: { items: ref("MessageAttempt"), type: "array" },
      next_attempt_at: nullableTime,
      routing: { description: "Why this provider was chosen", type: ["object", "null"] },
      waiting: {
        description: "What a message not yet sent waits for: a provider's cap window (cap), a paused provider to be back (no_healthy_provider), an active provider at all (no_active_provider: activate or add one) or its next retry (retry)",
        properties: { reason: { enum: ["cap", "no_healthy_provider", "no_active_provider", "retry"], type: "string" } },
        type: ["object", "null"],
      },
    },
    required: ["id", "status", "created_at", "from", "to", "subject", "scope", "provider_id", "attempts", "next_attempt_at"],
    type: "object",
  },
};

const messageId = pathId("message_id", "^eml_[a-z0-9]{24}$", "Message ID returned by a send.");
const bearer = [{ BearerAuth: [] }];

export const messagePaths: Record<string, PathItem> = {
  "/emails/{message_id}": {
    get: {
      ...EXT,
      description: "A message's status and delivery attempts. A `send` key sees only the messages it sent.",
      operationId: "extGetMessage",
      parameters: [messageId, ifNoneMatchParam],
      responses: {
        200: { content: jsonBody(envelope(ref("MessageData"))), description: "The message", headers: { ETag: { schema: { type: "string" } } } },
        304: notModified,
        ...errors({ 401: "Authentication required", 404: "No such message (or another account's)", 429: "Rate limit exceeded", 503: "Storage temporarily unavailable" }),
      },
      security: bearer,
      summary: "Get a message",
      tags: ["Emails"],
    },
  },
  "/emails/{message_id}/cancel": {
    post: {
      ...EXT,
      description: "Cancels a message that is still queued or deferred.",
      operationId: "extCancelMessage",
      parameters: [messageId, idempotencyKeyParam],
      responses: {
        200: { content: jsonBody(envelope(ref("MessageData"))), description: "Canceled; the message as it is now" },
        ...errors({ 401: "Authentication required", 404: "No such message", 409: "Already sending or settled, or idempotency conflict", 429: "Rate limit exceeded", 503: "Storage temporarily unavailable" }),
      },
      security: bearer,
      summary: "Cancel a message",
      tags: ["Emails"],
    },
  },
};
