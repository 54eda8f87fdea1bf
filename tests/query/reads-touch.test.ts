// A read that concerns one document reads that document's shard, not every shard. Shown by taking
// every other shard's objects away: the answer must be the same as with the whole store.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

test("in a run whose code spans name no symbol, a section's node reads only its own shard", () => {
  const files: Record<string, string> = {};
  // Notes only, with code spans (which would name symbols if the run had code files).
  for (let i = 0; i < 40; i++) files[`notes/n${String(i).padStart(2, "0")}.md`] = `# Note ${i}\n\nRun \`make build\` and \`main\` here.\n\n## Part ${i}\n\nMore about \`parse_args\`.\n`;
  const root = workspace(files);
  const ing = cli(["ingest", "--root", root, "--json"]);
  expect(ing.code).toBe(0);
  expect(ing.json.counts.symbol_mentions).toBe(0);
  const doc = cli(["list", "--type", "document", "--where", "path=notes/n07.md", "--json", "--root", root]).json.nodes[0].id as string;
  const section = `sec_${doc.slice(4)}_0`;
  const before = cli(["node", section, "--json", "--root", root]);
  expect(before.code).toBe(0);
  expect(before.json.node.id).toBe(section);
  // Take away every index and text object but the section's shard's.
  const profile = join(root, ".pkg", "profiles", "default");
  const manifest = JSON.parse(readFileSync(join(profile, "runs", readFileSync(join(profile, "current"), "utf8").trim(), "manifest.json"), "utf8"));
  const shards: string[] = manifest.artifacts.filter((a: any) => a.name.startsWith("index/")).map((a: any) => a.name.slice(6));
  expect(shards.length).toBeGreaterThan(1);
  // The document's shard: the first two hex digits of its key, modulo the shard count (pipeline/shard.ts shardOfKey).
  const own = String(parseInt(doc.slice(4, 6), 16) % manifest.artifacts.find((a: any) => a.name.startsWith("index/")).counts.shards).padStart(2, "0");
  let moved = 0;
  for (const a of manifest.artifacts) {
    if (!/^(index|text)\//.test(a.name) || a.name.endsWith(`/${own}`)) continue;
    const p = join(profile, "objects", a.sha256.slice(0, 2), a.sha256);
    renameSync(p, `${p}.away`);
    moved++;
  }
  expect(moved).toBe(2 * (shards.length - 1));
  const after = cli(["node", section, "--json", "--root", root]);
  expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: "" });
  expect(after.json).toEqual(before.json);
});
