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
 * JSON document, and parsing one would mean buffering it (415).
 */
import { HttpError } from "./respond.ts";

/** The body as text, at most `maxBytes` bytes; 413 naming `what` as soon as it is longer. */
export async function readBodyText(req: Request, maxBytes: number, what: string): Promise<string> {
  const tooLarge = () => new HttpError(413, `${what} larger than ${maxBytes} bytes`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge();
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
  return new TextDecoder().decode(Buffer.concat(parts, size));
}

/** Refuses a multipart body (415) before any byte is read; any other Content-Type is read as JSON. */
export function checkJsonType(req: Request): void {
  const type = req.headers.get("content-type") ?? "";
  if (/^\s*multipart\//i.test(type)) throw new HttpError(415, `expected a JSON body, got Content-Type ${type.trim()}; send the JSON document itself as the request body`);
}

/** The body parsed as JSON, at most `maxBytes` bytes, whatever its Content-Type but multipart (see the module comment). */
export async function readJsonBody(req: Request, maxBytes: number, what = "JSON body"): Promise<unknown> {
  checkJsonType(req);
  const text = await readBodyText(req, maxBytes, what);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "Problems parsing JSON");
  }
}
