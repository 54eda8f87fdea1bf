/**
 * What an upload request declares before its bytes are read: the body must be raw bytes (multipart is
 * refused with 415, because parsing it means buffering), a Content-Length over the limit is refused
 * with 413 before reading, and an optional digest (`?digest=sha256:<hex>`, RFC 9530 `Repr-Digest:
 * sha-256=:<base64>:` or `X-Checksum-Sha256: <hex>`) is checked by the blob store once the bytes are in.
 *
 * A body with a Content-Length is handed to the store as a sized body (the request itself), which
 * Bun writes to the staging file natively; HTTP framing ends the body at that length, and the store
 * checks the length written. A chunked body (no Content-Length) is the request's stream, counted
 * against the limit as it arrives.
 */
import { sized, type BlobBody } from "../blobs/store.ts";
import { declaredOver, isMultipart } from "./body.ts";
import { HttpError } from "./respond.ts";

export interface UploadPlan {
  body: BlobBody;
  contentType: string;
  expectedSha256?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function declaredSha256(req: Request, url: URL): string | undefined {
  const q = url.searchParams.get("digest");
  if (q !== null) {
    const hex = q.toLowerCase().replace(/^sha256:/, "");
    if (!HEX64.test(hex)) throw new HttpError(400, "digest query parameter must be sha256:<64 hex characters>");
    return hex;
  }
  const repr = req.headers.get("repr-digest");
  if (repr) {
    const m = repr.match(/(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):/);
    if (!m) throw new HttpError(400, "Repr-Digest header must carry sha-256=:<base64>:");
    const hex = Buffer.from(m[1]!, "base64").toString("hex");
    if (!HEX64.test(hex)) throw new HttpError(400, "Repr-Digest sha-256 value is not 32 bytes");
    return hex;
  }
  const x = req.headers.get("x-checksum-sha256");
  if (x) {
    if (!HEX64.test(x.toLowerCase())) throw new HttpError(400, "X-Checksum-Sha256 header must be 64 hex characters");
    return x.toLowerCase();
  }
  return undefined;
}

export function planUpload(req: Request, url: URL, maxBytes: number): UploadPlan {
  const contentType = (req.headers.get("content-type") ?? "application/octet-stream").trim();
  if (isMultipart(contentType)) {
    throw new HttpError(415, "send the file as the raw request body (Content-Type: application/octet-stream), not as a form");
  }
  const over = declaredOver(req, maxBytes);
  if (over !== undefined) throw new HttpError(413, `upload of ${over} bytes exceeds the limit of ${maxBytes} bytes`);
  const declared = req.headers.get("content-length");
  const expectedSha256 = declaredSha256(req, url);
  // Transfer-Encoding wins over Content-Length (RFC 9112); such a body is counted as it streams.
  const length = declared !== null && /^\d{1,16}$/.test(declared.trim()) && !req.headers.has("transfer-encoding") ? Number(declared) : undefined;
  const body = length !== undefined ? sized(req, length) : (req.body ?? emptyBody());
  return { body, contentType, expectedSha256 };
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}
