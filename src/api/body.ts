import { ApiError } from "./errors.ts";

/** The Sending API's limit on a whole request body: 25 MB (SPEC "Sending"). */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;

/**
 * Reads a request body as UTF-8 text, refusing anything larger than `limit` while reading: a
 * Content-Length over the limit is refused before a byte is read, and a chunked body is cut off
 * as soon as it passes the limit (the rest is never buffered).
 */
export async function readBodyText(request: Request, limit: number = MAX_BODY_BYTES): Promise<string> {
  const buf = await readBodyBytes(request, limit);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    throw new ApiError("invalid_parameter", "request body is not valid UTF-8; JSON must be sent as UTF-8", { param: "body" });
  }
}

export async function readBodyBytes(request: Request, limit: number = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    const n = Number(declared);
    if (!Number.isFinite(n) || n < 0) throw new ApiError("invalid_parameter", "Content-Length is not a number", { param: "Content-Length" });
    if (n > limit) throw tooLarge(limit);
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

function tooLarge(limit: number): ApiError {
  return new ApiError("payload_too_large", `request body is larger than ${limit} bytes (25 MB); send large files through /emails/attachment-uploads`, {
    headers: { Connection: "close" },
  });
}

/**
 * Parses a JSON request body. Unparseable JSON is 400 `invalid_parameter`; a body that is not a
 * JSON object is 400 too (nothing in it can be validated field by field).
 */
export async function readJsonObject(request: Request, limit?: number): Promise<Record<string, unknown>> {
  const ct = request.headers.get("content-type") ?? "";
  if (ct && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(ct)) {
    throw new ApiError("invalid_parameter", `Content-Type must be application/json, got "${ct.slice(0, 100)}"`, { param: "Content-Type" });
  }
  const text = await readBodyText(request, limit);
  if (text.trim() === "") throw new ApiError("invalid_parameter", "request body is empty; expected a JSON object", { param: "body" });
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ApiError("invalid_parameter", `request body is not valid JSON: ${(e as Error).message}`, { param: "body" });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ApiError("invalid_parameter", "request body must be a JSON object", { param: "body" });
  }
  return v as Record<string, unknown>;
}
