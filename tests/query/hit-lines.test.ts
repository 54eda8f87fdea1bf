// Where a hit is shown and what it counts, in the cases where a chunk boundary, a phrase, a shared
// node or an unusual word could put it elsewhere: every hit's line holds a matched term (the
// file's real line, checked against the file), a phrase is found across a chunk boundary and shown
// where its words stand in order, a long identifier is found by its parts, words keep their
// combining marks, and filters given as flags work as they do in the text.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, workspace, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

type Hit = { id: string; type: string; path: string; line: number; snippet: string; matches: { term: string; line: number; column: number }[] };
const query = (root: string, ...args: string[]) => {
  const r = cli(["query", ...args, "--root", root, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.json as { total: number; hits: Hit[] };
};
/** Every match is the file's text at its line and column (any case), and the hit's line has one. */
const checkLines = (root: string, hits: Hit[]) => {
  for (const h of hits) {
    const lines = readFileSync(join(root, h.path), "utf8").normalize("NFC").split("\n");
    expect(h.matches.some((m) => m.line === h.line)).toBe(true);
    for (const m of h.matches) expect(lines[m.line - 1]!.slice(m.column - 1).toLowerCase().startsWith(m.term)).toBe(true);
  }
};

const words = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(" ");

let root: string;
beforeAll(() => {
  root = workspace({
    // One line of 400 words: several chunks; a phrase across the boundary between the first two.
    "notes/runon.md": words(400, (i) => `word${i}`) + "\n",
    // A mention deep in a line that begins in the first chunk, and another on the next line.
    "notes/needle.md": words(400, (i) => (i === 10 ? "needle" : `filler${i}`)) + "\nneedle again on the second line\n",
    "notes/phrase.md": "# Notes\n\nThe loop waits for an event; each event wakes the loop.\n\nNode.js runs an event loop.\n",
    "src/long.py":
      "def test_query_returns_empty_result_when_no_documents_match():\n    pass\n\n" +
      "class AbstractSingletonProxyFactoryBeanConfigurationHelper:\n    pass\n\n" +
      'TOKEN = "aGVsbG8gd29ybGQgdGhpcyBpcyBhIGxvbmcgYmFzZTY0IHN0cmluZw"\n',
    "notes/scripts.md": "# Trip\n\nWe flew to İstanbul in May.\n\nहिन्दी भाषा में लिखा है।\n\nA café on the corner.\n",
    "notes/a.md": "---\ntags: [red, blue]\n---\n# A\n\nzebra crossing\n",
    "notes/b.md": "---\ntags: [red]\n---\n# B\n\nzebra stripes\n",
    "docs/c.md": "---\ntags: [blue]\n---\n# C\n\nzebra herd\n",
  });
  expect(cli(["ingest", "--root", root]).code).toBe(0);
});

test("a phrase that runs from one chunk into the next is found, in the chunk it starts in", () => {
  const r = query(root, '"word159 word160"');
  expect(r.total).toBe(1);
  expect(r.hits[0]!.id).toMatch(/^chk_[0-9a-f]{20}_0$/);
  checkLines(root, r.hits);
  // Inside one chunk, as before.
  expect(query(root, '"word158 word159"').total).toBe(1);
  expect(query(root, '"word160 word159"').total).toBe(0);
});

test("a chunk that starts inside a long line is shown at its own match, not at an earlier chunk's on that line; total counts what can be shown", () => {
  const r = query(root, "needle", "--limit", "50", "--type", "chunk");
  const byChunk = Object.fromEntries(r.hits.map((h) => [h.id.split("_").pop(), h]));
  expect(Object.keys(byChunk).sort()).toEqual(["0", "2"]);
  expect([byChunk["2"]!.line, byChunk["2"]!.matches]).toEqual([2, [{ term: "needle", line: 2, column: 1 }]]);
  expect(byChunk["0"]!.line).toBe(1);
  expect(r.total).toBe(r.hits.length);
  checkLines(root, r.hits);
  const text = cli(["query", "needle", "--limit", "50", "--type", "chunk", "--root", root]).stdout;
  expect(text).not.toContain("more; --limit N shows more");
});

test("a phrase hit is shown on the line where its words stand in order, not where they are most often", () => {
  const r = query(root, '"event loop"');
  expect(r.hits.map((h) => [h.path, h.line, h.snippet])).toEqual([["notes/phrase.md", 5, "Node.js runs an event loop."]]);
  checkLines(root, r.hits);
});

test("the line shown keeps its matches when the chunk has more matches than a hit lists (50)", () => {
  const ws = workspace({ "notes/many.md": `# Many\n\n${Array.from({ length: 60 }, (_, i) => `foo ${i}`).join("\n")}\nfoo bar\n` });
  expect(cli(["ingest", "--root", ws]).code).toBe(0);
  const r = query(ws, "foo bar");
  const hit = r.hits[0]!;
  expect(hit.line).toBe(63);
  expect(hit.matches.length).toBe(50);
  expect(hit.matches.filter((m) => m.line === hit.line).map((m) => [m.term, m.column])).toEqual([["foo", 1], ["bar", 5]]);
  checkLines(ws, r.hits);
});

describe("an identifier longer than a term (40 characters)", () => {
  test("is found as typed, by its parts", () => {
    for (const q of ["AbstractSingletonProxyFactoryBeanConfigurationHelper", "test_query_returns_empty_result_when_no_documents_match"]) {
      const r = query(root, q, "--type", "chunk");
      expect(r.hits[0]!.path).toBe("src/long.py");
      expect(r.hits[0]!.snippet).toContain(q);
      checkLines(root, r.hits);
    }
    const factory = query(root, "factory");
    expect(factory.hits.map((h) => [h.path, h.line])).toContainEqual(["src/long.py", 4]);
    checkLines(root, factory.hits);
    expect(query(root, "configuration", "--type", "symbol").hits.map((h) => h.line)).toEqual([4]);
  });
  test("a long run of random letters and digits (base64) gives no parts", () => {
    expect(query(root, "ghpcy").total).toBe(0);
    expect(query(root, "gxvbmcg").total).toBe(0);
  });
});

test("a word keeps its combining marks (İ lower-cased, Devanagari vowel signs); a query in decomposed form finds the composed text", () => {
  for (const q of ["İstanbul", "हिन्दी", "लिखा", "cafe\u0301"]) {
    const r = query(root, q);
    expect(r.hits.length).toBeGreaterThan(0);
    expect(r.hits[0]!.path).toBe("notes/scripts.md");
    checkLines(root, r.hits);
  }
  // A vowel sign does not split a word: its pieces are not words.
  expect(query(root, '"ल ख"').total).toBe(0);
});

test("filters alone: a shared node is one hit, and total is what list counts", () => {
  const ws = ingested();
  const r = query(ws, "type:technology", "--limit", "100");
  const ids = r.hits.map((h) => h.id);
  expect(new Set(ids).size).toBe(ids.length);
  const count = cli(["list", "--type", "technology", "--count-only", "--root", ws, "--json"]).json.total;
  expect(r.total).toBe(count);
  expect(ids.length).toBe(count);
});

test("a technology found by its name is shown at a mention whose line names it", () => {
  const ws = ingested();
  const r = query(ws, "typescript", "--type", "technology");
  expect(r.hits.map((h) => h.id)).toEqual(["tech_typescript"]);
  checkLines(ws, r.hits);
  expect(readFileSync(join(ws, r.hits[0]!.path), "utf8").split("\n")[r.hits[0]!.line - 1]).toMatch(/typescript/i);
});

test("an entity whose name alone matches, with no line of its text that does, is not a hit", () => {
  const ws = ingested({ "logs/deploy.log": "2026-01-01 started\n2026-01-02 stopped\n", "notes/n.md": "# Notes\n\nNothing here.\n" });
  expect(query(ws, "deploy").hits).toEqual([]);
  expect(query(ws, "started").hits.map((h) => h.path)).toEqual(["logs/deploy.log"]);
});

test("a compound or identifier part is never taken from inside a word with a non-ASCII letter", () => {
  const ws = ingested({ "notes/a.md": "# U\n\nplain\n\nsee https://example.com/Ärger/page now, and éventHandler here\n" });
  for (const q of ["rger", "rger*", "vent", "rger/page"]) {
    const r = query(ws, q);
    checkLines(ws, r.hits);
  }
  expect(query(ws, "rger/page").hits).toEqual([]);
  expect(query(ws, "Ärger/page").hits.map((h) => h.line)).toEqual([5]);
});

test("a word over 40 characters that is no identifier (a hash): one line saying such words are not indexed", () => {
  const hash = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
  for (const q of [hash, `"${hash}"`]) {
    const r = cli(["query", q, "--root", root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is 64 characters long: words over 40 characters (hashes, base64) are not indexed");
    expect(r.stderr).not.toContain("has no words");
  }
});

describe("filters as flags", () => {
  const paths = (r: { hits: Hit[] }) => r.hits.map((h) => h.path).sort();
  test("a repeated --tag needs every tag, as tag: twice in the text does", () => {
    expect(paths(query(root, "zebra", "--tag", "red", "--tag", "blue"))).toEqual(["notes/a.md"]);
    expect(paths(query(root, "zebra tag:red tag:blue"))).toEqual(["notes/a.md"]);
    expect(paths(query(root, "zebra", "--tag=red"))).toEqual(["notes/a.md", "notes/b.md"]);
  });
  test("a repeated --path takes any of them", () => {
    expect(paths(query(root, "zebra", "--type", "chunk", "--path", "notes/b.md", "--path", "docs/**"))).toEqual(["docs/c.md", "notes/b.md"]);
    expect(paths(query(root, "zebra path:notes/b.md path:docs/**", "--type", "chunk"))).toEqual(["docs/c.md", "notes/b.md"]);
    expect(paths(query(root, "zebra", "--type", "chunk", "--path", "docs/**"))).toEqual(["docs/c.md"]);
  });
  test("filters alone as flags; a quoted value is one value, commas and all; a flag's value is put in NFC as the text is", () => {
    const ws = workspace({
      "notes/z.md": "---\ntags: [\"a,b\", Türkçe]\n---\n# Z\n\nzebra here\n",
      "notes/y.md": "---\ntags: [a]\n---\n# Y\n\nzebra too\n",
    });
    expect(cli(["ingest", "--root", ws]).code).toBe(0);
    expect(paths(query(ws, "--tag", "a"))).toEqual(["notes/y.md"]);
    expect(query(ws, "--type", "document").total).toBe(2);
    expect(paths(query(ws, 'tag:"a,b" zebra'))).toEqual(["notes/z.md"]);
    expect(paths(query(ws, "zebra", "--tag", '"a,b"'))).toEqual(["notes/z.md"]);
    expect(paths(query(ws, 'path:"notes/z.md" zebra'))).toEqual(["notes/z.md"]);
    expect(paths(query(ws, "zebra", "--tag", "Tu\u0308rkc\u0327e"))).toEqual(["notes/z.md"]);
    // A file name stored in NFD (as listed) is matched by a path in either form.
    const nfd = workspace({ "notes/cafe\u0301.md": "# C\n\nzebra\n" });
    expect(cli(["ingest", "--root", nfd]).code).toBe(0);
    for (const p of ["notes/cafe\u0301.md", "notes/caf\u00e9.md"]) {
      expect([p, query(nfd, "zebra", "--path", p).hits.length]).toEqual([p, 1]);
      expect([p, query(nfd, `zebra path:${p}`).hits.length]).toEqual([p, 1]);
    }
    const empty = cli(["query", "--root", ws]);
    expect([empty.code, empty.stderr.trim()]).toEqual([2, "error: query is empty"]);
    const unknown = cli(["query", 'foo:"x" zebra', "--root", ws]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown filter 'foo:'");
  });
  test("a flag given without a value is a usage error, as an empty filter in the text is", () => {
    for (const args of [["--tag", ""], ["--path", " "], ["--type", ","], ["--limit", ""], ["--tag"]]) {
      const r = cli(["query", "zebra", "--root", root, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(`--${args[0]!.slice(2)}`);
    }
  });
});

test("a snippet cut inside a line of emoji cuts between characters, never inside a surrogate pair", () => {
  for (const pad of [99, 100, 101]) {
    const root = workspace({ "notes/emoji.md": `# Emoji\n\n${"😀".repeat(pad)} needle ${"x😀".repeat(pad)}\n` });
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    const r = cli(["query", "needle", "--root", root, "--json"]);
    const snippet: string = JSON.parse(r.stdout).hits[0].snippet;
    expect(snippet).toContain("needle");
    expect(snippet.isWellFormed()).toBe(true);
    expect(r.stdout).not.toMatch(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i); // no lone high surrogate escaped in the JSON
  }
});

test("a piece of a word over 40 characters: the hit's line holds it, with its column", () => {
  const root = workspace({
    "notes/runs.md": `# Runs\n\n${"ab".repeat(60)}findmepiece${"cd".repeat(60)}\n\n${"xy".repeat(50)}lookpiece${"zw".repeat(50)}\n`,
  });
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  for (const [word, line, column] of [["findmepiece", 3, 121], ["lookpiece", 5, 101]] as const) {
    const hits = query(root, word).hits;
    expect({ word, n: hits.length }).toEqual({ word, n: 1 });
    expect(hits[0]!.line).toBe(line);
    expect(hits[0]!.matches).toContainEqual({ term: word, line, column });
  }
});
