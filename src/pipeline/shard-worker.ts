// Worker entry: builds the shards it is sent (see shard.ts), spills each shard's objects to temp
// files in the run's staging directory, and posts back the result with only their names and sizes.
import { spillShard, type ShardJob } from "./ingest.ts";
import { buildShard } from "./shard.ts";

declare const self: Worker;
self.onmessage = async (ev: MessageEvent<ShardJob>) => {
  self.postMessage(spillShard(await buildShard(ev.data.task), ev.data.stage));
  // A full collection after every shard: a shard's garbage is many times its source bytes, and
  // what two workers leave lying between collections is most of a run's peak RSS.
  Bun.gc(true);
};
