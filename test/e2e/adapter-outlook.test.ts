/**
 * The outlook_api adapter against a local Entra token endpoint and Graph (test/helpers/fake-graph.ts):
 * MSAL and fetch run unchanged with only authority_url and graph_base_url pointed there.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { simpleParser } from "mailparser";
import nodemailer from "nodemailer";
import { MAX_IN_FLIGHT, MAX_REQUEST_BYTES, OutlookAdapter } from "../../src/providers/outlook.ts";
import type { OutgoingMessage, ProviderSnapshot } from "../../src/providers/types.ts";
import { startFakeGraph, type FakeGraph } from "../helpers/fake-graph.ts";
import { freePort } from "../helpers/net.ts";

setDefaultTimeout(60_000);

let fg: FakeGraph;
const SENDER = "sender@contoso.example";
beforeAll(async () => {
  fg = await startFakeGraph({ mailboxes: [SENDER, "other@contoso.example"] });
});
afterAll(async () => {
  await fg.stop();
});
beforeEach(() => {
  fg.delivered.length = 0;
  fg.requests.length = 0;
  fg.maxInFlight.clear();
  fg.maxRequestBytes = 0;
  fg.delayMs = 0;
  fg.invalidRecipients.clear();
  fg.deniedMailboxes.clear();
});

function snap(over: Record<string, unknown> = {}): ProviderSnapshot {
  return {
    record: { id: "dprov_test", type: "outlook_api", version: 1 } as unknown as ProviderSnapshot["record"],
    secrets: { config: { tenant_id: fg.tenant, client_id: fg.clientId, client_secret: fg.clientSecret, sender: SENDER, graph_base_url: fg.graphBase, authority_url: fg.authority, ...over } },
  };
}

async function build(opts: { to?: string; cc?: string; subject?: string; text?: string; attachments?: Array<{ filename: string; content: Buffer; contentType?: string; cid?: string }> } = {}): Promise<Buffer> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "\r\n" });
  const info = await t.sendMail({ from: `Sam <${SENDER}>`, to: opts.to ?? "alice@example.net", cc: opts.cc, subject: opts.subject ?? "hello", text: opts.text ?? "hi there", attachments: opts.attachments });
  return info.message as Buffer;
}

function msg(raw: Buffer, to: string[]): OutgoingMessage {
  return { id: "eml_test", accountId: "acc", envelope: { from: SENDER, to }, raw, now: Date.now(), from: SENDER, to, subject: "hello" };
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("sending", () => {
  test("a message goes out through sendMail as base64 MIME (text/plain), 202 only; the token is fetched once and reused", async () => {
    const a = new OutlookAdapter(snap());
    const before = fg.tokenRequests;
    for (let i = 0; i < 3; i++) {
      const r = await a.send(msg(await build({ subject: `n${i}` }), ["alice@example.net"]));
      expect(r).toMatchObject({ ok: true });
      expect(r.response).toContain("202 Accepted");
    }
    expect(fg.tokenRequests - before).toBe(1);
    const sends = fg.requests.filter((q) => q.path === `/v1.0/users/${encodeURIComponent(SENDER)}/sendMail`);
    expect(sends).toHaveLength(3);
    for (const s of sends) {
      expect(s.contentType).toMatch(/^text\/plain/);
      expect(s.authorization).toMatch(/^Bearer ey/);
    }
    expect(fg.delivered).toHaveLength(3);
    const p = await simpleParser(fg.delivered[2]!.raw);
    expect(p.subject).toBe("n2");
    expect(p.text?.trim()).toBe("hi there");
    expect(fg.delivered[2]!.envelope.to).toEqual(["alice@example.net"]);
    await a.close();
  });

  test("envelope-only recipients receive it through a Bcc field Graph takes; the delivered copy shows no Bcc", async () => {
    const a = new OutlookAdapter(snap());
    const r = await a.send(msg(await build({ to: "alice@example.net", cc: "bob@example.net" }), ["alice@example.net", "bob@example.net", "hidden@example.org", "hidden2@example.org"]));
    expect(r.ok).toBe(true);
    const d = fg.delivered[0]!;
    expect(d.envelope.to.sort()).toEqual(["alice@example.net", "bob@example.net", "hidden2@example.org", "hidden@example.org"]);
    expect(d.raw.toString("latin1")).not.toMatch(/^bcc:/im);
    expect(d.raw.toString("latin1")).not.toContain("hidden");
    const p = await simpleParser(d.raw);
    expect(p.bcc).toBeUndefined();
  });

  test("a To address left out of the envelope is refused (Graph would deliver to it), nothing is sent", async () => {
    const a = new OutlookAdapter(snap());
    const r = await a.send(msg(await build({ to: "alice@example.net, carol@example.net" }), ["alice@example.net"]));
    expect(r).toMatchObject({ ok: false, class: "permanent_recipient" });
    expect(r.response).toContain("carol@example.net");
    expect(fg.delivered).toHaveLength(0);
    expect(fg.requests).toHaveLength(0);
  });

  test("over 4 MB: a draft without the big attachment, an upload session in ranges (no Authorization, Content-Range), then send; no request over 4 MB", async () => {
    const big = Buffer.alloc(3_600_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const small = Buffer.from("a small note that stays in the MIME\r\n".repeat(100));
    const a = new OutlookAdapter(snap());
    const raw = await build({ attachments: [{ filename: "big.bin", content: big, contentType: "application/octet-stream" }, { filename: "note.txt", content: small, contentType: "text/plain" }] });
    expect(Math.ceil(raw.length / 3) * 4).toBeGreaterThan(MAX_REQUEST_BYTES);
    const r = await a.send(msg(raw, ["alice@example.net"]));
    expect(r).toMatchObject({ ok: true });
    expect(fg.maxRequestBytes).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    const paths = fg.requests.map((q) => `${q.method} ${q.path.replace(/AAMk[^/]+/, "{id}").replace(/Sessions\/[^/]+/, "Sessions/{sid}")}`);
    const u = `/v1.0/users/${encodeURIComponent(SENDER)}`;
    expect(paths[0]).toBe(`POST ${u}/messages`);
    expect(paths[1]).toBe(`POST ${u}/messages/{id}/attachments/createUploadSession`);
    const puts = fg.requests.filter((q) => q.method === "PUT");
    expect(puts.length).toBe(2);
    for (const p of puts) {
      expect(p.authorization).toBeNull();
      expect(p.contentType).toBe("application/octet-stream");
      expect(p.contentRange).toMatch(/^bytes \d+-\d+\/3600000$/);
    }
    expect(paths.at(-1)).toBe(`POST ${u}/messages/{id}/send`);
    expect(fg.requests.some((q) => q.path.endsWith("/sendMail"))).toBe(false);
    expect(fg.delivered).toHaveLength(1);
    expect(fg.delivered[0]!.via).toBe("draft");
    const p = await simpleParser(fg.delivered[0]!.raw);
    const got = Object.fromEntries(p.attachments.map((x) => [x.filename, sha(x.content)]));
    expect(got["big.bin"]).toBe(sha(big));
    expect(got["note.txt"]).toBe(sha(small));
    expect(p.text?.trim()).toBe("hi there");
    expect(fg.drafts.size).toBe(0);
  });

  test("a failed upload deletes the draft and reports the step", async () => {
    const big = Buffer.alloc(3_500_000, 1);
    fg.fail({ when: (m) => m === "PUT", status: 500, body: { error: { code: "InternalServerError", message: "boom" } }, times: 10 });
    const a = new OutlookAdapter(snap());
    const r = await a.send(msg(await build({ attachments: [{ filename: "big.bin", content: big }] }), ["alice@example.net"]));
    expect(r).toMatchObject({ ok: false, class: "transient" });
    expect(r.response).toContain("uploading big.bin");
    expect(fg.requests.some((q) => q.method === "DELETE")).toBe(true);
    expect(fg.drafts.size).toBe(0);
    expect(fg.delivered).toHaveLength(0);
  });

  test(`at most ${MAX_IN_FLIGHT} requests in flight per mailbox, whatever the number of sends at once`, async () => {
    fg.delayMs = 150;
    const a = new OutlookAdapter(snap());
    const b = new OutlookAdapter(snap()); // a second provider for the same mailbox shares the limit
    const raw = await build();
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).send(msg(raw, ["alice@example.net"]))));
    expect(all.every((r) => r.ok)).toBe(true);
    expect(fg.maxInFlight.get(SENDER)).toBe(MAX_IN_FLIGHT);
  });

  test("429 with Retry-After is waited out, then sent; the wait holds the mailbox's other sends too", async () => {
    fg.fail({ when: (m, p) => p.endsWith("/sendMail"), status: 429, headers: { "retry-after": "1" }, body: { error: { code: "ApplicationThrottled", message: "Application is over its MailboxConcurrency limit." } } });
    const a = new OutlookAdapter(snap());
    const t0 = Date.now();
    const r = await a.send(msg(await build(), ["alice@example.net"]));
    expect(r.ok).toBe(true);
    const sends = fg.requests.filter((q) => q.path.endsWith("/sendMail"));
    expect(sends).toHaveLength(2);
    expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  test("503 without Retry-After is retried with backoff", async () => {
    fg.fail({ when: (m, p) => p.endsWith("/sendMail"), status: 503, body: { error: { code: "ServiceUnavailable", message: "Service Unavailable" } } });
    const r = await new OutlookAdapter(snap()).send(msg(await build(), ["alice@example.net"]));
    expect(r.ok).toBe(true);
    expect(fg.delivered).toHaveLength(1);
  });

  test("a 429 asking for an hour is a quota block, not waited for inside the send", async () => {
    fg.fail({ when: (m, p) => p.endsWith("/sendMail"), status: 429, headers: { "retry-after": "3600" }, body: { error: { code: "ApplicationThrottled", message: "Application is over its MailboxConcurrency limit." } } });
    const r = await new OutlookAdapter(snap()).send(msg(await build(), ["alice@example.net"]));
    expect(r).toMatchObject({ ok: false, class: "quota" });
    expect(r.response).toContain("3600");
  });

  test("a revoked token gets one fresh token and the send goes through", async () => {
    const a = new OutlookAdapter(snap());
    expect((await a.send(msg(await build(), ["alice@example.net"]))).ok).toBe(true);
    fg.revokeTokens();
    const before = fg.tokenRequests;
    expect((await a.send(msg(await build(), ["alice@example.net"]))).ok).toBe(true);
    expect(fg.tokenRequests - before).toBe(1);
  });
});

describe("failures are classified from what the endpoints answer", () => {
  test("wrong client secret: MSAL invalid_client → auth_config, with AADSTS7000215 and no secret in the text", async () => {
    const r = await new OutlookAdapter(snap({ client_secret: "wrong-secret-value" })).send(msg(await build(), ["alice@example.net"]));
    expect(r).toMatchObject({ ok: false, class: "auth_config" });
    expect(r.response).toContain("invalid_client");
    expect(r.response).toContain("AADSTS7000215");
    expect(r.response).not.toContain("wrong-secret-value");
  });

  test("unknown app: unauthorized_client → auth_config; unknown tenant → auth_config", async () => {
    const r1 = await new OutlookAdapter(snap({ client_id: "00000000-0000-0000-0000-000000000000" })).send(msg(await build(), ["alice@example.net"]));
    expect(r1).toMatchObject({ ok: false, class: "auth_config" });
    expect(r1.response).toContain("unauthorized_client");
    const r2 = await new OutlookAdapter(snap({ authority_url: `${fg.graphBase}/no-such-tenant` })).send(msg(await build(), ["alice@example.net"]));
    expect(r2).toMatchObject({ ok: false, class: "auth_config" });
    expect(r2.response).toContain("AADSTS90002");
  });

  test("token endpoint unreachable → connection; Graph unreachable → connection", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r1 = await new OutlookAdapter(snap({ authority_url: `${dead}/t` })).send(msg(await build(), ["alice@example.net"]));
    expect(r1).toMatchObject({ ok: false, class: "connection" });
    const r2 = await new OutlookAdapter(snap({ graph_base_url: dead })).send(msg(await build(), ["alice@example.net"]));
    expect(r2).toMatchObject({ ok: false, class: "connection" });
    expect(r2.response).toContain("could not reach Microsoft Graph");
  });

  test("403 ErrorAccessDenied (access policy excludes the mailbox) → auth_config naming Mail.Send", async () => {
    fg.deniedMailboxes.add(SENDER);
    const r = await new OutlookAdapter(snap()).send(msg(await build(), ["alice@example.net"]));
    expect(r).toMatchObject({ ok: false, class: "auth_config", code: "ErrorAccessDenied" });
    expect(r.response).toContain("Mail.Send");
  });

  test("400 ErrorInvalidRecipients → permanent_recipient", async () => {
    fg.invalidRecipients.add("nobody@example.net");
    const r = await new OutlookAdapter(snap()).send(msg(await build({ to: "nobody@example.net" }), ["nobody@example.net"]));
    expect(r).toMatchObject({ ok: false, class: "permanent_recipient", code: "ErrorInvalidRecipients" });
  });

  test("sender that is not a mailbox: 404 ErrorInvalidUser → auth_config", async () => {
    const r = await new OutlookAdapter(snap({ sender: "ghost@contoso.example" })).send(msg(await build(), ["alice@example.net"]));
    expect(r).toMatchObject({ ok: false, class: "auth_config", code: "ErrorInvalidUser" });
  });

  test("ErrorSubmissionQuotaExceeded → quota", async () => {
    fg.fail({ status: 403, body: { error: { code: "ErrorSubmissionQuotaExceeded", message: "Cannot send mail. The mailbox has exceeded its submission quota." } } });
    const r = await new OutlookAdapter(snap()).send(msg(await build(), ["alice@example.net"]));
    expect(r).toMatchObject({ ok: false, class: "quota" });
  });
});

describe("verify (/test)", () => {
  test("gets a token and finds the mailbox, sends nothing", async () => {
    const v = await new OutlookAdapter(snap()).verify();
    expect(v.success).toBe(true);
    expect(v.message).toContain("Mail.Send");
    expect(v.message).toContain(SENDER);
    expect(fg.delivered).toHaveLength(0);
    expect(fg.requests.map((r) => r.method)).toEqual(["GET"]);
  });

  test("a wrong secret fails with the Entra reason", async () => {
    const v = await new OutlookAdapter(snap({ client_secret: "nope" })).verify();
    expect(v.success).toBe(false);
    expect(v.message).toContain("invalid_client");
  });

  test("an unknown mailbox fails", async () => {
    const v = await new OutlookAdapter(snap({ sender: "ghost@contoso.example" })).verify();
    expect(v.success).toBe(false);
    expect(v.message).toContain("Request_ResourceNotFound");
  });

  test("a token without Mail.Send fails; an app that may not read users still passes on its token", async () => {
    const noSend = await startFakeGraph({ roles: ["User.Read.All"] });
    const noRead = await startFakeGraph({ userRead: false });
    try {
      const cfg = (f: FakeGraph) => ({ record: snap().record, secrets: { config: { tenant_id: f.tenant, client_id: f.clientId, client_secret: f.clientSecret, sender: SENDER, graph_base_url: f.graphBase, authority_url: f.authority } } });
      const v1 = await new OutlookAdapter(cfg(noSend)).verify();
      expect(v1.success).toBe(false);
      expect(v1.message).toContain("no Mail.Send");
      const v2 = await new OutlookAdapter(cfg(noRead)).verify();
      expect(v2.success).toBe(true);
      expect(v2.message).toContain("User.Read.All");
    } finally {
      await noSend.stop();
      await noRead.stop();
    }
  });
});
