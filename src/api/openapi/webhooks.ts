/**
 * Webhooks (sendmux-openapi-app.json, tag Webhooks): the reference document's paths and schemas,
 * with these changes, each marked `x-sendmux-ext`: event-type enums also take provider.paused,
 * provider.disabled and provider.resumed (whose payload `data` is WebhookProviderEventData); the
 * test operation's answer carries X-Sendmux-Delivery-Id and X-Sendmux-Delivery-Result; 401, 403,
 * 429 and 503 are listed where the reference leaves them out, and so is the list's 400 (a bad
 * limit or cursor). ApiError is ErrorResponse here, and
 * ResponseMeta is Meta. WebhookEventData's bounce_type and message_id_kind enums include null (the
 * reference declares them nullable and its example has null, but leaves null out of the enum);
 * WebhookSubscriptionWithSecret is one closed object (see the end of this file). Bodies are validated by hand in src/api/webhooks/model.ts.
 */
import { WEBHOOK_EVENT_TYPES } from "../../webhooks/payload.ts";
import type { PathItem, Schema } from "./common.ts";

const errorContent: Schema = { "application/json": { schema: { $ref: "#/components/schemas/ErrorResponse" } } };

/** EXT: what every webhook operation can also answer (the reference leaves them out). */
const limitedOrUnavailable: Record<string, Schema> = {
  "429": { content: errorContent, description: "Rate limit exceeded", "x-sendmux-ext": true },
  "503": { content: errorContent, description: "Storage (Redis) temporarily unavailable", "x-sendmux-ext": true },
};

const EVENT_TYPE_DESCRIPTION =
  "Event types a webhook may subscribe to. `sendmux.test` is accepted so you can verify end-to-end delivery via POST /webhooks/{id}/test. EXT: also provider.paused, provider.disabled and provider.resumed (this gateway's provider lifecycle).";

export const webhookPaths: Record<string, PathItem> = {
  "/webhooks": {
    get: {
      description: "Returns a cursor-paginated list of webhook subscriptions configured for the team, ordered by `created_at` descending. The signing secret is never included. Pass `cursor=<next_cursor>` from the previous response to fetch the next page.",
      operationId: "managementListWebhooks",
      parameters: [
        {
          in: "query",
          name: "cursor",
          required: false,
          schema: { description: "Pagination cursor — the `next_cursor` from the previous response.", type: "string" },
        },
        {
          in: "query",
          name: "limit",
          required: false,
          schema: { description: "Maximum results (default 50, max 100)", maximum: 100, minimum: 1, type: "integer" },
        },
      ],
      responses: {
        "200": {
          content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookSubscriptionCursorListResponse" } } },
          description: "Subscription list",
        },
        "400": { content: errorContent, description: "Bad limit or cursor (`param` names it)", "x-sendmux-ext": true },
        "401": { content: errorContent, description: "Authentication required" },
        "403": { content: errorContent, description: "Insufficient permissions" },
        ...limitedOrUnavailable,
      },
      security: [{ BearerAuth: [] }],
      summary: "List webhook subscriptions",
      tags: ["Webhooks"],
    },
    post: {
      description: "Creates a new webhook subscription and returns the signing secret ONCE in the response body. Store it securely — it cannot be retrieved later. Use `POST /webhooks/{id}/rotate-secret` to issue a new one.\n\nSupply an `Idempotency-Key` header (any unique string, max 255 chars) to safely retry on network errors. Replays with the same key return the original response; replays with a different body return `409 idempotency_conflict`.",
      operationId: "managementCreateWebhook",
      parameters: [
        {
          in: "header",
          name: "Idempotency-Key",
          required: false,
          schema: {
            description: "Client-chosen unique key to safely retry the request. Cached for 24h per (team, endpoint, key). Different body with same key returns 409 idempotency_conflict.",
            example: "webhooks-create-20260424-001",
            maxLength: 255,
            type: "string",
          },
        },
      ],
      requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookCreateBody" } } } },
      responses: {
        "201": {
          content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookSubscriptionWithSecretResponse" } } },
          description: "Subscription created, including the signing secret. The response carries a `Location` header pointing at the canonical GET URL for the new subscription.",
          headers: {
            Location: {
              description: "Canonical GET URL for the newly created webhook subscription.",
              schema: { example: "/api/v1/webhooks/whk_clxxxxxxxxxxxxxxxxxxxxxxxxx", type: "string" },
            },
          },
        },
        "400": { content: errorContent, description: "Invalid request body" },
        "401": { content: errorContent, description: "Authentication required" },
        "403": { content: errorContent, description: "Insufficient permissions" },
        "409": { content: errorContent, description: "`Idempotency-Key` was replayed with a different body (`idempotency_conflict`)." },
        "413": { content: errorContent, description: "Request body too large" },
        "422": { content: errorContent, description: "Validation failed (e.g. non-https URL, unknown event type)" },
        ...limitedOrUnavailable,
      },
      security: [{ BearerAuth: [] }],
      summary: "Create a webhook subscription",
      tags: ["Webhooks"],
    },
  },
  "/webhooks/{public_id}": {
    delete: {
      description: "Permanently removes the subscription. In-flight retries are dropped.",
      operationId: "managementDeleteWebhook",
      parameters: [{ in: "path", name: "public_id", required: true, schema: { description: "Webhook public ID", type: "string" } }],
      responses: {
        "200": {
          content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookDeletedResponse" } } },
          description: "Deletion result",
        },
        "404": { content: errorContent, description: "Subscription not found" },
        "401": { content: errorContent, description: "Authentication required", "x-sendmux-ext": true },
        "403": { content: errorContent, description: "Insufficient permissions (needs a `full` key)", "x-sendmux-ext": true },
        ...limitedOrUnavailable,
      },
      security: [{ BearerAuth: [] }],
      summary: "Delete a webhook subscription",
      tags: ["Webhooks"],
    },
    get: {
      description: "Returns a single webhook subscription. The signing secret is never included. Responses carry a weak `ETag` header — send it back as `If-None-Match` on the next request and the server will return `304 Not Modified` (no body) when the resource has not changed. The same ETag is the value to use in `If-Match` on PATCH for optimistic concurrency.",
      operationId: "managementGetWebhook",
      parameters: [
        {
          in: "path",
          name: "public_id",
          required: true,
          schema: { description: "Webhook public ID", example: "whk_clxxxxxxxxxxxxxxxxxxxxxxxxx", type: "string" },
        },
        {
          in: "header",
          name: "If-None-Match",
          required: false,
          schema: { description: "Weak ETag from a previous response. Returns 304 when unchanged.", type: "string" },
        },
      ],
      responses: {
        "200": {
          content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookSubscriptionResponse" } } },
          description: "Subscription",
          headers: {
            ETag: {
              description: "Weak ETag for conditional GETs and optimistic-concurrency PATCHes.",
              schema: { example: "W/\"a1b2c3d4e5f60718\"", type: "string" },
            },
          },
        },
        "304": {
          description: "Not Modified — the client's cached copy (matching `If-None-Match`) is still current.",
          headers: { ETag: { description: "Current weak ETag (same as request's `If-None-Match`).", schema: { type: "string" } } },
        },
        "404": { content: errorContent, description: "Subscription not found" },
        "401": { content: errorContent, description: "Authentication required", "x-sendmux-ext": true },
        "403": { content: errorContent, description: "Insufficient permissions (needs a `full` key)", "x-sendmux-ext": true },
        ...limitedOrUnavailable,
      },
      security: [{ BearerAuth: [] }],
      summary: "Get a webhook subscription",
      tags: ["Webhooks"],
    },
    patch: {
      description: "Updates the URL, event types, or enabled flag. Any field omitted from the request body is left unchanged. The signing secret is unaffected — use `POST /webhooks/{id}/rotate-secret` to rotate it.\n\nFor optimistic concurrency, send `If-Match: <etag>` using the ETag from a prior GET. A mismatched `If-Match` returns `409 conflict` (the server's ETag is echoed back so you can decide whether to re-fetch). Responses carry the new ETag so chained edits can pipeline without a re-GET.",
      operationId: "managementUpdateWebhook",
      parameters: [
        { in: "path", name: "public_id", required: true, schema: { description: "Webhook public ID", type: "string" } },
        {
          in: "header",
          name: "If-Match",
          required: false,
          schema: {
            description: "Weak ETag from a prior GET. Reject with 409 conflict when the server's current ETag differs.",
            type: "string",
          },
        },
      ],
      requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookUpdateBody" } } } },
      responses: {
        "200": {
          content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookSubscriptionResponse" } } },
          description: "Updated subscription",
          headers: { ETag: { description: "Weak ETag for the post-update resource.", schema: { type: "string" } } },
        },
        "400": { content: errorContent, description: "Invalid request body" },
        "404": { content: errorContent, description: "Subscription not found" },
        "409": { content: errorContent, description: "`If-Match` ETag does not match the server's current version." },
        "413": { content: errorContent, description: "Request body too large" },
        "422": { content: errorContent, description: "Validation failed (e.g. non-https URL, unknown event type, empty event list)" },
        "401": { content: errorContent, description: "Authentication required", "x-sendmux-ext": true },
        "403": { content: errorContent, description: "Insufficient permissions (needs a `full` key)", "x-sendmux-ext": true },
        ...limitedOrUnavailable,
      },
      security: [{ BearerAuth: [] }],
      summary: "Update a webhook subscription",
      tags: ["Webhooks"],
    },
  },
  "/webhooks/{public_id}/deliveries": {
    get: {
      description: "Returns recent delivery attempts for one webhook subscription, ordered by `created_at` descending. Delivery metadata is retained for 7 days. Use the payload endpoint while `payload_available` is true to inspect the exact JSON request body that was delivered.",
      operationId: "managementListDelivery",
      parameters: [
        { in: "path", name: "public_id", required: true, schema: { description: "Webhook public ID", type: "string" } },
        {
          in: "query",
          name: "cursor",
          required: false,
          schema: { description: "Pagination cursor — the `next_cursor` from the previous response.", type: "string" },
        },
        {
          in: "query",
          name: "limit",
          required: false,
          schema: { description: "Maximum results (default 25, max 100)", maximum: 100, minimum: 1, type: "integer" },
        },
        {
          in: "query",
          name: "event_type",
          required: false,
          schema: {
            description: "Filter by event type. EXT: also provider.paused, provider.disabled and provider.resumed (this gateway's provider lifecycle).",
            enum: [...WEBHOOK_EVENT_TYPES],
            example: "message.bounced",
            type: "string",
            "x-sendmux-ext": true,
          },
        },
        {
          in: "query",
          name: "result",
          required: false,
          schema: { description: "Filter by delivery result.", enum: ["success", "retrying", "failed", "permanent_failure"], type: "string" },
        },
      ],
      responses: {
        "200": {
          content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookDeliveryAttemptCursorListResponse" } } },
          description: "Delivery-attempt list",
        },
        "400": { content: errorContent, description: "Invalid query parameter" },
        "401": { content: errorContent, description: "Authentication required" },
        "403": { content: errorContent, description: "Insufficient permissions" },
        "404": { content: errorContent, description: "Subscription not found" },
        ...limitedOrUnavailable,
      },
      security: [{ BearerAuth: [] }],
      summary: "List webhook delivery attempts",
      tags: ["Webhooks"],
    },
  },
  "/webhooks/{public_id}/deliveries/{delivery_id}/payload": {
    get: {
      description: "Returns the retained JSON request body for one delivery attempt. Payloads are retained for 7 days and may no longer be available after `payload_expires_at`.",
      operationId: "managementGetDeliveryPayload",
      parameters: [
        { in: "path", name: "public_id", required: true, schema: { description: "Webhook public ID", type: "string" } },
        { in: "path", name: "delivery_id", required: true, schema: { description: "Delivery-attempt public ID", type: "string" } },
      ],
      responses: {
        "200": {
          content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookDeliveryPayloadResponse" } } },
          description: "Delivery payload",
        },
        "401": { content: errorContent, description: "Authentication required" },
        "403": { content: errorContent, description: "Insufficient permissions" },
        "404": { content: errorContent, description: "Delivery not found or payload no longer available" },
        ...limitedOrUnavailable,
      },
      security: [{ BearerAuth: [] }],
      summary: "Get a webhook delivery payload",
      tags: ["Webhooks"],
    },
  },
  "/webhooks/{public_id}/rotate-secret": {
    post: {
      description: "Generates a fresh signing secret and returns it ONCE. The old secret is immediately invalidated — the next event delivery is signed with the new secret. Store the new value securely; it cannot be retrieved later.\n\nSupply an `Idempotency-Key` header to safely retry on network errors — replays under the same key return the original rotation response rather than minting a fresh secret. Replays against a different `public_id` under the same key return `409 idempotency_conflict`.",
      operationId: "managementRotateWebhookSecret",
      parameters: [
        { in: "path", name: "public_id", required: true, schema: { description: "Webhook public ID", type: "string" } },
        {
          in: "header",
          name: "Idempotency-Key",
          required: false,
          schema: {
            description: "Client-chosen unique key to safely retry the request. Cached for 24h per (team, endpoint, key). Different target `public_id` under the same key returns 409 idempotency_conflict.",
            example: "webhooks-rotate-20260424-001",
            maxLength: 255,
            type: "string",
          },
        },
      ],
      responses: {
        "200": {
          content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookSubscriptionWithSecretResponse" } } },
          description: "Subscription with new signing secret",
        },
        "404": { content: errorContent, description: "Subscription not found" },
        "409": { content: errorContent, description: "`Idempotency-Key` was replayed against a different webhook (`idempotency_conflict`)." },
        "401": { content: errorContent, description: "Authentication required", "x-sendmux-ext": true },
        "403": { content: errorContent, description: "Insufficient permissions (needs a `full` key)", "x-sendmux-ext": true },
        ...limitedOrUnavailable,
      },
      security: [{ BearerAuth: [] }],
      summary: "Rotate the signing secret",
      tags: ["Webhooks"],
    },
  },
  "/webhooks/{public_id}/test": {
    post: {
      description: "Publishes a synthetic `sendmux.test` event to this webhook subscription. The subscription must include `\"sendmux.test\"` in `event_types`, and mailbox filters do not block the test delivery. Returns the generated `event_id` so you can correlate the `X-Sendmux-Event-Id` header on your endpoint.\n\nSupply an `Idempotency-Key` header to safely retry on network errors — replays under the same key return the original `event_id` rather than publishing a second test event.\n\nThis gateway delivers the test event within the request (at most SENDMUX_WEBHOOK_TIMEOUT_MS, 10 s by default); the attempt is listed in the deliveries before the answer, and its result is in the EXT `X-Sendmux-Delivery-Result` header.\n\nA disabled webhook (`enabled: false`) receives no events, test events included: the answer is `409 conflict`, and nothing is delivered or recorded; enable it with `PATCH /webhooks/{public_id}` `{\"enabled\": true}` first.",
      operationId: "managementTestWebhook",
      parameters: [
        { in: "path", name: "public_id", required: true, schema: { description: "Webhook public ID", type: "string" } },
        {
          in: "header",
          name: "Idempotency-Key",
          required: false,
          schema: {
            description: "Client-chosen unique key to safely retry the request. Cached for 24h per (team, endpoint, key). Different target `public_id` under the same key returns 409 idempotency_conflict.",
            example: "webhooks-test-20260424-001",
            maxLength: 255,
            type: "string",
          },
        },
      ],
      responses: {
        "200": {
          content: {
            "application/json": {
              schema: {
                allOf: [
                  { $ref: "#/components/schemas/SuccessEnvelope" },
                  {
                    properties: { data: { $ref: "#/components/schemas/WebhookTestResponse" }, meta: { $ref: "#/components/schemas/Meta" } },
                    required: ["data"],
                    type: "object",
                  },
                ],
                unevaluatedProperties: false,
              },
            },
          },
          description: "Test event published",
          headers: {
            "X-Sendmux-Delivery-Id": {
              "x-sendmux-ext": true,
              description: "EXT: the delivery attempt made during this request (see GET /webhooks/{public_id}/deliveries)",
              schema: { type: "string" },
            },
            "X-Sendmux-Delivery-Result": {
              "x-sendmux-ext": true,
              description: "EXT: that attempt's result: success, retrying (retries follow the usual schedule), failed or permanent_failure",
              schema: { type: "string", enum: ["success", "retrying", "failed", "permanent_failure"] },
            },
          },
        },
        "404": { content: errorContent, description: "Subscription not found" },
        "409": { content: errorContent, description: "`Idempotency-Key` was replayed against a different webhook (`idempotency_conflict`), or the webhook is not subscribed to `sendmux.test` or is disabled (`enabled: false`) (`conflict`)." },
        "503": { content: errorContent, description: "Event publish service is unavailable." },
        "401": { content: errorContent, description: "Authentication required", "x-sendmux-ext": true },
        "403": { content: errorContent, description: "Insufficient permissions (needs a `full` key)", "x-sendmux-ext": true },
        "429": { content: errorContent, description: "Rate limit exceeded", "x-sendmux-ext": true },
      },
      security: [{ BearerAuth: [] }],
      summary: "Send a synthetic test event",
      tags: ["Webhooks"],
    },
  },
};

export const webhookSchemas: Record<string, Schema> = {
  WebhookCreateBody: {
    additionalProperties: false,
    properties: {
      enabled: { description: "Defaults to true.", example: true, type: "boolean" },
      event_types: {
        description: "At least one event type must be provided.",
        example: ["message.bounced", "message.received"],
        items: {
          description: EVENT_TYPE_DESCRIPTION,
          enum: [...WEBHOOK_EVENT_TYPES],
          example: "message.bounced",
          type: "string",
          "x-sendmux-ext": true,
        },
        minItems: 1,
        type: "array",
      },
      filters: {
        allOf: [
          { $ref: "#/components/schemas/WebhookFilters" },
          {
            description: "Optional delivery scope. Omit or pass an empty mailbox_ids array to receive matching events for all mailboxes in the team.",
          },
        ],
      },
      name: {
        description: "Optional human-friendly label (max 255 chars). Surfaced in dashboard list/detail views.",
        example: "Acme inbound forwarder",
        maxLength: 255,
        minLength: 1,
        type: "string",
      },
      url: {
        description: "HTTPS endpoint that will receive event POSTs. Must be https:// — plain HTTP is rejected.",
        example: "https://hooks.acme.com/sendmux",
        format: "uri",
        type: "string",
      },
    },
    required: ["url", "event_types"],
    type: "object",
  },
  WebhookDeletedResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: {
          data: {
            additionalProperties: false,
            properties: { deleted: { enum: [true], type: "boolean" }, id: { type: "string" } },
            required: ["deleted", "id"],
            type: "object",
          },
          meta: { $ref: "#/components/schemas/Meta" },
        },
        required: ["data"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  WebhookDeliveryAttempt: {
    additionalProperties: false,
    properties: {
      created_at: { description: "ISO 8601 attempt timestamp", example: "2026-05-21T09:12:00Z", type: "string" },
      delivery_attempt: { description: "1-based retry attempt number.", example: 1, exclusiveMinimum: 0, type: "integer" },
      error_message: {
        description: "Public-safe network error category when no HTTP response was received.",
        example: null,
        type: ["string", "null"],
      },
      event_id: { description: "Webhook event ID", example: "evt_clxxxxxxxxxxxxxxxxxxxxxxxxx", type: "string" },
      event_type: {
        description: EVENT_TYPE_DESCRIPTION,
        enum: [...WEBHOOK_EVENT_TYPES],
        example: "message.bounced",
        type: "string",
        "x-sendmux-ext": true,
      },
      id: { description: "Delivery-attempt public ID", example: "whda_clxxxxxxxxxxxxxxxxxxxxxxxxx", type: "string" },
      max_attempts: {
        description: "Maximum attempts before the subscription is marked failing.",
        example: 8,
        exclusiveMinimum: 0,
        type: "integer",
      },
      next_retry_at: { description: "Next retry timestamp when result is retrying; otherwise null.", example: null, type: ["string", "null"] },
      payload_available: { description: "True while the delivered request payload can still be fetched.", example: true, type: "boolean" },
      payload_expires_at: { description: "Timestamp when the retained request payload expires.", example: "2026-05-28T09:12:00Z", type: "string" },
      request_payload_bytes: { description: "Size of the delivered request payload in bytes.", example: 2048, minimum: 0, type: "integer" },
      request_payload_sha256: {
        description: "SHA-256 digest of the delivered request payload.",
        example: "b1946ac92492d2347c6235b4d2611184d4e4f8f2f43a5f2d8d5b7a4a6f0c1e2d",
        type: ["string", "null"],
      },
      response_body: { description: "Truncated endpoint response preview, if any.", example: "ok", type: ["string", "null"] },
      response_ms: { description: "End-to-end delivery latency in milliseconds.", example: 184, minimum: 0, type: "integer" },
      response_status: {
        description: "HTTP status returned by the endpoint, or null for network/timeout failures.",
        example: 200,
        type: ["integer", "null"],
      },
      result: {
        description: "Delivery result for this attempt.",
        enum: ["success", "retrying", "failed", "permanent_failure"],
        example: "success",
        type: "string",
      },
    },
    required: [
      "id",
      "event_id",
      "event_type",
      "result",
      "response_status",
      "response_ms",
      "delivery_attempt",
      "max_attempts",
      "next_retry_at",
      "error_message",
      "response_body",
      "payload_available",
      "payload_expires_at",
      "request_payload_bytes",
      "request_payload_sha256",
      "created_at",
    ],
    type: "object",
  },
  WebhookDeliveryAttemptCursorListResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: {
          data: { items: { $ref: "#/components/schemas/WebhookDeliveryAttempt" }, type: "array" },
          meta: { $ref: "#/components/schemas/Meta" },
          pagination: { $ref: "#/components/schemas/WebhookCursorPagination" },
        },
        required: ["data", "pagination"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  WebhookDeliveryPayload: {
    additionalProperties: false,
    properties: {
      created_at: { description: "ISO 8601 attempt timestamp", example: "2026-05-21T09:12:00Z", type: "string" },
      delivery_attempt: { description: "1-based retry attempt number.", example: 1, exclusiveMinimum: 0, type: "integer" },
      event_id: { description: "Webhook event ID", example: "evt_clxxxxxxxxxxxxxxxxxxxxxxxxx", type: "string" },
      event_type: {
        description: EVENT_TYPE_DESCRIPTION,
        enum: [...WEBHOOK_EVENT_TYPES],
        example: "message.bounced",
        type: "string",
        "x-sendmux-ext": true,
      },
      expires_at: { description: "Timestamp when this retained payload expires.", example: "2026-05-28T09:12:00Z", type: "string" },
      id: { description: "Delivery-attempt public ID", example: "whda_clxxxxxxxxxxxxxxxxxxxxxxxxx", type: "string" },
      payload: { $ref: "#/components/schemas/WebhookEventPayload" },
    },
    required: ["id", "event_id", "event_type", "delivery_attempt", "created_at", "expires_at", "payload"],
    type: "object",
  },
  WebhookDeliveryPayloadResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: { data: { $ref: "#/components/schemas/WebhookDeliveryPayload" }, meta: { $ref: "#/components/schemas/Meta" } },
        required: ["data"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  WebhookEventData: {
    additionalProperties: false,
    properties: {
      bounce_subtype: { description: "More specific bounce category when available.", example: null, type: ["string", "null"] },
      bounce_type: {
        description: "Bounce category for `message.bounced` events.",
        enum: ["Permanent", "Transient", "Undetermined", null],
        example: null,
        type: ["string", "null"],
      },
      complaint_subtype: { description: "More specific complaint category when available.", example: null, type: ["string", "null"] },
      complaint_type: { description: "Complaint category for `message.complained` events.", example: null, type: ["string", "null"] },
      delay_expires_at: { description: "When delivery retries are expected to stop, when provided.", example: null, type: ["string", "null"] },
      delay_type: { description: "Delay category for `message.delivery_delayed` events.", example: null, type: ["string", "null"] },
      is_spam: { description: "Only populated for inbound mailbox events.", example: false, type: ["boolean", "null"] },
      mailbox_id: { description: "Mailbox public ID for inbound mailbox events when resolved.", example: "mbx_123", type: ["string", "null"] },
      message_id: {
        description: "Message identifier from the event source.",
        example: "ME3P282MB076951B3AAD3255D686EA8EDCA0F2@example.com",
        type: ["string", "null"],
      },
      message_id_kind: {
        description: "`provider` for sending feedback IDs; `rfc5322` for inbound email Message-ID header values.",
        enum: ["provider", "rfc5322", null],
        example: "rfc5322",
        type: ["string", "null"],
      },
      recipients: {
        description: "All affected recipients. Empty for synthetic test events.",
        example: ["inbox@example.com"],
        items: { type: "string" },
        type: "array",
      },
      reject_reason: { description: "Reject reason for `message.rejected` events.", example: null, type: ["string", "null"] },
      sender: { description: "Sender/envelope-from address when available.", example: "sender@example.com", type: ["string", "null"] },
      sendmux_message_id: {
        description: "Sendmux message correlation ID for outbound sending feedback when available.",
        example: null,
        type: ["string", "null"],
      },
      webhook_id: { description: "Target webhook ID for synthetic `sendmux.test` payloads.", example: null, type: ["string", "null"] },
    },
    required: [
      "message_id",
      "message_id_kind",
      "sendmux_message_id",
      "sender",
      "recipients",
      "mailbox_id",
      "bounce_type",
      "bounce_subtype",
      "complaint_type",
      "complaint_subtype",
      "reject_reason",
      "delay_type",
      "delay_expires_at",
      "is_spam",
      "webhook_id",
    ],
    type: "object",
  },
  WebhookEventPayload: {
    additionalProperties: false,
    description: "The JSON request body delivered to the webhook endpoint.",
    example: {
      data: {
        bounce_subtype: null,
        bounce_type: null,
        complaint_subtype: null,
        complaint_type: null,
        delay_expires_at: null,
        delay_type: null,
        is_spam: false,
        mailbox_id: "mbx_123",
        message_id: "ME3P282MB076951B3AAD3255D686EA8EDCA0F2@example.com",
        message_id_kind: "rfc5322",
        recipients: ["inbox@example.com"],
        reject_reason: null,
        sender: "sender@example.com",
        sendmux_message_id: null,
        webhook_id: null,
      },
      id: "evt_clxxxxxxxxxxxxxxxxxxxxxxxxx",
      occurred_at: "2026-05-21T09:12:00Z",
      team_public_id: "team_clxxxxxxxxxxxxxxxxxxxxxxxxx",
      type: "message.received",
    },
    properties: {
      data: {
        anyOf: [{ $ref: "#/components/schemas/WebhookEventData" }, { $ref: "#/components/schemas/WebhookProviderEventData" }],
        description: "WebhookEventData; EXT: WebhookProviderEventData for provider.* events.",
      },
      id: {
        description: "Stable per-event identifier. Also sent in the X-Sendmux-Event-Id header.",
        example: "evt_clxxxxxxxxxxxxxxxxxxxxxxxxx",
        type: "string",
      },
      occurred_at: { description: "When the event occurred.", example: "2026-05-21T09:12:00Z", type: "string" },
      team_public_id: { description: "Team that owns the event.", example: "team_clxxxxxxxxxxxxxxxxxxxxxxxxx", type: "string" },
      type: {
        description: "Dotted event type. Same value as the X-Sendmux-Event-Type header. EXT: also provider.paused, provider.disabled and provider.resumed (this gateway's provider lifecycle).",
        enum: [...WEBHOOK_EVENT_TYPES],
        example: "message.received",
        type: "string",
        "x-sendmux-ext": true,
      },
    },
    required: ["id", "type", "team_public_id", "occurred_at", "data"],
    type: "object",
    "x-sendmux-ext": true,
  },
  WebhookFilters: {
    additionalProperties: false,
    description: "Optional delivery scope. Empty mailbox_ids means all team mailboxes.",
    properties: {
      mailbox_ids: {
        description: "Mailbox public IDs to receive events for. Empty means all mailboxes in the team.",
        example: ["mbx_clxxxxxxxxxxxxxxxxxxxxxxxxx"],
        items: { type: "string" },
        type: "array",
      },
    },
    required: ["mailbox_ids"],
    type: "object",
  },
  WebhookSubscription: {
    additionalProperties: false,
    properties: {
      created_at: { description: "ISO 8601 creation timestamp", example: "2026-04-23T09:12:00Z", type: "string" },
      enabled: { description: "When false, no events are delivered to this subscription.", example: true, type: "boolean" },
      event_types: {
        description: "Event types this subscription receives.",
        example: ["message.bounced", "message.received"],
        items: {
          description: EVENT_TYPE_DESCRIPTION,
          enum: [...WEBHOOK_EVENT_TYPES],
          example: "message.bounced",
          type: "string",
          "x-sendmux-ext": true,
        },
        type: "array",
      },
      failing: {
        description: "True when the 24-hour retry window has been exhausted for this subscription. Reset by updating the subscription (e.g. fixing the URL) and re-enabling.",
        example: false,
        type: "boolean",
      },
      filters: { $ref: "#/components/schemas/WebhookFilters" },
      id: { description: "Webhook public ID", example: "whk_clxxxxxxxxxxxxxxxxxxxxxxxxx", type: "string" },
      name: {
        description: "Optional human-friendly label used in dashboard list/detail pages. May be `null` for subscriptions created without a name.",
        example: "Acme inbound forwarder",
        type: ["string", "null"],
      },
      updated_at: { description: "ISO 8601 last-modified timestamp", example: "2026-04-23T09:12:00Z", type: "string" },
      url: {
        description: "HTTPS endpoint that receives signed event POSTs.",
        example: "https://hooks.acme.com/sendmux",
        format: "uri",
        type: "string",
      },
    },
    required: ["id", "name", "url", "event_types", "filters", "enabled", "failing", "created_at", "updated_at"],
    type: "object",
  },
  WebhookSubscriptionCursorListResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: {
          data: { items: { $ref: "#/components/schemas/WebhookSubscription" }, type: "array" },
          meta: { $ref: "#/components/schemas/Meta" },
          pagination: { $ref: "#/components/schemas/WebhookCursorPagination" },
        },
        required: ["data", "pagination"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  WebhookSubscriptionResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: { data: { $ref: "#/components/schemas/WebhookSubscription" }, meta: { $ref: "#/components/schemas/Meta" } },
        required: ["data"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  WebhookSubscriptionWithSecretResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: { data: { $ref: "#/components/schemas/WebhookSubscriptionWithSecret" }, meta: { $ref: "#/components/schemas/Meta" } },
        required: ["data"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  WebhookTestResponse: {
    additionalProperties: false,
    properties: {
      event_id: {
        description: "The event_id attached to the X-Sendmux-Event-Id header of the test delivery.",
        example: "evt_clxxxxxxxxxxxxxxxxxxxxxxxxx",
        type: "string",
      },
    },
    required: ["event_id"],
    type: "object",
  },
  WebhookUpdateBody: {
    additionalProperties: false,
    properties: {
      enabled: {
        description: "When toggled from false to true, also clears the `failing` flag — retry deliveries resume on the next matching event.",
        type: "boolean",
      },
      event_types: {
        description: "Replaces the full event-type list. At least one must be provided.",
        items: {
          description: EVENT_TYPE_DESCRIPTION,
          enum: [...WEBHOOK_EVENT_TYPES],
          example: "message.bounced",
          type: "string",
          "x-sendmux-ext": true,
        },
        minItems: 1,
        type: "array",
      },
      filters: {
        allOf: [
          { $ref: "#/components/schemas/WebhookFilters" },
          {
            description: "Replaces the full delivery scope. Omit to leave unchanged; pass an empty mailbox_ids array for all team mailboxes.",
          },
        ],
      },
      name: {
        description: "Replace the human-friendly label. Send `null` to clear it; omit to leave unchanged.",
        maxLength: 255,
        type: ["string", "null"],
      },
      url: { description: "New HTTPS endpoint. Must be https://.", format: "uri", type: "string" },
    },
    type: "object",
  },
  WebhookCursorPagination: {
    additionalProperties: false,
    properties: { has_more: { type: "boolean" }, next_cursor: { type: "string" } },
    required: ["has_more"],
    type: "object",
  },
  WebhookProviderEventData: {
    "x-sendmux-ext": true,
    additionalProperties: false,
    description: "EXT: `data` of provider.paused, provider.disabled and provider.resumed events.",
    properties: {
      provider_id: { type: ["string", "null"], description: "The provider (dprov_…)" },
      class: { type: ["string", "null"], description: "Failure class that opened the circuit (paused, disabled)" },
      until: { type: ["string", "null"], description: "When a pause ends (paused)" },
      reason: { type: ["string", "null"], description: "The provider's last failure, truncated (paused, disabled)" },
      how: { type: ["string", "null"], enum: ["pause_ended", "activated", null], description: "How it came back (resumed)" },
    },
    required: ["provider_id", "class", "until", "reason", "how"],
    type: "object",
  },
};

/**
 * The reference gives WebhookSubscriptionWithSecret as `allOf` of WebhookSubscription and `{secret}`,
 * both closed with `additionalProperties: false`, which no object satisfies; here it is the
 * subscription's properties plus `secret`, still closed.
 */
const subscription = webhookSchemas.WebhookSubscription as { properties: Record<string, Schema>; required: string[] };
webhookSchemas.WebhookSubscriptionWithSecret = {
  ...subscription,
  properties: {
    ...subscription.properties,
    secret: {
      description:
        "Signing secret used to verify the HMAC-SHA256 signature on every event POST. This is the ONLY response containing the raw secret — store it securely; it cannot be retrieved later. Use POST /webhooks/{id}/rotate-secret to issue a new one.",
      example: "whsec_a9f3c2…",
      type: "string",
    },
  },
  required: [...subscription.required, "secret"],
};
