/**
 * The `BlobStore` contract (types.ts) on any S3-compatible bucket, through Bun's built-in `S3Client`.
 * Keys: `<prefix>sha256/ab/cd/<hex>` (as on disk), uploads in flight under `<prefix>staging/`.
 *
 * How `put` keeps the disk store's guarantees (docs/architecture.md, "S3"):
 * - Streaming: the body goes to S3 as it arrives, through Bun's multipart writer (`partSize` parts,
 *   `queueSize` in flight; a body shorter than one part is one PutObject at the end), hashed and
 *   counted on the way. A sized body over the cap is refused before any request; a stream is cut
 *   off at the chunk that crosses it. The part size grows with the cap so that 10 000 parts hold it.
 * - Nothing visible until complete: a multipart upload is invisible until completed. Every failure
 *   (cap, short body, a stream error, a digest mismatch) ends the writer with the error, which
 *   aborts the multipart upload (or never sends the single PUT); `sweepUploads` aborts uploads a
 *   crashed process left open and deletes staging objects older than `staging_max_age_hours`.
 * - Content addressing: with a declared digest the key is known up front. If that blob exists, the
 *   body is only read and hashed (nothing is sent) and the match checked; otherwise it is written
 *   straight to its final key and completed only when the digest matched. Without a declared digest
 *   the body goes to `staging/<time>-<uuid>`, and once complete it is copied server-side to its
 *   digest key (unless that exists) and the staging object deleted.
 * - De-duplication restarts the blob's grace period: an existing blob is copied onto itself, which
 *   refreshes its LastModified (retention compares it with `blob_grace_hours`).
 */
import { cancellable, deadline } from "../../shared/deadline.ts";
import { retrying } from "../../shared/retry.ts";
import { S3Client } from "bun";
import { Aborted, DigestMismatch, Invalid, ServiceError, TooLarge, Unavailable } from "../domain/errors.ts";
import type { ByteSource } from "../domain/detect.ts";
import { storageKeyFor } from "../domain/model.ts";
import {
  abortMultipartUpload,
  completeMultipartUpload,
  copyObject,
  createMultipartUpload,
  putObject,
  uploadPart, credentialsFromEnv, envValue, listMultipartUploads,
  s3Request,
  xmlText,
  type S3Credentials,
  type S3Endpoint,
} from "./s3-requests.ts";
import { HEX64, isNotFound, isSized, worthRetrying, type BlobBody, type BlobInfo, type BlobStore, type DownloadHeaders, type PutOptions, type StaleUpload, type StoredBlob } from "./types.ts";

export interface S3StoreOptions {
  bucket?: string;
  /** Prepended to every key ("" or ending in "/"). */
  prefix: string;
  endpoint?: string;
  region?: string;
  virtualHostedStyle: boolean;
  /** Multipart part size in bytes (S3's minimum is 5 MiB except for the last part). */
  partSize: number;
  /** Parts uploaded concurrently (partSize × (queueSize + 1) bounds the memory of one upload). */
  queueSize: number;
  /** Downloads are redirected to presigned URLs valid this many seconds; undefined: proxied. */
  redirectSeconds?: number;
  /** Keys per ListObjectsV2 page (default 1000, S3's maximum; tests page with fewer). */
  listPageSize?: number;
  /**
   * How long a request about objects (exists, stat, a ranged read, copy, delete, list) may take,
   * and how long a download's stream may go without a byte (`storage.timeout_seconds`; 0: no limit).
   * An upload's requests (a part, a single PUT, starting a multipart upload) have it plus a second
   * per 256 KiB they send; completing one has none (S3 may take minutes to assemble a large object).
   */
  timeoutMs?: number;
}

/** S3 allows at most 10 000 parts per upload. */
const MAX_PARTS = 10_000;
/** A first fetch covers head and tail of a blob this much each (detection reads both ends). */
const INSPECT_WINDOW = 256 * 1024;

/**
 * A read or a touch tried again, twice, 50 and 200 ms apart, unless the object is not there: radosgw
 * answers a ranged GET that meets a concurrent copy of the same object onto itself (another upload of
 * the same bytes restarting its grace period) with 500 UnknownError (ECANCELED), and that one read
 * failed the whole upload.
 */
const retried = <T>(what: () => Promise<T>): Promise<T> => retrying(what, worthRetrying);

/** A write to the bucket that failed during an upload (as opposed to the request body failing). */
class StoreFailed extends Error {
  constructor(override readonly cause: unknown) {
    super("blob store write failed");
  }
}

export class S3BlobStore implements BlobStore {
  readonly kind = "s3" as const;
  readonly client: S3Client;
  readonly endpoint: S3Endpoint;
  readonly prefix: string;
  private readonly opts: S3StoreOptions;
  private readonly creds: S3Credentials;

  /** Throws Invalid when the bucket or the credentials (environment only) are missing. */
  constructor(opts: S3StoreOptions) {
    const creds = credentialsFromEnv();
    if (!creds) {
      throw new Invalid("storage.blobs is s3 but no S3 credentials are set: export S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
    }
    const bucket = opts.bucket ?? envValue("BUCKET");
    if (!bucket) throw new Invalid("storage.blobs is s3 but no bucket is set: storage.s3.bucket, or S3_BUCKET / AWS_BUCKET");
    const region = opts.region ?? envValue("REGION") ?? "us-east-1";
    const endpoint = (opts.endpoint ?? envValue("ENDPOINT") ?? `https://s3.${region}.amazonaws.com`).replace(/\/+$/, "");
    if (opts.prefix !== "" && !opts.prefix.endsWith("/")) throw new Invalid(`storage.s3.prefix must be empty or end with "/": ${JSON.stringify(opts.prefix)}`);
    this.opts = opts;
    this.creds = creds;
    this.prefix = opts.prefix;
    this.endpoint = { endpoint, bucket, region, virtualHostedStyle: opts.virtualHostedStyle };
    this.client = new S3Client({
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
      bucket,
      region,
      endpoint,
      virtualHostedStyle: opts.virtualHostedStyle,
    });
  }

  /** The object key of a blob. */
  key(sha256: string): string {
    if (!HEX64.test(sha256)) throw new Invalid(`invalid sha256 digest: ${JSON.stringify(sha256)}`);
    return this.prefix + storageKeyFor(sha256);
  }

  get stagingPrefix(): string {
    return `${this.prefix}staging/`;
  }

  async put(body: BlobBody, opts: PutOptions): Promise<StoredBlob> {
    const declared = opts.expectedSha256;
    if (declared !== undefined && !HEX64.test(declared)) {
      throw new Invalid(`invalid declared digest: expected 64 lowercase hex characters, got ${JSON.stringify(declared)}`);
    }
    const tooLarge = () => new TooLarge(`upload exceeds the limit of ${opts.maxBytes} bytes`, { max_bytes: opts.maxBytes });
    if (isSized(body) && !(Number.isSafeInteger(body.size) && body.size >= 0)) throw new Invalid(`invalid body length: ${body.size}`);
    if (isSized(body) && body.size > opts.maxBytes) throw tooLarge();

    const existing = declared !== undefined && (await this.exists(this.key(declared)));
    const target = declared !== undefined ? this.key(declared) : `${this.stagingPrefix}${Date.now()}-${crypto.randomUUID()}`;
    const largest = isSized(body) ? body.size : opts.maxBytes;
    const partSize = Math.max(this.opts.partSize, Math.ceil(largest / MAX_PARTS));
    const upload = existing ? undefined : new PartUpload(this.endpoint, this.creds, target, partSize, this.opts.queueSize, isSized(body) ? body.size : undefined, this.opts.timeoutMs ?? 0);
    const hasher = new Bun.CryptoHasher("sha256");
    let size = 0;
    let completed = false;
    try {
      try {
        for await (const chunk of chunksOf(body)) {
          size += chunk.byteLength;
          if (size > opts.maxBytes) throw tooLarge();
          hasher.update(chunk);
          if (upload) await upload.write(chunk).catch((cause: unknown) => { throw new StoreFailed(cause); });
        }
        if (isSized(body) && size !== body.size) throw new Aborted(`upload body was ${size} bytes, ${body.size} were declared`);
      } catch (err) {
        if (err instanceof ServiceError) throw err;
        // The bucket failed, not the client: a 500 without details (logged), which clients retry, not a 400.
        if (err instanceof StoreFailed) throw err.cause;
        throw new Aborted(`upload aborted after ${size} bytes: ${err instanceof Error ? err.message : String(err)}`);
      }
      const sha256 = hasher.digest("hex");
      if (declared !== undefined && declared !== sha256) {
        throw new DigestMismatch(`upload digest mismatch: declared sha256:${declared}, received sha256:${sha256}`, { expected: declared, actual: sha256 });
      }
      if (existing) {
        await this.touch(this.key(sha256));
        return { sha256, size, existed: true };
      }
      await upload!.complete(); // the object appears now, whole
      completed = true;
      if (declared !== undefined) return { sha256, size, existed: false };
      // Undeclared: the staged object moves to its digest key (server-side), then goes.
      const final = this.key(sha256);
      try {
        const existed = await this.exists(final);
        if (existed) await this.touch(final);
        else await this.signed((signal) => copyObject(this.endpoint, this.creds, target, final, signal));
        return { sha256, size, existed };
      } finally {
        await this.timed(this.client.delete(target)).catch(() => {}); // a leftover is swept with the staging prefix
      }
    } finally {
      if (upload && !completed) await upload.abort();
    }
  }

  /** A call of Bun's S3Client (which takes no signal) raced with the store's deadline. */
  private timed<T>(p: Promise<T>): Promise<T> {
    return storeDeadline(p, this.opts.timeoutMs ?? 0);
  }

  /** A hand-signed request (s3-requests.ts) cancelled at the store's deadline. */
  private signed<T>(send: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    return storeRequest(send, this.opts.timeoutMs ?? 0);
  }

  private async exists(key: string): Promise<boolean> {
    return this.timed(this.client.exists(key));
  }

  /** Copies an object onto itself so that its LastModified is now (the grace period restarts). */
  private async touch(key: string): Promise<void> {
    await retried(() => this.signed((signal) => copyObject(this.endpoint, this.creds, key, key, signal)));
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    try {
      const st = await this.timed(this.client.stat(this.key(sha256)));
      return { sha256, size: st.size, mtimeMs: st.lastModified.getTime() };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async inspect<T>(sha256: string, fn: (src: ByteSource) => T, size?: number): Promise<T> {
    const file = this.client.file(this.key(sha256));
    const known = size ?? (await this.stat(sha256))?.size;
    if (known === undefined) throw new Invalid(`blob sha256:${sha256} is not stored`);
    return inspectRanges(known, async (start, end) => new Uint8Array(await retried(() => this.timed(file.slice(start, end).arrayBuffer()))), fn);
  }

  /** A stream, not the S3File itself: Bun answers `new Response(s3File)` with its own redirect. */
  body(sha256: string, range?: { start: number; end: number }): ReadableStream<Uint8Array> {
    const file = this.client.file(this.key(sha256));
    return stallGuard((range ? file.slice(range.start, range.end + 1) : file).stream(), this.opts.timeoutMs ?? 0);
  }

  downloadUrl(sha256: string, how: DownloadHeaders): string | undefined {
    if (this.opts.redirectSeconds === undefined) return undefined;
    return this.client.presign(this.key(sha256), {
      method: "GET",
      expiresIn: this.opts.redirectSeconds,
      type: how.contentType,
      contentDisposition: how.contentDisposition,
    });
  }

  async remove(sha256: string): Promise<boolean> {
    const key = this.key(sha256);
    if (!(await this.exists(key))) return false;
    await this.timed(this.client.delete(key));
    return true;
  }

  async *entries(): AsyncGenerator<BlobInfo> {
    for await (const o of this.listObjects(`${this.prefix}sha256/`)) {
      const name = o.key.slice(o.key.lastIndexOf("/") + 1);
      if (HEX64.test(name) && o.key === this.key(name)) yield { sha256: name, size: o.size, mtimeMs: o.mtimeMs };
    }
  }

  private async *listObjects(prefix: string): AsyncGenerator<{ key: string; size: number; mtimeMs: number }> {
    let continuationToken: string | undefined;
    do {
      const page = await this.timed(this.client.list({ prefix, maxKeys: this.opts.listPageSize ?? 1000, ...(continuationToken ? { continuationToken } : {}) }));
      for (const o of page.contents ?? []) yield { key: o.key, size: o.size ?? 0, mtimeMs: o.lastModified ? Date.parse(String(o.lastModified)) : 0 };
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (continuationToken);
  }

  /**
   * Staging objects older than `maxAgeMs` and multipart uploads under the prefix initiated before
   * that (a live upload on another replica is younger; there is no process to ask).
   */
  async staleUploads(nowMs: number, maxAgeMs: number): Promise<StaleUpload[]> {
    return (await this.stale(nowMs, maxAgeMs)).map(({ name, size }) => ({ name, size }));
  }

  async sweepUploads(nowMs: number, maxAgeMs: number): Promise<StaleUpload[]> {
    const stale = await this.stale(nowMs, maxAgeMs);
    for (const s of stale) await s.remove().catch(() => {});
    return stale.map(({ name, size }) => ({ name, size }));
  }

  private async stale(nowMs: number, maxAgeMs: number): Promise<Array<StaleUpload & { remove: () => Promise<void> }>> {
    const out: Array<StaleUpload & { remove: () => Promise<void> }> = [];
    for await (const o of this.listObjects(this.stagingPrefix)) {
      if (nowMs - o.mtimeMs > maxAgeMs) out.push({ name: o.key, size: o.size, remove: () => this.timed(this.client.delete(o.key)) });
    }
    for (const u of await this.signed((signal) => listMultipartUploads(this.endpoint, this.creds, this.prefix, signal))) {
      if (nowMs - u.initiatedMs > maxAgeMs) out.push({ name: `multipart:${u.key}`, size: 0, remove: () => this.signed((signal) => abortMultipartUpload(this.endpoint, this.creds, u.key, u.uploadId, signal)) });
    }
    return out;
  }

  /** One signed listing of the bucket: reachability, the bucket, and the credentials in one request. */
  async check(): Promise<string | undefined> {
    let res: Response;
    try {
      res = await this.signed((signal) => s3Request(this.endpoint, this.creds, { method: "GET", query: { "list-type": "2", "max-keys": "1", prefix: this.prefix }, signal }));
    } catch (err) {
      return `blob store: S3 endpoint ${this.endpoint.endpoint} unreachable: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const text = await res.text().catch(() => "");
    const code = xmlText(text, "Code") ?? `HTTP ${res.status}`;
    const where = `bucket ${this.endpoint.bucket} at ${this.endpoint.endpoint}`;
    if (["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "InvalidToken"].includes(code) || res.status === 403) {
      return `blob store: S3 refused the credentials for ${where} (${code}); check S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY (or AWS_*)`;
    }
    if (code === "NoSuchBucket" || res.status === 404) return `blob store: ${where} does not exist (${code})`;
    return `blob store: ${where} answered ${code}`;
  }
}

/**
 * One upload to `key`, part by part: nothing is sent until a part is full (a body smaller than one
 * part becomes a single PutObject in `complete`); then CreateMultipartUpload, and up to `queueSize`
 * UploadPart requests in flight (writes wait for the oldest beyond that: memory stays within
 * `partSize × (queueSize + 1)`). `complete` sends CompleteMultipartUpload; `abort` waits for the
 * parts in flight and sends AbortMultipartUpload, so nothing of a refused upload stays behind.
 */
class PartUpload {
  private buf: Uint8Array;
  private fill = 0;
  private uploadId: string | undefined;
  private readonly etags: string[] = [];
  private readonly inFlight: Array<Promise<void>> = [];
  /** Part buffers whose upload finished, reused (a new 8 MiB buffer per part would wait for GC). */
  private readonly spare: Uint8Array[] = [];
  private failure: unknown;
  /** Aborted by `abort`: every request of this upload still running stops. */
  private readonly cancel = new AbortController();
  /** An upload's request tried twice more, 100 and 200 ms apart, unless the store let the deadline pass (it is not asked again) or the upload was given up (abort). */
  private readonly retry = <T>(fn: () => Promise<T>): Promise<T> => retrying(fn, (err) => !(err instanceof Unavailable) && !this.cancel.signal.aborted, [100, 200]);

  constructor(
    private readonly ep: S3Endpoint,
    private readonly creds: S3Credentials,
    private readonly key: string,
    private readonly partSize: number,
    private readonly queueSize: number,
    declared: number | undefined,
    private readonly timeoutMs: number,
  ) {
    this.buf = new Uint8Array(Math.max(1, Math.min(partSize, declared ?? partSize)));
  }

  async write(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.byteLength) {
      if (this.fill === this.buf.length) {
        if (this.buf.length < this.partSize) {
          const grown = new Uint8Array(this.partSize);
          grown.set(this.buf);
          this.buf = grown;
        } else {
          await this.sendPart();
        }
      }
      const n = Math.min(this.buf.length - this.fill, chunk.byteLength - off);
      this.buf.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
    }
  }

  private async sendPart(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.uploadId ??= await this.timed((signal) => createMultipartUpload(this.ep, this.creds, this.key, signal), 0);
    const uploadId = this.uploadId;
    const whole = this.buf;
    const part = this.fill === whole.length ? whole : whole.subarray(0, this.fill);
    const index = this.etags.length;
    this.etags.push("");
    this.buf = this.spare.pop() ?? new Uint8Array(this.partSize);
    this.fill = 0;
    this.inFlight.push(
      this.retry(() => this.timed((signal) => uploadPart(this.ep, this.creds, this.key, uploadId, index + 1, part, signal), part.length))
        .then(
          (etag) => void (this.etags[index] = etag),
          (err) => void (this.failure ??= err),
        )
        .finally(() => {
          if (whole.length === this.partSize) this.spare.push(whole);
        }),
    );
    while (this.inFlight.length >= this.queueSize) await this.inFlight.shift();
    if (this.failure !== undefined) throw this.failure;
  }

  async complete(): Promise<void> {
    if (this.uploadId === undefined) {
      await this.retry(() => this.timed((signal) => putObject(this.ep, this.creds, this.key, this.buf.subarray(0, this.fill), signal), this.fill));
      return;
    }
    if (this.fill > 0) await this.sendPart();
    await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
    // No deadline: S3 may take minutes to assemble a large object (as AWS documents), and the parts are sent.
    await completeMultipartUpload(this.ep, this.creds, this.key, this.uploadId, this.etags);
    this.uploadId = undefined;
  }

  /**
   * One request with the store's deadline, plus a second per 256 KiB it sends (a part of 8 MiB: 32 s
   * more): a store that takes longer is not answering, and an upload to it hung until it did. The
   * deadline and `abort` cancel the request itself (its socket and part buffer go), where a race
   * with a timer left it running.
   */
  private timed<T>(send: (signal: AbortSignal | undefined) => Promise<T>, bytes: number): Promise<T> {
    return storeRequest(send, this.timeoutMs > 0 ? this.timeoutMs + Math.ceil(bytes / 262_144) * 1000 : 0, this.cancel.signal);
  }

  /**
   * Cancels the parts still in flight, waits for them to stop, then sends AbortMultipartUpload: a
   * part that was still being sent can no longer land after the abort, where no listing would find
   * it. Bounded by the store's deadline (a refused upload to a store that stopped answering must not
   * hang): what is left is swept with the staging prefix.
   */
  async abort(): Promise<void> {
    this.cancel.abort();
    await storeDeadline(Promise.allSettled(this.inFlight), this.timeoutMs).catch(() => {});
    const id = this.uploadId;
    if (id !== undefined) await storeRequest((signal) => abortMultipartUpload(this.ep, this.creds, this.key, id, signal), this.timeoutMs).catch(() => {});
  }
}

/**
 * A download's stream that fails once `ms` pass without a byte from the store (0: never): the
 * response is cut, and the client sees a short body (its Content-Length says so) instead of waiting
 * for as long as the store does not answer.
 */
function stallGuard(src: ReadableStream<Uint8Array>, ms: number): ReadableStream<Uint8Array> {
  if (!(ms > 0)) return src;
  const reader = src.getReader();
  // One timer per stream, not one per chunk; only the time spent waiting on the store counts (a
  // client that reads slowly leaves the stream idle without waiting on it).
  let waitingSince: number | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let stall: (err: Error) => void = () => {};
  const stalled = new Promise<never>((_, reject) => { stall = reject; });
  stalled.catch(() => {});
  const stop = () => { clearInterval(timer); timer = undefined; };
  return new ReadableStream<Uint8Array>({
    start() {
      timer = setInterval(() => {
        if (waitingSince !== undefined && Date.now() - waitingSince >= ms) { stop(); stall(new Unavailable(`the blob store sent nothing for ${ms / 1000} s`)); }
      }, Math.max(50, Math.min(1000, ms / 4)));
      timer.unref(); // a stream nobody reads to the end must not keep a stopping server alive
    },
    async pull(ctrl) {
      try {
        waitingSince = Date.now();
        const r = await Promise.race([reader.read(), stalled]);
        waitingSince = undefined;
        if (r.done) { stop(); ctrl.close(); } else ctrl.enqueue(r.value);
      } catch (err) {
        stop();
        ctrl.error(err);
        reader.cancel(err).catch(() => {});
      }
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  });
}

/** What a call to a store that did not answer within `ms` is (see S3StoreOptions.timeoutMs). */
const late = (ms: number) => new Unavailable(`the blob store did not answer within ${ms / 1000} s; try again later`);

/** `p`, or `Unavailable` once the store has not answered for `ms` (0: no limit): for Bun's S3Client, which takes no signal. */
function storeDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return deadline(p, ms, () => late(ms));
}

/**
 * A hand-signed request (`send` passes the signal to fetch) cancelled after `ms` (0: no limit), then
 * `Unavailable`, or when `cancel` aborts (an AbortError: the caller gave up).
 */
function storeRequest<T>(send: (signal: AbortSignal | undefined) => Promise<T>, ms: number, cancel?: AbortSignal): Promise<T> {
  return cancellable(send, ms, () => late(ms), cancel);
}

async function* chunksOf(body: BlobBody): AsyncGenerator<Uint8Array> {
  if (isSized(body)) {
    const stream = body.source instanceof Blob ? body.source.stream() : body.source.body;
    if (!stream) return;
    yield* stream as unknown as AsyncIterable<Uint8Array>;
    return;
  }
  yield* body as AsyncIterable<Uint8Array>;
}

/**
 * Runs a synchronous reader over a remote object: bytes it asks for that are not fetched yet read
 * as zeros and are recorded; they are fetched and `fn` runs again, until a run needed nothing new
 * (`fn` must be deterministic; artifact detection is). The first round fetches head and tail.
 */
export async function inspectRanges<T>(size: number, fetchRange: (start: number, end: number) => Promise<Uint8Array>, fn: (src: ByteSource) => T): Promise<T> {
  const have: Array<{ start: number; bytes: Uint8Array }> = [];
  const fetch = async (start: number, end: number) => {
    start = Math.max(0, start);
    end = Math.min(size, end);
    if (end > start) have.push({ start, bytes: await fetchRange(start, end) });
  };
  if (size <= 2 * INSPECT_WINDOW) await fetch(0, size);
  else await Promise.all([fetch(0, INSPECT_WINDOW), fetch(size - INSPECT_WINDOW, size)]);
  for (let round = 0; ; round++) {
    const missing: Array<[number, number]> = [];
    const src: ByteSource = {
      size,
      read(offset, length) {
        const start = Math.max(0, offset);
        const end = Math.min(size, offset + Math.max(0, length));
        if (end <= start) return new Uint8Array(0);
        const hit = have.find((h) => h.start <= start && h.start + h.bytes.length >= end);
        if (hit) return hit.bytes.subarray(start - hit.start, end - hit.start);
        missing.push([start, end]);
        return new Uint8Array(end - start);
      },
    };
    const result = fn(src);
    if (missing.length === 0) return result;
    if (round >= 16) throw new Error(`inspecting a ${size}-byte blob needed more than 16 rounds of range reads`);
    await Promise.all(missing.map(([s, e]) => fetch(s, e)));
  }
}
