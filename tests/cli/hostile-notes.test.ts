// Notes that are small enough to be read but shaped to make a parser's time grow with the square of
// their size: thousands of backtick runs of growing length on one line, hundreds of thousands of
// unclosed `<!--`, front matter of 100,000 keys (the YAML library's duplicate-key check compares every
// pair). Each took minutes or never ended, with the workspace lock held; an ingest of all three now
// takes well under a second of work, and the test gives it 30 s on a busy machine.
import { afterAll, expect, test } from "bun:test";
import { cleanup, cli, workspace } from "../helpers/cli.ts";
import { makeZip } from "../pipeline-docs/fixtures.ts";

afterAll(cleanup);

test("backtick runs, unclosed HTML comments and huge front matter are read in linear time; the front matter is refused with a warning", () => {
  const root = workspace({
    "notes/ticks.md": `# Ticks\n\nalpha ${Array.from({ length: 1000 }, (_, i) => "`".repeat(i + 1)).join(" ")}\n`,
    "notes/comments.md": `# Comments\n\nbravo ${"<!-- ".repeat(400_000)}\n`,
    "notes/keys.md": `---\n${Array.from({ length: 100_000 }, (_, i) => `k${i}: v${i}\n`).join("")}---\n# Keys\n\ncharlie\n`,
  });
  const r = cli(["ingest", "--root", root, "--json"], { timeoutMs: 30_000 });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("notes/keys.md:1: front matter over 65,536 characters is not read");
  for (const [word, path] of [["alpha", "notes/ticks.md"], ["bravo", "notes/comments.md"], ["charlie", "notes/keys.md"]]) {
    const q = cli(["query", word!, "--root", root, "--json"]);
    expect([word, q.json.hits.map((h: { path: string }) => h.path)]).toEqual([word, [path]]);
  }
}, 60_000);

test("headings the block scan does not see, whose text is nowhere in the file, are placed in linear time", () => {
  // A setext heading in a list item, spelled with character references: the parser makes each a
  // heading "abc" that the block scan does not find and that no text search can find either. Placing
  // 120,000 of them walked to the next placed heading and searched the rest of the file for each:
  // minutes. Now a bounded amount of searching in all, then each takes the line after the previous.
  const root = workspace({ "notes/hidden.md": `# Hidden\n\ndelta\n\n${"- &#97;&#98;&#99;\n  ---\n\n".repeat(120_000)}echo\n` });
  const r = cli(["ingest", "--root", root, "--json"], { timeoutMs: 30_000 });
  expect(r.code).toBe(0);
  const q = cli(["query", "echo", "--root", root, "--json"]);
  expect(q.json.hits.map((h: { path: string; line: number }) => [h.path, h.line])).toEqual([["notes/hidden.md", 360_005]]);
  const sections = cli(["list", "--type", "section", "--where", "name=abc", "--count-only", "--root", root, "--json"]);
  expect(sections.code).toBe(0);
  expect(sections.json.total).toBe(120_000);
}, 60_000);

test("files shaped against one pattern each are read in linear time, and a deep pattern does not fail the run", () => {
  const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
  const files: Record<string, string | Uint8Array> = {
    // An ADR's status heading and thousands of newlines: `\s*\n+\s*` split them every way (minutes).
    "notes/adr/0001-golf.md": `# Golf\n\n# status${"\n".repeat(8_000)}!\n`,
    // `#`, 200,000 blanks: the closing-sequence pattern tried each blank (about a minute).
    "notes/hotel.md": `#${" ".repeat(200_000)}hotel\n`,
    // A heading whose entity makes the parser's text differ, then `](` without `)` (quadratic signature).
    "notes/india.md": `# &amp;${"](".repeat(200_000)}\n\nindia\n`,
    // `](<` without `>` (each read the rest of the file), then reference links whose definitions sit in list items.
    "notes/juliet.md": `[a](b)\n\njuliet\n\n${"](<".repeat(1_300_000)}\n`,
    // A long line of `](<` and a technology after each: each mention looked back to the line's start (15 s for 4.8 MB).
    "notes/oscar.md": `${"](<a docker ".repeat(700_000)}\noscar\n`,
    "notes/kilo.md": (() => { let a = "", b = "", c = ""; for (let i = 0; i < 60_000; i++) { a += `- [l${i}]: u${i}\n`; b += `[l${i}] `; c += "](z "; } return `kilo\n\n${a}\n${b}\n\n${c}\n`; })(),
    // A .docx of 200,000 unclosed paragraphs (a few hundred bytes; each read the rest of the body).
    // Its styles and relationships unclosed too (each `<w:style>` and `<Relationship ` read the rest of its part).
    "docs/lima.docx": makeZip({
      "word/document.xml": `<?xml version="1.0"?><w:document ${W}><w:body><w:p><w:r><w:t>lima</w:t></w:r></w:p>${"<w:p>".repeat(200_000)}</w:body></w:document>`,
      "word/styles.xml": `<w:styles>${"<w:style>".repeat(200_000)}`,
      "word/_rels/document.xml.rels": `<Relationships>${"<Relationship ".repeat(200_000)}`,
    }),
    // Rust: an impl on a type nested 128,000 deep (its name took one pass per level); TypeScript: a
    // pattern nested 40,000 deep (the names it binds were found by recursion: a stack overflow failed the whole ingest).
    "src/mike.rs": `// mike\nimpl (A<${"B<".repeat(128_000)}T${">".repeat(128_001)},) { fn f() {} }\n`,
    "src/november.ts": `// november\nconst ${"[".repeat(40_000)}x${"]".repeat(40_000)} = 1;\nexport const y = 2;\n`,
  };
  const root = workspace(files);
  const r = cli(["ingest", "--root", root, "--json"], { timeoutMs: 30_000 });
  expect(r.code).toBe(0);
  for (const [word, path] of [["golf", "notes/adr/0001-golf.md"], ["hotel", "notes/hotel.md"], ["india", "notes/india.md"], ["juliet", "notes/juliet.md"],
    ["kilo", "notes/kilo.md"], ["lima", "docs/lima.docx"], ["oscar", "notes/oscar.md"], ["mike", "src/mike.rs"], ["november", "src/november.ts"]]) {
    const q = cli(["query", word!, "--root", root, "--json"]);
    expect([word, [...new Set(q.json.hits.map((h: { path: string }) => h.path))]]).toEqual([word, [path]]);
  }
  const syms = cli(["list", "--type", "symbol", "--root", root, "--json"]).json.nodes.map((n: { name: string; path: string }) => `${n.path} ${n.name}`).sort();
  expect(syms).toEqual(["src/mike.rs f", "src/november.ts x", "src/november.ts y"]);
}, 90_000);
