// Notes that are small enough to be read but shaped to make a parser's time grow with the square of
// their size: thousands of backtick runs of growing length on one line, hundreds of thousands of
// unclosed `<!--`, front matter of 100,000 keys (the YAML library's duplicate-key check compares every
// pair). Each took minutes or never ended, with the workspace lock held; an ingest of all three now
// takes well under a second of work, and the test gives it 30 s on a busy machine.
import { afterAll, expect, test } from "bun:test";
import { cleanup, cli, workspace } from "../helpers/cli.ts";

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
