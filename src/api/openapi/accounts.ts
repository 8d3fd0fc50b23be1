import { EXT, cursorParams, envelope, errors, idempotencyKeyParam, jsonBody, limitParam, managementErrors, pagination, pathId, ref, type PathItem, type Schema } from "./common.ts";

/**
 * Accounts, signup, the managed route and its limit requests: the documented
 * `/providers/limits` and `/providers/shared-amazon-ses-limit-request…` (sendmux-openapi-app.json
 * shapes), EXT `/signup`, and the operator API under /admin/v1 (EXT, its own server and token).
 * Implemented by src/api/limits, src/api/signup and src/api/admin.
 */
const nint: Schema = { type: ["integer", "null"] };
export const accountSchemas: Record<string, Schema> = {
  SharedAmazonSesLimit: {
    additionalProperties: false,
    description: "The account's daily limit on the managed route (the operator's shared Amazon SES account), meant for triggered and transactional mail; resets 00:00 UTC.",
    properties: {
      can_request_increase: { type: "boolean" }, daily_limit: { minimum: 0, type: ["integer", "null"] }, is_near_limit: { type: "boolean" },
      pending_request_id: { type: ["string", "null"] }, provider_id: { type: ["string", "null"] }, sent_today: { minimum: 0, type: "integer" },
      threshold_usage: { minimum: 0, type: ["integer", "null"] }, usage_ratio: { type: ["number", "null"] },
    },
    required: ["provider_id", "daily_limit", "sent_today", "threshold_usage", "usage_ratio", "is_near_limit", "can_request_increase", "pending_request_id"],
    type: "object",
  },
  ResourceLimitSnapshot: {
    additionalProperties: false,
    properties: {
      can_request_increase: { type: "boolean" }, is_at_limit: { type: "boolean" }, is_near_limit: { type: "boolean" }, max_allowed: { exclusiveMinimum: 0, type: "integer" },
      pending_request_id: { type: ["string", "null"] }, reserved: { minimum: 0, type: "integer" }, resource_type: { type: "string" }, threshold_usage: { minimum: 0, type: "integer" },
      usage: { minimum: 0, type: "integer" }, usage_ratio: { type: "number" },
    },
    required: ["resource_type", "usage", "max_allowed", "reserved", "threshold_usage", "usage_ratio", "is_at_limit", "is_near_limit", "can_request_increase", "pending_request_id"],
    type: "object",
  },
  ProviderLimits: { additionalProperties: false, properties: { sending_accounts: ref("ResourceLimitSnapshot"), shared_amazon_ses: ref("SharedAmazonSesLimit") }, required: ["sending_accounts", "shared_amazon_ses"], type: "object" },
  SharedAmazonSesLimitRequest: {
    additionalProperties: false,
    properties: {
      approved_daily_limit: { exclusiveMinimum: 0, type: ["integer", "null"] }, created_at: { type: "string" }, current_daily_limit: { minimum: 0, type: "integer" },
      current_daily_sent: { minimum: 0, type: "integer" }, decided_at: { type: ["string", "null"] }, decision_note: { type: ["string", "null"] }, id: { type: "string" },
      status: { enum: ["pending", "approved", "denied", "cancelled"], type: "string" },
    },
    required: ["id", "status", "current_daily_limit", "current_daily_sent", "approved_daily_limit", "decision_note", "created_at", "decided_at"],
    type: "object",
  },
  SharedAmazonSesLimitRequestPage: { additionalProperties: false, properties: { limit: ref("SharedAmazonSesLimit"), pending_request: { anyOf: [ref("SharedAmazonSesLimitRequest"), { type: "null" }] } }, required: ["limit", "pending_request"], type: "object" },
  SharedAmazonSesLimitRequestResult: { additionalProperties: false, properties: { limit: ref("SharedAmazonSesLimit"), request: ref("SharedAmazonSesLimitRequest") }, required: ["request", "limit"], type: "object" },
  Account: {
    ...EXT,
    properties: { id: { type: "string" }, name: { type: "string" }, email: { type: ["string", "null"] }, status: { enum: ["active", "suspended"], type: "string" }, status_reason: { type: ["string", "null"] }, suspended_at: { type: ["string", "null"] }, created_at: { type: "string" } },
    required: ["id", "name", "email", "status", "created_at"],
    type: "object",
  },
  AccountCreated: { ...EXT, properties: { account: ref("Account"), api_key: { description: "A `full` key with scope all; `token` is shown once", type: "object" } }, required: ["account", "api_key"], type: "object" },
  AccountCreateRequest: { ...EXT, additionalProperties: false, properties: { email: { type: "string" }, name: { maxLength: 255, minLength: 1, type: "string" } }, required: ["name"], type: "object" },
  ManagedRouteRequest: {
    ...EXT,
    additionalProperties: false,
    properties: { region: { type: "string" }, access_key_id: { type: "string" }, secret_access_key: { type: "string", writeOnly: true }, endpoint: { type: ["string", "null"] }, default_daily_limit: { maximum: 10_000_000, minimum: 1, type: ["integer", "null"] } },
    required: ["region", "access_key_id", "secret_access_key"],
    type: "object",
  },
  ManagedRoute: { ...EXT, description: "The managed route with its credentials masked", properties: { provider_id: { type: "string" }, region: { type: "string" }, endpoint: { description: "SES endpoint override (a URL), or null for AWS", type: ["string", "null"] }, access_key_id: { type: "string" }, default_daily_limit: { type: "integer" } }, required: ["provider_id", "region", "access_key_id", "default_daily_limit"], type: "object" },
  LimitDecision: { ...EXT, properties: { request: ref("SharedAmazonSesLimitRequest"), account_id: { type: "string" }, limit: ref("SharedAmazonSesLimit"), notice: { description: "The outcome email queued through the gateway (message_id null when the account has no address)", type: "object" } }, required: ["request", "account_id", "limit", "notice"], type: "object" },
};

const bearer = [{ bearerAuth: [] }];
const tags = ["Providers"];
const root = [{ url: "/", description: "The gateway's root (outside /api/v1): the operator API" }];
const adminSecurity = [{ BearerAuth: [] }];
const adminErrors = { 401: "The operator token is missing or wrong" };
const adminOp = (operationId: string, summary: string, description: string, responses: Record<string, Schema>, extra: Schema = {}): Schema => ({
  ...EXT, operationId, summary, description, security: adminSecurity, tags: ["Operator"], responses: { ...responses, ...errors(adminErrors) }, ...extra,
});
const ok200 = (schema: Schema, description: string) => ({ 200: { content: jsonBody(envelope(schema)), description } });
const decisionBody = (props: Schema, required: string[]) => ({ requestBody: { content: jsonBody({ additionalProperties: false, properties: props, required, type: "object" }), required: true } });

export const accountPaths: Record<string, PathItem> = {
  "/signup": {
    post: {
      ...EXT,
      description: "Creates an account and its first key (`full`, scope all: the managed route is in it at once). Only when the operator set SENDMUX_OPEN_SIGNUP=true; otherwise 403.",
      operationId: "extSignup",
      requestBody: { content: jsonBody(ref("AccountCreateRequest")), required: true },
      responses: { 201: { content: jsonBody(envelope(ref("AccountCreated"))), description: "Created" }, ...errors({ 400: "Malformed request", 403: "Open signup is off", 409: "The email address has an account", 422: "Validation error" }) },
      security: [],
      summary: "Sign up",
      tags: ["Accounts"],
    },
  },
  "/providers/limits": {
    get: { description: "Returns custom-account capacity and shared Amazon SES daily sending limit state.", operationId: "managementGetProviderLimits", responses: { ...ok200(ref("ProviderLimits"), "Limit state"), ...errors(managementErrors) }, security: bearer, summary: "Get sending account limits", tags },
  },
  "/providers/limits/sending-accounts/request-increase": {
    post: {
      description: "Documented for a hosted plan limit on sending accounts. This gateway sets no such limit (sending_accounts.max_allowed is unlimited), so it always answers 422: there is nothing to increase.",
      operationId: "managementRequestSendingAccountLimitIncrease",
      responses: { ...errors({ ...managementErrors, 422: "Increase request is not available: no limit to raise" }) },
      security: bearer,
      summary: "Request more sending accounts",
      tags,
    },
  },
  "/providers/shared-amazon-ses-limit-request": {
    get: { description: "Returns the shared Amazon SES daily limit state and any pending increase request.", operationId: "managementGetSharedAmazonSesLimitRequest", responses: { ...ok200(ref("SharedAmazonSesLimitRequestPage"), "Shared Amazon SES limit request state"), ...errors(managementErrors) }, security: bearer, summary: "Get shared Amazon SES limit request state", tags },
    post: {
      description: "Creates a review request for the shared Amazon SES daily sending limit (accepted once sent_today reaches 80% of daily_limit). The operator approves or denies it; the outcome is emailed to the account's address.",
      operationId: "managementCreateSharedAmazonSesLimitRequest",
      parameters: [idempotencyKeyParam],
      responses: { ...ok200(ref("SharedAmazonSesLimitRequestResult"), "Request submitted"), ...errors({ ...managementErrors, 404: "Shared Amazon SES account not found", 409: "A request is already pending", 422: "Increase request is not available yet" }) },
      security: bearer, summary: "Request a shared Amazon SES daily limit increase", tags,
    },
  },
  "/providers/shared-amazon-ses-limit-request/{request_id}": {
    delete: {
      description: "Cancels a pending shared Amazon SES daily limit increase request. Approved or denied requests cannot be cancelled.",
      operationId: "managementCancelSharedAmazonSesLimitRequest",
      parameters: [pathId("request_id", "^slir_[a-z0-9]{24}$", "Shared Amazon SES limit request public ID")],
      responses: { ...ok200(ref("SharedAmazonSesLimitRequestResult"), "Request cancelled"), ...errors({ ...managementErrors, 404: "Request not found", 409: "Request has already been approved or denied" }) },
      security: bearer, summary: "Cancel a shared Amazon SES daily limit request", tags,
    },
  },
  "/admin/v1/accounts": {
    servers: root,
    get: adminOp("extAdminListAccounts", "List accounts", "Every account, oldest first, cursor paging; `status` filters.", { 200: { content: jsonBody(envelope({ items: ref("Account"), type: "array" }, { pagination })), description: "Accounts" }, ...errors({ 400: "Bad limit, cursor or status" }) }, { parameters: [limitParam(100, 50), ...cursorParams, { in: "query", name: "status", required: false, schema: { enum: ["active", "suspended"], type: "string" } }] }),
    post: adminOp("extAdminCreateAccount", "Create an account", "Creates an account and its first `full` key (token shown once).", { 201: { content: jsonBody(envelope(ref("AccountCreated"))), description: "Created" }, ...errors({ 400: "Malformed request", 409: "The email address has an account", 422: "Validation error" }) }, { requestBody: { content: jsonBody(ref("AccountCreateRequest")), required: true } }),
  },
  "/admin/v1/accounts/{id}": {
    servers: root,
    get: adminOp("extAdminGetAccount", "Get an account", "The account with its managed-route limit and today's count.", { ...ok200(ref("Account"), "The account"), ...errors({ 404: "Unknown account" }) }, { parameters: [pathId("id", "^acct_[a-z0-9]{24}$", "Account ID")] }),
  },
  "/admin/v1/accounts/{id}/suspend": {
    servers: root,
    post: adminOp("extAdminSuspendAccount", "Suspend an account", "Its keys get 403 over HTTP and are refused by the relay until unsuspended. Optional body {reason}.", { ...ok200(ref("Account"), "Suspended"), ...errors({ 400: "Malformed request", 404: "Unknown account", 422: "Validation error" }) }, { parameters: [pathId("id", "^acct_[a-z0-9]{24}$", "Account ID")] }),
  },
  "/admin/v1/accounts/{id}/unsuspend": {
    servers: root,
    post: adminOp("extAdminUnsuspendAccount", "Unsuspend an account", "Its keys work again.", { ...ok200(ref("Account"), "Active again"), ...errors({ 404: "Unknown account" }) }, { parameters: [pathId("id", "^acct_[a-z0-9]{24}$", "Account ID")] }),
  },
  "/admin/v1/managed-route": {
    servers: root,
    get: adminOp("extAdminGetManagedRoute", "Get the managed route", "The shared amazon_ses provider, credentials masked.", { ...ok200(ref("ManagedRoute"), "The route"), ...errors({ 404: "Not configured yet" }) }),
    put: adminOp("extAdminPutManagedRoute", "Configure the managed route", "Creates or replaces the ONE shared amazon_ses provider every account sees (for triggered and transactional mail), and the default daily limit per account.", { 200: { content: jsonBody(envelope(ref("ManagedRoute"))), description: "Updated" }, 201: { content: jsonBody(envelope(ref("ManagedRoute"))), description: "Created" }, ...errors({ 400: "Malformed request", 422: "Validation error" }) }, { requestBody: { content: jsonBody(ref("ManagedRouteRequest")), required: true } }),
  },
  "/admin/v1/limit-requests": {
    servers: root,
    get: adminOp("extAdminListLimitRequests", "List limit requests", "Every account's requests, newest first; `status` filters.", { 200: { content: jsonBody(envelope({ items: ref("SharedAmazonSesLimitRequest"), type: "array" }, { pagination })), description: "Requests" }, ...errors({ 400: "Bad limit, cursor or status" }) }, { parameters: [limitParam(100, 50), ...cursorParams, { in: "query", name: "status", required: false, schema: { enum: ["pending", "approved", "denied", "cancelled"], type: "string" } }] }),
  },
  "/admin/v1/limit-requests/{id}/approve": {
    servers: root,
    post: adminOp("extAdminApproveLimitRequest", "Approve a limit request", "Raises the account's daily limit to `daily_limit` and emails the outcome through the gateway. `daily_limit` must be above the account's current limit (422 naming it otherwise; deny the request to keep the limit).", { ...ok200(ref("LimitDecision"), "Approved"), ...errors({ 400: "Malformed request", 404: "Unknown request", 409: "Not pending", 422: "Validation error, or a daily_limit not above the current limit" }) }, { parameters: [pathId("id", "^slir_[a-z0-9]{24}$", "Request ID")], ...decisionBody({ daily_limit: { maximum: 10_000_000, minimum: 1, type: "integer" }, note: { maxLength: 2000, type: "string" } }, ["daily_limit"]) }),
  },
  "/admin/v1/limit-requests/{id}/deny": {
    servers: root,
    post: adminOp("extAdminDenyLimitRequest", "Deny a limit request", "Keeps the limit and emails the outcome with the note through the gateway.", { ...ok200(ref("LimitDecision"), "Denied"), ...errors({ 400: "Malformed request", 404: "Unknown request", 409: "Not pending", 422: "Validation error" }) }, { parameters: [pathId("id", "^slir_[a-z0-9]{24}$", "Request ID")], ...decisionBody({ note: { maxLength: 2000, minLength: 1, type: "string" } }, ["note"]) }),
  },
};
