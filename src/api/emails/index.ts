import { Elysia } from "elysia";
import { idempotentRoute } from "../idempotent.ts";
import type { Gateway } from "../../gateway.ts";
import { NoActiveProviders, submit, type Submission } from "../../submit.ts";
import type { KeyContext } from "../../types.ts";
import { IdempotencyClaimLost, type IdempotencyCompletion, type MessageView } from "../../store/messages.ts";
import { idempotent } from "../idempotent.ts";
import { authenticate, storageUnavailable } from "../auth.ts";
import { readJsonObject } from "../body.ts";
import { ApiError, validationError, type FieldIssue } from "../errors.ts";
import { ok, withEtag } from "../http.ts";
import { toSubmission } from "./service.ts";
import { validateSend } from "./validate.ts";
import { attachUploaded, loadUploads } from "./uploads.ts";

export const MAX_BATCH = 100;

function noProviders(): ApiError {
  return new ApiError("service_unavailable", "no_active_providers: no active provider in this key's scope can send; add or activate one, or use a key with another scope", {
    retryAfter: 60,
  });
}

async function accept(gw: Gateway, ctx: KeyContext, subs: Submission[], idem?: IdempotencyCompletion): Promise<string[]> {
  try {
    return await submit(gw, ctx, subs, idem);
  } catch (e) {
    if (e instanceof NoActiveProviders) throw noProviders();
    if (e instanceof IdempotencyClaimLost) {
      throw new ApiError("idempotency_conflict", "the Idempotency-Key's claim expired while this request was running; retry with the same key", { retryable: true, retryAfter: 1 });
    }
    gw.log.error({ component: "api", err: e }, "enqueue failed");
    throw storageUnavailable(e);
  }
}

export function viewMessage(v: MessageView) {
  return {
    id: v.meta.id,
    status: v.status,
    created_at: v.meta.created_at,
    updated_at: new Date(v.updated_at).toISOString(),
    source: v.meta.source,
    from: v.meta.from,
    to: v.meta.to,
    subject: v.meta.subject,
    envelope: v.meta.envelope,
    message_id_header: `<${v.meta.message_id_header}>`,
    scope: v.meta.scope,
    provider_id: v.provider_id,
    attempts: v.attempts.map((a) => ({ at: a.at, provider_id: a.provider_id, outcome: a.outcome, response: a.response, duration_ms: a.duration_ms })),
    next_attempt_at: v.next_attempt_at ? new Date(v.next_attempt_at).toISOString() : null,
    routing: v.provider_id ? { provider_id: v.provider_id, why: v.why } : null,
    waiting: waitingView(v),
  };
}

/**
 * What a message not yet sent waits for: a provider's cap window, a healthy provider, or its
 * next retry. Null once it is sending or settled.
 */
function waitingView(v: MessageView): object | null {
  if (v.status !== "queued" && v.status !== "deferred") return null;
  const w = v.waiting;
  if (w && w.reason === "cap") return { reason: "cap", provider_id: w.provider_id, until: new Date(w.until).toISOString() };
  if (w && w.reason === "no_healthy_provider") return { reason: "no_healthy_provider", until: new Date(w.until).toISOString() };
  if (w && w.reason === "no_active_provider") {
    return { reason: "no_active_provider", hint: "no provider in this message's scope is active: activate one (POST /api/v1/providers/{id}/activate) or add one; it is looked at again every 30 s", until: new Date(w.until).toISOString() };
  }
  if (v.status === "deferred" && v.next_attempt_at) return { reason: "retry", at: new Date(v.next_attempt_at).toISOString() };
  return null;
}

export function emailRoutes(gw: Gateway) {
  return new Elysia()
    .post(
      "/emails/send",
      async ({ request, set }) => {
        const ctx = await authenticate(gw, request);
        const body = await readJsonObject(request);
        return idempotent(gw, { request, set }, ctx, "emails.send", body, async (claim) => {
          const uploads = await loadUploads(gw, ctx.accountId, body);
          const r = validateSend(body);
          if (!r.ok) throw validationError(r.issues);
          const refIssues = attachUploaded(uploads, r.value);
          if (refIssues.length) throw validationError(refIssues);
          const sub = toSubmission(gw, r.value);
          const res = ok(set, { message_id: sub.id, status: "queued" });
          await accept(gw, ctx, [sub], claim ? gw.idempotency.completion(claim, 200, await res.clone().text()) : undefined);
          return res;
        });
      },
      { parse: "none" },
    )
    .post(
      "/emails/send/batch",
      async ({ request, set }) => {
        const ctx = await authenticate(gw, request);
        const body = await readJsonObject(request);
        return idempotent(gw, { request, set }, ctx, "emails.send.batch", body, async (claim) => {
          const extra = Object.keys(body).filter((k) => k !== "messages");
          const top: FieldIssue[] = extra.map((k) => ({ field: k, code: "unrecognized_keys", message: `unknown property "${k}"; a batch takes only messages` }));
          const msgs = body.messages;
          if (!Array.isArray(msgs)) top.push({ field: "messages", code: "invalid_type", message: msgs === undefined ? "required: a list of 1 to 100 messages" : "expected a list of 1 to 100 messages" });
          else if (msgs.length < 1) top.push({ field: "messages", code: "too_small", message: "at least 1 message" });
          else if (msgs.length > MAX_BATCH) top.push({ field: "messages", code: "too_big", message: `at most ${MAX_BATCH} messages per batch (got ${msgs.length})` });
          if (top.length) throw validationError(top);

          const list = msgs as unknown[];
          const results: Array<{ index: number; message_id: string | null; status: "queued" | "failed"; error?: object }> = [];
          const subs: Submission[] = [];
          const subIndex: number[] = [];
          const allIssues: FieldIssue[] = [];
          const uploads = await loadUploads(gw, ctx.accountId, body);
          list.forEach((m, i) => {
            const r = validateSend(m);
            let issues: FieldIssue[] = r.ok ? attachUploaded(uploads, r.value) : r.issues;
            if (r.ok && issues.length === 0) {
              subs.push(toSubmission(gw, r.value));
              subIndex.push(i);
              results.push({ index: i, message_id: null, status: "queued" });
              return;
            }
            issues = issues.map((x) => ({ ...x, field: x.field ? `messages.${i}.${x.field}` : `messages.${i}` }));
            allIssues.push(...issues);
            const err = validationError(issues.map((x) => ({ ...x, field: x.field.replace(/^messages\.\d+\.?/, "") })));
            results.push({ index: i, message_id: null, status: "failed", error: (err.body("") as { error: object }).error });
          });
          if (subs.length === 0) throw validationError(allIssues);
          subIndex.forEach((idx, j) => {
            results[idx]!.message_id = subs[j]!.id;
          });
          const queued = subs.length;
          const res = ok(set, { results, summary: { total: list.length, queued, failed: list.length - queued } });
          await accept(gw, ctx, subs, claim ? gw.idempotency.completion(claim, 200, await res.clone().text()) : undefined);
          return res;
        });
      },
      { parse: "none" },
    )
    .get("/emails/:message_id", async ({ request, set, params }) => {
      const ctx = await authenticate(gw, request);
      const v = await gw.messages.get(ctx.accountId, params.message_id).catch((e) => {
        throw storageUnavailable(e);
      });
      if (!v || (ctx.permission !== "full" && v.meta.key_id !== ctx.keyId)) {
        throw new ApiError("not_found", `message ${params.message_id} was not found`);
      }
      return withEtag(request, set, viewMessage(v));
    })
    .post(
      "/emails/:message_id/cancel",
      idempotentRoute(gw, async ({ request, set, params }) => {
        const ctx = await authenticate(gw, request);
        const v = await gw.messages.get(ctx.accountId, params.message_id);
        if (!v || (ctx.permission !== "full" && v.meta.key_id !== ctx.keyId)) {
          throw new ApiError("not_found", `message ${params.message_id} was not found`);
        }
        const r = await gw.messages.cancel(ctx.accountId, params.message_id);
        if (r.result === "not_found") throw new ApiError("not_found", `message ${params.message_id} was not found`);
        if (r.result === "not_cancelable") {
          throw new ApiError("conflict", `message ${params.message_id} is ${r.status} and can no longer be canceled; only queued or deferred messages can`);
        }
        const after = await gw.messages.get(ctx.accountId, params.message_id);
        return ok(set, viewMessage(after!));
      }),
      { parse: "none" },
    );
}
