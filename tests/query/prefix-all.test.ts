// `prefix*` searches every indexed word that starts with the prefix (up to MAX_PREFIX_TERMS, in
// alphabetical order; past that a warning says only the first are searched).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, cli, ingested } from "../helpers/cli.ts";
import { MAX_PREFIX_TERMS } from "../../src/query/search.ts";

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
