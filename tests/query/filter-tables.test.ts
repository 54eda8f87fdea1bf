// A `tag:` filter reads the shards' `tags` tables (front-matter tag → ordinals) instead of every
// candidate's meta, and a `path:` filter the `paths` tables (every path in ordinal order) instead of
// the text segments' dictionaries. Their answers must be the same JSON for every query whether the
// tables are there or a shard lacks them (a run written before them, where the metas and the text
// dictionary decide); a title word that is not a tag must not count; a table that does not fit the
// shard (not a sorted list of its ordinals, not one path per document) is a corrupt object (exit 5,
// one line).
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, tempDir } from "../helpers/cli.ts";
import { replaceIndexTable } from "../helpers/segments.ts";

afterAll(cleanup);

function tagged(): string {
  const root = tempDir("ag-tags-");
  const tags = [["security"], ["security", "billing"], ["billing"], [], ["Security", "Ops"], ["ops"]];
  for (let i = 0; i < 60; i++) {
    const dir = join(root, "notes", i % 2 ? "a" : "b");
    mkdirSync(dir, { recursive: true });
    const t = tags[i % tags.length]!;
    const fm = t.length ? `---\ntitle: Note ${i}\ntags: [${t.join(", ")}]\n---\n` : "";
    writeFileSync(join(dir, `n${i}.md`), `${fm}# Note ${i}\n\nThe ledger keeps charge ${i}.\n\n## Review\n\nA security review of the ledger.\n`);
  }
  // Its title has the word, not the tag.
  writeFileSync(join(root, "notes", "security-review.md"), "---\ntitle: Security review\ntags: [audit]\n---\n# Security review\n\nThe ledger, reviewed.\n");
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  return root;
}

const QUERIES = [
  ["tag:security ledger"], ["type:document tag:security"], ["type:document tag:security tag:billing"], ["type:section tag:ops"],
  ["type:document tag:security path:notes/a/**"], ["tag:nosuch ledger"], ["ledger", "--tag", "billing"], ["type:document tag:audit"],
  ["type:document tag:security", "--limit", "3"], ["ledger path:notes/a/**"], ["type:document path:notes/b/**", "--limit", "5"],
];
const answers = (root: string) => QUERIES.map((q) => {
  const r = cli(["query", ...(q.includes("--limit") ? q : [...q, "--limit", "100"]), "--root", root, "--json"]);
  return { q, code: r.code, json: r.json };
});

test("tag and path filters give the same answers with the tags and paths tables or without them", () => {
  const root = tagged();
  const withTables = answers(root);
  for (const a of withTables) expect({ q: a.q, code: a.code }).toEqual({ q: a.q, code: 0 });
  const docs = withTables[1]!.json;
  expect(docs.total).toBe(30); // of every six notes: security; security and billing; Security (lower-cased) and Ops
  expect(docs.hits.map((h: { path: string }) => h.path)).not.toContain("notes/security-review.md");
  expect(withTables[2]!.json.total).toBe(10);
  expect(withTables[5]!.json.total).toBe(0);
  expect(withTables[7]!.json.hits.map((h: { path: string }) => h.path)).toEqual(["notes/security-review.md"]);
  expect(withTables[8]!.json.hits).toHaveLength(3);
  expect(withTables[8]!.json.total).toBe(30);
  // One shard as written before the tables: every shard's metas decide, with the same answers;
  // then its paths from its text segment's dictionary too.
  replaceIndexTable(root, "notes/a/n1.md", "tags", undefined);
  expect(answers(root)).toEqual(withTables);
  replaceIndexTable(root, "notes/a/n1.md", "paths", undefined);
  expect(answers(root)).toEqual(withTables);
});

test("a paths table that does not hold one path per document of the shard is a corrupt object", () => {
  const root = tagged();
  const was = replaceIndexTable(root, "notes/a/n1.md", "paths", undefined).binary[0]![1];
  const paths = new TextDecoder().decode(was).split("\0");
  expect(paths).toContain("notes/a/n1.md");
  const enc = (xs: string[]) => new TextEncoder().encode(xs.join("\0"));
  for (const bad of [paths.slice(1), [...paths, "notes/extra.md"], []]) {
    replaceIndexTable(root, "notes/a/n1.md", "paths", [["all", enc(bad)]]);
    const r = cli(["query", "ledger path:notes/a/**", "--root", root]);
    expect({ n: bad.length, code: r.code }).toEqual({ n: bad.length, code: 5 });
    expect(expectOneLineError(r)).toMatch(/corrupt/);
  }
  replaceIndexTable(root, "notes/a/n1.md", "paths", [["all", enc(paths)]]);
  expect(cli(["query", "ledger path:notes/a/**", "--root", root]).code).toBe(0);
});

test("a tags table that is not a sorted list of the shard's ordinals is a corrupt object", () => {
  const root = tagged();
  for (const bad of [[5, 2], [99999], "x", [0.5]] as unknown[]) {
    replaceIndexTable(root, "notes/a/n1.md", "tags", [["security", bad]]);
    const r = cli(["query", "type:document tag:security", "--root", root]);
    expect({ bad, code: r.code }).toEqual({ bad, code: 5 });
    expect(expectOneLineError(r)).toMatch(/corrupt/);
  }
});
