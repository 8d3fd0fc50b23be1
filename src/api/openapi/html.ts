import type { OpenApiDocument } from "./document.ts";
import type { Schema } from "./common.ts";

/**
 * GET /docs: the OpenAPI document as one static HTML page, rendered here on the server. No
 * scripts and no external resources, so it works on a machine without internet access.
 */
const METHODS = ["get", "post", "put", "patch", "delete"];

function esc(s: unknown): string {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function refName(s: Schema | undefined): string | null {
  const r = s?.$ref;
  return typeof r === "string" ? r.replace("#/components/schemas/", "") : null;
}

/** A one-line summary of a schema: a link for a $ref, the type otherwise. */
function typeOf(s: Schema | undefined): string {
  if (!s) return "";
  const name = refName(s);
  if (name) return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  for (const k of ["anyOf", "oneOf", "allOf"]) {
    const list = s[k] as Schema[] | undefined;
    if (list) return list.map(typeOf).filter(Boolean).join(k === "allOf" ? " &amp; " : " | ");
  }
  if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) return `${typeOf(s.items as Schema)}[]`;
  if (s.enum) return (s.enum as unknown[]).map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(" | ");
  if (s.const !== undefined) return `<code>${esc(JSON.stringify(s.const))}</code>`;
  const t = Array.isArray(s.type) ? s.type.join(" | ") : String(s.type ?? "any");
  return esc(s.format ? `${t} (${s.format})` : t);
}

function constraints(s: Schema): string {
  const out: string[] = [];
  for (const k of ["minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "minItems", "maxItems", "pattern", "default"]) {
    if (s[k] !== undefined) out.push(`${k}: ${JSON.stringify(s[k])}`);
  }
  return out.length ? `<div class="c">${esc(out.join(", "))}</div>` : "";
}

const extBadge = (s: Schema | undefined) => (s?.["x-sendmux-ext"] ? ' <span class="ext">EXT</span>' : "");

function schemaTable(s: Schema): string {
  const props = s.properties as Record<string, Schema> | undefined;
  if (!props) return `<p>${typeOf(s)}</p>`;
  const req = new Set((s.required as string[] | undefined) ?? []);
  const rows = Object.entries(props).map(
    ([k, p]) =>
      `<tr><td><code>${esc(k)}</code>${req.has(k) ? ' <span class="req">required</span>' : ""}${extBadge(p)}</td><td>${typeOf(p)}${constraints(p)}</td><td>${esc(p.description)}</td></tr>`,
  );
  const extra = s.additionalProperties === false ? '<p class="c">No other properties.</p>' : "";
  return `<table><tr><th>field</th><th>type</th><th>description</th></tr>${rows.join("")}</table>${extra}`;
}

function operation(path: string, method: string, op: Schema): string {
  const params = ((op.parameters as Schema[] | undefined) ?? []).map(
    (p) => `<tr><td><code>${esc(p.name)}</code> <span class="c">${esc(p.in)}</span>${p.required ? ' <span class="req">required</span>' : ""}${extBadge(p)}</td><td>${typeOf(p.schema as Schema)}${constraints((p.schema as Schema) ?? {})}</td><td>${esc(p.description)}</td></tr>`,
  );
  const body = op.requestBody as Schema | undefined;
  const bodyHtml = body
    ? `<h4>Request body</h4><ul>${Object.entries(body.content as Record<string, Schema>)
        .map(([ct, c]) => `<li><code>${esc(ct)}</code>: ${typeOf(c.schema as Schema)}</li>`)
        .join("")}</ul>`
    : "";
  const responses = Object.entries(op.responses as Record<string, Schema>).map(([status, r]) => {
    const content = r.content as Record<string, Schema> | undefined;
    const what = content ? Object.entries(content).map(([ct, c]) => `<code>${esc(ct)}</code> ${typeOf(c.schema as Schema)}`).join(", ") : "no body";
    return `<tr><td><b>${esc(status)}</b>${extBadge(r)}</td><td>${esc(r.description)}</td><td>${what}</td></tr>`;
  });
  const auth = Array.isArray(op.security) && op.security.length === 0 ? ' <span class="c">no API key</span>' : "";
  return `<section class="op" id="${esc(op.operationId)}">
<h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code>${extBadge(op)}${auth}</h3>
<p><b>${esc(op.summary)}</b>. ${esc(op.description)}</p>
${params.length ? `<h4>Parameters</h4><table><tr><th>name</th><th>type</th><th>description</th></tr>${params.join("")}</table>` : ""}
${bodyHtml}
<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>${responses.join("")}</table>
</section>`;
}

export function renderDocs(doc: OpenApiDocument): string {
  const byTag = new Map<string, string[]>();
  for (const [path, item] of Object.entries(doc.paths)) {
    const server = (item.servers as Schema[] | undefined)?.[0]?.url === "/" ? "" : "/api/v1";
    for (const m of METHODS) {
      const op = item[m] as Schema | undefined;
      if (!op) continue;
      const tag = (op.tags as string[])[0] ?? "Other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push(operation(server + path, m, op));
    }
  }
  const tags = (doc.tags as Schema[]).map((t) => String(t.name)).filter((t) => byTag.has(t));
  const toc = tags.map((t) => `<li><a href="#tag-${esc(t)}">${esc(t)}</a></li>`).join("") + '<li><a href="#schemas">Schemas</a></li>';
  const sections = tags.map((t) => `<h2 id="tag-${esc(t)}">${esc(t)}</h2>${byTag.get(t)!.join("\n")}`).join("\n");
  const schemas = Object.entries(doc.components.schemas)
    .map(([name, s]) => `<section class="schema" id="schema-${esc(name)}"><h3>${esc(name)}${extBadge(s)}</h3><p>${esc(s.description)}</p>${schemaTable(s)}${s.allOf || s.anyOf || s.oneOf ? `<p>${typeOf(s)}</p>` : ""}</section>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} — API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:0 auto;padding:1em 2em;color:#222}
code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#fafafa}.op,.schema{border-top:1px solid #ccc;padding-top:.5em}
.m{display:inline-block;min-width:4.5em;text-align:center;color:#fff;border-radius:3px;font-size:13px}
.get{background:#2b7a3d}.post{background:#1f5fa8}.put{background:#8a5a00}.patch{background:#6b3fa0}.delete{background:#a3261f}
.ext{background:#fde7b0;border-radius:3px;font-size:11px;padding:0 .3em}.req{color:#a3261f;font-size:12px}.c{color:#666;font-size:12px}
</style></head><body>
<h1>${esc(doc.info.title)} <small class="c">${esc(doc.info.version)}</small></h1>
<p>${esc(doc.info.description)}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI ${esc(doc.openapi)}). Authenticate with <code>Authorization: Bearer smx_…</code>.</p>
<ul>${toc}</ul>
${sections}
<h2 id="schemas">Schemas</h2>
${schemas}
</body></html>`;
}
