// Per-file extraction on texts written here: where sections and links are (lines), which links and
// technologies count, and what front matter gives (warnings, tags). Lines are 1-based.
import { describe, expect, test } from "bun:test";
import { extractFile } from "./extract.ts";

const chunking = { size: 200, overlap: 40 };
const md = (...lines: string[]) => lines.join("\n") + "\n";
const extract = (text: string, path = "notes/doc.md") => extractFile(path, "0".repeat(64), text, chunking);

describe("link lines", () => {
  test("a link to the same target path twice is one link, at its first line", () => {
    const text = md("[url](url.md)", "", "[section](url.md#section) and [query](./url.md?x=1)", "", "[other](sub/other.md)", "[again](sub/other.md)");
    expect(extract(text).links).toEqual([["notes/url.md", 1], ["notes/sub/other.md", 5]]);
  });
});


describe("front matter", () => {
  test("invalid YAML is a warning at the line the YAML parser points to", () => {
    const e = extract(md("---", "title: a: b", "---", "# Body"));
    expect(e.warnings).toEqual([[2, "invalid front matter: Nested mappings are not allowed in compact mappings"]]);
    expect(e.frontmatter).toBeUndefined();
    expect(e.title).toBe("Body");
    expect(extract(md("---", "a: 1", "b: 2", "a: 3", "---", "x")).warnings).toEqual([[4, "invalid front matter: Map keys must be unique"]]);
  });

  test("front matter that is not a mapping is a warning at line 1; valid front matter gives none", () => {
    expect(extract(md("---", "- a", "- b", "---", "x")).warnings).toEqual([[1, "front matter is not a mapping"]]);
    expect(extract(md("---", "title: T", "---", "x")).warnings).toBeUndefined();
  });

  test("tags from a list or a string, normalized; none when empty", () => {
    expect(extract(md("---", "tags: [Beta, ' alpha ', beta, 2024]", "tag: Gamma", "---", "x")).tags).toEqual(["2024", "alpha", "beta", "gamma"]);
    expect(extract(md("---", "tags: ops, Machine Learning,ops", "---", "x")).tags).toEqual(["machine learning", "ops"]);
    expect(extract(md("---", "tags: ops  infra", "---", "x")).tags).toEqual(["infra", "ops"]);
    expect(extract(md("---", "tags: []", "title: T", "---", "x")).tags).toBeUndefined();
    expect(extract(md("# no front matter")).tags).toBeUndefined();
  });
});
