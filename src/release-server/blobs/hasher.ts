/**
 * sha256 of a staged file while it is still being written, on Worker threads (hash-worker.ts), so
 * that hashing (about 0.7 s of CPU per GiB) runs beside the write instead of after it or on the
 * thread that moves the bytes from the socket to the file. `tailHash(path)` starts a job on the
 * least busy worker; `finish(size)` says the writer is done and resolves with the digest of exactly
 * `size` bytes, read back from the file (the page cache, not the disk). Workers start on first use,
 * at most min(4, cores - 1) (at least one), and do not keep the process alive while idle.
 */
import { readSync } from "node:fs";

export type HashRequest = { op: "start"; id: number; path: string; declared?: number } | { op: "end"; id: number; size: number } | { op: "cancel"; id: number };
export type HashReply = { id: number; sha256: string; error?: undefined } | { id: number; error: string; sha256?: undefined };

export interface TailHash {
  /** The file is complete at `size` bytes: resolves with the sha256 (hex) of exactly those bytes. */
  finish(size: number): Promise<string>;
  /** Stops the job (the upload failed); its file handle is closed. */
  cancel(): void;
}

interface PoolWorker {
  worker: Worker;
  jobs: Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>;
}

const pool: PoolWorker[] = [];
let nextId = 1;
const poolSize = () => Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 2) - 1));

function spawn(): PoolWorker {
  const pw: PoolWorker = { worker: new Worker(new URL("./hash-worker.ts", import.meta.url).href), jobs: new Map() };
  pw.worker.unref();
  pw.worker.onmessage = (ev: MessageEvent<HashReply>) => {
    const job = pw.jobs.get(ev.data.id);
    if (!job) return;
    settle(pw, ev.data.id);
    if (ev.data.error !== undefined) job.reject(new Error(`hashing the staged file failed: ${ev.data.error}`));
    else job.resolve(ev.data.sha256);
  };
  // A worker that dies fails its jobs (their uploads hash inline instead) and leaves the pool.
  pw.worker.onerror = (ev) => {
    ev.preventDefault();
    const i = pool.indexOf(pw);
    if (i >= 0) pool.splice(i, 1);
    for (const job of pw.jobs.values()) job.reject(new Error(`hash worker failed: ${ev.message}`));
    pw.jobs.clear();
    pw.worker.unref();
    pw.worker.terminate();
  };
  pool.push(pw);
  return pw;
}

/** Drops a job from its worker; an idle worker stops holding the process open. */
function settle(pw: PoolWorker, id: number): void {
  pw.jobs.delete(id);
  if (pw.jobs.size === 0) pw.worker.unref();
}

function pick(): PoolWorker {
  const idle = pool.reduce<PoolWorker | undefined>((best, w) => (!best || w.jobs.size < best.jobs.size ? w : best), undefined);
  if (idle && (idle.jobs.size === 0 || pool.length >= poolSize())) return idle;
  return spawn();
}

/**
 * Starts hashing `path` (which must exist) from its first byte as it grows. With `declared` (the
 * length the file will have), bytes are read early only while the file is shorter than that (see
 * hash-worker.ts: a file sized up front is read once its writer is done).
 */
export function tailHash(path: string, declared?: number): TailHash {
  let pw: PoolWorker;
  try {
    pw = pick();
  } catch (err) {
    // No worker to be had: the caller hashes on its own thread (finish rejects, see store.ts).
    const failed = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    failed.catch(() => {});
    return { finish: () => failed, cancel() {} };
  }
  const id = nextId++;
  const done = new Promise<string>((resolve, reject) => pw.jobs.set(id, { resolve, reject }));
  done.catch(() => {}); // observed by finish(); a cancelled job's rejection is not an error
  pw.worker.ref(); // a job in flight keeps the process alive (the CLI awaits its digest)
  pw.worker.postMessage({ op: "start", id, path, declared } satisfies HashRequest);
  return {
    finish(size) {
      pw.worker.postMessage({ op: "end", id, size } satisfies HashRequest);
      return done;
    },
    cancel() {
      const job = pw.jobs.get(id);
      if (!job) return;
      settle(pw, id);
      pw.worker.postMessage({ op: "cancel", id } satisfies HashRequest);
      job.reject(new Error("cancelled"));
    },
  };
}

/** sha256 (hex) of the first `size` bytes of an open file, on this thread: small files, and the fallback. */
export function hashFd(fd: number, size: number): string {
  const hasher = new Bun.CryptoHasher("sha256");
  const buf = new Uint8Array(Math.min(size, 1 << 20));
  let pos = 0;
  while (pos < size) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
    if (n === 0) throw new Error(`staged file ended at ${pos} of ${size} bytes`);
    hasher.update(buf.subarray(0, n));
    pos += n;
  }
  return hasher.digest("hex");
}
