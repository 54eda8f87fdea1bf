/**
 * Blob downloads from whichever blob store the server has, with our own validators: the disk store's
 * `Bun.file` bodies (sendfile when TLS is off; Bun does not evaluate `If-None-Match` and would name
 * the file after its content hash), the S3 store's object streamed through (a ranged GET for a
 * Range), or, with `storage.s3.redirect_downloads`, a 302 to a short-lived presigned URL.
 * ETag is the strong `"sha256:<hex>"`; `If-None-Match` → 304; a single `Range` → 206 (multi-range →
 * the whole file, as RFC 9110 allows); `If-Range` that does not match → the whole file. HEAD is
 * answered here with the headers a GET would have, never redirected (a presigned URL is for one
 * method), and a request with `If-Range` is served here too (the store's own ETag differs from ours).
 * A file that only a token may see (a private app's, a draft's) is `Cache-Control: private`.
 */
import { retrying } from "../../shared/retry.ts";
import { worthRetrying, type BlobStore } from "../blobs/types.ts";
import { withSize } from "./log.ts";

export interface BlobDownload {
  /** The bytes, or those of an inclusive range; called only when a body is sent. */
  open(range?: { start: number; end: number }): Blob | ReadableStream<Uint8Array>;
  /** A URL to redirect a GET to instead of sending the bytes, or undefined (see `BlobStore.downloadUrl`). */
  redirect?(how: { contentType: string; contentDisposition: string }): string | undefined;
  sha256: string;
  size: number;
  filename: string;
  contentType: string;
}

/** The download of one stored blob, named and typed as its artifact. */
export function blobDownload(store: BlobStore, a: { sha256: string; size_bytes: number; filename: string; content_type: string }): BlobDownload {
  return {
    open: (range) => store.body(a.sha256, range),
    redirect: (how) => store.downloadUrl(a.sha256, how),
    sha256: a.sha256,
    size: a.size_bytes,
    filename: a.filename,
    contentType: a.content_type,
  };
}

export function etagOf(sha256: string): string {
  return `"sha256:${sha256}"`;
}

/** RFC 9110 weak comparison over a comma-separated list (or `*`). */
export function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, "");
  return header.split(",").some((t) => t.trim() === "*" || bare(t) === bare(etag));
}

type RangeResult = { start: number; end: number } | "unsatisfiable" | undefined;

/** One `bytes=` range; anything else (multi-range, other units, garbage) means "send it all". */
export function parseRange(header: string | null, size: number): RangeResult {
  const m = header?.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const n = Number(m[2]);
    // A suffix of nothing, or of an empty file, selects no byte (RFC 9110 14.1.2).
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

/**
 * `attachment; filename="..."` with an ASCII fallback and the exact UTF-8 name per RFC 6266/8187.
 * The `filename*` value is percent-encoded down to RFC 8187's attr-char: encodeURIComponent leaves
 * `'`, `(`, `)` and `*` as they are, which attr-char does not allow (`'` is the value's own delimiter).
 */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * `authorized`: the answer needed the caller's token (a private app's file, a draft's): such a
 * response is `Cache-Control: private`, so no shared cache (a proxy, a CDN) keeps it for the next
 * caller. Every download varies by Authorization, since whether it is found at all may depend on it.
 */
export async function serveBlob(req: Request, blob: BlobDownload, opts: { authorized: boolean }): Promise<Response> {
  const etag = etagOf(blob.sha256);
  const headers: Record<string, string> = {
    etag,
    "accept-ranges": "bytes",
    "cache-control": opts.authorized ? "private, max-age=300" : "public, max-age=300",
    vary: "Authorization",
    "content-disposition": contentDisposition(blob.filename),
    "x-content-type-options": "nosniff",
    "repr-digest": `sha-256=:${Buffer.from(blob.sha256, "hex").toString("base64")}:`,
  };
  if (etagMatches(req.headers.get("if-none-match"), etag)) return withSize(new Response(null, { status: 304, headers }), 0);

  headers["content-type"] = blob.contentType || "application/octet-stream";
  const ifRange = req.headers.get("if-range");
  if (req.method === "GET" && ifRange === null && blob.redirect) {
    const location = blob.redirect({ contentType: headers["content-type"], contentDisposition: headers["content-disposition"]! });
    if (location !== undefined) {
      return withSize(new Response(null, { status: 302, headers: { etag, location, "cache-control": "private, no-store", vary: "Authorization" } }), 0);
    }
  }
  const head = req.method === "HEAD";
  const range = ifRange && ifRange.trim() !== etag ? undefined : parseRange(req.headers.get("range"), blob.size);
  if (range === "unsatisfiable") {
    return withSize(new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${blob.size}` } }), 0);
  }
  if (range) {
    const len = range.end - range.start + 1;
    headers["content-range"] = `bytes ${range.start}-${range.end}/${blob.size}`;
    headers["content-length"] = String(len);
    return withSize(new Response(head ? null : await started(() => blob.open(range)), { status: 206, headers }), len);
  }
  headers["content-length"] = String(blob.size);
  return withSize(new Response(head ? null : await started(() => blob.open()), { status: 200, headers }), blob.size);
}

/**
 * A stream body (an S3 object read through) with its first chunk already read: a store that cannot
 * give the bytes (unreachable, the object gone, credentials refused) fails here, before the status
 * line and headers are sent, and the request is answered 500 and logged like any failure, instead of
 * a 200 whose connection is then reset (logged as a success, counted as a download). The first read
 * is tried three times (50 and 200 ms apart: radosgw fails a read that meets a concurrent copy of
 * the object onto itself). A failure after the first chunk can only end the connection. A Blob (a
 * file on disk) is sent as it is.
 */
async function started(open: () => Blob | ReadableStream<Uint8Array>): Promise<Blob | ReadableStream<Uint8Array>> {
  type Read = { done: true; value?: undefined } | { done: false; value: Uint8Array };
  type Reader = { read(): Promise<Read>; cancel(reason?: unknown): Promise<void> };
  const opened = await retrying(async () => {
    const body = open();
    if (body instanceof Blob) return body;
    const reader = body.getReader() as unknown as Reader;
    try {
      return { reader, first: await reader.read() };
    } catch (err) {
      reader.cancel().catch(() => {});
      throw err;
    }
  }, worthRetrying);
  if (opened instanceof Blob) return opened;
  const { reader, first } = opened;
  return new ReadableStream<Uint8Array>({
    start(ctl) {
      if (first.done) ctl.close();
      else ctl.enqueue(first.value);
    },
    async pull(ctl) {
      const next = await reader.read();
      if (next.done) ctl.close();
      else ctl.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
