import { EXT, type PathItem } from "./common.ts";

/**
 * EXT: operating the gateway. These paths sit at the root, outside /api/v1, so each names its own
 * server; none needs a key. Implemented by src/api/health.ts and src/api/openapi/index.ts (/docs).
 */
const root = [{ url: "/", description: "The gateway's root (outside /api/v1)" }];
const probe = (name: string, description: string): PathItem => ({
  servers: root,
  get: {
    ...EXT,
    description,
    operationId: `ext${name}`,
    responses: {
      200: { content: { "application/json": { schema: { properties: { ok: { const: true }, status: { type: "string" } }, required: ["ok", "status"], type: "object" } } }, description: "Healthy" },
      503: { content: { "application/json": { schema: { properties: { ok: { const: false }, status: { type: "string" } }, required: ["ok", "status"], type: "object" } } }, description: "Not ready (Redis is not answering)" },
    },
    security: [],
    summary: name,
    tags: ["Operations"],
  },
});

export const operationPaths: Record<string, PathItem> = {
  "/healthz": probe("Healthz", "Liveness: 200 while the process serves HTTP."),
  "/readyz": probe("Readyz", "Readiness: 200 only while Redis answers."),
  "/metrics": {
    servers: root,
    get: {
      ...EXT,
      description: "Prometheus metrics.",
      operationId: "extMetrics",
      responses: { 200: { content: { "text/plain": { schema: { type: "string" } } }, description: "Prometheus text exposition format" } },
      security: [],
      summary: "Metrics",
      tags: ["Operations"],
    },
  },
  "/docs": {
    servers: root,
    get: {
      ...EXT,
      description: "This document rendered as a static HTML page (no scripts, no external resources).",
      operationId: "extDocs",
      responses: { 200: { content: { "text/html": { schema: { type: "string" } } }, description: "The API reference" } },
      security: [],
      summary: "API reference page",
      tags: ["Meta"],
    },
  },
};
