/**
 * Content-addressed blob store on disk: `<data>/blobs/sha256/ab/cd/<hex>`, uploads staged in
 * `<data>/staging/` (same filesystem, so the final rename is atomic).
 *
 * Commit protocol of `put`: create `staging/<pid>-<uuid>` exclusively and write the body into it,
 * then fsync it, compare the sha256 with the declared digest, rename into place (or drop the
 * staged copy when the blob already exists), fsync the directory. Whatever goes wrong, the staged
 * file is unlinked in `finally`; a process killed mid-upload leaves a staged file that
 * `sweepStaging` removes at the next start. A blob only becomes visible once complete, so an
 * artifact row (inserted after `put` returns) never points at a missing or partial blob.
 *
 * Two ways in, one commit. A body of declared length (`sized()`: an HTTP Content-Length, a file) is
 * refused before anything is written when over the cap, then written by Bun natively
 * (`Bun.write` into the staging descriptor: socket to file with no JavaScript per chunk), and the
 * written length must equal the declared one, on the descriptor too. A stream of unknown length
 * (chunked transfer) is counted as it arrives and cut off at the chunk that crosses the cap. In both
 * the sha256 is read back from the staged file beside the write: on a hash worker (hasher.ts) once
 * the file passes `INLINE_HASH_MAX`, on this thread for smaller files; the fsync runs while the
 * hash catches up.
 */
import { accessSync, constants, closeSync, existsSync, fstatSync, fsync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { fsyncDir } from "../../shared/fs.ts";
import { Aborted, DigestMismatch, Invalid, ServiceError, TooLarge } from "../domain/errors.ts";
import { storageKeyFor } from "../domain/model.ts";
import type { ByteSource } from "../domain/detect.ts";
import { hashFd, tailHash, type TailHash } from "./hasher.ts";
import { HEX64, isSized, type BlobBody, type BlobInfo, type BlobStore, type PutOptions, type DownloadHeaders, type StaleUpload, type StoredBlob } from "./types.ts";

export { sized, type BlobBody, type BlobInfo, type BlobStore, type DownloadHeaders, type PutOptions, type SizedBody, type StaleUpload, type StoredBlob } from "./types.ts";

/** Staged files up to this size are hashed on the calling thread once written (a worker round trip costs more). */
export const INLINE_HASH_MAX = 4 * 1024 * 1024;

/**
 * The `BlobStore` contract (types.ts) on the local disk. The synchronous methods (`path`, `size`,
 * `withSource`, `delete`, `list`, `staleStaging`, `sweepStaging`) are the same operations for callers
 * that know they have a disk store.
 */
export class DiskBlobStore implements BlobStore {
  readonly kind = "disk" as const;
  readonly blobsDir: string;
  readonly stagingDir: string;

  constructor(dataDir: string) {
    this.blobsDir = join(dataDir, "blobs");
    this.stagingDir = join(dataDir, "staging");
    mkdirSync(join(this.blobsDir, "sha256"), { recursive: true });
    mkdirSync(this.stagingDir, { recursive: true });
  }

  /** Absolute path of a blob (for `Bun.file` downloads). Does not check that it exists. */
  path(sha256: string): string {
    if (!HEX64.test(sha256)) throw new Invalid(`invalid sha256 digest: ${JSON.stringify(sha256)}`);
    return join(this.blobsDir, storageKeyFor(sha256));
  }

  has(sha256: string): boolean {
    return existsSync(this.path(sha256));
  }

  /** Size in bytes, or undefined when the blob is absent. */
  size(sha256: string): number | undefined {
    try {
      return statSync(this.path(sha256)).size;
    } catch {
      return undefined;
    }
  }

  async put(body: BlobBody, opts: PutOptions): Promise<StoredBlob> {
    if (opts.expectedSha256 !== undefined && !HEX64.test(opts.expectedSha256)) {
      throw new Invalid(`invalid declared digest: expected 64 lowercase hex characters, got ${JSON.stringify(opts.expectedSha256)}`);
    }
    const tooLarge = () => new TooLarge(`upload exceeds the limit of ${opts.maxBytes} bytes`, { max_bytes: opts.maxBytes });
    if (isSized(body) && !(Number.isSafeInteger(body.size) && body.size >= 0)) throw new Invalid(`invalid body length: ${body.size}`);
    if (isSized(body) && body.size > opts.maxBytes) throw tooLarge();
    const staged = join(this.stagingDir, `${process.pid}-${crypto.randomUUID()}`);
    const fd = openSync(staged, "wx+", 0o644); // read back for small files' digests
    let tail: TailHash | undefined;
    let closed = false;
    try {
      let size = 0;
      try {
        if (isSized(body)) {
          // A request's body streamed from the socket is appended as it arrives, so the worker can hash
          // it as it grows. A Blob, or a body Bun already holds whole, is not: Bun sizes the file
          // first (fallocate/ftruncate) and fills it after; the worker then waits for the end.
          if (body.size > INLINE_HASH_MAX && !(body.source instanceof Blob)) tail = tailHash(staged, body.size);
          // Bun writes into a duplicate of `fd` from its own loop.
          const dest = Bun.file(fd);
          size = await (body.source instanceof Blob ? Bun.write(dest, body.source) : Bun.write(dest, body.source));
          if (size > opts.maxBytes) throw tooLarge();
          if (size !== body.size) throw new Aborted(`upload body was ${size} bytes, ${body.size} were declared`);
        } else {
          for await (const chunk of body as AsyncIterable<Uint8Array>) {
            size += chunk.byteLength;
            if (size > opts.maxBytes) throw tooLarge();
            let off = 0;
            while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
            if (!tail && size > INLINE_HASH_MAX) tail = tailHash(staged);
          }
        }
      } catch (err) {
        if (err instanceof ServiceError) throw err;
        throw new Aborted(`upload aborted after ${size} bytes: ${err instanceof Error ? err.message : String(err)}`);
      }
      const onDisk = fstatSync(fd).size;
      if (onDisk !== size) throw new Aborted(`upload wrote ${size} bytes but the staged file holds ${onDisk}`);
      if (!tail && size > INLINE_HASH_MAX) tail = tailHash(staged);
      // The fsync (thread pool) runs while the hash worker reads the last bytes from the page cache.
      const synced = new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
      synced.catch(() => {});
      let sha256: string;
      try {
        if (tail) {
          const t = tail;
          tail = undefined;
          sha256 = await t.finish(size).catch(() => hashFd(fd, size)); // a failed worker: hash here instead
        } else {
          sha256 = hashFd(fd, size);
        }
      } finally {
        await synced.catch(() => {}); // never close the descriptor under a running fsync
      }
      await synced;
      closeSync(fd);
      closed = true;
      if (opts.expectedSha256 !== undefined && opts.expectedSha256 !== sha256) {
        throw new DigestMismatch(`upload digest mismatch: declared sha256:${opts.expectedSha256}, received sha256:${sha256}`, {
          expected: opts.expectedSha256,
          actual: sha256,
        });
      }
      const final = this.path(sha256);
      const stored = statSync(final, { throwIfNoEntry: false });
      if (stored) {
        // Dedup: keep the stored copy; refresh its mtime so garbage collection's grace period
        // restarts. The time moves forward even within the millisecond of the last write, so a
        // refused upload's clean-up that read it before (services/releases.ts) sees the refresh.
        const now = new Date(Math.max(Date.now(), Math.floor(stored.mtimeMs) + 1));
        try {
          utimesSync(final, now, now);
          return { sha256, size, existed: true };
        } catch (err) {
          // Removed since (a refused upload's cleanup, retention): store this copy instead.
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        }
      }
      const dir = dirname(final);
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        fsyncDir(dirname(dir));
        fsyncDir(dirname(dirname(dir)));
      }
      renameSync(staged, final);
      fsyncDir(dir);
      return { sha256, size, existed: false };
    } finally {
      tail?.cancel();
      if (!closed) {
        try {
          closeSync(fd);
        } catch {}
      }
      try {
        unlinkSync(staged);
      } catch {}
    }
  }

  /** Random access to a stored blob for the duration of `fn` (one open file). */
  withSource<T>(sha256: string, fn: (src: ByteSource) => T): T {
    const fd = openSync(this.path(sha256), "r");
    try {
      const size = fstatSync(fd).size;
      return fn({
        size,
        read(offset: number, length: number): Uint8Array {
          const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
          let got = 0;
          while (got < buf.length) {
            const n = readSync(fd, buf, got, buf.length - got, offset + got);
            if (n === 0) break;
            got += n;
          }
          return buf.subarray(0, got);
        },
      });
    } finally {
      closeSync(fd);
    }
  }

  /** Removes a blob; false when it was already gone. */
  delete(sha256: string): boolean {
    const path = this.path(sha256);
    try {
      unlinkSync(path);
    } catch {
      return false;
    }
    fsyncDir(dirname(path));
    return true;
  }

  /** Every stored blob. */
  *list(): Generator<BlobInfo> {
    const root = join(this.blobsDir, "sha256");
    for (const a of safeReaddir(root)) {
      for (const b of safeReaddir(join(root, a))) {
        for (const name of safeReaddir(join(root, a, b))) {
          if (!HEX64.test(name)) continue;
          const st = statSync(join(root, a, b, name), { throwIfNoEntry: false });
          if (st?.isFile()) yield { sha256: name, size: st.size, mtimeMs: st.mtimeMs };
        }
      }
    }
  }

  /**
   * Staged files left by interrupted uploads: those whose writing process is gone, or older than
   * `maxAgeMs` (process ids get reused). Uploads still running in live processes are left alone.
   */
  staleStaging(nowMs: number, maxAgeMs: number): Array<{ name: string; size: number }> {
    const out: Array<{ name: string; size: number }> = [];
    for (const name of safeReaddir(this.stagingDir)) {
      const st = statSync(join(this.stagingDir, name), { throwIfNoEntry: false });
      if (!st) continue;
      const pid = Number(name.split("-")[0]);
      const orphan = !(Number.isInteger(pid) && pid > 0 && pidAlive(pid));
      if (orphan || nowMs - st.mtimeMs > maxAgeMs) out.push({ name, size: st.size });
    }
    return out;
  }

  /** Deletes stale staged files (see `staleStaging`) and returns what went. */
  sweepStaging(nowMs: number, maxAgeMs: number): Array<{ name: string; size: number }> {
    const gone = this.staleStaging(nowMs, maxAgeMs);
    for (const f of gone) {
      try {
        unlinkSync(join(this.stagingDir, f.name));
      } catch {}
    }
    return gone;
  }
  // ---------------------------------------------------------------- the BlobStore contract

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    const st = statSync(this.path(sha256), { throwIfNoEntry: false });
    return st?.isFile() ? { sha256, size: st.size, mtimeMs: st.mtimeMs } : undefined;
  }

  async inspect<T>(sha256: string, fn: (src: ByteSource) => T): Promise<T> {
    return this.withSource(sha256, fn);
  }

  body(sha256: string, range?: { start: number; end: number }): Blob {
    const file = Bun.file(this.path(sha256));
    return range ? file.slice(range.start, range.end + 1) : file;
  }

  /** The disk store sends its bytes itself (sendfile). */
  downloadUrl(_sha256: string, _how: DownloadHeaders): string | undefined {
    return undefined;
  }

  async remove(sha256: string): Promise<boolean> {
    return this.delete(sha256);
  }

  async *entries(): AsyncGenerator<BlobInfo> {
    yield* this.list();
  }

  async staleUploads(nowMs: number, maxAgeMs: number): Promise<StaleUpload[]> {
    return this.staleStaging(nowMs, maxAgeMs);
  }

  async sweepUploads(nowMs: number, maxAgeMs: number): Promise<StaleUpload[]> {
    return this.sweepStaging(nowMs, maxAgeMs);
  }

  async check(): Promise<string | undefined> {
    for (const dir of [this.blobsDir, this.stagingDir]) {
      try {
        accessSync(dir, constants.W_OK | constants.X_OK);
      } catch {
        return "blob store: a data directory is not writable";
      }
    }
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
