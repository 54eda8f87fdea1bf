// Redaction keeps a file's lines: a secret whose match spans lines (a PEM block, a key with its value
// on the next line, `Bearer` and its token on two lines) leaves its line breaks after the marker, so
// the sections, links, references, mentions and chunks after it carry the source file's line numbers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { allStoredText, cleanup, cli, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

const PEM = ["-----BEGIN RSA PRIVATE KEY-----", "AAAAplantedKEYmaterial", "BBBBplantedKEYmaterial", "-----END RSA PRIVATE KEY-----"];
const files: Record<string, string[]> = {
  // The report's file: a PEM block in a fence, then a heading and a line of links.
  "notes/k.md": ["# Keys", "", "```", ...PEM, "```", "", "## After", "", "Redis: [docs](https://redis.io/) [o](o.md)"],
  "notes/o.md": ["# O"],
  // Every detector, those that can span lines written across lines, each followed by a heading.
  "notes/all.md": [
    "# All", "",
    "key = \"" + PEM[0], PEM[1]!, PEM[3] + "\" after the key", "## Then one", "",
    "Authorization: Bearer", "    plantedBearerTok3n99", "## Then two", "",
    "password:", "  hunter2planted", "## Then three", "",
    "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlUGxhbnRlZDEyMw", "## Then four", "",
    "postgres://admin:plantedUrlPass@db.internal:5432/app", "## Then five", "",
    "aws AKIAPLANTED0EXAMPLE1", "## Then six", "",
    "We run Kafka.", "",
    "[o](o.md)",
  ],
  // A PEM block that never ends: redacted to the end of the text, its lines kept.
  "notes/open.md": ["# Open", "", PEM[0]!, "AAAA", "BBBB", "CCCC", "## Gone"],
  // Headings spelled with character references (the parser decodes them), after a first heading.
  "notes/refs.md": ["# Refs", "", "Intro.", "", "## Caf&#233; &#x6C;edger &amp; co", "", "text", "", "Setext &#75;iwi", "---", "", "## Plain"],
};
const lineOf = (path: string, text: string) => files[path]!.indexOf(text) + 1;

let graph: { nodes: any[]; edges: any[] };
let root: string;
beforeAll(() => {
  root = ingested(Object.fromEntries(Object.entries(files).map(([p, l]) => [p, l.join("\n") + "\n"])));
  graph = cli(["export", "--root", root]).json;
});

const docOf = (path: string) => graph.nodes.find((n) => n.type === "document" && n.path === path)!.id as string;
const sections = (path: string) => graph.nodes.filter((n) => n.type === "section" && n.path === path).map((n) => [n.name, n.line]);
const edges = (path: string) => graph.edges.filter((e) => e.source === docOf(path) && e.type !== "contains").map((e) => [e.type, e.line]).sort();

test("after a redacted PEM block: the section, links, reference and mention at their source lines; the chunk covers every line", () => {
  expect(sections("notes/k.md")).toEqual([["Keys", 1], ["After", 10]]);
  const at = lineOf("notes/k.md", "Redis: [docs](https://redis.io/) [o](o.md)");
  expect(at).toBe(12);
  expect(edges("notes/k.md")).toEqual([["links_to", at], ["mentions", at], ["references", at]]);
  const chunk = graph.nodes.find((n) => n.type === "chunk" && n.path === "notes/k.md");
  expect([chunk.line, chunk.attrs.end_line]).toEqual([1, 12]);
});

test("every detector keeps the line count: the stored text has the source's lines, each heading its own line", () => {
  for (const path of ["notes/k.md", "notes/all.md"]) {
    const chunks = graph.nodes.filter((n) => n.type === "chunk" && n.path === path);
    expect(chunks).toHaveLength(1);
    const r = cli(["node", chunks[0].id, "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json.text.split("\n").length).toBe(files[path]!.length);
    expect(r.json.text).not.toContain("planted");
    expect(r.json.text).not.toContain("BBBB");
  }
  const all = files["notes/all.md"]!;
  expect(sections("notes/all.md")).toEqual([["All", 1], ...all.filter((l) => l.startsWith("## ")).map((l) => [l.slice(3), lineOf("notes/all.md", l)])]);
  expect(edges("notes/all.md")).toEqual([
    ["links_to", lineOf("notes/all.md", "[o](o.md)")],
    ["mentions", lineOf("notes/all.md", "postgres://admin:plantedUrlPass@db.internal:5432/app")],
    ["mentions", lineOf("notes/all.md", "We run Kafka.")],
  ]);
  // The text after a PEM block's end, on the END line, stays on that line.
  const chunk = graph.nodes.find((n) => n.type === "chunk" && n.path === "notes/all.md");
  const lines = cli(["node", chunk.id, "--root", root, "--json"]).json.text.split("\n");
  expect(lines.slice(2, 5)).toEqual(["key = \"[REDACTED:pem_private_key]", "", "\" after the key"]);
  expect(lines[lineOf("notes/all.md", "Authorization: Bearer") - 1]).toBe("Authorization: Bearer");
  expect(lines[lineOf("notes/all.md", "  hunter2planted") - 1]).toBe("  [REDACTED:credential_kv]");
});

test("an unterminated PEM block is redacted to the end of the text, its line breaks kept", () => {
  expect(sections("notes/open.md")).toEqual([["Open", 1]]);
  // Its chunk ends at its last word (the marker); the stored text keeps the file's lines after it.
  const stored = allStoredText(join(root, ".pkg"));
  expect(stored).toContain(`# Open\n\n[REDACTED:pem_private_key]${"\n".repeat(5)}`);
  expect(stored).not.toContain("CCCC");
});

test("a heading spelled with numeric character references is at its own line", () => {
  expect(sections("notes/refs.md")).toEqual([["Refs", 1], ["Café ledger & co", 5], ["Setext Kiwi", 9], ["Plain", 12]]);
});

test("code after a credential key is not redacted: its words are found, while a literal secret stays out", async () => {
  const { workspace } = await import("../helpers/cli.ts");
  const root = workspace({
    "src/glob.ts": "export function compile(pattern: string) {\n  const tokens = globTokens(pattern);\n  return tokens;\n}\nconst password = \"plantedLiteral9\";\n",
    "notes/run.md": "# Run\n\n    docker run -v \"$PWD:/workspace\" image\n",
  });
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  const at = (q: string) => (cli(["query", q, "--root", root, "--json"]).json.hits as { path: string; line: number }[]).map((h) => `${h.path}:${h.line}`);
  expect(at("globTokens")).toContain("src/glob.ts:2");
  expect(at("workspace")).toContain("notes/run.md:3");
  const stored = allStoredText(join(root, ".pkg"));
  expect(stored).toContain("const tokens = globTokens(pattern);");
  expect(stored).not.toContain("plantedLiteral9");
}, 60_000);
