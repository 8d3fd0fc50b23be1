import { targetProblem } from "./url.ts";

/** At most this much of an endpoint's answer is kept (response_body is a "truncated preview"). */
export const RESPONSE_PREVIEW_BYTES = 1024;

export interface HttpOutcome {
  /** A 2xx answer. */
  ok: boolean;
  /** Not worth retrying as is: a redirect (never followed) or a target the gateway refuses. */
  permanent: boolean;
  status: number | null;
  ms: number;
  /** A public-safe category when no usable answer came (timeout, connection_refused, …). */
  error: string | null;
  body: string | null;
}

/**
 * POSTs one signed body to a webhook endpoint. Redirects are never followed (a 3xx is a permanent
 * failure: the gateway would otherwise be sent to a host nobody checked), the whole exchange is
 * bounded by `timeoutMs`, and only the first RESPONSE_PREVIEW_BYTES of the answer are read.
 */
export async function postWebhook(url: string, headers: Record<string, string>, body: string, opts: { timeoutMs: number; allowHttpLoopback: boolean }): Promise<HttpOutcome> {
  const started = performance.now();
  const elapsed = () => Math.max(0, Math.round(performance.now() - started));
  if (targetProblem(url, opts.allowHttpLoopback)) {
    return { ok: false, permanent: true, status: null, ms: 0, error: "target_not_allowed", body: null };
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeoutMs);
  try {
    const res = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: ctl.signal });
    const preview = await readPreview(res);
    const status = res.status;
    if (status >= 200 && status < 300) return { ok: true, permanent: false, status, ms: elapsed(), error: null, body: preview };
    if (status >= 300 && status < 400) return { ok: false, permanent: true, status, ms: elapsed(), error: "redirect_not_followed", body: preview };
    return { ok: false, permanent: false, status, ms: elapsed(), error: null, body: preview };
  } catch (e) {
    return { ok: false, permanent: false, status: null, ms: elapsed(), error: ctl.signal.aborted ? "timeout" : networkCategory(e), body: null };
  } finally {
    clearTimeout(timer);
  }
}

async function readPreview(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < RESPONSE_PREVIEW_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (total === 0) return null;
  const all = Buffer.concat(chunks).subarray(0, RESPONSE_PREVIEW_BYTES);
  return all.toString("utf8").replace(/\uFFFD+$/, "");
}

/** A category that says what went wrong without echoing internal details. */
function networkCategory(e: unknown): string {
  const s = `${(e as { code?: string })?.code ?? ""} ${(e as Error)?.message ?? ""}`;
  if (/ConnectionRefused|ECONNREFUSED/i.test(s)) return "connection_refused";
  if (/ENOTFOUND|EAI_AGAIN|DNS|getaddrinfo|resolve/i.test(s)) return "dns_failure";
  if (/CERT|TLS|SSL|self.signed|certificate/i.test(s)) return "tls_error";
  if (/ECONNRESET|ConnectionClosed|socket hang up|reset/i.test(s)) return "connection_reset";
  if (/timed? ?out|ETIMEDOUT/i.test(s)) return "timeout";
  return "network_error";
}
