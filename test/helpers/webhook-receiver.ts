import { createHmac, timingSafeEqual } from "node:crypto";
import { verifySendmuxSignature } from "../../src/webhooks/signing.ts";

export interface Received {
  path: string;
  headers: Record<string, string>;
  raw: string;
  body: any;
  /** Both signatures checked out against the path's secret at the time. */
  verified: boolean;
  /** What the receiver answered. */
  status: number;
}

/**
 * A webhook endpoint on 127.0.0.1 (Bun.serve) with one mailbox per path. Each path has a secret:
 * a request whose X-Sendmux-Signature or webhook-signature does not verify over the raw body is
 * answered 401 and recorded as unverified. `answer` decides the status of verified requests.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly secrets = new Map<string, string>();
  private readonly answers = new Map<string, (n: number) => number>();
  private server: ReturnType<typeof Bun.serve> | null = null;

  constructor(private readonly nowSec: () => number) {}

  start(): this {
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        const path = new URL(req.url).pathname;
        const raw = await req.text();
        const headers: Record<string, string> = {};
        req.headers.forEach((v, k) => (headers[k] = v));
        const secret = this.secrets.get(path) ?? "";
        const verified = verifySendmuxSignature(secret, headers["x-sendmux-signature"] ?? null, raw, this.nowSec()) && verifyStandard(secret, headers, raw);
        const n = this.received.filter((r) => r.path === path).length + 1;
        const status = verified ? (this.answers.get(path) ?? (() => 200))(n) : 401;
        let body: unknown = null;
        try {
          body = JSON.parse(raw);
        } catch {
          /* recorded raw */
        }
        this.received.push({ path, headers, raw, body, verified, status });
        return new Response(status < 300 ? "ok" : `status ${status}`, { status });
      },
    });
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.server!.port}${path}`;
  }

  secret(path: string, secret: string): void {
    this.secrets.set(path, secret);
  }

  /** The status to answer the n-th request (1-based) on a path. */
  answer(path: string, fn: (n: number) => number): void {
    this.answers.set(path, fn);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  stop(): void {
    this.server?.stop(true);
  }
}

/**
 * Two slips of the reference document (sendmux-openapi-app.json), corrected before validating:
 * - WebhookEventData declares bounce_type and message_id_kind as `type: [string, null]` with an
 *   `enum` that leaves null out, while its own example (and every event that is not a bounce) has
 *   null there: null is added to such enums.
 * - WebhookSubscriptionWithSecret is `allOf` of WebhookSubscription and `{secret}`, both with
 *   `additionalProperties: false`, which no object satisfies (each branch refuses the other's
 *   fields): it becomes WebhookSubscription's properties plus `secret`, still closed.
 * Nothing else changes, and the gateway's own document carries the same two corrections.
 */
export function appDocumentFixes<T extends { components: { schemas: Record<string, object> } }>(doc: T): T {
  const schemas = doc.components.schemas as Record<string, any>;
  for (const p of Object.values(schemas.WebhookEventData.properties) as Array<{ type?: unknown; enum?: unknown[] }>) {
    if (Array.isArray(p.type) && p.type.includes("null") && Array.isArray(p.enum) && !p.enum.includes(null)) p.enum = [...p.enum, null];
  }
  const sub = schemas.WebhookSubscription;
  const secret = schemas.WebhookSubscriptionWithSecret.allOf[1].properties.secret;
  schemas.WebhookSubscriptionWithSecret = { ...sub, properties: { ...sub.properties, secret }, required: [...sub.required, "secret"] };
  return doc;
}

/** Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" keyed with the decoded whsec_ secret>. */
export function verifyStandard(secret: string, headers: Record<string, string>, raw: string): boolean {
  const id = headers["webhook-id"];
  const ts = headers["webhook-timestamp"];
  const sig = headers["webhook-signature"];
  if (!id || !ts || !sig || !secret.startsWith("whsec_")) return false;
  const want = createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.${raw}`).digest();
  return sig.split(" ").some((s) => {
    const [v, b64] = s.split(",", 2);
    const got = Buffer.from(b64 ?? "", "base64");
    return v === "v1" && got.length === want.length && timingSafeEqual(got, want);
  });
}
