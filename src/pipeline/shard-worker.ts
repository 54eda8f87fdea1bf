// Worker entry: builds the shards it is sent (see shard.ts) and posts each result back.
import { buildShard, type ShardTask } from "./shard.ts";

declare const self: Worker;
/** A full collection every few shards keeps each worker's heap (and the run's peak RSS) small. */
const GC_EVERY = 4;
let built = 0;
self.onmessage = (ev: MessageEvent<ShardTask>) => {
  const res = buildShard(ev.data);
  const transfer = res.objects ? [res.objects.index.data.buffer as ArrayBuffer, res.objects.text.data.buffer as ArrayBuffer] : [];
  self.postMessage(res, transfer);
  if (++built % GC_EVERY === 0) Bun.gc(true);
};
