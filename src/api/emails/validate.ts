import type { FieldIssue } from "../errors.ts";
import type { ComposeAddress, ComposeAttachment, ComposeSpec } from "../../types.ts";
import { checkAddress } from "./address.ts";

/**
 * Validation of one EmailSendRequest (sendmux-openapi-sending.json, plus SPEC's EXT items).
 * Collects every failing field (dot paths: `to.email`, `attachments.0.filename`) so a 422 lists
 * them all. Returns the request in the shape the MIME builder takes.
 */

export const MAX_RECIPIENTS = 50;
export const MAX_ATTACHMENTS = 10;
/** custom_headers: at most this many (providers refuse messages with very large header blocks). */
export const MAX_CUSTOM_HEADERS = 50;
export const MAX_BODY_CHARS = 26_214_400;

/** Header names custom_headers may carry besides X-* (EXT). */
export const EXTRA_HEADERS = ["List-Unsubscribe", "List-Unsubscribe-Post", "In-Reply-To", "References"];
const EXTRA_HEADERS_LC = new Map(EXTRA_HEADERS.map((h) => [h.toLowerCase(), h]));

const TOP_KEYS = new Set(["from", "to", "cc", "bcc", "reply_to", "subject", "html_body", "text_body", "custom_headers", "attachments", "return_path"]);
const ADDRESS_KEYS = new Set(["email", "name"]);
const INLINE_ATTACHMENT_KEYS = new Set(["filename", "content", "encoding", "type", "content_id"]);

/** A validated request: what builds the message (less the ids fixed at acceptance), and more. */
export interface ValidatedSend extends Omit<ComposeSpec, "messageId" | "date"> {
  /** attachment_id references, resolved by the caller (upload store). */
  attachmentRefs: Array<{ index: number; id: string }>;
  returnPath?: string;
}

type Issues = FieldIssue[];

function issue(issues: Issues, field: string, code: string, message: string): void {
  issues.push({ field, code, message });
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** Length in Unicode code points, as JSON Schema's minLength/maxLength count it (an emoji is one). */
export function charLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/** More than `max` code points? (A string of at most `max` UTF-16 units never is.) */
export function tooLong(s: string, max: number): boolean {
  return s.length > max && charLength(s) > max;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unknownKeys(issues: Issues, path: string, obj: Record<string, unknown>, allowed: Set<string>): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) {
      const f = path ? `${path}.${k}` : k;
      issue(issues, f, "unrecognized_keys", `unknown property "${k}"; allowed: ${[...allowed].join(", ")}`);
    }
  }
}

/** A string of well-formed Unicode (no lone surrogates) and no CR or LF. */
function checkLine(issues: Issues, field: string, v: string, what: string): boolean {
  if (!v.isWellFormed()) {
    issue(issues, field, "invalid_string", `${what} contains an unpaired UTF-16 surrogate (invalid Unicode)`);
    return false;
  }
  if (/[\r\n]/.test(v)) {
    issue(issues, field, "invalid_string", `${what} must not contain CR or LF`);
    return false;
  }
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v)) {
    issue(issues, field, "invalid_string", `${what} must not contain control characters`);
    return false;
  }
  return true;
}

function address(issues: Issues, path: string, v: unknown): ComposeAddress | null {
  if (!isObject(v)) {
    issue(issues, path, "invalid_type", `expected an object {email, name?}, got ${typeName(v)}${typeof v === "string" ? ` ("${v.slice(0, 60)}")` : ""}`);
    return null;
  }
  const before = issues.length;
  unknownKeys(issues, path, v, ADDRESS_KEYS);
  let email: string | null = null;
  if (v.email === undefined) issue(issues, `${path}.email`, "invalid_type", "is required: the email address");
  else if (typeof v.email !== "string") issue(issues, `${path}.email`, "invalid_type", `expected a string, got ${typeName(v.email)}`);
  else if (!v.email.isWellFormed()) issue(issues, `${path}.email`, "invalid_string", "contains invalid Unicode");
  else {
    const c = checkAddress(v.email);
    if (c.ok) email = c.address;
    else issue(issues, `${path}.email`, "invalid_string", `"${v.email.slice(0, 80)}" is not a valid email address: ${c.reason}`);
  }
  let name: string | undefined;
  if (v.name !== undefined && v.name !== null) {
    if (typeof v.name !== "string") issue(issues, `${path}.name`, "invalid_type", `expected a string, got ${typeName(v.name)}`);
    else if (tooLong(v.name, 100)) issue(issues, `${path}.name`, "too_big", `the display name must be at most 100 characters (got ${charLength(v.name)})`);
    else if (checkLine(issues, `${path}.name`, v.name, "the display name")) name = v.name.trim() || undefined;
  }
  if (issues.length !== before || email === null) return null;
  return name ? { name, address: email } : { address: email };
}

function addressList(issues: Issues, path: string, v: unknown, max: number, allowSingle: boolean): ComposeAddress[] {
  if (v === undefined || v === null) return [];
  if (allowSingle && isObject(v)) {
    const a = address(issues, path, v);
    return a ? [a] : [];
  }
  if (!Array.isArray(v)) {
    issue(issues, path, "invalid_type", allowSingle ? `expected an object {email, name?} or a list of them, got ${typeName(v)}` : `expected a list of {email, name?}, got ${typeName(v)}`);
    return [];
  }
  if (v.length > max) issue(issues, path, "too_big", `at most ${max} recipients in ${path} (got ${v.length})`);
  const out: ComposeAddress[] = [];
  v.forEach((item, i) => {
    const a = address(issues, `${path}.${i}`, item);
    if (a) out.push(a);
  });
  return out;
}

/** Linear on purpose: a backtracking pattern gives up on a 20 MB attachment and calls it invalid. */
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
function isBase64(s: string): boolean {
  return s.length % 4 === 0 && BASE64_CHARS.test(s);
}
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]+=(?:[A-Za-z0-9!#$&^_.+-]+|"[^"\\\r\n]*"))*\s*;?$/;
const HEADER_NAME = /^[!-9;-~]+$/;

function attachments(issues: Issues, v: unknown, refs: Array<{ index: number; id: string }>): ComposeAttachment[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    issue(issues, "attachments", "invalid_type", `expected a list, got ${typeName(v)}`);
    return [];
  }
  if (v.length > MAX_ATTACHMENTS) issue(issues, "attachments", "too_big", `at most ${MAX_ATTACHMENTS} attachments`);
  const out: ComposeAttachment[] = [];
  v.forEach((a, i) => {
    const p = `attachments.${i}`;
    if (!isObject(a)) {
      issue(issues, p, "invalid_type", `expected an object {filename, content} or {attachment_id}, got ${typeName(a)}`);
      return;
    }
    if ("attachment_id" in a) {
      const extra = Object.keys(a).filter((k) => k !== "attachment_id");
      if (extra.length) issue(issues, `${p}.${extra[0]}`, "unrecognized_keys", "an uploaded attachment reference takes only attachment_id");
      if (typeof a.attachment_id !== "string" || !/^att_[a-z0-9]{24}$/.test(a.attachment_id)) {
        issue(issues, `${p}.attachment_id`, "invalid_string", "expected an id like att_ followed by 24 lowercase letters or digits");
      } else refs.push({ index: i, id: a.attachment_id });
      return;
    }
    const before = issues.length;
    unknownKeys(issues, p, a, INLINE_ATTACHMENT_KEYS);
    let filename = "";
    if (typeof a.filename !== "string") issue(issues, `${p}.filename`, "invalid_type", a.filename === undefined ? "is required: the file name the recipient sees" : `expected a string, got ${typeName(a.filename)}`);
    else if (a.filename.length < 1) issue(issues, `${p}.filename`, "too_small", "the filename must not be empty");
    else if (tooLong(a.filename, 255)) {
      issue(issues, `${p}.filename`, "too_big", `the filename must be at most 255 characters (got ${charLength(a.filename)}); shorten it rather than have it cut`);
    } else if (checkLine(issues, `${p}.filename`, a.filename, "the filename")) filename = a.filename;
    if (a.encoding !== undefined && a.encoding !== "base64") issue(issues, `${p}.encoding`, "invalid_enum_value", 'the only supported encoding is "base64"');
    let content: Uint8Array | null = null;
    if (typeof a.content !== "string") issue(issues, `${p}.content`, "invalid_type", a.content === undefined ? "is required: the file's bytes in base64" : `expected a base64 string, got ${typeName(a.content)}`);
    else {
      const compact = a.content.replace(/[\r\n\t ]+/g, "");
      if (compact.length === 0) issue(issues, `${p}.content`, "too_small", "the content must not be empty");
      else if (!isBase64(compact)) issue(issues, `${p}.content`, "invalid_string", "the content is not valid base64 (only A-Z a-z 0-9 + /, padded with = to a multiple of 4 characters)");
      else content = Buffer.from(compact, "base64");
    }
    let contentType: string | undefined;
    if (a.type !== undefined && a.type !== null) {
      if (typeof a.type !== "string") issue(issues, `${p}.type`, "invalid_type", `expected a MIME type string, got ${typeName(a.type)}`);
      else if (a.type.length > 255 || !MIME_TYPE.test(a.type)) issue(issues, `${p}.type`, "invalid_string", `"${a.type.slice(0, 80)}" is not a MIME type like application/pdf`);
      else if (/^\s*(multipart|message)\//i.test(a.type)) {
        // Such parts may not be base64-encoded (RFC 2046), so they cannot be carried as given.
        issue(issues, `${p}.type`, "invalid_string", `an attachment cannot be ${a.type.split(";")[0]}; send the file as application/octet-stream`);
      } else contentType = a.type;
    }
    let cid: string | undefined;
    if (a.content_id !== undefined && a.content_id !== null) {
      if (typeof a.content_id !== "string") issue(issues, `${p}.content_id`, "invalid_type", `expected a string, got ${typeName(a.content_id)}`);
      else {
        const bare = a.content_id.trim().replace(/^<(.*)>$/, "$1");
        if (bare.length === 0 || bare.length > 250 || !/^[\x21-\x7e]+$/.test(bare) || /[<>]/.test(bare)) {
          issue(issues, `${p}.content_id`, "invalid_string", "must be printable ASCII without spaces or <>, like logo@example.com");
        } else cid = bare;
      }
    }
    if (issues.length === before && content) out.push({ filename, content, contentType, cid });
  });
  return out;
}

/** Control characters shown as escapes (`\r`, `\n`, `\x00`), for field paths and messages. */
function visible(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === "\r" ? "\\r" : c === "\n" ? "\\n" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

function customHeaders(issues: Issues, v: unknown): Array<[string, string]> {
  if (v === undefined || v === null) return [];
  if (!isObject(v)) {
    issue(issues, "custom_headers", "invalid_type", `expected an object of header name to value, got ${typeName(v)}`);
    return [];
  }
  const out: Array<[string, string]> = [];
  const seen = new Map<string, string>();
  const entries = Object.entries(v);
  if (entries.length > MAX_CUSTOM_HEADERS) {
    issue(issues, "custom_headers", "too_big", `at most ${MAX_CUSTOM_HEADERS} custom headers (got ${entries.length})`);
    return [];
  }
  for (const [name, value] of entries) {
    const p = `custom_headers.${visible(name)}`;
    if (!HEADER_NAME.test(name) || name.length > 76) {
      issue(issues, p, "invalid_key", `"${visible(name.slice(0, 60))}" is not a valid header name (at most 76 printable ASCII characters, no spaces or colons)`);
      continue;
    }
    const lc = name.toLowerCase();
    const canonical = EXTRA_HEADERS_LC.get(lc);
    if (lc === "bcc" || lc === "resent-bcc") {
      // A Bcc header is never sent (the relay strips Bcc and Resent-Bcc alike): it would show
      // the blind recipients to everyone.
      issue(issues, p, "invalid_key", `${name} cannot be set as a header: it would show blind-copy recipients to everyone; put them in the bcc field instead`);
      continue;
    }
    if (!lc.startsWith("x-") && !canonical) {
      issue(issues, p, "invalid_key", `${name} cannot be set here; custom_headers takes X-* headers and ${EXTRA_HEADERS.join(", ")}`);
      continue;
    }
    if (seen.has(lc)) {
      issue(issues, p, "duplicate_key", `${name} is given twice (also as ${seen.get(lc)}); header names are case-insensitive`);
      continue;
    }
    seen.set(lc, name);
    if (typeof value !== "string") {
      issue(issues, p, "invalid_type", `expected a string, got ${typeName(value)}`);
      continue;
    }
    if (tooLong(value, 500)) {
      issue(issues, p, "too_big", `the value of ${name} must be at most 500 characters (got ${charLength(value)})`);
      continue;
    }
    if (!checkLine(issues, p, value, "the header value")) continue;
    out.push([canonical ?? name, value]);
  }
  return out;
}

export function validateSend(body: unknown): { ok: true; value: ValidatedSend } | { ok: false; issues: FieldIssue[] } {
  const issues: Issues = [];
  if (!isObject(body)) {
    issue(issues, "", "invalid_type", `a message must be a JSON object {from, to, subject, html_body, …}, got ${typeName(body)}`);
    return { ok: false, issues };
  }
  unknownKeys(issues, "", body, TOP_KEYS);

  let from: ComposeAddress | null = null;
  if (body.from === undefined) issue(issues, "from", "invalid_type", "is required: the sender as {email, name?}");
  else from = address(issues, "from", body.from);

  let to: ComposeAddress[] = [];
  if (body.to === undefined) issue(issues, "to", "invalid_type", "is required: the recipient as {email, name?} (or a list of them)");
  else {
    to = addressList(issues, "to", body.to, MAX_RECIPIENTS, true);
    if (Array.isArray(body.to) && body.to.length === 0) issue(issues, "to", "too_small", "needs at least one recipient");
  }
  const cc = addressList(issues, "cc", body.cc, MAX_RECIPIENTS - 1, false);
  const bcc = addressList(issues, "bcc", body.bcc, MAX_RECIPIENTS - 1, false);
  const count = (k: string, v: unknown) => (Array.isArray(v) ? v.length : k === "to" && isObject(v) ? 1 : 0);
  const lists = (["to", "cc", "bcc"] as const).filter((k) => count(k, body[k]) > 0);
  const total = lists.reduce((n, k) => n + count(k, body[k]), 0);
  if (total > MAX_RECIPIENTS) {
    issue(issues, lists.at(-1)!, "too_big", `at most ${MAX_RECIPIENTS} recipients over to, cc and bcc together (got ${total})`);
  }

  let replyTo: ComposeAddress | undefined;
  if (body.reply_to !== undefined && body.reply_to !== null) replyTo = address(issues, "reply_to", body.reply_to) ?? undefined;

  let subject = "";
  if (body.subject === undefined) issue(issues, "subject", "invalid_type", "is required");
  else if (typeof body.subject !== "string") issue(issues, "subject", "invalid_type", `expected a string, got ${typeName(body.subject)}`);
  else if (body.subject.length < 1) issue(issues, "subject", "too_small", "must not be empty (at least 1 character)");
  else if (tooLong(body.subject, 998)) issue(issues, "subject", "too_big", `the subject must be at most 998 characters (got ${charLength(body.subject)})`);
  else if (checkLine(issues, "subject", body.subject, "the subject")) subject = body.subject;

  let html: string | undefined;
  let text: string | undefined;
  for (const [key, min] of [["html_body", 1], ["text_body", 0]] as const) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") issue(issues, key, "invalid_type", `expected a string, got ${typeName(v)}`);
    else if (v.length < min) issue(issues, key, "too_small", "must not be empty (leave it out to send text_body only)");
    else if (tooLong(v, MAX_BODY_CHARS)) issue(issues, key, "too_big", `must be at most ${MAX_BODY_CHARS} characters (25 MB)`);
    else if (!v.isWellFormed()) issue(issues, key, "invalid_string", "contains an unpaired UTF-16 surrogate (invalid Unicode)");
    else if (key === "html_body") html = v;
    else text = v;
  }
  const absent = (v: unknown) => v === undefined || v === null;
  if (absent(body.html_body) && absent(body.text_body)) {
    issue(issues, "html_body", "invalid_type", "is required: give html_body, text_body or both");
  } else if (absent(body.html_body) && body.text_body === "") {
    issue(issues, "text_body", "too_small", "must not be empty when there is no html_body");
  }

  const headers = customHeaders(issues, body.custom_headers);
  const refs: Array<{ index: number; id: string }> = [];
  const atts = attachments(issues, body.attachments, refs);

  let returnPath: string | undefined;
  if (body.return_path !== undefined && body.return_path !== null) {
    if (typeof body.return_path !== "string") issue(issues, "return_path", "invalid_type", `expected a string, got ${typeName(body.return_path)}`);
    else {
      const c = checkAddress(body.return_path);
      if (c.ok) returnPath = c.address;
      else issue(issues, "return_path", "invalid_string", `not a valid email address: ${c.reason}`);
    }
  }

  if (issues.length) return { ok: false, issues };
  return {
    ok: true,
    value: { from: from!, to, cc, bcc, replyTo, subject, text, html, headers, attachments: atts, attachmentRefs: refs, returnPath },
  };
}
