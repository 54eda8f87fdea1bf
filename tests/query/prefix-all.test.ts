// `prefix*` searches every indexed word that starts with the prefix (up to MAX_PREFIX_TERMS, in
// alphabetical order; past that a warning says only the first are searched).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, cli, ingested } from "../helpers/cli.ts";
import { MAX_PREFIX_TERMS } from "../../src/query/search.ts";
import { shardOf } from "../../src/pipeline/shard.ts";

afterAll(cleanup);

let root: string;
beforeAll(() => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`notes/n${String(i).padStart(2, "0")}.md`] = `# Note ${i}\n\nA note about pfx${String(i).padStart(2, "0")}.\n`;
  // More words than a prefix is searched as, all in one file.
  files["notes/many.md"] = "# Many\n\n" + Array.from({ length: MAX_PREFIX_TERMS + 10 }, (_, i) => `zq${String(i).padStart(5, "0")}`).join("\n") + "\n";
  root = ingested(files);
});

test("every word with the prefix is searched, not only the first few", () => {
  const r = cli(["query", "pfx*", "--type", "chunk", "--limit", "100", "--root", root, "--json"]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe("");
  expect(r.json.total).toBe(40);
  expect(new Set(r.json.hits.map((h: { path: string }) => h.path)).size).toBe(40);
});

test("a prefix with more words than are searched: a warning, and the hits of the words searched", () => {
  const r = cli(["query", "zq*", "--type", "chunk", "--root", root, "--json"]);
  expect(r.code).toBe(0);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain(`'zq*' matches ${MAX_PREFIX_TERMS} words or more`);
  expect(r.json.hits.length).toBeGreaterThan(0);
});

test("the first words of a prefix come from every shard: one shard with many words does not hide another's earlier ones", () => {
  // A run of 4 shards (fewer than 257 files). The file of many `zqb…` words goes to shard 0, each
  // `zqa…` word to a file of a later shard: they sort first, so they are among the words searched.
  const pathIn = (shard: number, stem: string) => {
    for (let i = 0; ; i++) { const p = `notes/${stem}${i}.md`; if (shardOf(p, 4) === shard) return p; }
  };
  // Two files per later shard, each with one word: the second word of a shard counts too.
  const files: Record<string, string> = {
    [pathIn(0, "many")]: "# Many\n\n" + Array.from({ length: MAX_PREFIX_TERMS * 4 + 100 }, (_, i) => `zqb${String(i).padStart(5, "0")}`).join("\n") + "\n",
  };
  for (const shard of [1, 2, 3]) for (const w of ["a", "b"]) files[pathIn(shard, `few${shard}${w}-`)] = `# Few\n\nword zqa${shard}${w} here\n`;
  const root = ingested(files);
  const r = cli(["query", "zq*", "--type", "chunk", "--limit", "100", "--root", root, "--json"]);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(`'zq*' matches ${MAX_PREFIX_TERMS} words or more`);
  const shown = r.json.hits.map((h: { path: string }) => h.path);
  for (const shard of [1, 2, 3]) for (const w of ["a", "b"]) expect(shown).toContain(pathIn(shard, `few${shard}${w}-`));
}, 120_000);
