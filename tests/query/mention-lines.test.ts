// Where a markdown note mentions something is where the source says it: a technology named by a code
// fence's language at the fence's line (or an earlier line of text that names it), a `<!--` or `-->`
// in code is no HTML comment (the mentions around it stay), and a code span naming a symbol at the
// span's own line, not at an earlier word that merely contains its name.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, cli, ingested } from "../helpers/cli.ts";
import { parseMarkdown } from "../../src/pipeline/markdown.ts";

afterAll(cleanup);

const files: Record<string, string[]> = {
  "notes/f.md": ["# F", "", "Text.", "", "```python", "print(1)", "```"],
  // `py` and `rs` are no words of prose: only the fences name Python and Rust.
  "notes/fences.md": [
    "# Fences", "", "Plain text first.", "",
    "```py", "x = 1", "```", "",
    "Now Python in prose, and TypeScript.", "",
    "```ts", "let x = 1;", "```", "",
    "> ```rs", "> fn main() {}", "> ```",
  ],
  "notes/a.md": ["# C", "", "Comments start with `<!--` here.", "", "We deploy on Kafka and Redis.", "", "They end with `-->`."],
  "notes/code-comments.md": [
    "# Code", "", "```html", "<!-- open", "```", "", "MySQL runs here.", "", "    -->", "",
    "<!-- Docker -->", "", "Text <!-- Nginx --> and", "Grafana.",
  ],
  // Names written as their display names are (Node.js, C++), and React the verb is no React.
  "notes/names.md": [
    "# Names", "", "We react accordingly; nodes and c+++x and abc++ are no names.", "",
    "The server runs Node.js 20.", "", "Parts are in C++17.", "", "A React front end.",
  ],
  "notes/lower.md": ["# Lower", "", "we react quickly.", "", "we build with react.js and c++."],
  // A line starting with `<!--` opens an HTML block that runs to the first line holding `-->`, a
  // fence on the way included (CommonMark): what it holds is a comment.
  "notes/html-block.md": ["# H", "", "<!-- opened here", "", "Nginx inside it.", "", "```", "-->", "", "Docker after it."],
  "src/code.ts": ["export function alpha() { return 1; }"],
  "notes/n.md": ["# Note", "", "The alphabet is long.", "", "Call `alpha` to start.", "", "Again `alpha()`."],
  // A table whose cells' code spans hold an escaped pipe (the parser gives `x|y` for `x\|y`): 20,000
  // rows of them, placed in linear time, and a row that names the symbol at its own line.
  "notes/table.md": [
    "# Table", "", "| code | note |", "| --- | --- |",
    ...Array.from({ length: 20_000 }, (_, i) => (i === 10 ? "| `alpha` | the symbol |" : `| \`x\\|y${i}\` | z |`)),
  ],
};
const lineOf = (path: string, text: string) => files[path]!.indexOf(text) + 1;

let graph: { nodes: any[]; edges: any[] };
beforeAll(() => {
  // (notes/table.md took minutes when each span with no site searched all the others.)
  const root = ingested(Object.fromEntries(Object.entries(files).map(([p, l]) => [p, l.join("\n") + "\n"])));
  graph = cli(["export", "--root", root]).json;
});

const mentions = (path: string) => {
  const doc = graph.nodes.find((n) => n.type === "document" && n.path === path)!.id;
  return graph.edges.filter((e) => e.source === doc && e.type === "mentions").map((e) => [e.target, e.line]).sort();
};

test("a technology named only by a fence's language: at the fence's line", () => {
  expect(mentions("notes/f.md")).toEqual([["tech_python", 5]]);
});

test("fence or text, whichever names it first; a fence in a block quote too", () => {
  expect(mentions("notes/fences.md")).toEqual([
    ["tech_python", lineOf("notes/fences.md", "```py")],
    ["tech_rust", lineOf("notes/fences.md", "> ```rs")],
    ["tech_typescript", lineOf("notes/fences.md", "Now Python in prose, and TypeScript.")],
  ]);
});

test("the example's architecture note: TypeScript where its text names it", () => {
  const root = ingested();
  const r = cli(["node", "tech_typescript", "--root", root, "--json"]).json;
  const e = r.in_edges.find((x: any) => x.source === "doc_11b20aa34a733108d5ec");
  expect(e.line).toBe(15);
});

test("`<!--` and `-->` in code spans or code blocks open and close no comment", () => {
  expect(mentions("notes/a.md")).toEqual([["tech_kafka", 5], ["tech_redis", 5]]);
  // A real comment still hides its words: an HTML block and an inline comment.
  expect(mentions("notes/code-comments.md")).toEqual([["tech_grafana", 14], ["tech_mysql", 7]]);
  expect(mentions("notes/html-block.md")).toEqual([["tech_docker", lineOf("notes/html-block.md", "Docker after it.")]]);
});

test("technologies by their display names: Node.js, C++ (C++17 too); React only as the name, not the verb", () => {
  expect(mentions("notes/names.md")).toEqual([
    ["tech_cpp", lineOf("notes/names.md", "Parts are in C++17.")],
    ["tech_node-js", lineOf("notes/names.md", "The server runs Node.js 20.")],
    ["tech_react", lineOf("notes/names.md", "A React front end.")],
  ]);
  // Lower case: `react.js` names it where `react` alone does not.
  expect(mentions("notes/lower.md")).toEqual([["tech_cpp", 5], ["tech_react", 5]]);
});

test("a setext heading over several lines is named with its lines joined by a space", () => {
  const md = parseMarkdown("Multi line\nheading  \n  here\n------------\n\ntext\n", 0);
  expect(md.headings).toEqual([{ text: "Multi line heading here", level: 2, offset: 0 }]);
});

test("a code span naming a symbol: at the span's line, not a longer word's", () => {
  const sym = graph.nodes.find((n) => n.type === "symbol" && n.name === "alpha")!.id;
  expect(mentions("notes/n.md")).toEqual([[sym, lineOf("notes/n.md", "Call `alpha` to start.")]]);
});

test("code spans in a table with escaped pipes: every span placed, in linear time; the symbol's span at its line", () => {
  const sym = graph.nodes.find((n) => n.type === "symbol" && n.name === "alpha")!.id;
  expect(mentions("notes/table.md")).toEqual([[sym, lineOf("notes/table.md", "| `alpha` | the symbol |")]]);
});

test("a table cell's code span with an escaped pipe is placed at its own cell", () => {
  const rows = Array.from({ length: 2_000 }, (_, i) => `| \`x\\|y${i}\` | z |`);
  const text = ["# T", "", "| code | note |", "| --- | --- |", ...rows].join("\n") + "\n";
  const md = parseMarkdown(text, 0);
  expect(md.codeSpans).toHaveLength(rows.length);
  md.codeSpans.forEach((s, i) => expect([s.text, text.slice(s.offset, s.offset + 2 + s.text.length)]).toEqual([`x|y${i}`, `\`x\\|y${i}`.slice(0, 2 + s.text.length)]));
});

test("an entity shows a line holding what its name matched, not another word of the query", () => {
  const root = ingested({ "src/app.ts": 'import { h } from "./helpers";\n\nexport const bananaCount = 3;\n' });
  const hits = (q: string) => cli(["query", q, "--json", "--root", root]).json.hits as { type: string; name: string; line: number }[];
  // The module src/helpers, found by `src` in its name alone: no line names it, so it is no hit.
  expect(hits("src banana").filter((h) => h.type === "module")).toEqual([]);
  // Found by `helpers`: at its import, not at the line holding banana.
  expect(hits("helpers banana").filter((h) => h.type === "module").map((h) => [h.name, h.line])).toEqual([["src/helpers", 1]]);
}, 60_000);

test("a shared node listed by a type filter is at the mention `node` shows", () => {
  const root = ingested({
    "notes/l.md": "# L\n\nIntro line.\nSee <https://foo.org/a> now.\n\nWe use Kafka here.\n",
    "notes/m.md": "# M\n\nKafka again.\n",
    "src/k.md": "# K\n\nintro\n\nKafka in src.\n",
  });
  const hits = cli(["query", "type:reference,technology", "--json", "--root", root]).json.hits as { id: string; path: string; line: number }[];
  expect(hits.length).toBe(2);
  for (const h of hits) {
    const n = cli(["node", h.id, "--json", "--root", root]).json.node;
    expect({ id: h.id, at: `${h.path}:${h.line}` }).toEqual({ id: h.id, at: `${n.path}:${n.line}` });
  }
  expect(hits.find((h) => h.id.startsWith("ref_"))).toMatchObject({ path: "notes/l.md", line: 4 });
  expect(hits.every((h) => h.line > 1)).toBe(true);
  // With a path filter: at a mention inside it, for each document that mentions it (the one
  // `node` names and the others).
  const docs = cli(["list", "--type", "document", "--json", "--root", root]).json.nodes as { id: string; path: string }[];
  const at: Record<string, number> = { "notes/l.md": 6, "notes/m.md": 3, "src/k.md": 5 };
  expect(docs.filter((d) => d.path in at).length).toBe(3);
  for (const path of Object.keys(at)) {
    const r = cli(["query", `type:technology path:${path}`, "--json", "--root", root]).json.hits as { id: string; path: string; line: number }[];
    expect(r.map((h) => [h.id, `${h.path}:${h.line}`])).toEqual([["tech_kafka", `${path}:${at[path]}`]]);
  }
}, 60_000);
