/**
 * The hosted service's Sending API document (shared/reference/sendmux-openapi-sending.json) as a
 * validator: each documented response schema compiled with ajv (JSON Schema 2020-12, the dialect
 * of OpenAPI 3.1, so `unevaluatedProperties` and `$ref` into components work as the document means).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";

/** shared/ sits beside the repository (CI has a copy there too). */
export const REFERENCE_DIR = fileURLToPath(new URL("../../../shared/reference/", import.meta.url));

export type OasDoc = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }>; headers?: object }> }>>;
  components: { schemas: Record<string, object> };
  [k: string]: unknown;
};

export function loadReference(name = "sendmux-openapi-sending.json"): OasDoc {
  return JSON.parse(readFileSync(REFERENCE_DIR + name, "utf8")) as OasDoc;
}

// The formats the documents use. Deliberately plain checks: what a generated client would accept.
const FORMATS: Record<string, RegExp | ((s: string) => boolean)> = {
  email: /^[^\s@]+@[^\s@]+$/,
  "date-time": (s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)),
  uri: (s) => {
    try {
      return !!new URL(s).protocol;
    } catch {
      return false;
    }
  },
  binary: () => true,
  int64: () => true,
};

export class OasValidator {
  private ajv: Ajv2020;
  private cache = new Map<string, ValidateFunction>();
  constructor(readonly doc: OasDoc, private id = "https://schemas.sendmux.test/oas.json") {
    // strict off: the document carries OpenAPI keywords (example, discriminator…) that are not JSON Schema.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    for (const [name, f] of Object.entries(FORMATS)) this.ajv.addFormat(name, f);
    this.ajv.addSchema({ $id: id, components: doc.components }, id);
  }

  /** Every documented (path, method, status) of the document. */
  operations(): Array<{ path: string; method: string; status: string }> {
    const out: Array<{ path: string; method: string; status: string }> = [];
    for (const [path, item] of Object.entries(this.doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op || typeof op !== "object" || !("responses" in op)) continue;
        for (const status of Object.keys(op.responses)) out.push({ path, method, status });
      }
    }
    return out;
  }

  /**
   * Problems with a response (empty when it conforms): the status must be documented for the
   * operation; a documented JSON body must validate; a documented empty body must be empty.
   */
  check(path: string, method: string, status: number, body: string): string[] {
    const op = this.doc.paths[path]?.[method];
    if (!op) return [`${method.toUpperCase()} ${path} is not in the document`];
    const resp = op.responses[String(status)];
    if (!resp) return [`${method.toUpperCase()} ${path} does not document status ${status} (documented: ${Object.keys(op.responses).join(", ")})`];
    const schema = resp.content?.["application/json"]?.schema;
    if (!schema) return body.length === 0 ? [] : [`status ${status} documents no body, got ${body.length} bytes`];
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return [`status ${status} body is not JSON: ${body.slice(0, 200)}`];
    }
    const key = `${path} ${method} ${status}`;
    let v = this.cache.get(key);
    if (!v) {
      // Re-root the response schema beside the components so its #/components/… refs resolve.
      v = this.ajv.compile(this.rooted(schema));
      this.cache.set(key, v);
    }
    if (v(value)) return [];
    return (v.errors ?? []).map((e) => `${e.instancePath || "(body)"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
  }

  /** A schema whose `#/components/...` refs point into the registered document. */
  private rooted(schema: object): object {
    return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${this.id}#/components/`));
  }

  /** A named component schema, compiled. */
  component(name: string): ValidateFunction {
    return this.ajv.compile(this.rooted({ $ref: `#/components/schemas/${name}` }));
  }
}
