/**
 * The blob store contract the service and the HTTP layer use, whichever backend holds the bytes:
 * `DiskBlobStore` (store.ts, `<data>/blobs`) or `S3BlobStore` (s3.ts, any S3-compatible bucket).
 * Both pass the one contract suite (tests/release-server/platform/blobs.contract.ts).
 *
 * Guarantees every implementation keeps:
 * - `put` stores the body under its sha256 and returns only once the blob is complete and visible;
 *   a body over `maxBytes`, one that ends early, fails, or does not match `expectedSha256` leaves
 *   nothing visible (and nothing to clean up later but crash leftovers, which `sweepUploads` finds).
 * - Content addressing: identical bytes are stored once; a second `put` returns `existed: true` and
 *   restarts the blob's garbage-collection grace period: its modification time (`mtimeMs`) moves
 *   forward (on disk always, even within the millisecond of the last write; on S3, whose times are
 *   whole seconds, within the next second).
 * - `body(sha256)` is a Blob (`Bun.file`, or Bun's `S3File`) that can be sliced for ranges and
 *   handed to `new Response(...)`.
 */
import type { ByteSource } from "../domain/detect.ts";
import { Unavailable } from "../domain/errors.ts";

/** A store's error for an object that is not there (S3's NoSuchKey, Bun's ERR_S3_FILE_NOT_FOUND, a 404). */
export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string };
  return e?.code === "NoSuchKey" || e?.code === "ERR_S3_FILE_NOT_FOUND" || /not ?found|NoSuchKey|404/i.test(`${e?.name} ${e?.message}`);
}

/**
 * Whether a failed read of the store is worth trying again (see shared/retry.ts): not when the object
 * is gone (gone stays gone), nor when the store sent nothing for a whole deadline (Unavailable: it is
 * not asked twice more).
 */
export const worthRetrying = (err: unknown): boolean => !isNotFound(err) && !(err instanceof Unavailable);

/**
 * A body whose length is known before its first byte: a request with a Content-Length (HTTP framing
 * ends the body there, so it cannot run longer), or a Blob such as `Bun.file(path)`.
 */
export interface SizedBody {
  kind: "sized";
  size: number;
  source: Request | Response | Blob;
}

export type BlobBody = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | SizedBody;

/** `source` is `size` bytes long (the store checks that it was). */
export const sized = (source: SizedBody["source"], size: number): SizedBody => ({ kind: "sized", size, source });

export const isSized = (b: BlobBody): b is SizedBody => (b as SizedBody).kind === "sized";

export interface PutOptions {
  /** Uploads larger than this fail with `TooLarge` as soon as the limit is crossed. */
  maxBytes: number;
  /** Lowercase hex sha256 the client declared; a mismatch fails with `DigestMismatch`. */
  expectedSha256?: string;
}

export interface StoredBlob {
  sha256: string;
  size: number;
  /** True when identical bytes were already stored (nothing new was written). */
  existed: boolean;
}

export interface BlobInfo {
  sha256: string;
  size: number;
  mtimeMs: number;
}

/** An interrupted upload's leftover: a staged file, a staging object or an incomplete multipart upload. */
export interface StaleUpload {
  name: string;
  size: number;
}

/** The Content-Type and Content-Disposition a redirected download answers with (signed into the URL). */
export interface DownloadHeaders {
  contentType: string;
  contentDisposition: string;
}

export interface BlobStore {
  /** "disk" or "s3" (for logs and readiness messages). */
  readonly kind: "disk" | "s3";
  put(body: BlobBody, opts: PutOptions): Promise<StoredBlob>;
  /** Size and modification time, or undefined when the blob is absent. */
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /**
   * Runs `fn` (pure, synchronous: artifact detection) over random access to the blob. Remote stores
   * fetch the ranges `fn` asks for and run it again until it asked for nothing missing. `size`, when
   * the caller just read it with `stat`, spares a remote store asking for it again.
   */
  inspect<T>(sha256: string, fn: (src: ByteSource) => T, size?: number): Promise<T>;
  /**
   * The bytes (or an inclusive byte range) as a Response body: a `Bun.file` slice on disk, a stream
   * of a ranged GET on S3. Does not check that the blob exists.
   */
  body(sha256: string, range?: { start: number; end: number }): Blob | ReadableStream<Uint8Array>;
  /**
   * A short-lived URL a download should be redirected to instead of being sent the bytes
   * (`storage.s3.redirect_downloads`), or undefined: the server sends them itself.
   */
  downloadUrl(sha256: string, how: DownloadHeaders): string | undefined;
  /** Removes a blob; false when it was already gone. */
  remove(sha256: string): Promise<boolean>;
  /** Every stored blob. */
  entries(): AsyncIterable<BlobInfo>;
  /** Leftovers of interrupted uploads older than `maxAgeMs` (or, on disk, of dead processes). */
  staleUploads(nowMs: number, maxAgeMs: number): Promise<StaleUpload[]>;
  /** Deletes (aborts) what `staleUploads` lists and returns it. */
  sweepUploads(nowMs: number, maxAgeMs: number): Promise<StaleUpload[]>;
  /** Why the store cannot serve (unwritable directory, bucket unreachable, refused credentials), or undefined. */
  check(): Promise<string | undefined>;
}

export const HEX64 = /^[0-9a-f]{64}$/;
