import { domainToASCII } from "node:url";

/**
 * Email address rules for the Sending API (`format: email`, ≤254). One policy, applied to every
 * address field and to the relay's envelope:
 * - local part: a dot-atom of RFC 5322 atext (no quoted strings, no UTF-8: most providers
 *   cannot carry them, and a quoted `@` or `>` is how recipients get smuggled), ≤64 octets;
 * - domain: host name labels (letters, digits, hyphens), at least two; an internationalised
 *   domain is accepted and converted to its A-label (xn--…), the form every provider takes.
 * Returns the normalised address or a sentence saying what is wrong.
 */
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export type AddressCheck = { ok: true; address: string } | { ok: false; reason: string };

export function checkAddress(input: string): AddressCheck {
  if (input.length === 0) return { ok: false, reason: "must not be empty" };
  if (input.length > 254) return { ok: false, reason: "must be at most 254 characters" };
  if (/[\u0000-\u001f\u007f]/.test(input)) return { ok: false, reason: "must not contain line breaks or control characters" };
  if (/\s/.test(input)) return { ok: false, reason: "must be a bare address like user@example.com, without spaces or a display name (put the name in `name`)" };
  if (input.startsWith("=?")) return { ok: false, reason: "must be a plain address, not an RFC 2047 encoded-word" };
  const at = input.lastIndexOf("@");
  if (at <= 0 || at === input.length - 1) return { ok: false, reason: "must be an address like user@example.com" };
  const local = input.slice(0, at);
  const domain = input.slice(at + 1);
  if (local.includes('"')) return { ok: false, reason: "quoted local parts are not accepted; use a plain address like user@example.com" };
  if (/[^\x21-\x7e]/.test(local)) return { ok: false, reason: "the part before @ must be ASCII; internationalised local parts are not supported by the providers" };
  if (local.length > 64) return { ok: false, reason: "the part before @ must be at most 64 characters" };
  const atoms = local.split(".");
  if (atoms.some((x) => x === "" || !ATEXT.test(x))) {
    return { ok: false, reason: "the part before @ has a character or dot that is not allowed (no <>()[]:;@\\,\" and no leading, trailing or double dots)" };
  }
  let ascii = domain;
  if (/[^\x00-\x7f]/.test(domain)) {
    ascii = domainToASCII(domain);
    if (!ascii) return { ok: false, reason: "the domain is not a valid internationalised domain name" };
  }
  const labels = ascii.split(".");
  if (labels.length < 2 || labels.some((l) => !LABEL.test(l))) {
    return { ok: false, reason: "the domain must be a host name like example.com" };
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) return { ok: false, reason: "the domain must be a host name, not an IP address" };
  const out = `${local}@${ascii.toLowerCase()}`;
  if (out.length > 254) return { ok: false, reason: "must be at most 254 characters" };
  return { ok: true, address: out };
}
