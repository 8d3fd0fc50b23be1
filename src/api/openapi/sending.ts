import { EXT, errors, idempotencyKeyParam, ifNoneMatchParam, jsonBody, notModified, pathId, ref, type PathItem, type Schema } from "./common.ts";

/**
 * The Sending API, as the hosted service publishes it (shared/reference/sendmux-openapi-sending.json):
 * its component schemas verbatim, and its paths. The conformance tests validate every response of
 * these paths against the reference document itself, and check that this module still says the
 * same thing (test/e2e/openapi.test.ts).
 *
 * Routes implementing these (all hand-validated): src/api/emails/validate.ts implements
 * EmailSendRequest (with the EXT widenings below); the batch handler in src/api/emails/index.ts
 * implements BatchSendRequest; src/api/emails/uploads.ts implements AttachmentUploadIntentRequest
 * and the upload operations' parameters.
 */
export const sendingSchemas: Record<string, Schema> = {
  Address: {
    additionalProperties: false,
    description: "Sender address",
    properties: {
      email: {
        description: "Email address",
        example: "user@example.com",
        format: "email",
        maxLength: 254,
        type: "string",
      },
      name: {
        description: "Display name",
        example: "John Smith",
        maxLength: 100,
        pattern: "^[^\\r\\n]*$",
        type: "string",
      },
    },
    required: ["email"],
    type: "object",
  },
  Attachment: {
    anyOf: [
      { $ref: "#/components/schemas/InlineAttachment" },
      { $ref: "#/components/schemas/UploadedAttachmentRef" },
    ],
  },
  AttachmentUploadData: {
    additionalProperties: false,
    properties: {
      attachment_id: {
        description: "Temporary attachment ID to use in email attachments[].",
        example: "att_tz4a98xxat96iws9zmbrgj3a",
        pattern: "^att_[a-z0-9]{24}$",
        type: "string",
      },
      content_type: { description: "Stored attachment MIME type", example: "application/pdf", type: "string" },
      expires_at: {
        description: "ISO timestamp when this temporary attachment reference expires.",
        example: "2026-07-07T08:15:00.000Z",
        format: "date-time",
        type: "string",
      },
      filename: { description: "Stored attachment filename", example: "analysis.pdf", type: "string" },
      size_bytes: { description: "Stored attachment byte size", example: 20480, type: "integer" },
    },
    required: ["attachment_id", "filename", "content_type", "size_bytes", "expires_at"],
    type: "object",
  },
  AttachmentUploadIntentData: {
    additionalProperties: false,
    properties: {
      expires_at: {
        description: "ISO timestamp when the upload URL expires.",
        example: "2026-07-07T08:15:00.000Z",
        format: "date-time",
        type: "string",
      },
      headers: {
        additionalProperties: { type: "string" },
        description: "Headers that must be sent with the PUT upload request.",
        example: {
          "Content-Length": "20480",
          "Content-Type": "application/pdf",
          "X-Sendmux-Upload-Token": "smx_upload_...",
        },
        type: "object",
      },
      max_size_bytes: { description: "Maximum upload size in bytes", example: 18874368, type: "integer" },
      method: { description: "HTTP method for upload_url", enum: ["PUT"], type: "string" },
      upload_id: {
        description: "Temporary upload intent ID.",
        example: "upl_tz4a98xxat96iws9zmbrgj3a",
        pattern: "^upl_[a-z0-9]{24}$",
        type: "string",
      },
      upload_url: {
        description: "Short-lived URL that accepts a binary PUT with the returned headers.",
        example: "https://smtp.sendmux.ai/api/v1/emails/attachment-uploads/upl_tz4a98xxat96iws9zmbrgj3a",
        format: "uri",
        type: "string",
      },
    },
    required: ["upload_id", "upload_url", "method", "expires_at", "max_size_bytes", "headers"],
    type: "object",
  },
  AttachmentUploadIntentRequest: {
    additionalProperties: false,
    properties: {
      content_type: {
        description: "MIME type expected for the upload.",
        example: "application/pdf",
        maxLength: 255,
        type: "string",
      },
      filename: {
        description: "Filename to associate with the uploaded attachment.",
        example: "analysis.pdf",
        maxLength: 255,
        minLength: 1,
        type: "string",
      },
      sha256: {
        description: "Optional SHA-256 hex digest for the upload bytes.",
        example: "0000000000000000000000000000000000000000000000000000000000000000",
        pattern: "^[a-f0-9]{64}$",
        type: "string",
      },
      size_bytes: {
        description: "Exact byte size that will be uploaded.",
        example: 20480,
        exclusiveMinimum: 0,
        type: "integer",
      },
    },
    required: ["filename", "size_bytes"],
    type: "object",
  },
  AttachmentUploadIntentResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: { data: { $ref: "#/components/schemas/AttachmentUploadIntentData" } },
        required: ["data"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  AttachmentUploadResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: { data: { $ref: "#/components/schemas/AttachmentUploadData" } },
        required: ["data"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  BatchResultItem: {
    additionalProperties: false,
    properties: {
      error: {
        allOf: [{ $ref: "#/components/schemas/ErrorDetail" }, { description: "Error details (only if failed)" }],
      },
      index: { description: "Position in the input array", type: "integer" },
      message_id: { description: "Message ID (null if failed)", pattern: "^eml_[a-z0-9]{24}$", type: ["string", "null"] },
      status: { description: "Result status", enum: ["queued", "failed"], type: "string" },
    },
    required: ["index", "message_id", "status"],
    type: "object",
  },
  BatchSendRequest: {
    additionalProperties: false,
    properties: {
      messages: {
        description: "Array of email messages to send (max 100)",
        items: { $ref: "#/components/schemas/EmailSendRequest" },
        maxItems: 100,
        minItems: 1,
        type: "array",
      },
    },
    required: ["messages"],
    type: "object",
  },
  BatchSendSuccessData: {
    additionalProperties: false,
    properties: {
      results: { items: { $ref: "#/components/schemas/BatchResultItem" }, type: "array" },
      summary: { $ref: "#/components/schemas/BatchSummary" },
    },
    required: ["results", "summary"],
    type: "object",
  },
  BatchSendSuccessResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: { data: { $ref: "#/components/schemas/BatchSendSuccessData" } },
        required: ["data"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  BatchSummary: {
    additionalProperties: false,
    properties: {
      failed: { description: "Failed count", type: "integer" },
      queued: { description: "Successfully queued count", type: "integer" },
      total: { description: "Total messages in batch", type: "integer" },
    },
    required: ["total", "queued", "failed"],
    type: "object",
  },
  EmailSendRequest: {
    additionalProperties: false,
    properties: {
      attachments: {
        description: "File attachments (max 10). Use attachment_id refs for uploaded files.",
        items: { $ref: "#/components/schemas/Attachment" },
        maxItems: 10,
        type: "array",
      },
      bcc: {
        description: "BCC recipients (subject to 50 total To, CC, and BCC recipients)",
        items: { $ref: "#/components/schemas/Recipient" },
        maxItems: 49,
        type: "array",
      },
      cc: {
        description: "CC recipients (subject to 50 total To, CC, and BCC recipients)",
        items: { $ref: "#/components/schemas/Recipient" },
        maxItems: 49,
        type: "array",
      },
      custom_headers: {
        additionalProperties: { maxLength: 500, pattern: "^[^\\r\\n]*$", type: "string" },
        description: "Custom X-* headers to include in the email",
        type: "object",
      },
      from: { $ref: "#/components/schemas/Address" },
      html_body: { description: "HTML email content (max 25MB)", maxLength: 26214400, minLength: 1, type: "string" },
      reply_to: { allOf: [{ $ref: "#/components/schemas/Address" }, { description: "Reply-To address" }] },
      return_path: { description: "Envelope sender for VERP support", format: "email", maxLength: 254, type: "string" },
      subject: {
        description: "Email subject line (max 998 chars, RFC 5322)",
        example: "Welcome to Sendmux",
        maxLength: 998,
        minLength: 1,
        pattern: "^[^\\r\\n]*$",
        type: "string",
      },
      text_body: { description: "Plain text alternative (max 25MB)", maxLength: 26214400, type: "string" },
      to: { allOf: [{ $ref: "#/components/schemas/Address" }, { description: "Primary recipient" }] },
    },
    required: ["from", "to", "subject", "html_body"],
    type: "object",
  },
  ErrorDetail: {
    additionalProperties: false,
    properties: {
      code: { description: "Machine-readable error code", example: "validation_error", type: "string" },
      doc_url: { description: "Link to error documentation", format: "uri", type: "string" },
      errors: {
        description: "Accumulated per-field issues (validation errors)",
        items: { $ref: "#/components/schemas/ErrorIssue" },
        type: "array",
      },
      message: { description: "Human-readable error description", type: "string" },
      param: { description: "Parameter that caused the error", type: "string" },
      retryable: {
        description: "True when the client may safely retry the same request. 429 and 5xx default true; 4xx default false.",
        type: "boolean",
      },
    },
    required: ["code", "message", "retryable"],
    type: "object",
  },
  ErrorIssue: {
    additionalProperties: false,
    properties: {
      code: { description: "Issue code from the validator", example: "invalid_string", type: "string" },
      field: { description: "Dot-path to the failing field", example: "to.email", type: "string" },
      message: { description: "Human-readable issue message", type: "string" },
    },
    required: ["field", "code", "message"],
    type: "object",
  },
  ErrorResponse: {
    additionalProperties: false,
    properties: {
      error: { $ref: "#/components/schemas/ErrorDetail" },
      meta: { $ref: "#/components/schemas/Meta" },
      ok: { enum: [false], type: "boolean" },
    },
    required: ["ok", "error", "meta"],
    type: "object",
  },
  InlineAttachment: {
    additionalProperties: false,
    properties: {
      content: { description: "Base64-encoded file content", minLength: 1, type: "string" },
      encoding: { default: "base64", enum: ["base64"], type: "string" },
      filename: {
        description: "Filename with allowed extension",
        example: "invoice.pdf",
        maxLength: 255,
        minLength: 1,
        type: "string",
      },
      type: { description: "MIME type override", example: "application/pdf", type: "string" },
    },
    required: ["filename", "content"],
    type: "object",
  },
  Meta: {
    additionalProperties: false,
    properties: {
      request_id: {
        description: "Unique request identifier",
        example: "req_clxxxxxxxxxxxxxxxxxxxxxxxxx",
        type: "string",
      },
    },
    required: ["request_id"],
    type: "object",
  },
  Recipient: {
    additionalProperties: false,
    properties: {
      email: { description: "Recipient email address", format: "email", maxLength: 254, type: "string" },
      name: { description: "Recipient display name", maxLength: 100, pattern: "^[^\\r\\n]*$", type: "string" },
    },
    required: ["email"],
    type: "object",
  },
  SendSuccessData: {
    additionalProperties: false,
    properties: {
      message_id: {
        description: "Unique message identifier (eml_ prefix + 24 alphanumeric chars)",
        example: "eml_tz4a98xxat96iws9zmbrgj3a",
        pattern: "^eml_[a-z0-9]{24}$",
        type: "string",
      },
      status: { description: "Message queuing status", enum: ["queued"], type: "string" },
    },
    required: ["message_id", "status"],
    type: "object",
  },
  SendSuccessResponse: {
    allOf: [
      { $ref: "#/components/schemas/SuccessEnvelope" },
      {
        properties: { data: { $ref: "#/components/schemas/SendSuccessData" } },
        required: ["data"],
        type: "object",
      },
    ],
    unevaluatedProperties: false,
  },
  SuccessEnvelope: {
    properties: { meta: { $ref: "#/components/schemas/Meta" }, ok: { enum: [true], type: "boolean" } },
    required: ["ok", "meta"],
    type: "object",
  },
  UploadedAttachmentRef: {
    additionalProperties: false,
    properties: {
      attachment_id: {
        description: "Temporary uploaded attachment ID returned by POST /emails/attachments.",
        example: "att_tz4a98xxat96iws9zmbrgj3a",
        pattern: "^att_[a-z0-9]{24}$",
        type: "string",
      },
    },
    required: ["attachment_id"],
    type: "object",
  },};

/**
 * EXT (SPEC "Sending"): what we accept beyond EmailSendRequest. We only ever accept more: `to`
 * may be a list, `text_body` alone is enough, an inline attachment may carry `content_id`, and
 * custom_headers may also carry List-Unsubscribe, List-Unsubscribe-Post, In-Reply-To, References.
 */
const base = sendingSchemas.EmailSendRequest as { properties: Record<string, Schema> };
sendingSchemas.EmailSendRequest = {
  ...base,
  properties: {
    ...base.properties,
    to: {
      anyOf: [
        { allOf: [ref("Address"), { description: "Primary recipient" }] },
        { items: ref("Recipient"), maxItems: 50, minItems: 1, type: "array", description: "EXT: several primary recipients", ...EXT },
      ],
    },
    html_body: { ...(base.properties.html_body as Schema), description: "HTML email content (max 25MB). EXT: may be left out when text_body is given." },
    text_body: { ...(base.properties.text_body as Schema), description: "Plain text alternative (max 25MB). EXT: enough on its own." },
    custom_headers: {
      ...(base.properties.custom_headers as Schema),
      description: "Custom X-* headers to include in the email. EXT: also List-Unsubscribe, List-Unsubscribe-Post, In-Reply-To and References.",
    },
  },
  required: ["from", "to", "subject"],
  anyOf: [{ required: ["html_body"] }, { required: ["text_body"] }],
  ...EXT,
};
const inline = sendingSchemas.InlineAttachment as { properties: Record<string, Schema> };
sendingSchemas.InlineAttachment = {
  ...inline,
  properties: {
    ...inline.properties,
    content_id: { description: "EXT: makes the attachment inline, referred to from html_body as cid:<content_id>.", example: "logo@example.com", maxLength: 250, type: "string", ...EXT },
  },
  ...EXT,
};

/** Reference component schemas this module deliberately widens (request side only). */
export const EXT_WIDENED = ["EmailSendRequest", "InlineAttachment"];

const attachmentsTag = ["Attachments"];
const bearer = [{ BearerAuth: [] }];
const contentLength: Schema = {
  description: "Exact number of bytes in the binary request body.",
  example: 20480,
  in: "header",
  name: "Content-Length",
  required: true,
  schema: { format: "int64", minimum: 1, type: "integer" },
};
const binaryBody: Schema = { content: { "application/octet-stream": { schema: { format: "binary", type: "string" } } }, required: true };
const locationHeader = (description: string): Schema => ({ Location: { description, schema: { type: "string" } } });
const uploaded = (description: string): Schema => ({
  content: jsonBody(ref("AttachmentUploadResponse")),
  description,
  headers: locationHeader("Canonical URL for the temporary uploaded attachment metadata."),
});

// 402 (insufficient credits) is left out of the send operations: a self-hosted gateway has no
// credits, so it never answers 402.
export const sendingPaths: Record<string, PathItem> = {
  "/emails/attachment-uploads": {
    post: {
      description:
        "Create a short-lived upload URL and token that lets a remote client PUT one binary attachment without exposing the API key on the upload request. Requires `email.send` permission. The URL and token are valid for 1 hour; the attachment then lives 24 hours.",
      operationId: "sendingCreateAttachmentUpload",
      parameters: [idempotencyKeyParam],
      requestBody: { content: jsonBody(ref("AttachmentUploadIntentRequest")), required: true },
      responses: {
        201: {
          content: jsonBody(ref("AttachmentUploadIntentResponse")),
          description: "Attachment upload URL created",
          headers: locationHeader("Canonical URL for the temporary attachment upload intent."),
        },
        ...errors({
          400: "Malformed request",
          401: "Authentication required",
          403: "Insufficient permissions",
          409: "Idempotency conflict",
          413: "Attachment exceeds the upload size cap",
          422: "Attachment upload validation failed",
          429: "Rate limit exceeded",
          503: "Attachment upload service temporarily unavailable",
        }),
      },
      security: bearer,
      summary: "Create an attachment upload URL",
      tags: attachmentsTag,
    },
  },
  "/emails/attachment-uploads/{upload_id}": {
    put: {
      description:
        "Upload the exact binary bytes for a previously-created attachment upload URL. This operation uses the short-lived upload token header returned by POST /emails/attachment-uploads, not a Sendmux API key.",
      operationId: "sendingCompleteAttachmentUpload",
      parameters: [
        { description: "Short-lived upload token returned by POST /emails/attachment-uploads.", in: "header", name: "X-Sendmux-Upload-Token", required: true, schema: { type: "string" } },
        contentLength,
        pathId("upload_id", "^upl_[a-z0-9]{24}$", "Upload intent ID returned by POST /emails/attachment-uploads."),
      ],
      requestBody: binaryBody,
      responses: {
        201: uploaded("Attachment uploaded successfully"),
        ...errors({
          400: "Missing or invalid upload headers",
          401: "Upload token missing, invalid, or expired",
          404: "Upload intent not found or expired",
          409: "Upload already completed with different content",
          413: "Uploaded bytes do not match the expected size",
          422: "Attachment validation failed",
          503: "Attachment storage temporarily unavailable",
        }),
      },
      security: [],
      summary: "Upload bytes to an attachment upload URL",
      tags: attachmentsTag,
    },
  },
  "/emails/attachments": {
    post: {
      description:
        "Upload binary attachment bytes and receive a temporary attachment_id for use in attachments[]. Requires `email.send` permission. The attachment lives 24 hours; without content_type its type follows the filename's extension.",
      operationId: "sendingUploadAttachment",
      parameters: [
        idempotencyKeyParam,
        contentLength,
        { description: "Filename to associate with the uploaded attachment.", example: "analysis.pdf", in: "query", name: "filename", required: true, schema: { maxLength: 255, minLength: 1, type: "string" } },
        { description: "MIME type override for the uploaded attachment.", example: "application/pdf", in: "query", name: "content_type", required: false, schema: { maxLength: 255, type: "string" } },
      ],
      requestBody: binaryBody,
      responses: {
        201: uploaded("Attachment uploaded successfully"),
        ...errors({
          400: "Missing or invalid upload metadata",
          401: "Authentication required",
          403: "Insufficient permissions",
          409: "Idempotency conflict",
          413: "Attachment exceeds the upload size cap",
          422: "Attachment validation failed",
          429: "Rate limit exceeded",
          503: "Attachment storage temporarily unavailable",
        }),
      },
      security: bearer,
      summary: "Upload an attachment",
      tags: attachmentsTag,
    },
  },
  "/emails/attachments/{attachment_id}": {
    get: {
      description: "Return metadata for a temporary uploaded attachment owned by the authenticated team. File bytes are not returned.",
      operationId: "sendingGetAttachment",
      parameters: [pathId("attachment_id", "^att_[a-z0-9]{24}$", "Temporary attachment ID returned by an upload endpoint."), { ...ifNoneMatchParam, ...EXT }],
      responses: {
        200: { content: jsonBody(ref("AttachmentUploadResponse")), description: "Attachment metadata", headers: { ETag: { description: "EXT: weak ETag", schema: { type: "string" } } } },
        304: { ...notModified, ...EXT },
        ...errors({
          401: "Authentication required",
          403: "Insufficient permissions",
          404: "Attachment not found or expired",
          429: "Rate limit exceeded",
          503: "Attachment storage temporarily unavailable",
        }),
      },
      security: bearer,
      summary: "Get attachment metadata",
      tags: attachmentsTag,
    },
  },
  "/emails/send": {
    post: {
      description: "Queue a single email for delivery. Requires `email.send` permission.",
      operationId: "sendingSendEmail",
      parameters: [idempotencyKeyParam],
      requestBody: { content: jsonBody(ref("EmailSendRequest")), required: true },
      responses: {
        200: { content: jsonBody(ref("SendSuccessResponse")), description: "Email queued successfully" },
        ...errors({
          400: "Malformed request (invalid JSON or syntactic parameter error)",
          401: "Authentication required",
          403: "Insufficient permissions",
          409: "Idempotency conflict (Idempotency-Key reused with different body, or request already in flight)",
          413: "Request body exceeds 25 MB",
          422: "Validation error (schema failures, accumulated in error.errors[])",
          429: "Rate limit exceeded or Free daily sending limit reached (Retry-After header included)",
          503: "Service unavailable (Retry-After header included)",
        }),
      },
      security: bearer,
      summary: "Send a single email",
      tags: ["Emails"],
    },
  },
  "/emails/send/batch": {
    post: {
      description:
        "Queue up to 100 emails for delivery in a single request. Uses partial success model — individual message failures do not fail the entire batch. Requires `email.send` permission.",
      operationId: "sendingSendEmailBatch",
      parameters: [idempotencyKeyParam],
      requestBody: { content: jsonBody(ref("BatchSendRequest")), required: true },
      responses: {
        200: { content: jsonBody(ref("BatchSendSuccessResponse")), description: "Batch processed (check individual results for per-message status)" },
        ...errors({
          400: "Malformed request (invalid JSON or syntactic parameter error)",
          401: "Authentication required",
          403: "Insufficient permissions",
          409: "Idempotency conflict",
          413: "Request body exceeds 25 MB",
          422: "All messages failed validation",
          429: "Rate limit exceeded or Free daily sending limit reached (Retry-After header included)",
          503: "Service unavailable or all messages failed with transient errors",
        }),
      },
      security: bearer,
      summary: "Send a batch of emails",
      tags: ["Emails"],
    },
  },
  "/openapi.json": {
    get: {
      description:
        "Auto-generated OpenAPI 3.1 spec for the Sendmux Sending API. Public endpoint (no authentication). Emits a weak ETag; clients may send `If-None-Match` to receive 304 Not Modified.",
      operationId: "sendingGetOpenApiSpec",
      parameters: [ifNoneMatchParam],
      responses: {
        200: {
          content: jsonBody({ additionalProperties: {}, properties: {}, type: "object" }),
          description: "OpenAPI 3.1 document",
          headers: {
            "Cache-Control": { description: "public, max-age=3600", schema: { type: "string" } },
            ETag: { description: "Weak ETag of the canonical spec content", schema: { type: "string" } },
          },
        },
        304: {
          description: "Spec has not changed (matches If-None-Match). Response body is empty per RFC 7232 §4.1.",
          headers: { ETag: { schema: { type: "string" } } },
        },
      },
      security: [],
      summary: "OpenAPI 3.1 specification",
      tags: ["Meta"],
    },
  },
};
