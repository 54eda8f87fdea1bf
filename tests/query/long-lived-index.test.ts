// An index that lives on (the `ui` and `mcp` processes keep one per run) must not cache half an
// answer: when a document's links cannot be resolved because another shard is damaged, asking
// again fails again (a corrupt object), instead of answering from a part without its links.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, workspace } from "../helpers/cli.ts";
import { loadWorkspace } from "../../src/config/load.ts";
import { docId } from "../../src/pipeline/extract.ts";
import { shardName, shardOf } from "../../src/pipeline/shard.ts";
import { objectPath } from "../../src/store/layout.ts";
import { openStore } from "../../src/store/open.ts";
import { Segment } from "../../src/store/segment.ts";
import { RunIndex } from "../../src/query/run-index.ts";

afterAll(cleanup);

let root: string;
let a: string, b: string;
beforeAll(() => {
  // Two notes in different shards (a run of two files has 4), the first linking to the second.
  const names = Array.from({ length: 40 }, (_, i) => `notes/n${i}.md`);
  a = names[0]!;
  b = names.find((n) => shardOf(n, 4) !== shardOf(a, 4))!;
  root = workspace({ [a]: `# A\n\nSee [b](${b.slice(6)}).\n`, [b]: "# B\n\nThe target.\n" });
  expect(cli(["ingest", "--root", root]).code).toBe(0);
});

test("a document whose link cannot be resolved (another shard damaged) fails every time it is asked for", () => {
  const open = () => new RunIndex(openStore(loadWorkspace({ root })));
  const whole = open();
  const before = whole.node(docId(a))!;
  expect(before.out.map((e) => e.type)).toContain("links_to");
  whole.close();

  // Damage the `ids` block of the linked note's shard (its checksum no longer matches).
  const ix = open();
  const art = ix.store.manifest.artifacts.find((x) => x.name === shardName("index", shardOf(b, 4)))!;
  const file = objectPath(ix.store.profileDir, art.sha256);
  const seg = new Segment(file);
  const ref = seg.header.tables.ids!.root[0]!;
  seg.close();
  const data = new Uint8Array(readFileSync(file));
  const base = 16 + new DataView(data.buffer).getUint32(8, true);
  data[base + ref[1] + Math.floor(ref[2] / 2)]! ^= 0xff;
  chmodSync(file, 0o644);
  writeFileSync(file, data);

  expect(() => ix.node(docId(a))).toThrow(/corrupt/);
  expect(() => ix.node(docId(a))).toThrow(/corrupt/);
  ix.close();
});
