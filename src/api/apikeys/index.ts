import { Elysia } from "elysia";
import { idempotentRoute } from "../idempotent.ts";
import type { Gateway } from "../../gateway.ts";
import type { ApiKeyRecord, Permission, Scope } from "../../types.ts";
import { authenticate, requireFull } from "../auth.ts";
import { readJsonObject } from "../body.ts";
import { ApiError, validationError, type FieldIssue } from "../errors.ts";
import { cursorPagination, intParam, ok } from "../http.ts";
import { withGroupLock } from "../groups/service.ts";

export function apiKeyItem(k: ApiKeyRecord) {
  return { id: k.id, name: k.name, permission: k.permission, scope: k.scope, token_prefix: k.token_prefix, created_at: k.created_at, last_used_at: k.last_used_at };
}

async function parseScope(gw: Gateway, accountId: string, v: unknown, issues: FieldIssue[]): Promise<Scope | null> {
  if (v === undefined) return { type: "all" };
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    issues.push({ field: "scope", code: "invalid_type", message: 'expected {"type":"all"}, {"type":"specific","providers":[ids]} or {"type":"group","group":id}' });
    return null;
  }
  const s = v as Record<string, unknown>;
  if (s.type === "all") {
    const extra = Object.keys(s).filter((k) => k !== "type");
    if (extra.length) issues.push({ field: `scope.${extra[0]}`, code: "unrecognized_keys", message: "scope all takes no other fields" });
    return { type: "all" };
  }
  if (s.type === "specific") {
    const extra = Object.keys(s).filter((k) => k !== "type" && k !== "providers");
    if (extra.length) issues.push({ field: `scope.${extra[0]}`, code: "unrecognized_keys", message: "scope specific takes only providers" });
    if (!Array.isArray(s.providers) || s.providers.length === 0 || s.providers.some((x) => typeof x !== "string")) {
      issues.push({ field: "scope.providers", code: "invalid_type", message: "expected a non-empty list of provider ids" });
      return null;
    }
    const mine = new Set((await gw.providers.list(accountId)).map((p) => p.id));
    (s.providers as string[]).forEach((id, i) => {
      if (!mine.has(id)) issues.push({ field: `scope.providers.${i}`, code: "not_found", message: `provider ${id} was not found` });
    });
    return { type: "specific", providers: [...new Set(s.providers as string[])] };
  }
  if (s.type === "group") {
    const extra = Object.keys(s).filter((k) => k !== "type" && k !== "group");
    if (extra.length) issues.push({ field: `scope.${extra[0]}`, code: "unrecognized_keys", message: "scope group takes only group" });
    if (typeof s.group !== "string") {
      issues.push({ field: "scope.group", code: "invalid_type", message: s.group === undefined ? "required: the id of one of this account's groups (grp_…)" : "expected a group id (grp_…)" });
      return null;
    }
    if (!(await gw.groups.get(accountId, s.group))) {
      issues.push({ field: "scope.group", code: "not_found", message: `group ${s.group.slice(0, 100)} was not found in this account; create it with POST /api/v1/groups` });
      return null;
    }
    return { type: "group", group: s.group };
  }
  issues.push({ field: "scope.type", code: "invalid_enum_value", message: "expected all, specific or group" });
  return null;
}

export function apiKeyRoutes(gw: Gateway) {
  return new Elysia()
    .get("/api-keys", async ({ request, set, query }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      const limit = intParam(query.limit, "limit", 50, 1, 100);
      const keys = await gw.keys.list(ctx.accountId);
      let start = 0;
      if (query.cursor !== undefined) {
        start = keys.findIndex((k) => k.id === query.cursor);
        if (start < 0) throw new ApiError("invalid_parameter", "cursor is not a next_cursor from this listing", { param: "cursor" });
      }
      const page = keys.slice(start, start + limit);
      const next = keys[start + limit]?.id ?? null;
      return ok(set, page.map(apiKeyItem), 200, {}, { pagination: cursorPagination(next) });
    })
    .post(
      "/api-keys",
      idempotentRoute(gw, async ({ request, set }) => {
        const ctx = await authenticate(gw, request);
        requireFull(ctx);
        const body = await readJsonObject(request);
        const issues: FieldIssue[] = [];
        for (const k of Object.keys(body)) {
          if (!["name", "permission", "scope"].includes(k)) issues.push({ field: k, code: "unrecognized_keys", message: `unknown property "${k}"; allowed: name, permission, scope` });
        }
        let name = "";
        if (typeof body.name !== "string") issues.push({ field: "name", code: "invalid_type", message: body.name === undefined ? "required" : "expected a string" });
        else if (body.name.length < 1 || body.name.length > 255 || /[\r\n\u0000]/.test(body.name)) issues.push({ field: "name", code: "invalid_string", message: "1 to 255 characters, no line breaks" });
        else name = body.name;
        let permission: Permission = "send";
        if (body.permission !== undefined) {
          if (body.permission !== "full" && body.permission !== "send") issues.push({ field: "permission", code: "invalid_enum_value", message: "expected full or send" });
          else permission = body.permission;
        }
        // Under the group lock, so the group a scope names cannot be deleted between the check and the write.
        const { record, token } = await withGroupLock(ctx.accountId, async () => {
          const scope = await parseScope(gw, ctx.accountId, body.scope, issues);
          if (issues.length) throw validationError(issues);
          return gw.keys.create(ctx.accountId, { name, permission, scope: scope! });
        });
        return ok(set, { ...apiKeyItem(record), token }, 201, { location: `/api/v1/api-keys/${record.id}` });
      }),
      { parse: "none" },
    )
    .get("/api-keys/:id", async ({ request, set, params }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      const k = await gw.keys.get(ctx.accountId, params.id);
      if (!k) throw new ApiError("not_found", `API key ${params.id} was not found`);
      return ok(set, apiKeyItem(k));
    })
    .delete("/api-keys/:id", async ({ request, set, params }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      const done = await gw.keys.revoke(ctx.accountId, params.id);
      if (!done) throw new ApiError("not_found", `API key ${params.id} was not found`);
      return ok(set, { id: params.id, deleted: true });
    });
}
