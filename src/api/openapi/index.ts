import { Elysia } from "elysia";
import { ifNoneMatchHits, requestIdOf, weakEtag } from "../http.ts";
import { buildDocument, type OpenApiDocument } from "./document.ts";
import { renderDocs } from "./html.ts";
import pkg from "../../../package.json" with { type: "json" };

/**
 * GET /api/v1/openapi.json (public, weak ETag, 304 on If-None-Match, cached for an hour) and
 * GET /docs (the same document as a static HTML page). Both are built once: the document only
 * changes with the code.
 */
let built: { doc: OpenApiDocument; json: string; etag: string; html: string } | null = null;

export function openApiDocument(): OpenApiDocument {
  return served().doc;
}

function served() {
  if (!built) {
    const doc = buildDocument(pkg.version);
    const json = JSON.stringify(doc);
    built = { doc, json, etag: weakEtag(doc), html: renderDocs(doc) };
  }
  return built;
}

export function openApiRoutes() {
  return new Elysia()
    .get("/api/v1/openapi.json", ({ request, set }) => {
      const s = served();
      const headers = { etag: s.etag, "cache-control": "public, max-age=3600", "x-request-id": requestIdOf(set) };
      if (ifNoneMatchHits(request.headers.get("if-none-match"), s.etag)) return new Response(null, { status: 304, headers });
      return new Response(s.json, { status: 200, headers: { ...headers, "content-type": "application/json; charset=utf-8" } });
    })
    .get("/docs", ({ set }) => {
      return new Response(served().html, {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "public, max-age=3600",
          "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
          "x-request-id": requestIdOf(set),
        },
      });
    });
}
