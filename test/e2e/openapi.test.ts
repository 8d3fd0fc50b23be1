/**
 * Our own OpenAPI document (GET /api/v1/openapi.json) and its docs page (GET /docs): it says what
 * the reference Sending API document says for the Sending paths (only widened, and marked, where
 * we accept more), it describes exactly the routes the gateway serves, its $refs resolve, our EXT
 * responses validate against it, and the page renders it without anything external.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../../src/api/app.ts";
import { EXT_WIDENED } from "../../src/api/openapi/sending.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { OasValidator, loadReference, type OasDoc } from "../helpers/oas.ts";

let g: TestGateway;
let doc: OasDoc & { servers: Array<{ url: string }> };
const reference = loadReference();
/** The Management API document: its paths are ours by contract, not extensions. */
const management = loadReference("sendmux-openapi-app.json");
/** Path templates compared without their parameter names (`/providers/{id}` is `/providers/{public_id}`). */
const shape = (p: string) => p.replace(/\{[^}]+\}/g, "{}");
const managementOps = new Set(Object.entries(management.paths).flatMap(([p, item]) => Object.keys(item as object).map((m) => `${m} ${shape(p)}`)));
beforeAll(async () => {
  g = await startTestGateway();
  const r = await fetch(`${g.base}/api/v1/openapi.json`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  doc = (await r.json()) as typeof doc;
});
afterAll(async () => {
  await g?.stop();
});

const METHODS = ["get", "post", "put", "patch", "delete"];

test("is OpenAPI 3.1, public, with a stable weak ETag", async () => {
  expect((doc as any).openapi).toBe("3.1.0");
  const a = await fetch(`${g.base}/api/v1/openapi.json`, { headers: { authorization: "Bearer smx_wrong" } });
  const b = await fetch(`${g.base}/api/v1/openapi.json`);
  expect(a.status).toBe(200);
  expect(a.headers.get("etag")).toMatch(/^W\/"/);
  expect(a.headers.get("etag")).toBe(b.headers.get("etag"));
  const nm = await fetch(`${g.base}/api/v1/openapi.json`, { headers: { "if-none-match": `"x", ${a.headers.get("etag")}` } });
  expect(nm.status).toBe(304);
  expect(await nm.text()).toBe("");
  expect((await fetch(`${g.base}/api/v1/openapi.json`, { headers: { "if-none-match": 'W/"stale"' } })).status).toBe(200);
});

test("the Sending API part says what the reference document says", () => {
  for (const [name, schema] of Object.entries(reference.components.schemas)) {
    const ours = doc.components.schemas[name] as Record<string, unknown>;
    expect(ours, name).toBeDefined();
    if (EXT_WIDENED.includes(name)) expect(ours["x-sendmux-ext"], name).toBe(true);
    else expect(ours, name).toEqual(schema as Record<string, unknown>);
  }
  for (const [path, item] of Object.entries(reference.paths)) {
    for (const [method, op] of Object.entries(item) as Array<[string, any]>) {
      const mine = (doc.paths[path] as any)?.[method];
      expect(mine, `${method} ${path}`).toBeDefined();
      expect(mine.operationId).toBe(op.operationId);
      expect(mine.requestBody).toEqual(op.requestBody);
      expect(mine.security).toEqual(op.security);
      for (const p of op.parameters ?? []) {
        expect((mine.parameters as any[]).find((x) => x.name === p.name && x.in === p.in), `${method} ${path} parameter ${p.name}`).toEqual(p);
      }
      for (const [status, resp] of Object.entries(op.responses) as Array<[string, any]>) {
        // 402 (credits) does not exist in a self-hosted gateway, so our document leaves it out.
        if (status === "402") {
          expect(mine.responses[status]).toBeUndefined();
          continue;
        }
        expect(mine.responses[status]?.content, `${method} ${path} ${status}`).toEqual(resp.content);
      }
      // Anything we add to a documented operation is marked.
      for (const status of Object.keys(mine.responses)) if (!op.responses[status]) expect(mine.responses[status]["x-sendmux-ext"], `${method} ${path} ${status}`).toBe(true);
    }
  }
});

function docPath(route: string): string {
  return route.replace(/^\/api\/v1(?=\/)/, "").replace(/:(\w+)/g, "{$1}");
}

test("documents exactly the routes the gateway serves", () => {
  const app = createApp(g.running.gw);
  const served = new Set(
    app.routes
      .filter((r) => METHODS.includes(r.method.toLowerCase()))
      .map((r) => `${r.method.toLowerCase()} ${docPath(r.path)}`),
  );
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) for (const m of METHODS) if ((item as any)[m]) documented.add(`${m} ${path}`);
  expect([...served].filter((r) => !documented.has(r)).sort()).toEqual([]);
  expect([...documented].filter((r) => !served.has(r)).sort()).toEqual([]);
  // Operations beyond the Sending document are marked EXT, unless the Management API document has them.
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      const op = (item as any)[m];
      if (!op || (reference.paths as any)[path]?.[m] || managementOps.has(`${m} ${shape(path)}`)) continue;
      expect(op["x-sendmux-ext"], `${m} ${path}`).toBe(true);
    }
  }
});

test("every $ref resolves and EXT responses validate against our own document", async () => {
  const own = new OasValidator(doc, "https://schemas.sendmux.test/own.json");
  for (const name of Object.keys(doc.components.schemas)) expect(() => own.component(name), name).not.toThrow();
  const sent = await g.api("POST", "/api/v1/emails/send", { from: { email: "a@example.com" }, to: [{ email: "b@example.com" }, { email: "c@example.com" }], subject: "s", text_body: "t" });
  expect(sent.status).toBe(200);
  await g.settle(sent.json.data.message_id);
  const checks: Array<[string, string, string]> = [
    ["/emails/{message_id}", "get", `/api/v1/emails/${sent.json.data.message_id}`],
    ["/providers", "get", "/api/v1/providers"],
    ["/providers/{id}", "get", `/api/v1/providers/${g.captureId}`],
    ["/providers/{id}/outbox", "get", `/api/v1/providers/${g.captureId}/outbox`],
    ["/api-keys", "get", "/api/v1/api-keys"],
    ["/groups", "get", "/api/v1/groups"],
  ];
  for (const [path, method, url] of checks) {
    const r = await g.api(method.toUpperCase(), url);
    expect(own.check(path, method, r.status, r.text), url).toEqual([]);
  }
  // The EXT request shapes are accepted by our document's EmailSendRequest, the reference's stay valid.
  const req = own.component("EmailSendRequest");
  expect(req({ from: { email: "a@example.com" }, to: [{ email: "b@example.com" }], subject: "s", text_body: "t" })).toBe(true);
  expect(req({ from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "s", html_body: "<p>h</p>" })).toBe(true);
  expect(req({ from: { email: "a@example.com" }, to: { email: "b@example.com" }, subject: "s" })).toBe(false);
});

test("every list operation declares limit and cursor, and its 400 for a bad limit validates against our document", async () => {
  const own = new OasValidator(doc, "https://schemas.sendmux.test/own-lists.json");
  const hook = await g.api("POST", "/api/v1/webhooks", { url: "https://hooks.example.invalid/lists", event_types: ["sendmux.test"] });
  expect(hook.status).toBe(201);
  const admin = readFileSync(join(g.dataDir, "admin-token"), "utf8").trim();
  const concrete: Record<string, string> = { "{id}": g.captureId, "{public_id}": hook.json.data.id };
  const lists: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const op = (item as any).get;
    if (!op || !/pagination|CursorListResponse/.test(JSON.stringify(op.responses["200"] ?? {}))) continue;
    lists.push(path);
    const names = (op.parameters ?? []).filter((p: any) => p.in === "query").map((p: any) => p.name);
    expect(names, path).toContain("limit");
    expect(names, path).toContain("cursor");
    const limit = op.parameters.find((p: any) => p.name === "limit");
    const max = limit.schema.maximum as number;
    expect([limit.schema.minimum, typeof max], path).toEqual([1, "number"]);
    expect(op.responses["400"], `${path} 400`).toBeDefined();
    const url = (path.startsWith("/admin/") ? path : `/api/v1${path}`).replace(/\{[^}]+\}/g, (m) => concrete[m]!);
    const auth: Record<string, string> = path.startsWith("/admin/") ? { authorization: `Bearer ${admin}` } : {};
    for (const q of ["limit=0", `limit=${max + 1}`, "limit=abc"]) {
      const r = await g.api("GET", `${url}?${q}`, undefined, auth);
      expect([r.status, r.json?.error?.param], `${url}?${q}`).toEqual([400, "limit"]);
      expect(own.check(path, "get", r.status, r.text), `${url}?${q}`).toEqual([]);
    }
    const ok = await g.api("GET", `${url}?limit=${max}`, undefined, auth);
    expect(ok.status, `${url}?limit=${max}`).toBe(200);
    expect(own.check(path, "get", 200, ok.text), url).toEqual([]);
  }
  expect(lists).toContain("/api-keys");
  expect(lists).toContain("/webhooks");
  expect(lists.length).toBeGreaterThanOrEqual(9);
});

test("the 422 the shared managed route answers on PATCH, DELETE and /test is documented", () => {
  for (const [path, method] of [["/providers/{id}", "patch"], ["/providers/{id}", "delete"], ["/providers/{id}/test", "post"]] as const) {
    const r = (doc.paths[path] as any)[method].responses["422"];
    expect(r, `${method} ${path}`).toBeDefined();
    expect(r.description, `${method} ${path}`).toContain("managed route");
  }
});

test("GET /docs renders every operation and schema as static HTML with nothing external", async () => {
  const r = await fetch(`${g.base}/docs`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
  const html = await r.text();
  expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|\bsrc=/i);
  expect(html).not.toMatch(/(href|src)="https?:/i);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      const op = (item as any)[m];
      if (op) expect(html, op.operationId).toContain(`id="${op.operationId}"`);
    }
    expect(html).toContain(path.replace(/&/g, "&amp;"));
  }
  for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`id="schema-${name}"`);
});
