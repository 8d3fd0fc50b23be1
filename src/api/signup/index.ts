import { Elysia } from "elysia";
import type { Gateway } from "../../gateway.ts";
import { createAccountWithKey, parseAccountBody } from "../../accounts/service.ts";
import { readJsonObject } from "../body.ts";
import { ApiError, validationError } from "../errors.ts";
import { ok } from "../http.ts";

/**
 * EXT `POST /api/v1/signup {email, name}` (SPEC "Managed route and accounts"): with
 * SENDMUX_OPEN_SIGNUP=true anyone may create an account and gets `{account, api_key}` — a `full`
 * key with scope `all`, so the managed route is in its scope at once. With open signup off (the
 * default) the path answers 403: it exists, but only the operator creates accounts.
 */
export function signupRoutes(gw: Gateway) {
  return new Elysia().post(
    "/signup",
    async ({ request, set }) => {
      if (!gw.cfg.openSignup) {
        throw new ApiError("insufficient_permissions", "open signup is off on this gateway: ask its operator for an account (POST /admin/v1/accounts), or the operator sets SENDMUX_OPEN_SIGNUP=true");
      }
      const body = await readJsonObject(request);
      const r = parseAccountBody(body, true);
      if (!r.ok) throw validationError(r.issues);
      const created = await createAccountWithKey(gw, r.name, r.email);
      if (!created) throw new ApiError("conflict", `an account with the email address ${r.email} already exists`, { param: "email" });
      gw.log.info({ component: "signup", account_id: created.account.id }, "account created by signup");
      return ok(set, created, 201);
    },
    { parse: "none" },
  );
}
