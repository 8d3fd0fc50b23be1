import { Elysia } from "elysia";
import type { Gateway } from "../../gateway.ts";
import type { ShardPool } from "../../dispatch/pool.ts";
import { resolveAdminToken } from "../../config.ts";
import { safeEqual } from "../../crypto.ts";
import { accountItem, createAccountWithKey, parseAccountBody, sharedLimitView } from "../../accounts/service.ts";
import { sendNotice } from "../../accounts/notices.ts";
import type { LimitRequest } from "../../accounts/requests.ts";
import type { ManagedRouteInput } from "../../accounts/managed.ts";
import { parseProviderConfig } from "../../providers/config.ts";
import { storeReading } from "../../providers/ses-account.ts";
import { readJsonObject } from "../body.ts";
import { ApiError, validationError, type FieldIssue } from "../errors.ts";
import { cursorPagination, intParam, ok } from "../http.ts";
import type { Account } from "../../types.ts";

const REQUEST_STATUSES: Array<LimitRequest["status"]> = ["pending", "approved", "denied", "cancelled"];
const MAX_DAILY_LIMIT = 10_000_000;

function accountCursor(a: Account): string {
  return Buffer.from(`${a.created_at}|${a.id}`, "utf8").toString("base64url");
}

function parseAccountCursor(c: string): { created_at: string; id: string } | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(c)) return null;
  const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|(acct_[a-z0-9]{24})$/.exec(Buffer.from(c, "base64url").toString("utf8"));
  return m ? { created_at: m[1]!, id: m[2]! } : null;
}

function dailyLimitField(issues: FieldIssue[], field: string, v: unknown, required: boolean): number | null {
  if (v === undefined || v === null) {
    if (required) issues.push({ field, code: "invalid_type", message: "required: the number of sends per UTC day" });
    return null;
  }
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_DAILY_LIMIT) {
    issues.push({ field, code: "invalid_type", message: `expected a whole number from 1 to ${MAX_DAILY_LIMIT}` });
    return null;
  }
  return v;
}

function noteField(issues: FieldIssue[], v: unknown, required: boolean): string | null {
  if (v === undefined || v === null) {
    if (required) issues.push({ field: "note", code: "invalid_type", message: "required: tell the account why (it is sent to them)" });
    return null;
  }
  if (typeof v !== "string" || v.trim() === "") {
    issues.push({ field: "note", code: "invalid_type", message: "expected a non-empty string" });
    return null;
  }
  if (v.length > 2000) {
    issues.push({ field: "note", code: "too_big", message: "must be at most 2000 characters" });
    return null;
  }
  return v.trim();
}

function onlyKeys(issues: FieldIssue[], body: Record<string, unknown>, keys: string[]): void {
  for (const k of Object.keys(body)) if (!keys.includes(k)) issues.push({ field: k, code: "unrecognized_keys", message: `unknown property "${k}"; expected ${keys.join(", ")}` });
}

/**
 * The operator API under /admin/v1 (SPEC "Managed route and accounts"), with
 * `Authorization: Bearer <admin token>` (SENDMUX_ADMIN_TOKEN or <data dir>/admin-token): accounts,
 * the managed route, and the accounts' limit-increase requests.
 */
export function adminRoutes(gw: Gateway, pool: ShardPool | null) {
  const token = resolveAdminToken(gw.cfg);
  const requireAdmin = (request: Request) => {
    const h = request.headers.get("authorization");
    const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (!m) throw new ApiError("authentication_required", "the operator API needs `Authorization: Bearer <admin token>` (SENDMUX_ADMIN_TOKEN, or the file admin-token in the data dir)");
    if (!safeEqual(m[1]!, token)) throw new ApiError("authentication_required", "the admin token is not valid (API keys do not work here; use the operator token)");
  };
  const loadAccount = async (id: string): Promise<Account> => {
    const a = await gw.accounts.get(id);
    if (!a) throw new ApiError("not_found", `account ${id} was not found`);
    return a;
  };
  const accountView = async (a: Account) => ({ ...accountItem(a), shared_amazon_ses: await sharedLimitView(gw, a.id) });
  const readingDeps = { redis: gw.redis, now: () => gw.clock.now(), invalidate: (a: string) => gw.providers.invalidate(a) };

  /** Finds a request by id (any account) and settles it; 404 unknown, 409 no longer pending. */
  const settle = async (id: string, change: Pick<LimitRequest, "status" | "approved_daily_limit" | "decision_note">) => {
    const owner = /^slir_[a-z0-9]{24}$/.test(id) ? await gw.limitRequests.ownerOf(id) : null;
    if (!owner) throw new ApiError("not_found", `limit request ${id} was not found`);
    const r = await gw.limitRequests.settle(owner, id, change);
    if (!r.ok) {
      if (r.reason === "not_found") throw new ApiError("not_found", `limit request ${id} was not found`);
      throw new ApiError("conflict", `limit request ${id} is already ${r.request?.status}; only a pending request can be approved or denied`);
    }
    // A raised limit is used first by the messages already waiting for it.
    if (r.request.status === "approved") await gw.messages.wakeWaiters(owner);
    return { owner, request: r.request };
  };

  /** Emails the outcome to the account's address through the gateway; the message id, or null. */
  const notify = async (accountId: string, request: LimitRequest): Promise<{ message_id: string | null; to: string | null; error: string | null }> => {
    const acct = await gw.accounts.get(accountId);
    if (!acct?.email) return { message_id: null, to: null, error: "the account has no email address" };
    const approved = request.status === "approved";
    const subject = approved ? `Your daily sending limit is now ${request.approved_daily_limit}` : "Your daily sending limit request was not approved";
    const lines = approved
      ? [`Hello ${acct.name},`, "", `Your request ${request.id} to raise the daily limit of the managed sending route was approved.`, `New limit: ${request.approved_daily_limit} messages per day (it was ${request.current_daily_limit}). It applies from now on; the count resets at 00:00 UTC.`]
      : [`Hello ${acct.name},`, "", `Your request ${request.id} to raise the daily limit of the managed sending route was not approved.`, `Your limit stays at ${request.current_daily_limit} messages per day.`];
    if (request.decision_note) lines.push("", `Note from the operator: ${request.decision_note}`);
    lines.push("", "The managed route is meant for triggered and transactional mail; bulk mail belongs on your own providers.");
    try {
      return { message_id: await sendNotice(gw, acct.email, subject, lines.join("\n") + "\n"), to: acct.email, error: null };
    } catch (e) {
      gw.log.warn({ component: "admin", account_id: accountId, request_id: request.id, err: (e as Error).message }, "could not queue the limit-request notice");
      return { message_id: null, to: acct.email, error: `the notice could not be queued: ${(e as Error).message}` };
    }
  };

  return new Elysia({ prefix: "/admin/v1" })
    .onBeforeHandle(({ request }) => requireAdmin(request))
    .post(
      "/accounts",
      async ({ request, set }) => {
        const body = await readJsonObject(request);
        const r = parseAccountBody(body, false);
        if (!r.ok) throw validationError(r.issues);
        const created = await createAccountWithKey(gw, r.name, r.email);
        if (!created) throw new ApiError("conflict", `an account with the email address ${r.email} already exists`, { param: "email" });
        return ok(set, created, 201, { location: `/admin/v1/accounts/${created.account.id}` });
      },
      { parse: "none" },
    )
    .get("/accounts", async ({ set, query }) => {
      const limit = intParam(query.limit, "limit", 50, 1, 100);
      if (query.status !== undefined && query.status !== "active" && query.status !== "suspended") throw new ApiError("invalid_parameter", "status must be active or suspended", { param: "status" });
      let all = await gw.accounts.listAll();
      if (query.status) all = all.filter((a) => a.status === query.status);
      if (query.cursor) {
        const after = parseAccountCursor(query.cursor);
        if (!after) throw new ApiError("invalid_parameter", "cursor is not a next_cursor from this listing", { param: "cursor" });
        all = all.filter((a) => a.created_at > after.created_at || (a.created_at === after.created_at && a.id > after.id));
      }
      const page = all.slice(0, limit);
      const next = all.length > limit ? accountCursor(page[page.length - 1]!) : null;
      return ok(set, page.map(accountItem), 200, {}, { pagination: cursorPagination(next) });
    })
    .get("/accounts/:id", async ({ set, params }) => ok(set, await accountView(await loadAccount(params.id))))
    .post(
      "/accounts/:id/suspend",
      async ({ request, set, params }) => {
        await loadAccount(params.id);
        const text = await request.text();
        let reason: string | null = null;
        if (text.trim()) {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            throw new ApiError("invalid_parameter", "request body is not valid JSON", { param: "body" });
          }
          if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError("invalid_parameter", "request body must be a JSON object", { param: "body" });
          const issues: FieldIssue[] = [];
          onlyKeys(issues, body as Record<string, unknown>, ["reason"]);
          const v = (body as Record<string, unknown>).reason;
          if (v !== undefined && v !== null && (typeof v !== "string" || v.length > 500 || /[\r\n\u0000]/.test(v))) issues.push({ field: "reason", code: "invalid_type", message: "expected a single line of at most 500 characters" });
          if (issues.length) throw validationError(issues);
          reason = typeof v === "string" && v.trim() ? v.trim() : null;
        }
        const a = await gw.accounts.setStatus(params.id, "suspended", reason);
        gw.log.info({ component: "admin", account_id: params.id }, "account suspended");
        return ok(set, await accountView(a!));
      },
      { parse: "none" },
    )
    .post("/accounts/:id/unsuspend", async ({ set, params }) => {
      await loadAccount(params.id);
      const a = await gw.accounts.setStatus(params.id, "active", null);
      gw.log.info({ component: "admin", account_id: params.id }, "account unsuspended");
      return ok(set, await accountView(a!));
    })
    .get("/managed-route", async ({ set }) => {
      const d = await gw.managed.describe();
      if (!d) throw new ApiError("not_found", "no managed route is configured yet; PUT /admin/v1/managed-route {region, access_key_id, secret_access_key} sets it up");
      return ok(set, d);
    })
    .put(
      "/managed-route",
      async ({ request, set }) => {
        const body = await readJsonObject(request);
        const issues: FieldIssue[] = [];
        onlyKeys(issues, body, ["region", "access_key_id", "secret_access_key", "endpoint", "default_daily_limit"]);
        const cfgIssues: FieldIssue[] = [];
        const config: Record<string, unknown> = { region: body.region, access_key_id: body.access_key_id, secret_access_key: body.secret_access_key };
        if (body.endpoint !== undefined && body.endpoint !== null) config.endpoint = body.endpoint;
        const parsed = parseProviderConfig("amazon_ses", config, cfgIssues);
        for (const i of cfgIssues) issues.push({ ...i, field: i.field.replace(/^config\./, "") });
        const dflt = dailyLimitField(issues, "default_daily_limit", body.default_daily_limit, false);
        if (issues.length || !parsed) throw validationError(issues.length ? issues : [{ field: "region", code: "invalid_type", message: "the SES settings are incomplete" }]);
        const s = parsed.secrets as Record<string, string>;
        const input: ManagedRouteInput = { region: s.region!, access_key_id: s.access_key_id!, secret_access_key: s.secret_access_key!, endpoint: s.endpoint ?? null, default_daily_limit: dflt };
        const { record, created } = await gw.managed.put(input);
        if (pool) {
          // Warm clients of the old credentials go; GetAccount is read in the background so the
          // route's own caps follow the SES account's quota from the first send.
          await pool.close(record.id).catch(() => {});
          const secrets = gw.providers.secretsOf(record);
          void pool.verify({ record, secrets }).then((r) => storeReading(readingDeps, record, secrets, r.detected_quotas)).catch(() => {});
        }
        gw.log.info({ component: "admin", provider_id: record.id }, created ? "managed route configured" : "managed route updated");
        return ok(set, await gw.managed.describe(), created ? 201 : 200);
      },
      { parse: "none" },
    )
    .get("/limit-requests", async ({ set, query }) => {
      const limit = intParam(query.limit, "limit", 50, 1, 100);
      if (query.status !== undefined && !REQUEST_STATUSES.includes(query.status as LimitRequest["status"])) {
        throw new ApiError("invalid_parameter", `status must be one of ${REQUEST_STATUSES.join(", ")}`, { param: "status" });
      }
      if (query.cursor !== undefined && !/^slir_[a-z0-9]{24}$/.test(query.cursor)) throw new ApiError("invalid_parameter", "cursor is not a next_cursor from this listing", { param: "cursor" });
      const page = await gw.limitRequests.listAll({ status: query.status as LimitRequest["status"] | undefined, limit, cursor: query.cursor ?? null });
      if (!page) throw new ApiError("invalid_parameter", "cursor is not a next_cursor from this listing", { param: "cursor" });
      return ok(set, page.items, 200, {}, { pagination: cursorPagination(page.next) });
    })
    .post(
      "/limit-requests/:id/approve",
      async ({ request, set, params }) => {
        const body = await readJsonObject(request);
        const issues: FieldIssue[] = [];
        onlyKeys(issues, body, ["daily_limit", "note"]);
        const dailyLimit = dailyLimitField(issues, "daily_limit", body.daily_limit, true);
        const note = noteField(issues, body.note, false);
        if (issues.length) throw validationError(issues);
        // An increase request is approved by raising the limit: never to the current one or below.
        const requestOwner = /^slir_[a-z0-9]{24}$/.test(params.id) ? await gw.limitRequests.ownerOf(params.id) : null;
        const current = requestOwner ? await gw.managed.limitOf(requestOwner) : null;
        if (current && dailyLimit! <= current.daily_limit) {
          throw validationError([
            {
              field: "daily_limit",
              code: "too_small",
              message: `must be above the account's current limit of ${current.daily_limit} messages per day (got ${dailyLimit}): approving an increase request raises the limit; to keep it as it is, deny the request instead (POST /admin/v1/limit-requests/${params.id}/deny with a note)`,
            },
          ]);
        }
        const { owner, request: settled } = await settle(params.id, { status: "approved", approved_daily_limit: dailyLimit!, decision_note: note });
        await gw.managed.setLimit(owner, dailyLimit!);
        const notice = await notify(owner, settled);
        return ok(set, { request: settled, account_id: owner, limit: await sharedLimitView(gw, owner), notice });
      },
      { parse: "none" },
    )
    .post(
      "/limit-requests/:id/deny",
      async ({ request, set, params }) => {
        const body = await readJsonObject(request);
        const issues: FieldIssue[] = [];
        onlyKeys(issues, body, ["note"]);
        const note = noteField(issues, body.note, true);
        if (issues.length) throw validationError(issues);
        const { owner, request: settled } = await settle(params.id, { status: "denied", approved_daily_limit: null, decision_note: note });
        const notice = await notify(owner, settled);
        return ok(set, { request: settled, account_id: owner, limit: await sharedLimitView(gw, owner), notice });
      },
      { parse: "none" },
    );
}
