import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { startTestRedis } from "../helpers/redis.ts";
import { expectCode, loginClient, SmtpClient } from "../helpers/smtp-client.ts";

/** Redis unreachable: the relay answers 451 4.3.0 (try again), never 250 and never a crash. */

let redis: Awaited<ReturnType<typeof startTestRedis>>;
let g: TestGateway;
beforeAll(async () => {
  redis = await startTestRedis();
  g = await startTestGateway({ redisUrl: redis.url });
});
afterAll(async () => {
  SmtpClient.closeAll();
  await g?.stop();
  await redis?.stop();
});

test("with Redis gone, the end of DATA and a fresh AUTH get 451 4.3.0; the connection stays usable", async () => {
  const c = await loginClient(g.smtpsPort, g.token, { tls: "implicit" });
  expectCode(await c.command("MAIL FROM:<sender@example.com>"), 250);
  expectCode(await c.command("RCPT TO:<alice@example.net>"), 250);
  expectCode(await c.command("DATA"), 354);
  await redis.server.stop();

  const t0 = Date.now();
  const r = await c.command("Subject: while redis is down\r\n\r\nx\r\n.", 20_000);
  expect(r !== "closed" && r.text).toStartWith("451 4.3.0 ");
  expect(Date.now() - t0).toBeLessThan(15_000);
  expect((await c.command("NOOP")) !== "closed").toBe(true);

  const fresh = await SmtpClient.connect(g.smtpsPort, { tls: true });
  expectCode(await fresh.command("EHLO client.example.com"), 250);
  const auth = await fresh.command(`AUTH PLAIN ${Buffer.from(`\0u\0smx_${"k".repeat(40)}`).toString("base64")}`, 20_000);
  expect(auth !== "closed" && auth.text).toStartWith("451 4.3.0 ");
  expectCode(await fresh.command("QUIT"), 221);
  c.close();
}, 60_000);
