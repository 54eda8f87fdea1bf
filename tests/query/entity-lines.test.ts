// An entity hit (a section, a document, a shared node) reports the line of its best match: its own
// line when that line matches, read from the whole lines around the chunk that holds it (not the
// whole document's text), else the best line of the whole text. Deep in a large document (past the
// first text page of 32,768 characters), at its end, when its own line does not match, and on a
// line longer than the chunk's window (all its matches, not those of a cut-off piece). A chunk hit
// on such a line counts its columns from the line's start and shows its own match in the snippet.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, cli, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

let root: string;
let longLine: string;
const lines: string[] = [];
beforeAll(() => {
  lines.push("---", "title: Zebra handbook", "tags: [animals]", "---", "# Handbook", "");
  for (let i = 0; lines.length < 3000; i++) {
    if (lines.length === 1500) lines.push("## Quasar settings", "");
    if (lines.length === 2990) lines.push("## Final nebula notes", "");
    lines.push(`Filler line ${i} about ordinary things, written to make this document long enough.`);
  }
  lines.push("The zebra appears once more in the last line.");
  // One line of 3,000 words (many chunks long) naming a technology six times.
  const words = Array.from({ length: 3000 }, (_, i) => ([5, 1000, 1500, 2000, 2500, 2900].includes(i) ? "Kubernetes" : `filler${i}`));
  longLine = words.join(" ");
  root = workspace({
    "notes/big.md": lines.join("\n") + "\n", "notes/small.md": "# Small\n\nA quasar mention in a small note.\n",
    "notes/long.md": `# Long lines\n\nIntro.\n\n${longLine}\n\nEnd.\n`,
  });
  expect(cli(["ingest", "--root", root]).code).toBe(0);
});

const hit = (q: string, type: string) => {
  const r = cli(["query", q, "--type", type, "--root", root, "--json"]);
  expect(r.code).toBe(0);
  return r.json.hits as { id: string; path: string; line: number; snippet: string; matches: { term: string; line: number; column: number }[] }[];
};
const lineOf = (text: string) => lines.indexOf(text) + 1;

test("a section deep in a large document, and one at its end: their heading lines", () => {
  expect(lines.slice(0, lineOf("## Quasar settings")).join("\n").length).toBeGreaterThan(32768);
  const [q] = hit("quasar", "section");
  expect([q!.path, q!.line, q!.snippet]).toEqual(["notes/big.md", lineOf("## Quasar settings"), "## Quasar settings"]);
  expect(q!.matches).toEqual([{ term: "quasar", line: lineOf("## Quasar settings"), column: 4 }]);
  const [n] = hit("nebula", "section");
  expect([n!.line, n!.snippet]).toEqual([lineOf("## Final nebula notes"), "## Final nebula notes"]);
});

test("a document whose own line does not match: the best line of its whole text", () => {
  const docs = hit("zebra", "document");
  expect(docs.map((d) => d.path)).toEqual(["notes/big.md"]);
  expect(docs[0]!.line).toBe(2); // `title: Zebra handbook`, the first line with the word
  expect(docs[0]!.snippet).toBe("title: Zebra handbook");
  expect(docs[0]!.matches.map((m) => m.line)).toEqual([2, lines.length]);
});

test("a line longer than the chunk window around it: every match on it, as in the whole text", () => {
  const [k] = hit("kubernetes", "technology");
  const columns = [...longLine.matchAll(/Kubernetes/g)].map((m) => m.index! + 1);
  expect(columns).toHaveLength(6);
  expect([k!.path, k!.line]).toEqual(["notes/long.md", 5]);
  expect(k!.matches).toEqual(columns.map((column) => ({ term: "kubernetes", line: 5, column })));
});

test("a chunk hit on a line that begins long before the chunk: columns from the line's start, the snippet at the chunk's own match", () => {
  const hits = hit("kubernetes", "chunk");
  const columns = [...longLine.matchAll(/Kubernetes/g)].map((m) => m.index! + 1);
  expect(hits.length).toBeGreaterThan(0);
  for (const h of hits) {
    expect([h.path, h.line]).toEqual(["notes/long.md", 5]);
    expect(h.matches).toEqual(columns.map((column) => ({ term: "kubernetes", line: 5, column })));
    expect(h.snippet).toContain("Kubernetes");
  }
  // The last chunk of the line (it starts thousands of characters into it) shows its own mention.
  expect(hits.some((h) => h.snippet.includes("filler2899 Kubernetes filler2901"))).toBe(true);
});
