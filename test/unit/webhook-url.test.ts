/**
 * Webhook targets: https only; plain http:// to a loopback host only with
 * SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK=true, and the refusal of such a target names that setting.
 */
import { expect, test } from "bun:test";
import { parseWebhookBody } from "../../src/api/webhooks/model.ts";
import { targetProblem } from "../../src/webhooks/url.ts";

const SETTING = "SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK=true";

test("an http:// loopback target, refused while the setting is off, names the setting that allows it", () => {
  for (const url of ["http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]:8080/x", "http://127.0.0.2/x"]) {
    const p = targetProblem(url, false);
    expect(p, url).toStartWith("must use https://");
    expect(p, url).toContain(SETTING);
    expect(targetProblem(url, true), url).toBeNull();
  }
  // Other http:// targets are refused either way, and the setting would not help: it is not named.
  for (const allow of [false, true]) {
    const p = targetProblem("http://hooks.example.com/x", allow);
    expect(p).toStartWith("must use https://");
    expect(p).not.toContain("SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK");
  }
  expect(targetProblem("https://127.0.0.1/x", false)).toBeNull();
});

test("the 422 of POST /webhooks for an http://127.0.0.1 target carries that message on `url`", () => {
  const r = parseWebhookBody({ url: "http://127.0.0.1:8081/sendmux", event_types: ["sendmux.test"] }, "create", false);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.issues).toHaveLength(1);
  expect(r.issues[0]!.field).toBe("url");
  expect(r.issues[0]!.message).toContain(SETTING);
});
