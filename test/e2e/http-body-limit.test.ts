/**
 * The 25 MB request limit (SPEC "Sending"): enforced while reading, with the documented 413
 * envelope, for a declared Content-Length and for a chunked body; a body at the limit is accepted
 * and its attachment delivered byte for byte.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { pycheck } from "../helpers/cases.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const LIMIT = 26_214_400;
let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop();
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  json: any;
  /** Request body bytes written before the response arrived. */
  sent: number;
}

/**
 * Speaks HTTP/1.1 on a socket: writes the head, then body chunks from `next` (null ends the
 * body) for as long as no response has arrived, and resolves with the response and what was
 * written by then.
 */
function rawRequest(head: string, next: () => Buffer | null): Promise<RawResponse> {
  const url = new URL(g.base);
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(Number(url.port), url.hostname);
    let got = Buffer.alloc(0);
    let sent = 0;
    let answered = false;
    const finish = (r: RawResponse | Error) => {
      sock.destroy();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const pump = () => {
      while (!answered) {
        const chunk = next();
        if (chunk === null) return;
        sent += chunk.length;
        if (!sock.write(chunk)) return void sock.once("drain", pump);
      }
    };
    sock.on("data", (d: Buffer) => {
      answered = true;
      got = Buffer.concat([got, d]);
      const end = got.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = got.subarray(0, end).toString("latin1").split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
      const len = Number(headers["content-length"] ?? -1);
      const body = got.subarray(end + 4);
      if (len >= 0 && body.length < len) return;
      finish({ status: Number(lines[0]!.split(" ")[1]), headers, json: JSON.parse(body.subarray(0, len).toString("utf8")), sent });
    });
    sock.on("error", (e) => (answered ? undefined : finish(e)));
    sock.on("close", () => finish(new Error(`connection closed after ${sent} bytes without a complete response`)));
    sock.on("connect", () => {
      sock.write(head);
      pump();
    });
  });
}

function head(path: string, extra: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${g.token}\r\nContent-Type: application/json\r\n${extra}\r\n`;
}

function expect413(r: RawResponse) {
  expect(r.status).toBe(413);
  expect(r.json.ok).toBe(false);
  expect(r.json.error.code).toBe("payload_too_large");
  expect(r.json.error.message).toContain("25 MB");
  expect(r.json.meta.request_id).toBe(r.headers["x-request-id"]);
}

for (const path of ["/api/v1/emails/send", "/api/v1/emails/send/batch"]) {
  test(`${path}: a Content-Length over 25 MB is refused before any of the body is sent`, async () => {
    // 10 GB too: the answer is ours (the envelope), not the HTTP server's bare 413.
    for (const length of [LIMIT + 1, 70_000_000, 10_000_000_000]) {
      const r = await rawRequest(head(path, `Content-Length: ${length}\r\n`), () => null);
      expect413(r);
      expect(r.sent).toBe(0);
    }
  });
}

test("a chunked body that never ends gets 413 soon after it passes 25 MB (it is not buffered)", async () => {
  const chunk = Buffer.alloc(64 * 1024, "a");
  const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
  const opener = Buffer.from('4\r\n{"a"\r\n');
  let first = true;
  const r = await rawRequest(head("/api/v1/emails/send", "Transfer-Encoding: chunked\r\n"), () => {
    if (first) return (first = false), opener;
    return framed; // forever: only the gateway's answer stops it
  });
  expect413(r);
  expect(r.sent).toBeGreaterThan(LIMIT);
  // Socket buffers hold a few MB; the gateway's own 64 MB backstop was never reached.
  expect(r.sent).toBeLessThan(LIMIT + 16 * 1024 * 1024);
}, 60_000);

/** A send body of exactly `size` bytes holding one attachment of random bytes. */
function bodyOfSize(size: number): { body: Buffer; sha256: string } {
  const shell = (content: string, pad: string) =>
    `{"from":{"email":"sender@example.com"},"to":{"email":"alice@example.net"},"subject":"Big","text_body":"see attachment",` +
    `"attachments":[{"filename":"big.bin","type":"application/octet-stream","content":"${content}"}]${pad}}`;
  const overhead = shell("", "").length;
  const bytes = Math.floor((size - overhead) / 4) * 3;
  const data = randomBytes(bytes);
  const content = data.toString("base64");
  const body = Buffer.from(shell(content, " ".repeat(size - overhead - content.length)));
  return { body, sha256: createHash("sha256").update(data).digest("hex") };
}

test("a body of exactly 25 MB is accepted and its attachment delivered intact; one byte more is 413", async () => {
  const { body, sha256 } = bodyOfSize(LIMIT);
  expect(body.length).toBe(LIMIT);
  const over = await g.api("POST", "/api/v1/emails/send", Buffer.concat([body.subarray(0, -1), Buffer.from(" }")]));
  expect(over.status).toBe(413);
  expect(over.json.error.code).toBe("payload_too_large");

  const r = await g.api("POST", "/api/v1/emails/send", body);
  expect(r.status).toBe(200);
  const id = r.json.data.message_id;
  expect((await g.settle(id, undefined, 60_000)).status).toBe("sent");
  const raw = await g.captured(id);
  expect(await pycheck(raw, ["parses_cleanly", "crlf_only", "line_length_max:998", `attachment:${JSON.stringify({ filename: "big.bin", sha256 })}`])).toEqual([]);
}, 120_000);
