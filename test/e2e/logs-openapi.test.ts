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
    // Only `search` differs: it says (EXT) everything the gateway searches, beyond the reference's list.
    const plain = (params: any[]) => params.map((x) => (x.name === "search" ? { ...x, schema: { ...x.schema, description: undefined }, "x-sendmux-ext": undefined } : x));
    expect(plain(mine.parameters ?? []), p).toEqual(plain(theirs.parameters ?? []));
    for (const status of Object.keys(theirs.responses)) expect(mine.responses[status], `${p} ${status}`).toBeDefined();
  }
  for (const [name, schema] of Object.entries(logSchemas)) expect(schema, name).toEqual(ref.components.schemas[name]);
});

test("`search` is described as what the code searches (docs/logs.md): Cc, envelope addresses, eml_/dlog_ ids", () => {
  const search = doc.paths["/emails/logs"].get.parameters.find((x: any) => x.name === "search");
  expect(search["x-sendmux-ext"]).toBe(true);
  const d: string = search.schema.description;
  expect(d).toStartWith(ref.paths["/emails/logs"].get.parameters.find((x: any) => x.name === "search").schema.description);
  for (const what of ["case-insensitive", "From, To and Cc", "envelope sender and recipients", "subject", "Message-ID", "eml_", "dlog_", "200 characters"]) expect(d).toContain(what);
});
