import { EXT, cursorParams, envelope, errors, idempotencyKeyParam, ifNoneMatchParam, jsonBody, limitParam, managementErrors, notModified, pagination, pathId, ref, type PathItem, type Schema } from "./common.ts";

/** EXT (SPEC "Managing"): provider groups. Bodies are validated by hand in src/api/groups/model.ts (parseGroupBody), implementing GroupRequest. */
const member: Schema = {
  additionalProperties: false,
  properties: { provider_id: { type: "string" }, percentage: { description: "Weight override inside this group", minimum: 0, type: ["number", "null"] } },
  required: ["provider_id"],
  type: "object",
};

export const groupSchemas: Record<string, Schema> = {
  GroupRequest: { ...EXT, additionalProperties: false, properties: { name: { maxLength: 255, minLength: 1, type: "string" }, members: { items: member, type: "array" } }, type: "object" },
  GroupData: {
    ...EXT,
    properties: {
      id: { pattern: "^grp_[a-z0-9]{24}$", type: "string" },
      name: { type: "string" },
      members: { items: member, type: "array" },
      created_at: { format: "date-time", type: "string" },
      updated_at: { format: "date-time", type: "string" },
    },
    required: ["id", "name", "members", "created_at", "updated_at"],
    type: "object",
  },
};

const id = pathId("id", "^grp_[a-z0-9]{24}$", "Group ID");
const bearer = [{ BearerAuth: [] }];
const tags = ["Groups"];
const one = (description: string): Schema => ({ content: jsonBody(envelope(ref("GroupData"))), description });
const notFound = { ...managementErrors, 404: "No such group" };

export const groupPaths: Record<string, PathItem> = {
  "/groups": {
    get: {
      ...EXT,
      description: "The account's provider groups.",
      operationId: "extListGroups",
      parameters: [limitParam(100, 50), ...cursorParams],
      responses: { 200: { content: jsonBody(envelope({ items: ref("GroupData"), type: "array" }, { pagination })), description: "A page of groups" }, ...errors({ ...managementErrors, 400: "Bad query parameter" }) },
      security: bearer,
      summary: "List groups",
      tags,
    },
    post: {
      ...EXT,
      description: "Creates a named, isolated pool of providers; a provider belongs to at most one group.",
      operationId: "extCreateGroup",
      parameters: [idempotencyKeyParam],
      requestBody: { content: jsonBody({ ...ref("GroupRequest"), required: ["name"] }), required: true },
      responses: { 201: { ...one("Created"), headers: { Location: { schema: { type: "string" } } } }, ...errors({ ...managementErrors, 400: "Malformed request", 409: "Idempotency conflict", 422: "Validation error" }) },
      security: bearer,
      summary: "Create a group",
      tags,
    },
  },
  "/groups/{id}": {
    get: {
      ...EXT,
      description: "One group.",
      operationId: "extGetGroup",
      parameters: [id, ifNoneMatchParam],
      responses: { 200: { ...one("The group"), headers: { ETag: { schema: { type: "string" } } } }, 304: notModified, ...errors(notFound) },
      security: bearer,
      summary: "Get a group",
      tags,
    },
    patch: {
      ...EXT,
      description: "Renames a group or replaces its members (If-Match supported).",
      operationId: "extUpdateGroup",
      parameters: [id, { in: "header", name: "If-Match", required: false, schema: { type: "string" } }],
      requestBody: { content: jsonBody(ref("GroupRequest")), required: true },
      responses: { 200: one("Updated"), ...errors({ ...notFound, 400: "Malformed request", 409: "If-Match does not match", 422: "Validation error" }) },
      security: bearer,
      summary: "Update a group",
      tags,
    },
    delete: {
      ...EXT,
      description: "Deletes a group; refused (409) while API keys are scoped to it.",
      operationId: "extDeleteGroup",
      parameters: [id],
      responses: { 200: { content: jsonBody(envelope(ref("Deleted"))), description: "Deleted" }, ...errors({ ...notFound, 409: "Keys are scoped to this group" }) },
      security: bearer,
      summary: "Delete a group",
      tags,
    },
  },
};
