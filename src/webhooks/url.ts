/**
 * Which webhook targets the gateway will call (SPEC "Managing": https only; `http://` only to a
 * loopback host, and only when the operator sets SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK=true, for
 * tests). Checked when a URL is saved and again before every request. Redirects are never
 * followed (see deliver.ts), so a target cannot send the gateway on to another host.
 */
export const MAX_URL_LENGTH = 2048;

const LOOPBACK_HOSTS = new Set(["localhost", "[::1]"]);

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (LOOPBACK_HOSTS.has(h)) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Null when the gateway may call `raw`; otherwise why not, in words for the user. */
export function targetProblem(raw: string, allowHttpLoopback: boolean): string | null {
  if (raw.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "must be an absolute URL such as https://hooks.example.com/sendmux";
  }
  // A user name or password in the URL would be stored and shown in the clear: use a secret path
  // or verify the signature instead.
  if (u.username || u.password) return "must not contain a user name or password (user:pass@); verify the X-Sendmux-Signature instead";
  if (u.protocol === "https:") return u.hostname ? null : "must name a host";
  if (u.protocol === "http:") {
    if (isLoopbackHost(u.hostname)) {
      if (allowHttpLoopback) return null;
      return "must use https:// (plain http:// to a loopback host such as 127.0.0.1 is accepted only when the gateway's operator sets SENDMUX_WEBHOOK_ALLOW_HTTP_LOOPBACK=true)";
    }
    return allowHttpLoopback
      ? "must use https:// (plain http:// is accepted only for a loopback host such as 127.0.0.1)"
      : "must use https:// (plain http:// is refused)";
  }
  return `must use https://, not ${u.protocol.replace(/:$/, "")}://`;
}
