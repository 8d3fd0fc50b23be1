import { afterAll, beforeAll, expect, test } from "bun:test";
import { simpleParser } from "mailparser";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

test("an API send is stored, delivered to the capture outbox and reported sent", async () => {
  const r = await g.api("POST", "/api/v1/emails/send", {
    from: { email: "sender@example.com", name: "Sam Sender" },
    to: { email: "alice@example.net" },
    bcc: [{ email: "hidden@example.org" }],
    subject: "Hello",
    text_body: "line one\nline two",
    html_body: "<p>hi</p>",
  });
  expect(r.status).toBe(200);
  expect(r.headers.get("x-request-id")).toMatch(/^req_[a-z0-9]{24}$/);
  expect(r.json.data.status).toBe("queued");
  expect(r.json.data.message_id).toMatch(/^eml_[a-z0-9]{24}$/);
  const id = r.json.data.message_id;
  const view = await g.settle(id);
  expect(view.status).toBe("sent");
  expect(view.provider_id).toBe(g.captureId);
  expect(view.attempts).toHaveLength(1);
  const raw = await g.captured(id);
  const parsed = await simpleParser(raw);
  expect(parsed.subject).toBe("Hello");
  expect(parsed.text?.trim()).toBe("line one\nline two");
  expect(parsed.headers.has("bcc")).toBe(false);
  expect(raw.toString("latin1")).not.toMatch(/hidden@example\.org/);
  const list = await g.api("GET", `/api/v1/providers/${g.captureId}/outbox`);
  const item = list.json.data.find((x: any) => x.message_id === id);
  expect(item.envelope.to.sort()).toEqual(["alice@example.net", "hidden@example.org"]);
});

test("a subject of only spaces is delivered as given, single and batch (the contract's minLength 1 accepts it)", async () => {
  const msg = { from: { email: "sender@example.com" }, to: { email: "alice@example.net" }, subject: "   ", text_body: "hi", custom_headers: { "X-Empty": "" } };
  const one = await g.api("POST", "/api/v1/emails/send", msg);
  expect(one.status).toBe(200);
  const batch = await g.api("POST", "/api/v1/emails/send/batch", { messages: [msg, { ...msg, subject: "\t" }] });
  expect(batch.status).toBe(200);
  const sent: Array<[string, string]> = [
    [one.json.data.message_id, "   "],
    [batch.json.data.results[0].message_id, "   "],
    [batch.json.data.results[1].message_id, "\t"],
  ];
  for (const [id, subject] of sent) {
    const view = await g.settle(id);
    expect(view.status).toBe("sent");
    expect(view.subject).toBe(subject);
    const head = (await g.captured(id)).toString("latin1").split("\r\n\r\n")[0]!;
    expect(head).toContain(`\r\nSubject: ${subject}\r\n`);
    expect(head).toContain("\r\nX-Empty:\r\n");
  }
});
