// Worker entry: sha256 of staged upload files while they are being written (see hasher.ts). A job
// reads its file from the start in 1 MiB slices as it grows, from the page cache, and finishes
// once the writer has said how long the file is and every byte up to there is hashed.
//
// Only bytes of a file that is still growing are read before the writer is done. Bun appends a
// request body it streams from the socket, but when it already holds the whole body it sizes the
// file first (fallocate/ftruncate to the full length) and fills it afterwards: a file that has
// reached its declared length early may still read as zeros, so the job waits for the end then.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { HashReply, HashRequest } from "./hasher.ts";

declare const self: Worker;

const SLICE = 1 << 20;
/** How long a job that has caught up with the writer waits before looking again. */
const POLL_MS = 2;

interface Job {
  fd: number;
  /** The length the writer announced up front, if any. */
  declared?: number;
  /** The file's final length once the writer is done; -1 while it is still writing. */
  end: number;
  cancelled: boolean;
  /** Wakes the job early when `end` arrives or it is cancelled. */
  wake?: () => void;
}

const jobs = new Map<number, Job>();
const buf = new Uint8Array(SLICE);

async function run(job: Job): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  let pos = 0;
  let sinceYield = 0;
  for (;;) {
    if (job.cancelled) throw new Error("cancelled");
    let limit: number;
    if (job.end >= 0) limit = job.end;
    else {
      const size = fstatSync(job.fd).size;
      limit = job.declared !== undefined && size >= job.declared ? pos : size;
    }
    const want = Math.min(SLICE, limit - pos);
    if (want > 0) {
      // One buffer for every job of this worker: a slice is hashed before the next await.
      const n = readSync(job.fd, buf, 0, want, pos);
      if (n === 0) throw new Error(`staged file ended at ${pos} of ${limit} bytes`);
      hasher.update(buf.subarray(0, n));
      pos += n;
      // Let messages (another job's end, a cancel) in between slices now and then.
      if ((sinceYield += n) >= 16 * SLICE) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
      continue;
    }
    if (job.end >= 0) return hasher.digest("hex");
    await new Promise<void>((r) => {
      const t = setTimeout(r, POLL_MS);
      job.wake = () => {
        clearTimeout(t);
        r();
      };
    });
    job.wake = undefined;
  }
}

self.onmessage = (ev: MessageEvent<HashRequest>) => {
  const m = ev.data;
  if (m.op === "start") {
    let fd: number;
    try {
      fd = openSync(m.path, "r");
    } catch (err) {
      self.postMessage({ id: m.id, error: String(err) } satisfies HashReply);
      return;
    }
    const job: Job = { fd, declared: m.declared, end: -1, cancelled: false };
    jobs.set(m.id, job);
    run(job).then(
      (sha256) => self.postMessage({ id: m.id, sha256 } satisfies HashReply),
      (err) => {
        if (!job.cancelled) self.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) } satisfies HashReply);
      },
    ).finally(() => {
      jobs.delete(m.id);
      closeSync(fd);
    });
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.op === "end") job.end = m.size;
  else job.cancelled = true;
  job.wake?.();
};
