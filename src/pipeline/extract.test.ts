// Per-file extraction on texts written here: where sections and links are (lines), which links and
// technologies count, and what front matter gives (warnings, tags). Lines are 1-based.
import { describe, expect, test } from "bun:test";
import { extractFile } from "./extract.ts";
import { parseMarkdown } from "./markdown.ts";

const chunking = { size: 200, overlap: 40 };
const md = (...lines: string[]) => lines.join("\n") + "\n";
const extract = (text: string, path = "notes/doc.md") => extractFile(path, "0".repeat(64), text, chunking);

describe("section lines", () => {
  test("setext headings: each section at its own text line, not the underline; --- after a blank line or front matter is no heading", () => {
    const text = md(
      "---",                  // 1
      "title: Setext",        // 2
      "---",                  // 3
      "Overview",             // 4
      "========",             // 5
      "",                     // 6
      "Some text.",           // 7
      "",                     // 8
      "---",                  // 9  thematic break
      "",                     // 10
      "Details",              // 11
      "-------",              // 12
      "",                     // 13
      "```sh",                // 14
      "# not a heading",      // 15
      "Not either",           // 16
      "---",                  // 17
      "```",                  // 18
      "",                     // 19
      "## Closing ##",        // 20
      "",                     // 21
      "A paragraph that",     // 22
      "spans two lines",      // 23
      "---",                  // 24
    );
    expect(extract(text).sections).toEqual([["Overview", 1, 4], ["Details", 2, 11], ["Closing", 2, 20], ["A paragraph that spans two lines", 2, 22]]);
  });

  test("headings in indented code and HTML blocks do not shift the others; inline markup and block quotes are matched; others are found by text", () => {
    const text = md(
      "# Start",              // 1
      "",                     // 2
      "    # indented code",  // 3
      "",                     // 4
      "<div>",                // 5
      "# inside HTML",        // 6
      "</div>",               // 7
      "",                     // 8
      "> ## Quoted",          // 9
      "",                     // 10
      "Setext *with* `code`", // 11
      "---",                  // 12
      "",                     // 13
      "### [Linked](a.md) &amp; more", // 14
      "",                     // 15
      "- item",               // 16
      "",                     // 17
      "  Sub in a list",      // 18 a setext heading in a list item: not scanned, found by its text
      "  ---",                // 19
      "",                     // 20
      "## End",               // 21
    );
    expect(extract(text).sections).toEqual([
      ["Start", 1, 1], ["Quoted", 2, 9], ["Setext with code", 2, 11], ["Linked & more", 3, 14], ["Sub in a list", 2, 18], ["End", 2, 21],
    ]);
  });

  test("a heading whose named character references render as letters is at its own line", () => {
    const text = md(
      "# First",              // 1
      "",                     // 2
      "## &Ouml;l",           // 3
      "",                     // 4
      "Body about Öl.",       // 5
      "",                     // 6
      "## Caf&eacute; &amp; Bar &frac12;", // 7
      "",                     // 8
      "## &Auml;&Ouml;&Uuml;",          // 9  no letter the source spells
      "",                     // 10
      "## Last",              // 11
    );
    expect(extract(text).sections).toEqual([["First", 1, 1], ["Öl", 2, 3], ["Café & Bar ½", 2, 7], ["ÄÖÜ", 2, 9], ["Last", 2, 11]]);
  });

  test("a code line that looks like a heading with references does not take a heading with its own line", () => {
    // The line scan takes these code lines (in a list item, in a block quote's fence) for headings;
    // the parser does not. Their references could render as Ö, but the parser's Öl has a line of its own.
    const inList = md(
      "# T",                  // 1
      "",                     // 2
      "- item",               // 3
      "",                     // 4
      "      ## &Uuml;l",     // 5  indented code in the list item
      "",                     // 6
      "## Öl",                // 7
    );
    expect(extract(inList).sections).toEqual([["T", 1, 1], ["Öl", 2, 7]]);
    const inQuote = md(
      "# T",                  // 1
      "",                     // 2
      "> ```",                // 3
      "> ## &Uuml;l",         // 4  fenced code in a block quote
      "> ```",                // 5
      "",                     // 6
      "## Öl",                // 7
      "",                     // 8
      "## Ül",                // 9
    );
    expect(extract(inQuote).sections).toEqual([["T", 1, 1], ["Öl", 2, 7], ["Ül", 2, 9]]);
  });

  test("headings of many named references side by side are placed, and quickly", () => {
    // 300 headings of 200 references each; every other one also has a reference that is no entity
    // (rendered as written, so no signature matches it and the lookahead compares it with up to
    // 128 others). Those are found by their words, or else after the previous heading; the others
    // keep their own lines.
    const lines = ["# Top", ""];
    for (let i = 0; i < 300; i++) lines.push(`## ${"&Auml;".repeat(200)}${i % 2 ? "&nosuch;" : ""}x${i}`, "");
    const t = performance.now();
    const got = extract(md(...lines)).sections;
    expect(performance.now() - t).toBeLessThan(10_000);
    expect(got.length).toBe(301);
    expect(got.filter((_, k) => k % 2 === 1).map(([, , line]) => line)).toEqual(Array.from({ length: 150 }, (_, i) => 3 + 4 * i));
  });

  test("many headings the block scan misses keep their lines in a long note (the search budget is spent on the text between placed headings)", () => {
    // Setext headings in list items, rendered with emphasis (no text search finds `Step 7: install`
    // as written), then a long appendix: each search read on to the end, and from the 16th heading
    // on the budget was spent and headings took the previous one's next line.
    const lines = ["# Guide", ""];
    for (let i = 0; i < 40; i++) lines.push(`- Step *${i}*: install`, "  ---", "", `  Some text for step ${i}.`, "");
    lines.push("## Appendix", "", ...Array.from({ length: 3000 }, () => "filler line of appendix text"));
    const got = extract(md(...lines)).sections;
    expect(got.slice(1, 41).map(([, , line]) => line)).toEqual(Array.from({ length: 40 }, (_, i) => 3 + 5 * i));
  });

  test("an ADR's status after a no-break space or blank lines is read (white space but line breaks, as before), and a heading with thousands of newlines after it is read at once", () => {
    for (const text of ["# X\n\n## Status\u00a0\n\nAccepted\n", "# X\n\n## Status\n\n\u00a0Accepted\n", "# X\n\nStatus:\u00a0Accepted\n", "# X\n\n## Status\n \n\t\nAccepted\n"]) {
      expect([text, extract(text, "notes/adr/0001-x.md").decision?.status]).toEqual([text, "accepted"]);
    }
    const t = performance.now();
    expect(extract(`# X\n\n# status${"\n".repeat(20_000)}!\n`, "notes/adr/0002-y.md").decision?.status).toBeUndefined();
    expect(performance.now() - t).toBeLessThan(2_000);
  });

  test("an unclosed `](` in a heading with a named reference leaves the rest of its text to match", () => {
    expect(extract(md("intro", "", "# Caf&eacute; [x](y")).sections.map(([, , line]) => line)).toEqual([3]);
  });

  test("a quoted fence is closed only by a run of its own character, as at the top (`> ```~` closes nothing)", () => {
    expect(extract(md("> ```", "> ```~", "> # H", "> ```", "", "# H")).sections).toEqual([["H", 1, 6]]);
  });

  test("headings with the same text each keep their own line, in block quotes and list items too", () => {
    const text = md(
      "## Example",           // 1
      "",                     // 2
      "    ## Example",       // 3  indented code
      "",                     // 4
      "> ## Example",         // 5
      "",                     // 6
      "1. item",              // 7
      "",                     // 8
      "    ## Example",       // 9  in the list item
      "",                     // 10
      "- ## Listed",          // 11
      "  > ### Deep",         // 12
      "",                     // 13
      "## Example",           // 14
    );
    expect(extract(text).sections).toEqual([
      ["Example", 2, 1], ["Example", 2, 5], ["Example", 2, 9], ["Listed", 2, 11], ["Deep", 3, 12], ["Example", 2, 14],
    ]);
  });
});

describe("code inside containers", () => {
  test("a heading-like line in fenced code in a block quote or a list item, or in a list item's indented code, is code", () => {
    expect(extract(md("# Setup", "", "> ```sh", "> # Install", "> make install", "> ```", "", "# Install")).sections).toEqual([["Setup", 1, 1], ["Install", 1, 8]]);
    expect(extract(md("1. Prepare:", "", "       # install deps", "       npm ci", "", "# Install deps")).sections).toEqual([["Install deps", 1, 6]]);
    expect(extract(md("- ```js", "  # not a heading", "  ```", "", "# Real")).sections).toEqual([["Real", 1, 5]]);
    // Not code: a heading in an item, a heading in a quote.
    expect(extract(md("- item", "", "  # Heading in item", "", "> # Quoted heading", "> text")).sections).toEqual([["Heading in item", 1, 3], ["Quoted heading", 1, 5]]);
    // A link in quoted code is no link; the one after it keeps its line.
    expect(extract(md("> ```md", "> See [setup](setup.md)", "> ```", "", "Read [setup](setup.md) first.")).links).toEqual([["notes/setup.md", 5]]);
  });

  test("nested items, a tab after a marker, a quote in an item, indented code in a quote or an item: paragraphs stay paragraphs, code stays code", () => {
    const e = (...lines: string[]) => { const x = extract(md(...lines)); return { sections: x.sections, links: x.links }; };
    // A nested item's paragraph (MkDocs' four-space nesting) is no code of the outer item.
    expect(e("- Item", "    - Sub item", "", "        More about it in [the guide](guide.md).", "", "See [the guide](guide.md) again.").links).toEqual([["notes/guide.md", 4]]);
    expect(e("- a", "  - b", "    - c", "      - d", "", "        [x](x.md)", "", "[x](x.md)").links).toEqual([["notes/x.md", 6]]);
    expect(e("1.\tInstall", "", "       See [setup](setup.md).", "", "[setup](setup.md)").links).toEqual([["notes/setup.md", 3]]);
    expect(e("- Steps", "    - Configure", "", "        # X", "", "# X").sections).toEqual([["X", 1, 4], ["X", 1, 6]]);
    // A fence in a quote in an item is the quote's; the item's paragraph after it is text.
    expect(e("- > ```", "  > code", "  > ```", "  See [x](x.md)", "  ## Notes", "[x](x.md) again")).toEqual({ sections: [["Notes", 2, 5]], links: [["notes/x.md", 4]] });
    // Four columns into a quote or past a list marker is indented code, not a fence.
    expect(e(">     ```", ">     # x", "> # Q", "", "# Q").sections).toEqual([["Q", 1, 3], ["Q", 1, 5]]);
    expect(e("-     ```", "      # x", "", "# x").sections).toEqual([["x", 1, 4]]);
    // A list in a quote ends with the quote; a fence after a list marker in a quote is the quote's.
    expect(e("> Note:", "> - one", "> - two", "", "    # comment in code", "", "# comment in code").sections).toEqual([["comment in code", 1, 7]]);
    expect(e("> - item", "", "    see [a](a.md)", "", "Read [a](a.md).").links).toEqual([["notes/a.md", 5]]);
    expect(e("> - ```sh", ">   ls", ">   ```", "> ## Notes", "", "## Notes").sections).toEqual([["Notes", 2, 4], ["Notes", 2, 6]]);
    expect(e("> - ~~~", ">   # not", ">   ~~~", "", "# not").sections).toEqual([["not", 1, 5]]);
    // A nested item ends where a less indented paragraph of its parent starts; a thematic break is no item.
    expect(e("- a", "    - b", "", "  more a", "", "      # not a heading", "", "# not a heading").sections).toEqual([["not a heading", 1, 8]]);
    expect(e("- a", "    * * *", "", "      # not a heading", "", "# not a heading").sections).toEqual([["not a heading", 1, 6]]);
    // An item that starts with a quote is an item; a fence in a quote's item ends with the item.
    expect(e("- > Note.", "", "    - [a](a.md) first", "    - [b](b.md)", "", "[a](a.md)").links).toEqual([["notes/a.md", 3], ["notes/b.md", 4]]);
    expect(e("- > Note.", "", "    ## Usage", "", "## Usage", "text").sections).toEqual([["Usage", 2, 3], ["Usage", 2, 5]]);
    expect(e("> 1. Example:", ">    ```sh", ">    make", ">    ```", "> 2. ```js", ">    x()", "> 3. See [docs](docs.md)", "", "[docs](docs.md)").links).toEqual([["notes/docs.md", 7]]);
    // A `#` four columns past an item's content, in its paragraph, is text; only `1.` interrupts a paragraph.
    expect(e("- Run the installer:", "      # install deps", "      npm ci, then see [setup](setup.md)", "- Done.", "", "Also [setup](setup.md).").links).toEqual([["notes/setup.md", 3]]);
    expect(e("- a", "    12. not an item", "", "        [x](x.md)", "", "[x](x.md)").links).toEqual([["notes/x.md", 6]]);
    // But a sibling item (`9.` then `10.`, left of the open item's content) is an item.
    expect(e("8. eight", "9. nine", "10. ten", "", "       # Same", "", "# Same").sections).toEqual([["Same", 1, 5], ["Same", 1, 7]]);
    expect(e("- x", "", "    9. a", "    10. b", "", "           # Same", "", "# Same").sections).toEqual([["Same", 1, 6], ["Same", 1, 8]]);
    expect(e("1. Get it:", "   - clone", "2. Build it:", "", "       # Build", "       make", "", "# Build").sections).toEqual([["Build", 1, 8]]);
    // A quote's columns count from its own `>`: a less indented quoted line ends an item's fence; a plain quote fence holds its lines.
    expect(e("[r]: r1.md", "> - ~~~", "  > [r] ref").links).toEqual([["notes/r1.md", 3]]);
    expect(e(" > ```", "> # Same", "> ```", "", "# Same").sections).toEqual([["Same", 1, 5]]);
  });

  test("a reference link defined in a block quote is at its use, not at the definition", () => {
    expect(extract(md("> [quoted ref][qr]", ">", "> [qr]: other.md")).links).toEqual([["notes/other.md", 1]]);
  });
});

describe("link lines", () => {
  test("a link is at the line where it is written, not at an earlier mention of its URL or its definition", () => {
    const text = md(
      "# Links",                                       // 1
      "",                                              // 2
      "The RFC lives at https://www.rfc-editor.org/rfc/rfc9110 as text.", // 3
      "",                                              // 4
      "```",                                           // 5
      "[rfc](https://www.rfc-editor.org/rfc/rfc9110)",  // 6
      "```",                                           // 7
      "Inline `[code](notes/other.md)` is no link.",   // 8
      "",                                              // 9
      "See [the RFC](https://www.rfc-editor.org/rfc/rfc9110).", // 10
      "",                                              // 11
      "Also https://auto.example/x in text,",          // 12
      "then <https://auto.example/x> as an autolink.", // 13
      "",                                              // 14
      "A [reference][spec] and [spec] again, and [other][].", // 15
      "",                                              // 16
      "[spec]: https://spec.example/page \"Spec\"",    // 17
      "[other]: other.md",                             // 18
    );
    const e = extract(text);
    expect(e.refs).toEqual([["https://www.rfc-editor.org/rfc/rfc9110", 10], ["https://auto.example/x", 13], ["https://spec.example/page", 15]]);
    expect(e.links).toEqual([["notes/other.md", 15]]);
  });

  test("parseMarkdown gives each link its own offset, reference links at their use", () => {
    const text = md("[a][r]", "", "[b](https://x.example/)", "", "[c][r]", "", "[r]: https://x.example/");
    const lines = (o: number) => text.slice(0, o).split("\n").length;
    expect(parseMarkdown(text, 0).links.map((l) => [l.href, lines(l.offset)])).toEqual([
      ["https://x.example/", 1], ["https://x.example/", 3], ["https://x.example/", 5],
    ]);
  });

  test("an unclosed <!-- in a paragraph is text: the links after it keep their lines", () => {
    const text = md(
      "# Comments",                                                              // 1
      "",                                                                        // 2
      "The page x.md explains HTML. A comment opens with <!-- and closes later.", // 3
      "",                                                                        // 4
      "See [the page](x.md) for details.",                                       // 5
      "",                                                                        // 6
      "```html",                                                                 // 7
      "<!-- example -->",                                                        // 8
      "```",                                                                     // 9
    );
    expect(extract(text).links).toEqual([["notes/x.md", 5]]);
  });

  test("destinations are read as CommonMark reads them: backslash escapes and character references decoded", () => {
    const text = md(
      "[a](https://a.com/?a=1&amp;b=2)",          // 1
      "",                                          // 2
      "<https://a.com/?a=1&b=2>",                 // 3
      "",                                          // 4
      "[w](https://en.wikipedia.org/wiki/Foo_\\(bar\\))", // 5
      "",                                          // 6
      "[f](my\\_notes.md) [g](caf&eacute;.md) [h](x&#x2F;y&#46;md) [u](z&unknown;.md)", // 7
    );
    const e = extract(text);
    expect(e.refs).toEqual([["https://a.com/?a=1&b=2", 1], ["https://en.wikipedia.org/wiki/Foo_(bar)", 5]]);
    expect(e.links).toEqual([["notes/my_notes.md", 7], ["notes/café.md", 7], ["notes/x/y.md", 7], ["notes/z&unknown;.md", 7]]);
  });

  test("a link to the same target path twice is one link, at its first line", () => {
    const text = md("[url](url.md)", "", "[section](url.md#section) and [query](./url.md?x=1)", "", "[other](sub/other.md)", "[again](sub/other.md)");
    expect(extract(text).links).toEqual([["notes/url.md", 1], ["notes/sub/other.md", 5]]);
  });
});

describe("technology mentions", () => {
  test("not in HTML comments nor in URLs; a fence language counts at its fence's line", () => {
    const text = md(
      "<!-- YAML -->",                                           // 1
      "Text <!-- python, inline --> here.",                      // 2
      "[Compose](https://github.com/docker/compose) and <https://kafka.apache.org/>", // 3
      "Bare https://redis.io/docs and a [page](docs/mysql.md).", // 4
      "",                                                        // 5
      "```json",                                                 // 6
      "{}",                                                      // 7
      "```",                                                     // 8
      "We run Docker with Kafka.",                               // 9
    );
    expect(extract(text).techs).toEqual([["Docker", 9], ["JSON", 6], ["Kafka", 9]]);
  });

  test("nor in a host written without its scheme, nor in an angle-bracket destination with blanks", () => {
    expect(extract(md("See www.mongodb.com and [a](<my grafana notes.md>).", "", "Then MongoDB and Grafana.")).techs).toEqual([["Grafana", 3], ["MongoDB", 3]]);
  });

  test("a URL in a plain text file is no mention either", () => {
    expect(extract("see https://github.com/docker/cli\nthen redis\n", "notes/a.txt").techs).toEqual([["Redis", 2]]);
  });
});

describe("front matter", () => {
  test("invalid YAML is a warning at the line the YAML parser points to", () => {
    const e = extract(md("---", "title: a: b", "---", "# Body"));
    expect(e.warnings).toEqual([[2, "invalid front matter: Nested mappings are not allowed in compact mappings"]]);
    expect(e.frontmatter).toBeUndefined();
    expect(e.title).toBe("Body");
    expect(extract(md("---", "a: 1", "b: 2", "a: 3", "---", "x")).warnings).toEqual([[4, "invalid front matter: Map keys must be unique"]]);
    expect(extract(md("---", "a: &a [*a]", "---", "x")).warnings).toEqual([[1, "invalid front matter: an alias refers to a value that holds it (a cycle)"]]);
    // Something left open is reported where it opens, not where the parser gave up (the end of the block).
    expect(extract(md("---", "title: ok", 'key: "unterminated', "more: 1", "more2: 2", "---", "# H")).warnings).toEqual([[3, 'invalid front matter: Missing closing "quote']]);
    expect(extract(md("---", "title: ok", "tags: [unclosed", "more: 1", "---", "x")).warnings).toEqual([[3, "invalid front matter: Flow sequence in block collection must be sufficiently indented and end with a ]"]]);
  });

  test("front matter that is not a mapping is a warning at line 1; valid front matter gives none", () => {
    expect(extract(md("---", "- a", "- b", "---", "x")).warnings).toEqual([[1, "front matter is not a mapping"]]);
    expect(extract(md("---", "title: T", "---", "x")).warnings).toBeUndefined();
  });

  test("front matter may end with `...`, and its lines may have trailing blanks; the body's headings are its own", () => {
    const dots = extract(md("---", "title: Dots", "...", "", "# Heading One", "", "Text", "", "---", "", "## Heading Two"));
    expect(dots.frontmatter).toEqual({ title: "Dots" });
    expect(dots.warnings).toBeUndefined();
    expect(dots.sections).toEqual([["Heading One", 1, 5], ["Heading Two", 2, 11]]);
    const blanks = extract(md("---  ", "title: Trailing", "tags: [t]", "--- \t", "", "# Body Heading"));
    expect(blanks.frontmatter).toEqual({ tags: ["t"], title: "Trailing" });
    expect(blanks.sections).toEqual([["Body Heading", 1, 6]]);
    expect(extract(md("---", "---", "# Empty front matter")).sections).toEqual([["Empty front matter", 1, 3]]);
  });

  test("tags from a list or a string, normalized; none when empty", () => {
    expect(extract(md("---", "tags: [Beta, ' alpha ', beta, 2024]", "tag: Gamma", "---", "x")).tags).toEqual(["2024", "alpha", "beta", "gamma"]);
    expect(extract(md("---", "tags: ops, Machine Learning,ops", "---", "x")).tags).toEqual(["machine learning", "ops"]);
    expect(extract(md("---", "tags: ops  infra", "---", "x")).tags).toEqual(["infra", "ops"]);
    expect(extract(md("---", "tags: []", "title: T", "---", "x")).tags).toBeUndefined();
    expect(extract(md("# no front matter")).tags).toBeUndefined();
  });
});

test("log claims: level words in capitals, error types with their message, Go panics and structured levels; past 500 a warning", () => {
  const text = [
    "2024 INFO all good", "2024 ERROR db down", "no error here", "panic: runtime error: index out of range",
    'level=error msg="boom"', '{"level":"error","msg":"x"}', "ValueError: bad value", "Error: ENOENT", "errors are fine", "level=info", "the Errors list",
  ].join("\n") + "\n";
  const e = extractFile("logs/app.log", "0".repeat(64), text, { size: 200, overlap: 20 }, {});
  expect(e.claims.map(([line]) => line)).toEqual([2, 4, 5, 6, 7, 8]);
  expect(e.warnings).toBeUndefined();
  const many = extractFile("logs/b.log", "0".repeat(64), Array.from({ length: 503 }, (_, i) => `ERROR ${i}`).join("\n"), { size: 200, overlap: 20 }, {});
  expect(many.claims).toHaveLength(500);
  expect(many.warnings).toEqual([[501, "only the first 500 error lines are claims; this one and those after it are not"]]);
});
