/**
 * The same message through each of the five provider types (issue 4, "Testing against real
 * things"): smtp (a local smtp-server sink), capture (the gateway's own outbox, read back through
 * the API), gmail_api (@googleapis/gmail against test/helpers/fake-google.ts), outlook_api (MSAL and
 * Graph against test/helpers/fake-graph.ts) and amazon_ses (@aws-sdk/client-sesv2 against
 * aws-ses-v2-local, with the recorder of test/helpers/ses-local.ts in front of it). Each provider
 * has a send key scoped to it alone, so the key decides the type.
 *
 * Two messages go through every type: one built by the HTTP API (text + HTML, Unicode subject and
 * display names, to/cc/bcc, an X- header, List-Unsubscribe(-Post), an inline image with a
 * Content-ID and a PDF), and one hand-written .eml relayed over SMTP (its own Message-ID and Date,
 * a Bcc header, 8-bit text, a folded List-Unsubscribe). What each provider received is parsed with
 * mailparser and compared: Message-ID, Date, From, To, Cc, Subject, custom headers, decoded text
 * and HTML, attachments (filename, type, sha256, inline, Content-ID), the top-level header fields
 * in order, and the recipients the provider was asked to deliver to.
 *
 * What legitimately differs, and how it is read:
 * - Recipients. smtp: RCPT TO; capture: the outbox envelope; amazon_ses: the SendEmail
 *   Destination; gmail_api and outlook_api have no envelope — Gmail and Exchange deliver to the
 *   To, Cc and Bcc header fields and strip Bcc from the delivered copy, so those adapters add a
 *   `Bcc:` field naming the envelope-only recipients to the copy they hand over. The comparison
 *   uses the copy recipients get (the fakes strip Bcc as the services do) and checks that the Bcc
 *   handed to Gmail names exactly the bcc recipient.
 * - Transfer encoding. The smtp adapter makes 8-bit parts 7-bit safe (quoted-printable/base64)
 *   for upstreams without 8BITMIME, so its bytes differ for the relayed 8-bit message; the decoded
 *   text, HTML and attachments must not.
 * - Headers the real services add on delivery (Gmail: Received, X-Gm-*, X-Google-*; Graph /
 *   Exchange: Received, X-MS-Exchange-*, Thread-Index, X-MS-Has-Attach and friends; SES:
 *   X-SES-Outgoing, Feedback-ID, its DKIM-Signature, and a Message-ID of its own
 *   `<MessageId@region.amazonses.com>` once the message leaves SES) are not produced by the local
 *   peers, which record what the adapter handed over; the header comparison below therefore
 *   allows no additions at all on the recipients' copies. Were they present, they would be the
 *   ones to drop before comparing.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { simpleParser, type AddressObject, type ParsedMail } from "mailparser";
import { startFakeGoogle, type FakeGoogle } from "../helpers/fake-google.ts";
import { startFakeGraph, type FakeGraph } from "../helpers/fake-graph.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/net.ts";
import { createProvider, createSmtpProvider, relaySubmit, scopedKey, sendWith } from "../helpers/providers.ts";
import { startSesLocal, type SesLocal } from "../helpers/ses-local.ts";
import { startSink, type Sink } from "../helpers/sink.ts";

setDefaultTimeout(120_000);

const TYPES = ["smtp", "capture", "gmail_api", "outlook_api", "amazon_ses"] as const;
type Type = (typeof TYPES)[number];

const SENDER = "billing@example.com";
const RECIPIENTS = ["alice@example.net", "bob@example.net", "carol@example.net", "audit@example.org"];
const BCC = "audit@example.org";

let g: TestGateway;
let sink: Sink;
let google: FakeGoogle;
let graph: FakeGraph;
let ses: SesLocal;
const providers = {} as Record<Type, { id: string; token: string }>;

beforeAll(async () => {
  [g, sink, google, graph, ses] = await Promise.all([startTestGateway(), startSink(), startFakeGoogle(), startFakeGraph({ mailboxes: [SENDER] }), startSesLocal()]);
  google.addClient("same-client.apps.googleusercontent.com", "same-secret");
  google.addRefreshToken("1//same-refresh", { clientId: "same-client.apps.googleusercontent.com", mailbox: SENDER });

  const ids: Record<Type, string> = {
    smtp: await createSmtpProvider(g, sink.port, { name: "same smtp" }),
    capture: await createProvider(g, { type: "capture", name: "same capture" }),
    gmail_api: await createProvider(g, {
      type: "gmail_api",
      name: "same gmail",
      config: { client_id: "same-client.apps.googleusercontent.com", client_secret: "same-secret", refresh_token: "1//same-refresh", token_url: google.tokenUrl, api_base_url: google.url },
    }),
    outlook_api: await createProvider(g, {
      type: "outlook_api",
      name: "same m365",
      config: { tenant_id: graph.tenant, client_id: graph.clientId, client_secret: graph.clientSecret, sender: SENDER, graph_base_url: graph.graphBase, authority_url: graph.authority },
    }),
    amazon_ses: await createProvider(g, {
      type: "amazon_ses",
      name: "same ses",
      config: { region: "eu-west-1", access_key_id: "AKIAIOSFODNN7EXAMPLE", secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", endpoint: ses.endpoint },
    }),
  };
  for (const t of TYPES) providers[t] = { id: ids[t], token: await scopedKey(g, [ids[t]]) };
});

afterAll(async () => {
  await g?.stop();
  await sink?.close();
  await google?.close();
  await graph?.stop();
  await ses?.stop();
});

// ------------------------------------------------------------------ what each provider received

interface Received {
  /** The copy the recipients get (for Gmail and Graph: after the service removed Bcc). */
  delivered: Buffer;
  /** The bytes the adapter handed over, where the peer shows them. */
  handed: Buffer | null;
  /** Whom the provider was asked to deliver to, lower-cased and sorted. */
  recipients: string[];
  /** The envelope sender, where the provider takes one (SMTP MAIL FROM, outbox, SES FromEmailAddress). */
  envelopeFrom: string | null;
}

/** The Message-ID field of a raw message, as written (with <>). */
function rawMessageId(raw: Buffer): string | null {
  const head = raw.toString("latin1").split(/\r?\n\r?\n/, 1)[0]!.replace(/\r?\n(?=[ \t])/g, "");
  return /^message-id:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? null;
}

const sorted = (a: string[]) => [...new Set(a.map((x) => x.toLowerCase()))].sort();

/** Waits for the peer to record `messageId`; on a timeout says which Message-IDs it did get (a replaced one shows there). */
async function arrival<T>(type: Type, messageId: string, seen: () => Array<{ raw: Buffer }>, pick: (x: { raw: Buffer }) => T): Promise<T> {
  try {
    const hit = await waitFor(() => seen().find((x) => rawMessageId(x.raw) === messageId), `${type} to receive ${messageId}`);
    return pick(hit);
  } catch (e) {
    throw new Error(`${(e as Error).message}; it received Message-IDs ${JSON.stringify(seen().map((x) => rawMessageId(x.raw)))}`);
  }
}

async function receivedBy(type: Type, emlId: string, messageId: string): Promise<Received> {
  switch (type) {
    case "smtp": {
      const m = await arrival(type, messageId, () => sink.messages, (x) => x as (typeof sink.messages)[number]);
      return { delivered: m.raw, handed: m.raw, recipients: sorted(m.to), envelopeFrom: m.from };
    }
    case "capture": {
      // Read back through the API, as a user would: the outbox item (envelope) and its raw bytes.
      const list = await g.api("GET", `/api/v1/providers/${providers.capture.id}/outbox?limit=100`);
      expect(list.status).toBe(200);
      const item = (list.json.data as Array<{ message_id: string; envelope: { from: string; to: string[] } }>).find((x) => x.message_id === emlId);
      expect(item).toBeDefined();
      const res = await fetch(`${g.base}/api/v1/providers/${providers.capture.id}/outbox/${emlId}`, { headers: { authorization: `Bearer ${g.token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("message/rfc822");
      const raw = Buffer.from(await res.arrayBuffer());
      return { delivered: raw, handed: raw, recipients: sorted(item!.envelope.to), envelopeFrom: item!.envelope.from };
    }
    case "gmail_api": {
      const s = await arrival(type, messageId, () => google.sent, (x) => x as (typeof google.sent)[number]);
      expect(s.mailbox).toBe(SENDER);
      return { delivered: s.delivered, handed: s.raw, recipients: sorted(s.recipients), envelopeFrom: null };
    }
    case "outlook_api": {
      const d = await arrival(type, messageId, () => graph.delivered, (x) => x as (typeof graph.delivered)[number]);
      expect(d.via).toBe("sendMail");
      expect(d.envelope.from).toBe(SENDER);
      // The fake keeps only the delivered copy; its recipients are the To, Cc and Bcc fields of the
      // MIME the adapter posted, so the bcc recipient shows here only if the adapter's Bcc named it.
      return { delivered: d.raw, handed: null, recipients: sorted(d.envelope.to), envelopeFrom: null };
    }
    case "amazon_ses": {
      const c = await arrival(type, messageId, () => ses.calls, (x) => x as (typeof ses.calls)[number]);
      expect(c.status).toBe(200);
      expect(c.messageId).toBeTruthy();
      return { delivered: c.raw, handed: c.raw, recipients: sorted([...c.to, ...c.cc, ...c.bcc]), envelopeFrom: c.from ?? null };
    }
  }
}

// ------------------------------------------------------------------ what is compared

const addrs = (a: AddressObject | AddressObject[] | undefined) => (a ? (Array.isArray(a) ? a : [a]).flatMap((x) => x.value.map((v) => ({ address: v.address?.toLowerCase(), name: v.name }))) : []);
const unfold = (line: string) => line.replace(/\r?\n(?=[ \t])/g, "");
/** A header field's value: unfolded, its whitespace runs made one space (refolding is allowed). */
const fieldValue = (line: string) => unfold(line).replace(/^[^:]*:/, "").replace(/[ \t]+/g, " ").trim();
const nl = (s: string | false | undefined) => (typeof s === "string" ? s.replace(/\r\n/g, "\n").replace(/\n+$/, "") : s);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** The top-level header fields that are not MIME structure (boundaries and encodings may be redone). */
const MIME_FIELDS = new Set(["content-type", "content-transfer-encoding"]);

function summary(m: ParsedMail, raw: Buffer) {
  const top = m.headerLines.filter((h) => !MIME_FIELDS.has(h.key));
  const field = (name: string) => m.headerLines.filter((h) => h.key === name).map((h) => fieldValue(h.line));
  return {
    messageId: m.messageId,
    dateHeader: field("date"),
    date: m.date?.toISOString(),
    from: addrs(m.from),
    to: addrs(m.to),
    cc: addrs(m.cc),
    bccHeader: field("bcc"),
    subject: m.subject,
    xCampaign: field("x-campaign-ref"),
    listUnsubscribe: field("list-unsubscribe"),
    listUnsubscribePost: field("list-unsubscribe-post"),
    text: nl(m.text),
    html: nl(m.html),
    attachments: m.attachments
      .map((a) => ({ filename: a.filename, contentType: a.contentType, sha256: sha256(a.content), size: a.content.length, inline: a.contentDisposition === "inline", cid: a.cid ?? null }))
      .sort((a, b) => String(a.filename).localeCompare(String(b.filename))),
    /** The MIME tree: every Content-Type in order, without boundaries (which may be redone). */
    parts: [...raw.toString("latin1").matchAll(/^content-type:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)/gim)].map((x) => x[1]!.replace(/\r?\n(?=[ \t])/g, "").replace(/;\s*boundary="?[^";]*"?/i, "").replace(/\s+/g, " ").trim()),
    /** Every top-level field, in order, value unfolded (structured ones compared exactly this way). */
    headers: top.map((h) => `${h.key}: ${h.key === "subject" || h.key === "from" || h.key === "to" || h.key === "cc" ? "(parsed above)" : fieldValue(h.line)}`),
  };
}

const parse = (raw: Buffer) => simpleParser(raw, { keepCidLinks: true, skipTextToHtml: true, skipImageLinks: true });

/** Waits for a message to settle and checks it was sent by `type`'s provider in one attempt. */
async function sentOnce(type: Type, emlId: string) {
  const view = await g.settle(emlId, ["sent", "failed", "rejected", "canceled"], 30_000);
  expect({ type, status: view.status, attempts: view.attempts.length, provider: view.provider_id }).toEqual({ type, status: "sent", attempts: 1, provider: providers[type].id });
  expect(view.attempts[0].outcome).toBe("sent");
  return view;
}

/**
 * Sends through every type with `submit`, then checks each one's status and returns what each
 * provider received, parsed.
 */
async function throughEveryType(submit: (type: Type) => Promise<string>, messageIdOf: (view: any) => string) {
  const emlIds = {} as Record<Type, string>;
  for (const t of TYPES) emlIds[t] = await submit(t);
  const out = {} as Record<Type, { view: any; got: Received; parsed: ParsedMail; s: ReturnType<typeof summary> }>;
  for (const t of TYPES) {
    const view = await sentOnce(t, emlIds[t]);
    const got = await receivedBy(t, emlIds[t], messageIdOf(view));
    const parsed = await parse(got.delivered);
    out[t] = { view, got, parsed, s: summary(parsed, got.delivered) };
  }
  return out;
}

/** The checks both messages share. */
function expectSameEverywhere(out: Awaited<ReturnType<typeof throughEveryType>>, reference: ReturnType<typeof summary>, envelopeFrom: string) {
  for (const t of TYPES) {
    const { got, s } = out[t];
    // Everything in the recipients' copy is what the gateway was given (see the file's comment on what providers add).
    expect({ type: t, ...s }).toEqual({ type: t, ...reference });
    // Whom the provider delivers to: every envelope recipient, the bcc one included.
    expect({ type: t, recipients: got.recipients }).toEqual({ type: t, recipients: [...RECIPIENTS].sort() });
    if (got.envelopeFrom !== null) expect({ type: t, envelopeFrom: got.envelopeFrom }).toEqual({ type: t, envelopeFrom });
    // No Bcc where other recipients would see it, and the bcc address nowhere in the delivered header.
    const head = got.delivered.toString("latin1").split(/\r?\n\r?\n/, 1)[0]!;
    expect({ type: t, bcc: /^bcc[ \t]*:/im.test(head), named: head.toLowerCase().includes(BCC) }).toEqual({ type: t, bcc: false, named: false });
  }
  // What the adapters hand over: Gmail gets the bcc recipient in a Bcc field it removes (its only
  // way to deliver to an envelope-only recipient); SES and SMTP get no Bcc field at all (the
  // envelope / Destination carries it).
  const handedBcc = (t: Type) => {
    const head = unfold(out[t].got.handed!.toString("latin1").split(/\r?\n\r?\n/, 1)[0]!);
    return [...head.matchAll(/^bcc[ \t]*:(.*)$/gim)].map((m) => m[1]!.trim().toLowerCase());
  };
  expect(handedBcc("gmail_api")).toEqual([BCC]);
  for (const t of ["smtp", "capture", "amazon_ses"] as const) expect({ type: t, bcc: handedBcc(t) }).toEqual({ type: t, bcc: [] });
}

// ------------------------------------------------------------------ the messages

// A 1×1 PNG and a small PDF whose bytes cover every value (any re-encoding would show in the hash).
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const PDF = Buffer.concat([Buffer.from("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "latin1"), Buffer.from(Array.from({ length: 2048 }, (_, i) => i % 256)), Buffer.from("\n%%EOF\n")]);
const SUBJECT = "Rechnung März — 請求書 №42 ✓";
const TEXT = "Hallo Ålice,\n\nIhre Rechnung für März liegt bei. Grüße aus Köln — 東京からも。\n\n-- \nZoë";
const HTML = '<p>Hallo Ålice,</p>\n<p><img src="cid:logo.42@example.com" alt="Logo"> Ihre Rechnung für März liegt bei.</p>\n<p>Grüße aus Köln — 東京からも。</p>';
const LIST_UNSUBSCRIBE = "<mailto:unsubscribe@example.com?subject=unsubscribe>, <https://example.com/unsubscribe/opaque-token-0123456789abcdef>";
const FROM = { address: SENDER, name: "Zoë Müller, Billing" };
const TO = [
  { address: "alice@example.net", name: "Ålice Ström" },
  { address: "bob@example.net", name: "" },
];
const CC = [{ address: "carol@example.net", name: "Carol 李" }];

describe("the same message through smtp, capture, gmail_api, outlook_api and amazon_ses", () => {
  test("built by the HTTP API: same headers, bodies, attachments and recipients everywhere", async () => {
    const started = Date.now();
    const out = await throughEveryType(
      async (type) => {
        const r = await sendWith(g, providers[type].token, {
          from: { email: FROM.address, name: FROM.name },
          to: TO.map((a) => (a.name ? { email: a.address, name: a.name } : { email: a.address })),
          cc: CC.map((a) => ({ email: a.address, name: a.name })),
          bcc: [{ email: BCC }],
          subject: SUBJECT,
          text_body: TEXT,
          html_body: HTML,
          custom_headers: { "X-Campaign-Ref": "inv-2026-05 ✓ spring", "List-Unsubscribe": LIST_UNSUBSCRIBE, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
          attachments: [
            { filename: "logo.png", content: PNG.toString("base64"), type: "image/png", content_id: "logo.42@example.com" },
            { filename: "Rechnung März 0042.pdf", content: PDF.toString("base64"), type: "application/pdf" },
          ],
        });
        expect({ type, status: r.status, body: r.status === 200 ? "" : r.text }).toEqual({ type, status: 200, body: "" });
        return r.json.data.message_id as string;
      },
      (view) => view.message_id_header,
    );

    // The reference is what the input says, plus the Message-ID and Date the gateway set once.
    const ref = out.capture.s;
    expect(ref.subject).toBe(SUBJECT);
    expect(ref.from).toEqual([FROM]);
    expect(ref.to).toEqual(TO);
    expect(ref.cc).toEqual(CC);
    expect(ref.bccHeader).toEqual([]);
    expect(ref.text).toBe(TEXT);
    expect(ref.html).toBe(HTML);
    expect(decodeWords(out.capture.s.xCampaign[0]!)).toBe("inv-2026-05 ✓ spring");
    expect(ref.listUnsubscribe).toEqual([LIST_UNSUBSCRIBE]);
    expect(ref.listUnsubscribePost).toEqual(["List-Unsubscribe=One-Click"]);
    expect(ref.attachments).toEqual([
      { filename: "logo.png", contentType: "image/png", sha256: sha256(PNG), size: PNG.length, inline: true, cid: "logo.42@example.com" },
      { filename: "Rechnung März 0042.pdf", contentType: "application/pdf", sha256: sha256(PDF), size: PDF.length, inline: false, cid: null },
    ]);
    expect(ref.parts).toEqual(["multipart/mixed", "multipart/alternative", "text/plain; charset=utf-8", 'multipart/related; type="text/html"', "text/html; charset=utf-8", 'image/png; name="logo.png"', "application/pdf; name*=utf-8''Rechnung%20M%C3%A4rz%200042.pdf"]);
    expect(Math.abs(Date.parse(ref.date!) - started)).toBeLessThan(120_000);

    // Each message has its own Message-ID (one per send), so that and the Date are compared per type
    // against what the gateway reported for that message; the rest against the reference.
    for (const t of TYPES) {
      const { view, s, parsed } = out[t];
      expect({ type: t, messageId: s.messageId }).toEqual({ type: t, messageId: view.message_id_header });
      expect(decodeWords(s.xCampaign[0]!)).toBe("inv-2026-05 ✓ spring");
      expect(Math.abs(Date.parse(s.date!) - started)).toBeLessThan(120_000);
    }
    const perMessage = (s: ReturnType<typeof summary>) => ({ ...s, messageId: "(per message)", date: "(per message)", dateHeader: ["(per message)"], headers: s.headers.map((h) => (/^(message-id|date):/.test(h) ? h.split(":")[0] : h)) });
    const normalised = Object.fromEntries(TYPES.map((t) => [t, { ...out[t], s: perMessage(out[t].s) }])) as typeof out;
    expectSameEverywhere(normalised, perMessage(ref), SENDER);
  });

  test("relayed over SMTP (its own Message-ID and Date, a Bcc header, 8-bit text): relayed as it came everywhere", async () => {
    const mid = (n: number) => `<relay-same.${n}.20260512T0915@shop.example.com>`;
    const DATE = "Tue, 12 May 2026 09:15:00 +0200";
    const eml = (n: number) =>
      Buffer.concat([
        Buffer.from(
          [
            `Message-ID: ${mid(n)}`,
            `Date: ${DATE}`,
            "From: =?UTF-8?Q?Zo=C3=AB_M=C3=BCller=2C_Billing?= <billing@example.com>",
            "To: =?UTF-8?B?w4VsaWNlIFN0csO2bQ==?= <alice@example.net>, bob@example.net",
            "Cc: =?UTF-8?B?Q2Fyb2wg5p2O?= <carol@example.net>",
            "Bcc: audit@example.org",
            "Subject: =?UTF-8?B?UmVjaG51bmcgTcOkcnog4oCUIOiri+axguabuCDihJY0MiDinJM=?=",
            "MIME-Version: 1.0",
            "X-Campaign-Ref: =?UTF-8?Q?inv-2026-05_=E2=9C=93_spring?=",
            "List-Unsubscribe: <mailto:unsubscribe@example.com?subject=unsubscribe>,",
            " <https://example.com/unsubscribe/opaque-token-0123456789abcdef>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            'Content-Type: multipart/mixed; boundary="==mixed-42"',
            "",
            "This is a multi-part message in MIME format.",
            "--==mixed-42",
            'Content-Type: multipart/alternative; boundary="==alt-42"',
            "",
            "--==alt-42",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            TEXT.replace(/\n/g, "\r\n"),
            "--==alt-42",
            'Content-Type: multipart/related; type="text/html"; boundary="==rel-42"',
            "",
            "--==rel-42",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            qp(HTML),
            "--==rel-42",
            'Content-Type: image/png; name="logo.png"',
            "Content-Transfer-Encoding: base64",
            'Content-Disposition: inline; filename="logo.png"',
            "Content-ID: <logo.42@example.com>",
            "",
            PNG.toString("base64"),
            "--==rel-42--",
            "",
            "--==alt-42--",
            "",
            "--==mixed-42",
            "Content-Type: application/pdf; name*=utf-8''Rechnung%20M%C3%A4rz%200042.pdf",
            "Content-Transfer-Encoding: base64",
            "Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz%200042.pdf",
            "",
            PDF.toString("base64").replace(/.{76}/g, "$&\r\n"),
            "--==mixed-42--",
            "",
          ].join("\r\n"),
          "utf8",
        ),
      ]);
    const submitted = {} as Record<Type, Buffer>;
    const out = await throughEveryType(
      async (type) => {
        // One Message-ID per type (a gateway may treat a repeated one as the same message), otherwise the same bytes.
        submitted[type] = eml(TYPES.indexOf(type));
        const r = await relaySubmit(g, providers[type].token, submitted[type], { from: SENDER, to: RECIPIENTS });
        expect({ type, reply: r.response }).toEqual({ type, reply: expect.stringMatching(/^250 2\.0\.0 Ok: queued as eml_/) });
        return r.id!;
      },
      (view) => view.message_id_header,
    );

    for (const t of TYPES) {
      const { view, s, parsed } = out[t];
      const own = mid(TYPES.indexOf(t));
      // The submitted Message-ID and Date, not ones of the gateway's or the adapter's.
      expect({ type: t, view: view.message_id_header, messageId: s.messageId, date: s.dateHeader }).toEqual({ type: t, view: own, messageId: own, date: [DATE] });
      expect(s.date).toBe(new Date(Date.parse("2026-05-12T07:15:00Z")).toISOString());
      expect(decodeWords(s.xCampaign[0]!)).toBe("inv-2026-05 ✓ spring");
    }
    const ref = out.capture.s;
    expect(ref.subject).toBe(SUBJECT);
    expect(ref.from).toEqual([FROM]);
    expect(ref.to).toEqual(TO);
    expect(ref.cc).toEqual(CC);
    expect(ref.text).toBe(TEXT);
    expect(ref.html).toBe(HTML);
    expect(ref.listUnsubscribe).toEqual([LIST_UNSUBSCRIBE]);
    expect(ref.attachments).toEqual([
      { filename: "logo.png", contentType: "image/png", sha256: sha256(PNG), size: PNG.length, inline: true, cid: "logo.42@example.com" },
      { filename: "Rechnung März 0042.pdf", contentType: "application/pdf", sha256: sha256(PDF), size: PDF.length, inline: false, cid: null },
    ]);
    expect(ref.parts).toEqual(["multipart/mixed", "multipart/alternative", "text/plain; charset=utf-8", 'multipart/related; type="text/html"', "text/html; charset=utf-8", 'image/png; name="logo.png"', "application/pdf; name*=utf-8''Rechnung%20M%C3%A4rz%200042.pdf"]);
    // The capture outbox holds the message as it came, minus its Bcc field (SPEC "SMTP relay").
    const withoutBcc = Buffer.from(submitted.capture.toString("latin1").replace("Bcc: audit@example.org\r\n", ""), "latin1");
    expect(out.capture.got.delivered.equals(withoutBcc)).toBe(true);
    // Providers that take 8-bit mail get those very bytes; SMTP gets them made 7-bit safe (same decoded content, compared above).
    for (const t of ["gmail_api", "outlook_api", "amazon_ses"] as const) {
      const mine = Buffer.from(submitted[t].toString("latin1").replace("Bcc: audit@example.org\r\n", ""), "latin1");
      expect({ type: t, same: out[t].got.delivered.equals(mine) }).toEqual({ type: t, same: true });
    }
    expect(out.smtp.got.delivered.some((b) => b > 0x7f)).toBe(false);

    const perMessage = (s: ReturnType<typeof summary>) => ({ ...s, messageId: "(per message)", headers: s.headers.map((h) => (/^message-id:/.test(h) ? "message-id" : h)) });
    const normalised = Object.fromEntries(TYPES.map((t) => [t, { ...out[t], s: perMessage(out[t].s) }])) as typeof out;
    expectSameEverywhere(normalised, perMessage(ref), SENDER);
  });
});

/** RFC 2047 encoded-words (UTF-8, B or Q) decoded; mailparser leaves X- fields as written. */
function decodeWords(v: string): string {
  return v.replace(/\?=\s+=\?/g, "?==?").replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_m, enc: string, data: string) =>
    enc.toLowerCase() === "b" ? Buffer.from(data, "base64").toString("utf8") : Buffer.from(data.replace(/_/g, " ").replace(/=([0-9a-f]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1").toString("utf8"),
  );
}

/** Quoted-printable for a UTF-8 string (CRLF line ends, soft breaks under 76 characters). */
function qp(s: string): string {
  const lines: string[] = [];
  for (const line of s.split("\n")) {
    let enc = "";
    for (const byte of Buffer.from(line, "utf8")) {
      const c = String.fromCharCode(byte);
      enc += byte === 0x3d || byte > 0x7e || (byte < 0x20 && byte !== 0x09) ? `=${byte.toString(16).toUpperCase().padStart(2, "0")}` : c;
    }
    let out = "";
    while (enc.length > 75) {
      let cut = 75;
      while (enc[cut - 1] === "=" || enc[cut - 2] === "=") cut--;
      out += enc.slice(0, cut) + "=\r\n";
      enc = enc.slice(cut);
    }
    lines.push(out + enc);
  }
  return lines.join("\r\n");
}
