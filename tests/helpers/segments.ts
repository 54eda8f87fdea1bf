/**
 * For tests of damaged or older index segments: re-encodes the current run's index segment of the
 * shard holding `path` with one table replaced (or left out), writes it as a new object and points
 * the manifest at it, the way a store written with other contents would look. The segment's other
 * tables are copied as they were.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { shardName, shardOf } from "../../src/pipeline/shard.ts";
import { manifestPath, objectPath } from "../../src/store/layout.ts";
import { manifestText, type Manifest } from "../../src/store/manifest.ts";
import { encodeSegment, Segment } from "../../src/store/segment.ts";

/** `entries`: the table's new entries (JSON values, or bytes for a binary table), or undefined to leave it out. Gives the table's entries as they were. */
export function replaceIndexTable(root: string, path: string, table: string, entries: [string, unknown][] | undefined): { binary: [string, Uint8Array][]; text: [string, unknown][] } {
  const profileDir = join(root, ".pkg/profiles/default");
  const runId = readFileSync(join(profileDir, "current"), "utf8").trim();
  const m = JSON.parse(readFileSync(manifestPath(profileDir, runId), "utf8")) as Manifest;
  const shards = m.artifacts.find((a) => a.name.startsWith("index/"))!.counts!.shards!;
  const art = m.artifacts.find((a) => a.name === shardName("index", shardOf(path, shards)))!;
  const seg = new Segment(objectPath(profileDir, art.sha256));
  const text: Record<string, [string, unknown][]> = {}, bin: Record<string, [string, Uint8Array][]> = {};
  const was = { binary: [] as [string, Uint8Array][], text: [] as [string, unknown][] };
  let binary = false;
  for (const [name, t] of Object.entries(seg.header.tables)) {
    const rows = t.binary ? [...seg.rangeBytes(name)].map(([k, v]): [string, Uint8Array] => [k, new Uint8Array(v)]) : [...seg.range(name)];
    if (name === table) { binary = t.binary === true; if (binary) was.binary = rows as [string, Uint8Array][]; else was.text = rows; continue; }
    if (t.binary) bin[name] = rows as [string, Uint8Array][]; else text[name] = rows;
  }
  if (entries) {
    if (entries.some(([, v]) => v instanceof Uint8Array) || binary) bin[table] = entries as [string, Uint8Array][];
    else text[table] = entries;
  }
  const { tables: _, ...head } = seg.header;
  seg.close();
  const enc = encodeSegment(head, text, bin);
  mkdirSync(dirname(objectPath(profileDir, enc.sha256)), { recursive: true });
  writeFileSync(objectPath(profileDir, enc.sha256), enc.data);
  art.sha256 = enc.sha256;
  art.bytes = enc.bytes;
  writeFileSync(manifestPath(profileDir, runId), manifestText(m));
  return was;
}
