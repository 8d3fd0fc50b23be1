import { randomBytes } from "node:crypto";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** 24 random characters from [a-z0-9], as the documents' public ids use (`eml_` + 24). */
export function randomId(len = 24): string {
  // Rejection sampling keeps the distribution uniform over 36 symbols.
  let out = "";
  while (out.length < len) {
    const buf = randomBytes(len * 2);
    for (let i = 0; i < buf.length && out.length < len; i++) {
      const b = buf[i]!;
      if (b < 252) out += ALPHABET[b % 36];
    }
  }
  return out;
}

export type IdPrefix = "eml" | "dprov" | "req" | "acct" | "key" | "att" | "upl" | "grp" | "dlog" | "evt" | "slir";

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomId()}`;
}

/** API keys: `smx_` + 40 url-safe random characters (≥ 32 as SPEC asks). */
export function newApiToken(): string {
  return "smx_" + randomBytes(30).toString("base64url");
}

export const ID_PATTERN = /^[a-z]+_[a-z0-9]{24}$/;
