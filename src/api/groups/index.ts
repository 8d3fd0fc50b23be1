import { Elysia } from "elysia";
import { idempotentRoute } from "../idempotent.ts";
import type { Gateway } from "../../gateway.ts";
import type { GroupRecord } from "../../store/groups.ts";
import { authenticate, requireFull } from "../auth.ts";
import { readJsonObject } from "../body.ts";
import { ApiError, validationError } from "../errors.ts";
import { cursorPagination, intParam, ok, withEtag } from "../http.ts";
import { groupItem, parseGroupBody } from "./model.ts";
import { groupContext, keysScopedTo, withGroupLock } from "./service.ts";

function listCursor(g: GroupRecord): string {
  return Buffer.from(`${g.created_at}|${g.id}`, "utf8").toString("base64url");
}

function parseListCursor(c: string): { created_at: string; id: string } | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(c)) return null;
  const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|(grp_[a-z0-9]{24})$/.exec(Buffer.from(c, "base64url").toString("utf8"));
  return m ? { created_at: m[1]!, id: m[2]! } : null;
}

/**
 * EXT `/api/v1/groups`: named, isolated pools of providers (SPEC "Words"). Every route needs a
 * `full` key. A provider is a member of at most one group, so traffic in separate groups never
 * shares a provider; a group that an API key is scoped to cannot be deleted.
 */
export function groupRoutes(gw: Gateway) {
  async function load(request: Request, id: string): Promise<{ g: GroupRecord; accountId: string }> {
    const ctx = await authenticate(gw, request);
    requireFull(ctx);
    const g = await gw.groups.get(ctx.accountId, id);
    if (!g) throw new ApiError("not_found", `group ${id} was not found`);
    return { g, accountId: ctx.accountId };
  }

  return new Elysia()
    .get("/groups", async ({ request, set, query }) => {
      const ctx = await authenticate(gw, request);
      requireFull(ctx);
      const limit = intParam(query.limit, "limit", 50, 1, 100);
      let all = await gw.groups.list(ctx.accountId);
      // The cursor is the sort key (created_at, id) of the last item returned, so groups created
      // or deleted while a client pages never shift the pages it has not read yet.
      if (query.cursor) {
        const after = parseListCursor(query.cursor);
        if (!after) throw new ApiError("invalid_parameter", "cursor is not a next_cursor from this listing", { param: "cursor" });
        all = all.filter((g) => g.created_at > after.created_at || (g.created_at === after.created_at && g.id > after.id));
      }
      const page = all.slice(0, limit);
      const next = all.length > limit ? listCursor(page[page.length - 1]!) : null;
      return ok(set, page.map(groupItem), 200, {}, { pagination: cursorPagination(next) });
    })
    .post(
      "/groups",
      idempotentRoute(gw, async ({ request, set }) => {
        const ctx = await authenticate(gw, request);
        requireFull(ctx);
        const body = await readJsonObject(request);
        const g = await withGroupLock(ctx.accountId, async () => {
          const r = parseGroupBody(body, "create", await groupContext(gw, ctx.accountId, null));
          if (!r.ok) throw validationError(r.issues);
          return gw.groups.create(ctx.accountId, { name: r.value.name!, members: r.value.members! });
        });
        return ok(set, groupItem(g), 201, { location: `/api/v1/groups/${g.id}` });
      }),
      { parse: "none" },
    )
    .get("/groups/:id", async ({ request, set, params }) => {
      const { g } = await load(request, params.id);
      return withEtag(request, set, groupItem(g));
    })
    .patch(
      "/groups/:id",
      async ({ request, set, params }) => {
        const { accountId } = await load(request, params.id);
        const body = await readJsonObject(request);
        const g = await withGroupLock(accountId, async () => {
          const cur = await gw.groups.get(accountId, params.id);
          if (!cur) throw new ApiError("not_found", `group ${params.id} was not found`);
          const ifMatch = request.headers.get("if-match");
          if (ifMatch && ifMatch.trim() !== "*") {
            const tag = withEtag(new Request("http://x/"), set, groupItem(cur)).headers.get("etag");
            if (!ifMatch.split(",").map((t) => t.trim()).includes(tag!)) {
              throw new ApiError("conflict", "the group changed since your GET (If-Match does not match its ETag); fetch it again and retry with the new ETag");
            }
          }
          const r = parseGroupBody(body, "update", await groupContext(gw, accountId, cur.id));
          if (!r.ok) throw validationError(r.issues);
          const rec = await gw.groups.update(accountId, cur.id, r.value);
          if (!rec) throw new ApiError("not_found", `group ${params.id} was not found`);
          return rec;
        });
        return ok(set, groupItem(g));
      },
      { parse: "none" },
    )
    .delete("/groups/:id", async ({ request, set, params }) => {
      const { accountId } = await load(request, params.id);
      await withGroupLock(accountId, async () => {
        const keys = await keysScopedTo(gw, accountId, params.id);
        if (keys.length) {
          const names = keys.slice(0, 10).map((k) => `${k.id} ("${k.name}")`).join(", ");
          const more = keys.length > 10 ? ` and ${keys.length - 10} more` : "";
          throw new ApiError(
            "conflict",
            `group ${params.id} is the scope of ${keys.length} API key(s): ${names}${more}; revoke them (DELETE /api/v1/api-keys/{id}) or give their traffic another key first, so no key is left without providers`,
          );
        }
        if (!(await gw.groups.remove(accountId, params.id))) throw new ApiError("not_found", `group ${params.id} was not found`);
      });
      return ok(set, { id: params.id, deleted: true });
    });
}
