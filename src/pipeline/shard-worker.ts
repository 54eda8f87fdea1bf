// Worker entry: builds the shards it is sent (see shard.ts), spills each shard's objects to temp
// files in the run's staging directory, and posts back the result with only their names and sizes.
// PDF/Word text and code symbols are asked of the main thread (ExtractRequest), which loads pdf.js
// and tree-sitter once per run instead of once per worker (CPU to compile and warm them up, and
// their memory).
import { spillShard, type ExtractReply, type ExtractRequest, type ShardJob, type WorkerMessage } from "./ingest.ts";
import { buildShard, collectIfLarge, type Extractors } from "./shard.ts";
import { normalJit } from "../shared/jit.ts";

declare const self: Worker;
// A worker's VM starts with the executable's start-up JIT policy; building shards is long work (src/shared/jit.ts).
normalJit();
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextId = 0;
type Request = { what: "document"; path: string; buf: Uint8Array } | { what: "symbols"; path: string; text: string };
const ask = <T>(req: Request): Promise<T> => new Promise((resolve, reject) => {
  const id = nextId++;
  pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
  self.postMessage({ kind: "extract", id, ...req } as ExtractRequest satisfies WorkerMessage);
});
const remote: Extractors = {
  documentText: (path, buf) => ask({ what: "document", path, buf }),
  symbols: (path, text) => ask({ what: "symbols", path, text }),
};

self.onmessage = async (ev: MessageEvent<ShardJob | ExtractReply>) => {
  const d = ev.data;
  if ("kind" in d && d.kind === "extracted") {
    const p = pending.get(d.id);
    pending.delete(d.id);
    if (d.error !== undefined) p?.reject(new Error(d.error)); else p?.resolve(d.result);
    return;
  }
  const job = d as ShardJob;
  self.postMessage({ kind: "done", result: spillShard(await buildShard(job.task, remote), job.stage) } satisfies WorkerMessage);
  // A full collection after a shard when the process is large (see collectIfLarge in shard.ts): a
  // shard's garbage is many times its source bytes, and what two workers leave lying between
  // collections is most of a large run's peak RSS.
  collectIfLarge();
};
