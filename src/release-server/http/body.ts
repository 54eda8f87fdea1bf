/**
 * JSON request bodies (release and asset edits, channel moves, GraphQL documents), read with a
 * size limit that holds whatever the client declares: a Content-Length over the limit is refused
 * before reading, and the body itself is read as a stream and counted, so a chunked body (no
 * Content-Length) is refused with 413 at the chunk that crosses the limit, not after it has been
 * buffered whole. Bun's own request limit (serve.ts: `uploads.max_bytes` + 64 MiB) is only a
 * safety net behind this.
 *
 * Any Content-Type is read as JSON (GitHub's documented `curl -d '{...}'` examples send
 * application/x-www-form-urlencoded, and GitHub accepts them), except multipart: a form is not a
 * JSON document, and parsing one would mean buffering it (415). Uploads (upload.ts) refuse
 * multipart and an oversized Content-Length by the same two checks.
 */
import * as v from "valibot";
import { clip } from "../domain/errors.ts";
import { UTF8, type Ctx } from "./context.ts";
import { HttpError, validationFailed } from "./respond.ts";

/** Whether a Content-Type is a multipart form (refused before reading: parsing one means buffering it). */
export const isMultipart = (contentType: string): boolean => /^\s*multipart\//i.test(contentType);

/** The request's declared Content-Length when it is over `maxBytes` (refused before reading), else undefined. */
export function declaredOver(req: Request, maxBytes: number): string | undefined {
  const declared = req.headers.get("content-length");
  return declared !== null && Number(declared) > maxBytes ? declared : undefined;
}

/** The body as text, at most `maxBytes` bytes; 413 naming `what` as soon as it is longer. */
async function readBodyText(req: Request, maxBytes: number, what: string): Promise<string> {
  const tooLarge = () => new HttpError(413, `${what} larger than ${maxBytes} bytes`);
  if (declaredOver(req, maxBytes) !== undefined) throw tooLarge();
  if (req.body === null) return "";
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge();
      parts.push(value);
    }
  } catch (err) {
    // Stop reading: the rest of the body is never buffered (the request stream is cancelled).
    reader.cancel().catch(() => {});
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `${what} could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Not UTF-8: refused, not read with U+FFFD in place of its bytes (a tag stored so differs from the one sent).
  try { return UTF8.decode(Buffer.concat(parts, size)); } catch { throw new HttpError(400, `Problems parsing JSON: ${what} is not UTF-8`); }
}

/**
 * Whether every string in a parsed JSON value (keys too) is well-formed UTF-16: `"\ud800"` parses,
 * but holds no character. A walk with a stack of its own: JSON.parse takes 400,000 levels of
 * nesting, far past what a recursive walk can.
 */
function wellFormed(root: unknown): boolean {
  const todo: unknown[] = [root];
  while (todo.length) {
    const x = todo.pop();
    if (typeof x === "string") { if (!x.isWellFormed()) return false; }
    else if (Array.isArray(x)) todo.push(...x);
    else if (typeof x === "object" && x !== null) for (const [k, v] of Object.entries(x)) { if (!k.isWellFormed()) return false; todo.push(v); }
  }
  return true;
}

/** A `\uD800`-`\uDFFF` escape: only such a text can parse to a string that is not well-formed (the bytes are UTF-8). */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** The body parsed as JSON, at most `maxBytes` bytes, whatever its Content-Type but multipart (see the module comment). */
export async function readJsonBody(req: Request, maxBytes: number, what = "JSON body"): Promise<unknown> {
  const type = req.headers.get("content-type") ?? "";
  if (isMultipart(type)) throw new HttpError(415, `expected a JSON body, got Content-Type ${clip(type.trim())}; send the JSON document itself as the request body`);
  const text = await readBodyText(req, maxBytes, what);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "Problems parsing JSON");
  }
  // An unpaired surrogate escape is valid JSON but no text: a tag holding one was stored as U+FFFD
  // (another tag than the one sent) and its answer failed (500).
  if (SURROGATE_ESCAPE.test(text) && !wellFormed(body)) throw new HttpError(400, `Problems parsing JSON: ${what} holds an unpaired surrogate (\\ud800-\\udfff)`);
  return body;
}

/**
 * The JSON body (at most `maxBytes`) checked against `schema`; a mismatch is GitHub's 422 Validation
 * Failed naming `resource` and the field (null when the body as a whole is not the expected object).
 */
export async function readJsonAs<S extends v.GenericSchema>(c: Ctx, schema: S, resource: string, maxBytes: number): Promise<v.InferOutput<S>> {
  const body = await readJsonBody(c.req, maxBytes);
  // Every body read here is an object; valibot's object schemas take an array as one with no fields,
  // and give another value the schema's own message (for a release: "tag_name is required").
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    const got = Array.isArray(body) ? "Array" : body === null ? "null" : `a ${typeof body}`; // JSON.parse gives no undefined
    throw validationFailed(null, `body: Invalid type: Expected Object but received ${got}`, resource);
  }
  const parsed = v.safeParse(schema, body);
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  const field = v.getDotPath(issue);
  // valibot's own messages quote the input ('... but received "<the value>"'): cut it.
  throw validationFailed(field, `${field ?? "body"}: ${clip(issue.message)}`, resource);
}
