import { expect, test } from "bun:test";
import { withRoutableUrl } from "../../src/server.ts";
import { afterAll, beforeAll } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect } from "node:net";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

test("a request with a short Host header is still routed (Elysia reads the path from index 11)", async () => {
  for (const host of ["x", "ab", "api", "a:1"]) {
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(new URL(g.base).port), "127.0.0.1", () => {
        s.write(`GET /api/v1/emails/eml_aaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${g.token}\r\nConnection: close\r\n\r\n`);
      });
      let buf = "";
      s.on("data", (d) => (buf += d.toString()));
      s.on("end", () => resolve(buf));
      s.on("error", reject);
    });
    // The message does not exist: a 404 from the route itself names the message, not the endpoint.
    expect(reply).toContain("message eml_aaaaaaaaaaaaaaaaaaaaaaaa was not found");
  }
  expect(withRoutableUrl(new Request("http://localhost:8080/x")).url).toBe("http://localhost:8080/x");
});
