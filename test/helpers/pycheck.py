#!/usr/bin/env python3
"""Checks on a delivered message, done with Python's email package (policy.default).

The checks are those of shared/cases/README.md ("Checks on a delivered message"); test/helpers/
cases.ts runs this script and does the few checks that need more than the message itself
(envelope, message count, mailparser).

Input (stdin, JSON):
  {"raw": path of the delivered message,
   "checks": ["parses_cleanly", "mime_tree:multipart/mixed(...)", ...],
   "request": the send request JSON or null (for *_equal_request checks),
   "submitted": path of the submitted raw message or null (relay checks)}
Output (stdout, JSON): {"results": [{"check": ..., "ok": true|false, "detail": "..."}]}
A check this script does not know is reported as failed, never silently passed.
"""
import base64
import binascii
import hashlib
import json
import re
import sys
from email import policy
from email.parser import BytesParser

ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")
LINE_SPLIT_REQUEST = re.compile(r"\r\n|\r|\n")
LINE_SPLIT_DELIVERED = re.compile(r"\r\n|\n")
TRACE_HEADERS = {"received", "return-path"}


class CheckFailed(Exception):
    pass


def parse(raw):
    return BytesParser(policy=policy.default).parsebytes(raw)


def raw_header(msg, name):
    """The raw (folded) value of the first header of that name, or None."""
    for k, v in msg.raw_items():
        if k.lower() == name.lower():
            return v
    return None


def unfold(value):
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def decoded_bytes(part):
    payload = part.get_payload(decode=True)
    return payload if payload is not None else b""


def param(part, header, name):
    """A decoded parameter (RFC 2231 and RFC 2047 inside quotes handled by policy.default)."""
    h = part[header]
    if h is None or not hasattr(h, "params"):
        return None
    return h.params.get(name)


def filename_of(part):
    return param(part, "content-disposition", "filename") or param(part, "content-type", "name")


def attachment_parts(msg):
    return [p for p in leaves(msg) if filename_of(p) is not None or p.get_content_disposition() == "attachment"]


def body_text_parts(msg, subtype=None):
    out = []
    for p in leaves(msg):
        if p.get_content_maintype() != "text" or p.get_content_disposition() == "attachment":
            continue
        if subtype and p.get_content_subtype() != subtype:
            continue
        out.append(p)
    return out


def part_text(part):
    charset = part.get_content_charset() or "us-ascii"
    return decoded_bytes(part).decode(charset)


def request_attachments(request):
    out = []
    for a in (request or {}).get("attachments") or []:
        if isinstance(a, dict) and isinstance(a.get("content"), str):
            out.append((a.get("filename"), base64.b64decode(re.sub(r"\s+", "", a["content"])), a.get("type") or ""))
    return out


def tree(part):
    ct = part.get_content_type()
    if part.is_multipart():
        return ct + "(" + ",".join(tree(c) for c in part.get_payload()) + ")"
    return ct


def param_names(raw_value):
    """Parameter names of a raw structured header value, quoted strings respected."""
    names, i, value = [], 0, unfold(raw_value)
    segments, cur, quoted, esc = [], "", False, False
    for ch in value:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\" and quoted:
            cur += ch
            esc = True
        elif ch == '"':
            cur += ch
            quoted = not quoted
        elif ch == ";" and not quoted:
            segments.append(cur)
            cur = ""
        else:
            cur += ch
    segments.append(cur)
    for seg in segments[1:]:
        if "=" in seg:
            names.append(seg.split("=", 1)[0].strip().lower())
    return names


def find_cid_part(msg, cid):
    for p in leaves(msg):
        v = p.get("content-id")
        if v is not None and str(v).strip() == "<" + cid + ">":
            return p
    return None


def parent_of(msg, target):
    for p in msg.walk():
        if p.is_multipart() and any(c is target for c in p.get_payload()):
            return p
    return None


def header_block(raw):
    end = raw.find(b"\r\n\r\n")
    sep = 4
    lf = raw.find(b"\n\n")
    if end < 0 or (0 <= lf < end):
        end, sep = lf, 2
    if end < 0:
        return raw, b""
    return raw[: end + sep // 2], raw[end + sep:]


def header_fields(block):
    fields = []
    for line in re.findall(rb"[^\n]*\n|[^\n]+$", block):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def field_name(f):
    return f.split(b":", 1)[0].strip().lower().decode("latin1")


# ---------------------------------------------------------------------------------------------

def check(name, arg, ctx):
    raw, msg, request = ctx["raw"], ctx["msg"], ctx["request"]
    if name == "parses_cleanly":
        problems = []
        for p in msg.walk():
            problems += [type(d).__name__ for d in p.defects]
            for k in p.keys():
                for h in p.get_all(k) or []:
                    problems += [f"{k}: {type(d).__name__}" for d in getattr(h, "defects", [])]
            if not p.is_multipart():
                try:
                    p.get_content()
                except Exception as e:  # noqa: BLE001 - any decoding failure is a defect
                    problems.append(f"{p.get_content_type()} part does not decode: {e}")
        if problems:
            raise CheckFailed("defects: " + ", ".join(problems))
    elif name == "crlf_only":
        if re.search(rb"\r(?!\n)|(?<!\r)\n", raw):
            raise CheckFailed("bare CR or LF found")
    elif name == "line_length_max":
        longest = max(len(l) for l in re.split(rb"\r\n|\n", raw))
        if longest > int(arg):
            raise CheckFailed(f"a line is {longest} octets long")
    elif name == "headers_7bit":
        for p in msg.walk():
            for k, v in p.raw_items():
                if any(ord(c) > 127 for c in k + v):
                    raise CheckFailed(f"header {k} has 8-bit characters: {v[:80]!r}")
    elif name == "envelope_from":
        raise CheckFailed("envelope_from is checked by cases.ts")
    elif name == "no_header":
        if msg.get(arg) is not None:
            raise CheckFailed(f"{arg} is present: {raw_header(msg, arg)!r}")
    elif name in ("header_equals", "header_unfolded_equals"):
        hname, want = arg.split("=", 1)
        if msg.get(hname) is None:
            raise CheckFailed(f"no {hname} header")
        got = str(msg[hname]) if name == "header_equals" else unfold(raw_header(msg, hname))
        if got != want:
            raise CheckFailed(f"{hname} is {got!r}, expected {want!r}")
    elif name == "encoded_words_valid":
        v = raw_header(msg, arg)
        if v is None:
            raise CheckFailed(f"no {arg} header")
        for m in ENCODED_WORD.finditer(unfold(v)):
            word, enc, text = m.group(0), m.group(2).upper(), m.group(3)
            if len(word) > 75:
                raise CheckFailed(f"encoded-word of {len(word)} characters: {word}")
            try:
                data = base64.b64decode(text, validate=True) if enc == "B" else re.sub(
                    rb"=([0-9A-Fa-f]{2})", lambda x: bytes([int(x.group(1), 16)]), text.replace("_", " ").encode("ascii"))
                data.decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError) as e:
                raise CheckFailed(f"{word} does not decode to valid UTF-8 on its own: {e}")
    elif name == "mailboxes":
        hname, want = arg.split("=", 1)
        h = msg[hname]
        if h is None:
            raise CheckFailed(f"no {hname} header")
        got = [{"name": a.display_name, "email": a.addr_spec} for a in h.addresses]
        if got != json.loads(want):
            raise CheckFailed(f"{hname} parses as {got}")
    elif name in ("text_lines_equal_request", "html_lines_equal_request"):
        key, sub = ("text_body", "plain") if name.startswith("text") else ("html_body", "html")
        parts = body_text_parts(msg, sub)
        if not parts:
            raise CheckFailed(f"no text/{sub} part")
        got = LINE_SPLIT_DELIVERED.split(part_text(parts[0]))
        want = LINE_SPLIT_REQUEST.split((request or {}).get(key) or "")
        if got != want:
            raise CheckFailed(f"lines are {got!r}, expected {want!r}")
    elif name == "body_line":
        for p in body_text_parts(msg):
            if arg in LINE_SPLIT_REQUEST.split(part_text(p)):
                return
        raise CheckFailed(f"no body line is exactly {arg!r}")
    elif name == "attachments_equal_request":
        parts = [(filename_of(p), decoded_bytes(p)) for p in attachment_parts(msg)]
        for fname, data, _ in request_attachments(request):
            if (fname, data) not in parts:
                raise CheckFailed(f"attachment {fname!r} ({len(data)} bytes) not found; delivered: "
                                  + ", ".join(f"{n!r} ({len(d)} bytes)" for n, d in parts))
    elif name == "attachment":
        want = json.loads(arg)
        for p in attachment_parts(msg):
            if filename_of(p) == want["filename"] and hashlib.sha256(decoded_bytes(p)).hexdigest() == want["sha256"]:
                return
        raise CheckFailed(f"no attachment {want['filename']!r} with sha256 {want['sha256']}")
    elif name == "single_filename_param":
        for p in attachment_parts(msg):
            dispositions = [v for k, v in p.raw_items() if k.lower() == "content-disposition"]
            if len(dispositions) != 1:
                raise CheckFailed(f"{len(dispositions)} Content-Disposition headers in one part")
            names = [n for n in param_names(dispositions[0]) if n == "filename" or n.startswith("filename*")]
            plain = names.count("filename")
            ext = [n for n in names if n != "filename"]
            if not ((plain == 1 and not ext) or (plain == 0 and ext and len(ext) == len(set(ext)))):
                raise CheckFailed(f"filename parameters: {names} in {unfold(dispositions[0])!r}")
    elif name == "name_param_fallback":
        for p in attachment_parts(msg):
            fname = param(p, "content-disposition", "filename")
            if param(p, "content-type", "name") != fname:
                raise CheckFailed(f"Content-Type name={param(p, 'content-type', 'name')!r}, filename={fname!r}")
    elif name == "inline_cid":
        p = find_cid_part(msg, arg)
        if p is None:
            raise CheckFailed(f"no part with Content-ID <{arg}>: " + ", ".join(
                repr(str(x.get("content-id"))) for x in leaves(msg) if x.get("content-id") is not None))
        if p.get_content_maintype() != "image" or p.get_content_disposition() != "inline":
            raise CheckFailed(f"part <{arg}> is {p.get_content_type()} with disposition {p.get_content_disposition()}")
    elif name == "inline_related":
        p = find_cid_part(msg, arg)
        parent = parent_of(msg, p) if p is not None else None
        if parent is None or parent.get_content_type() != "multipart/related":
            raise CheckFailed(f"part <{arg}> is not inside multipart/related")
        kids = parent.get_payload()
        start = parent.get_param("start")
        root = next((k for k in kids if str(k.get("content-id", "")).strip() == start), None) if start else kids[0]
        if root is None or root.get_content_type() != "text/html":
            raise CheckFailed("the root of multipart/related is not the text/html part")
    elif name == "mime_tree":
        if tree(msg) != arg:
            raise CheckFailed(f"structure is {tree(msg)}")
    elif name == "calendar_part_equals_request":
        ics = [d for f, d, t in request_attachments(request) if t.lower().startswith("text/calendar") or (f or "").lower().endswith(".ics")]
        for p in leaves(msg):
            if p.get_content_type() == "text/calendar" and (p.get_param("method") or "").upper() == arg.upper():
                if ics and decoded_bytes(p) == ics[0]:
                    return
                raise CheckFailed("the text/calendar part's bytes differ from the request's .ics")
        raise CheckFailed(f"no text/calendar part with method={arg}")
    elif name == "part_present":
        if not any(p.get_content_type() == arg.lower() for p in msg.walk()):
            raise CheckFailed(f"no {arg} part; structure is {tree(msg)}")
    elif name == "parts_decode_as_submitted":
        sub = parse(ctx["submitted"])
        got, want = [decoded_bytes(p) for p in leaves(msg)], [decoded_bytes(p) for p in leaves(sub)]
        if got != want:
            raise CheckFailed(f"{len(got)} parts delivered, {len(want)} submitted; contents differ")
    elif name == "relayed_unchanged":
        relayed_unchanged(raw, ctx["submitted"])
    else:
        raise CheckFailed(f"check {name} is not implemented by pycheck.py")


def relayed_unchanged(raw, submitted):
    if submitted is None:
        raise CheckFailed("no submitted message given")
    dh, db = header_block(raw)
    sh, sb = header_block(submitted)
    if db != sb:
        raise CheckFailed("the body differs from the submitted one")
    got = header_fields(dh)
    while got and field_name(got[0]) in TRACE_HEADERS:
        got.pop(0)
    sub = [f for f in header_fields(sh) if field_name(f) not in ("bcc", "resent-bcc", "idempotency-key")]
    sub_names = {field_name(f) for f in sub}
    for added in ("message-id", "date"):
        if added not in sub_names:
            got = [f for f in got if field_name(f) != added]
    if got != sub:
        raise CheckFailed("headers differ: delivered " + repr([f[:60] for f in got]) + " submitted " + repr([f[:60] for f in sub]))


def main():
    req = json.load(sys.stdin)
    with open(req["raw"], "rb") as f:
        raw = f.read()
    submitted = None
    if req.get("submitted"):
        with open(req["submitted"], "rb") as f:
            submitted = f.read()
    ctx = {"raw": raw, "msg": parse(raw), "request": req.get("request"), "submitted": submitted}
    results = []
    for c in req["checks"]:
        name, _, arg = c.partition(":")
        try:
            check(name, arg, ctx)
            results.append({"check": c, "ok": True, "detail": ""})
        except CheckFailed as e:
            results.append({"check": c, "ok": False, "detail": str(e)})
        except Exception as e:  # noqa: BLE001 - a crash in a check is a failed check, with its reason
            results.append({"check": c, "ok": False, "detail": f"{type(e).__name__}: {e}"})
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
