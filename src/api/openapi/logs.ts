/**
 * Delivery logs and metrics, as sendmux-openapi-app.json documents them (schemas and parameters
 * copied from it verbatim; test/e2e/logs-openapi.test.ts checks they stay equal). Implemented by
 * src/api/logs/index.ts.
 */
import { errors, jsonBody, ref, type PathItem, type Schema } from "./common.ts";

export const logSchemas: Record<string, Schema> = {
  "DeliveryLogItem": {
    "additionalProperties": false,
    "properties": {
      "accepted_recipient_count": {
        "description": "Recipient occurrences accepted by the provider, or null when no recipient snapshot exists",
        "maximum": 50,
        "minimum": 0,
        "type": [
          "integer",
          "null"
        ]
      },
      "attempts": {
        "type": "number"
      },
      "created_at": {
        "description": "ISO 8601 creation timestamp",
        "type": "string"
      },
      "from_email": {
        "type": [
          "string",
          "null"
        ]
      },
      "id": {
        "description": "Log public ID",
        "example": "dlog_clxxxxxxxxxxxxxxxxxxxxxxxxx",
        "type": "string"
      },
      "message_id": {
        "description": "Email Message-ID header",
        "type": [
          "string",
          "null"
        ]
      },
      "provider_id": {
        "description": "Provider public ID",
        "type": [
          "string",
          "null"
        ]
      },
      "provider_name": {
        "description": "Provider display name",
        "type": [
          "string",
          "null"
        ]
      },
      "recipient_count": {
        "description": "Total recipient occurrences, or null when no recipient snapshot exists",
        "maximum": 50,
        "minimum": 0,
        "type": [
          "integer",
          "null"
        ]
      },
      "rejected_recipient_count": {
        "description": "Recipient occurrences rejected by the provider, or null when no recipient snapshot exists",
        "maximum": 50,
        "minimum": 0,
        "type": [
          "integer",
          "null"
        ]
      },
      "sent_at": {
        "description": "ISO 8601 timestamp when email was sent",
        "type": [
          "string",
          "null"
        ]
      },
      "sent_from_email": {
        "description": "The actual from address used for delivery after transformation. NULL if no transformation occurred or for older log entries.",
        "type": [
          "string",
          "null"
        ]
      },
      "size_bytes": {
        "type": [
          "number",
          "null"
        ]
      },
      "status": {
        "enum": [
          "pending",
          "sent",
          "failed",
          "rejected"
        ],
        "type": "string"
      },
      "status_reason": {
        "type": [
          "string",
          "null"
        ]
      },
      "subject": {
        "type": [
          "string",
          "null"
        ]
      },
      "to_email": {
        "type": [
          "string",
          "null"
        ]
      }
    },
    "required": [
      "id",
      "provider_id",
      "provider_name",
      "message_id",
      "from_email",
      "sent_from_email",
      "to_email",
      "subject",
      "status",
      "status_reason",
      "attempts",
      "sent_at",
      "size_bytes",
      "created_at",
      "recipient_count",
      "accepted_recipient_count",
      "rejected_recipient_count"
    ],
    "type": "object"
  },
  "DeliveryLogDetail": {
    "additionalProperties": false,
    "properties": {
      "accepted_recipient_count": {
        "description": "Recipient occurrences accepted by the provider, or null when no recipient snapshot exists",
        "maximum": 50,
        "minimum": 0,
        "type": [
          "integer",
          "null"
        ]
      },
      "attempts": {
        "type": "number"
      },
      "created_at": {
        "description": "ISO 8601 creation timestamp",
        "type": "string"
      },
      "from_email": {
        "type": [
          "string",
          "null"
        ]
      },
      "id": {
        "description": "Log public ID",
        "example": "dlog_clxxxxxxxxxxxxxxxxxxxxxxxxx",
        "type": "string"
      },
      "message_id": {
        "description": "Email Message-ID header",
        "type": [
          "string",
          "null"
        ]
      },
      "provider_id": {
        "description": "Provider public ID",
        "type": [
          "string",
          "null"
        ]
      },
      "provider_name": {
        "description": "Provider display name",
        "type": [
          "string",
          "null"
        ]
      },
      "recipient_count": {
        "description": "Total recipient occurrences, or null when no recipient snapshot exists",
        "maximum": 50,
        "minimum": 0,
        "type": [
          "integer",
          "null"
        ]
      },
      "recipients": {
        "description": "Ordered recipient outcome snapshot for this send, or null when no snapshot exists",
        "items": {
          "$ref": "#/components/schemas/DeliveryLogRecipient"
        },
        "maxItems": 50,
        "type": [
          "array",
          "null"
        ]
      },
      "rejected_recipient_count": {
        "description": "Recipient occurrences rejected by the provider, or null when no recipient snapshot exists",
        "maximum": 50,
        "minimum": 0,
        "type": [
          "integer",
          "null"
        ]
      },
      "sent_at": {
        "description": "ISO 8601 timestamp when email was sent",
        "type": [
          "string",
          "null"
        ]
      },
      "sent_from_email": {
        "description": "The actual from address used for delivery after transformation. NULL if no transformation occurred or for older log entries.",
        "type": [
          "string",
          "null"
        ]
      },
      "size_bytes": {
        "type": [
          "number",
          "null"
        ]
      },
      "status": {
        "enum": [
          "pending",
          "sent",
          "failed",
          "rejected"
        ],
        "type": "string"
      },
      "status_reason": {
        "type": [
          "string",
          "null"
        ]
      },
      "subject": {
        "type": [
          "string",
          "null"
        ]
      },
      "to_email": {
        "type": [
          "string",
          "null"
        ]
      }
    },
    "required": [
      "id",
      "provider_id",
      "provider_name",
      "message_id",
      "from_email",
      "sent_from_email",
      "to_email",
      "subject",
      "status",
      "status_reason",
      "attempts",
      "sent_at",
      "size_bytes",
      "created_at",
      "recipient_count",
      "accepted_recipient_count",
      "rejected_recipient_count",
      "recipients"
    ],
    "type": "object"
  },
  "DeliveryLogRecipient": {
    "additionalProperties": false,
    "properties": {
      "email": {
        "description": "Recipient email address",
        "format": "email",
        "type": "string"
      },
      "reason": {
        "description": "Recipient-specific rejection reason when available",
        "type": [
          "string",
          "null"
        ]
      },
      "status": {
        "description": "Provider acceptance outcome",
        "enum": [
          "accepted",
          "rejected"
        ],
        "type": "string"
      },
      "type": {
        "description": "Recipient header type when known",
        "enum": [
          "to",
          "cc",
          "bcc"
        ],
        "type": [
          "string",
          "null"
        ]
      }
    },
    "required": [
      "email",
      "type",
      "status",
      "reason"
    ],
    "type": "object"
  },
  "EmailMetrics": {
    "additionalProperties": false,
    "properties": {
      "comparison": {
        "additionalProperties": false,
        "properties": {
          "change_pct": {
            "additionalProperties": false,
            "properties": {
              "failed": {
                "example": 10.53,
                "type": "number"
              },
              "pending": {
                "example": 0,
                "type": "number"
              },
              "rejected": {
                "example": 33.33,
                "type": "number"
              },
              "sent": {
                "example": 7.9,
                "type": "number"
              },
              "total": {
                "example": 8.01,
                "type": "number"
              }
            },
            "required": [
              "total",
              "sent",
              "failed",
              "rejected",
              "pending"
            ],
            "type": "object"
          },
          "failed": {
            "example": 210,
            "type": "number"
          },
          "pending": {
            "example": 50,
            "type": "number"
          },
          "rejected": {
            "example": 80,
            "type": "number"
          },
          "sent": {
            "example": 14890,
            "type": "number"
          },
          "total": {
            "example": 15230,
            "type": "number"
          }
        },
        "required": [
          "total",
          "sent",
          "failed",
          "rejected",
          "pending",
          "change_pct"
        ],
        "type": "object"
      },
      "summary": {
        "additionalProperties": false,
        "properties": {
          "failed": {
            "example": 210,
            "type": "number"
          },
          "pending": {
            "example": 50,
            "type": "number"
          },
          "rejected": {
            "example": 80,
            "type": "number"
          },
          "sent": {
            "example": 14890,
            "type": "number"
          },
          "total": {
            "example": 15230,
            "type": "number"
          }
        },
        "required": [
          "total",
          "sent",
          "failed",
          "rejected",
          "pending"
        ],
        "type": "object"
      },
      "timeseries": {
        "items": {
          "additionalProperties": false,
          "properties": {
            "failed": {
              "type": "number"
            },
            "pending": {
              "type": "number"
            },
            "rejected": {
              "type": "number"
            },
            "sent": {
              "type": "number"
            },
            "timestamp": {
              "example": "2026-03-19T00:00:00Z",
              "type": "string"
            },
            "total": {
              "type": "number"
            }
          },
          "required": [
            "timestamp",
            "total",
            "sent",
            "failed",
            "rejected",
            "pending"
          ],
          "type": "object"
        },
        "type": "array"
      }
    },
    "required": [
      "summary",
      "comparison",
      "timeseries"
    ],
    "type": "object"
  },
  "ProviderUsage": {
    "additionalProperties": false,
    "properties": {
      "providers": {
        "items": {
          "$ref": "#/components/schemas/ProviderUsageItem"
        },
        "type": "array"
      },
      "window_days": {
        "enum": [
          7
        ],
        "type": "number"
      }
    },
    "required": [
      "window_days",
      "providers"
    ],
    "type": "object"
  },
  "ProviderUsageItem": {
    "additionalProperties": false,
    "properties": {
      "failed_7d": {
        "minimum": 0,
        "type": "integer"
      },
      "pending_7d": {
        "minimum": 0,
        "type": "integer"
      },
      "provider_id": {
        "type": "string"
      },
      "rejected_7d": {
        "minimum": 0,
        "type": "integer"
      },
      "sent_7d": {
        "minimum": 0,
        "type": "integer"
      },
      "sent_today": {
        "minimum": 0,
        "type": "integer"
      },
      "total_7d": {
        "minimum": 0,
        "type": "integer"
      }
    },
    "required": [
      "provider_id",
      "sent_today",
      "total_7d",
      "sent_7d",
      "failed_7d",
      "rejected_7d",
      "pending_7d"
    ],
    "type": "object"
  },
  "ProviderStats": {
    "additionalProperties": false,
    "properties": {
      "active": {
        "description": "Accounts with status 'active'",
        "example": 8,
        "type": "number"
      },
      "by_status": {
        "$ref": "#/components/schemas/ProviderStatusCounts"
      },
      "by_type": {
        "$ref": "#/components/schemas/ProviderTypeCounts"
      },
      "error": {
        "description": "Accounts with status 'error'",
        "example": 1,
        "type": "number"
      },
      "inactive": {
        "description": "Accounts with status 'inactive'",
        "example": 3,
        "type": "number"
      },
      "pending": {
        "description": "Accounts with status 'pending'",
        "example": 0,
        "type": "number"
      },
      "total": {
        "description": "Total number of sending accounts",
        "example": 12,
        "type": "number"
      }
    },
    "required": [
      "total",
      "active",
      "inactive",
      "error",
      "pending",
      "by_type",
      "by_status"
    ],
    "type": "object"
  },
  "ProviderStatusCounts": {
    "additionalProperties": false,
    "properties": {
      "active": {
        "example": 8,
        "type": "number"
      },
      "error": {
        "example": 1,
        "type": "number"
      },
      "inactive": {
        "example": 3,
        "type": "number"
      },
      "pending": {
        "example": 0,
        "type": "number"
      }
    },
    "required": [
      "active",
      "inactive",
      "error",
      "pending"
    ],
    "type": "object"
  },
  "ProviderTypeCounts": {
    "additionalProperties": false,
    "properties": {
      "amazon_ses": {
        "description": "Number of shared Amazon SES accounts",
        "example": 1,
        "type": "number"
      },
      "gmail_api": {
        "description": "Number of Gmail API accounts",
        "example": 4,
        "type": "number"
      },
      "outlook_api": {
        "description": "Number of Outlook API accounts",
        "example": 2,
        "type": "number"
      },
      "smtp": {
        "description": "Number of SMTP accounts",
        "example": 6,
        "type": "number"
      }
    },
    "required": [
      "smtp",
      "gmail_api",
      "outlook_api",
      "amazon_ses"
    ],
    "type": "object"
  }
};

const ops = {
  "/emails/logs": {
    "get": {
      "description": "Returns paginated delivery logs with cursor-based pagination and filters.",
      "operationId": "managementListEmailLogs",
      "parameters": [
        {
          "in": "query",
          "name": "limit",
          "required": false,
          "schema": {
            "description": "Max results (default 25)",
            "maximum": 100,
            "minimum": 1,
            "type": "integer"
          }
        },
        {
          "in": "query",
          "name": "cursor",
          "required": false,
          "schema": {
            "description": "Cursor from previous page",
            "type": "string"
          }
        },
        {
          "in": "query",
          "name": "status",
          "required": false,
          "schema": {
            "description": "Filter by delivery status.",
            "enum": [
              "pending",
              "sent",
              "failed",
              "rejected"
            ],
            "type": "string"
          }
        },
        {
          "in": "query",
          "name": "from_date",
          "required": false,
          "schema": {
            "description": "ISO 8601 start date. Date-only values start at 00:00 UTC.",
            "type": "string"
          }
        },
        {
          "in": "query",
          "name": "to_date",
          "required": false,
          "schema": {
            "description": "ISO 8601 end date. Date-only values include the full UTC day.",
            "type": "string"
          }
        },
        {
          "in": "query",
          "name": "provider_id",
          "required": false,
          "schema": {
            "description": "Filter by provider publicId",
            "type": "string"
          }
        },
        {
          "in": "query",
          "name": "search",
          "required": false,
          "schema": {
            "description": "Search to_email, from_email, sent_from_email, subject, message_id. EXT: a case-insensitive substring (at most 200 characters) of the From, To and Cc headers (addresses and display names), the envelope sender and recipients (Bcc included), the subject, the Message-ID, and the message's eml_ and dlog_ ids; sent_from_email is always null on this gateway.",
            "type": "string"
          },
          "x-sendmux-ext": true
        }
      ],
      "summary": "List delivery logs",
      "tags": [
        "Emails"
      ]
    }
  },
  "/emails/logs/{public_id}": {
    "get": {
      "description": "Returns a single delivery log by its public ID. Responses carry a weak `ETag` header — send it back as `If-None-Match` on the next request and the server will return `304 Not Modified` (no body) when the log has not changed. Logs in a terminal status (sent/failed/rejected) stop changing, so 304 replay is a real bandwidth win on repeated polls.",
      "operationId": "managementGetEmailLog",
      "parameters": [
        {
          "in": "path",
          "name": "public_id",
          "required": true,
          "schema": {
            "description": "Delivery log public ID (dlog_...)",
            "type": "string"
          }
        },
        {
          "in": "header",
          "name": "If-None-Match",
          "required": false,
          "schema": {
            "description": "Weak ETag from a previous response. Returns 304 when unchanged.",
            "type": "string"
          }
        }
      ],
      "summary": "Get delivery log",
      "tags": [
        "Emails"
      ]
    }
  },
  "/emails/metrics": {
    "get": {
      "description": "Returns aggregated email delivery counts with flexible time windowing and comparison period.",
      "operationId": "managementGetEmailMetrics",
      "parameters": [
        {
          "in": "query",
          "name": "window",
          "required": false,
          "schema": {
            "description": "Preset time window (default: 24h)",
            "enum": [
              "24h",
              "7d",
              "30d"
            ],
            "type": "string"
          }
        },
        {
          "in": "query",
          "name": "from_date",
          "required": false,
          "schema": {
            "description": "ISO 8601 start date (overrides window)",
            "type": "string"
          }
        },
        {
          "in": "query",
          "name": "to_date",
          "required": false,
          "schema": {
            "description": "ISO 8601 end date",
            "type": "string"
          }
        },
        {
          "in": "query",
          "name": "granularity",
          "required": false,
          "schema": {
            "description": "Timeseries granularity (default: daily)",
            "enum": [
              "hourly",
              "daily"
            ],
            "type": "string"
          }
        },
        {
          "in": "query",
          "name": "provider_id",
          "required": false,
          "schema": {
            "description": "Filter by provider publicId",
            "type": "string"
          }
        }
      ],
      "summary": "Get email metrics",
      "tags": [
        "Emails"
      ]
    }
  },
  "/providers/usage": {
    "get": {
      "description": "Returns per-account delivery-log counts for today and the trailing 7-day window.",
      "operationId": "managementGetProviderUsage",
      "summary": "Get sending account usage",
      "tags": [
        "Sending accounts"
      ]
    }
  },
  "/providers/stats": {
    "get": {
      "description": "Returns aggregate counts of configured sending accounts with breakdowns by type and status.",
      "operationId": "managementGetProviderStats",
      "summary": "Get sending account statistics",
      "tags": [
        "Sending accounts"
      ]
    }
  }
};

/** CursorPagination and ResponseMeta of the reference, inline (their names are shared with other parts). */
const cursorPagination: Schema = { additionalProperties: false, properties: { has_more: { type: "boolean" }, next_cursor: { type: "string" } }, required: ["has_more"], type: "object" };
const responseMeta: Schema = { additionalProperties: false, properties: { request_id: { type: "string" } }, required: ["request_id"], type: "object" };

const wrap = (data: Schema, extra: Record<string, Schema> = {}): Schema => ({
  allOf: [ref("SuccessEnvelope"), { properties: { data, meta: responseMeta, ...extra }, required: ["data", ...Object.keys(extra)], type: "object" }],
  unevaluatedProperties: false,
});
const bearer = [{ BearerAuth: [] }];
const common = { 401: "Authentication required", 403: "Insufficient permissions (needs a `full` key)", 429: "Rate limit exceeded", 503: "Storage (Redis) temporarily unavailable" };
const badQuery = { 400: "A query parameter is invalid or unknown (`param` names it)" };

export const logPaths: Record<string, PathItem> = {
  "/emails/logs": {
    get: {
      ...ops["/emails/logs"].get,
      responses: { 200: { content: jsonBody(wrap({ items: ref("DeliveryLogItem"), type: "array" }, { pagination: cursorPagination })), description: "Delivery log list" }, ...errors({ ...badQuery, ...common }) },
      security: bearer,
    },
  },
  "/emails/logs/{public_id}": {
    get: {
      ...ops["/emails/logs/{public_id}"].get,
      responses: {
        200: { content: jsonBody(wrap(ref("DeliveryLogDetail"))), description: "Delivery log detail", headers: { ETag: { description: "Weak ETag for conditional GETs.", schema: { type: "string" } } } },
        304: { description: "Not Modified — the client's cached copy (matching `If-None-Match`) is still current.", headers: { ETag: { schema: { type: "string" } } } },
        ...errors({ ...common, 404: "Not found (or another account's)" }),
      },
      security: bearer,
    },
  },
  "/emails/metrics": {
    get: {
      ...ops["/emails/metrics"].get,
      responses: { 200: { content: jsonBody(wrap(ref("EmailMetrics"))), description: "Email metrics with comparison" }, ...errors({ ...badQuery, ...common }) },
      security: bearer,
    },
  },
  "/providers/usage": {
    get: {
      ...ops["/providers/usage"].get,
      tags: ["Providers"],
      responses: { 200: { content: jsonBody(wrap(ref("ProviderUsage"))), description: "Usage summary" }, ...errors({ ...badQuery, ...common }) },
      security: bearer,
    },
  },
  "/providers/stats": {
    get: {
      ...ops["/providers/stats"].get,
      tags: ["Providers"],
      responses: { 200: { content: jsonBody(wrap(ref("ProviderStats"))), description: "Sending account statistics" }, ...errors({ ...badQuery, ...common }) },
      security: bearer,
    },
  },
};
