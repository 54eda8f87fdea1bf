// Path globs with many wildcards are matched in time proportional to the glob and the path, and mean
// what the same glob with fewer wildcards means (`**/**/` is `**/`, `***` is `**`).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { expandBraces, globMatcher } from "../../src/query/parse.ts";
import { cleanup, cli, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

const DEEP = "notes/d1/d2/d3/d4/d5/d6/d7/d8/deep.md";
let root: string;
beforeAll(() => {
  root = ingested({ [DEEP]: "# Deep\n\npython here\n", "notes/top.md": "# Top\n\npython too\n", "src/a/b/c.md": "# C\n\npython as well\n" });
});

const paths = (...args: string[]) => {
  const r = cli(["query", "python", "--type", "chunk", "--root", root, "--json", ...args]);
  expect(r.code).toBe(0);
  return r.json.hits.map((h: { path: string }) => h.path).sort();
};

test("a glob of forty `**/` answers (it backtracked for minutes) and means `**/`", () => {
  expect(paths("--path", "**/".repeat(40) + "deep.md")).toEqual([DEEP]);
  expect(paths("--path", "**/".repeat(40) + "x")).toEqual([]);
  expect(paths(`path:${"**/".repeat(40)}*.md`)).toEqual([DEEP, "notes/top.md", "src/a/b/c.md"]);
});

test("a path starting with / means the same in the text as after --path (not a URL searched as words)", () => {
  expect(paths("--path", "/notes/**")).toEqual([DEEP, "notes/top.md"]);
  expect(paths("path:/notes/**")).toEqual([DEEP, "notes/top.md"]);
  expect(paths("PATH:/src/**")).toEqual(["src/a/b/c.md"]);
  // The root itself, as any folder: everything below it.
  const all = [DEEP, "notes/top.md", "src/a/b/c.md"];
  expect(paths("--path", "/./notes/**")).toEqual([DEEP, "notes/top.md"]);
  expect(paths("path:.//src")).toEqual(["src/a/b/c.md"]);
  for (const root of ["/", "./", ".", "//", "/./", ".//"]) expect({ root, flag: paths("--path", root), text: paths(`path:${root}`) }).toEqual({ root, flag: all, text: all });
  // Not a filter key: searched as text, not an error.
  expect(cli(["query", "https://example.org/a", "--root", root]).code).toBe(0);
  expect(cli(["query", "std::vector", "--root", root]).code).toBe(0);
});

test("many single-segment wildcards on a long name: no backtracking, the same answers", () => {
  const m = globMatcher("*a*a*a*a*a*a*a*a*b");
  expect(m("a".repeat(400))).toBe(false);
  expect(m("a".repeat(400) + "b")).toBe(true);
  expect(m("a".repeat(10) + "/b")).toBe(false);
  expect(paths("--path", "n*t*s/*1/*2/*3/*4/**")).toEqual([DEEP]);
  expect(paths("--path", "*/*/*/**/c.md")).toEqual(["src/a/b/c.md"]);
});

test("the position walk and the regular expression give the same answers (random globs and paths)", () => {
  let seed = 1;
  const pick = <T>(xs: T[]) => xs[(seed = (seed * 1103515245 + 12345) % 2147483648) % xs.length]!;
  const globParts = ["a", "b", "/", "*", "**", "**/", "?", ".md", "x", "./"];
  const pathParts = ["a", "b", "/", "x", ".md", "ab"];
  let walked = 0;
  for (let t = 0; t < 3000; t++) {
    const g = Array.from({ length: 1 + (seed % 7) }, () => pick(globParts)).join("");
    // Both forced: the default takes the walk for a glob that is not regexSafe, and would compare it with itself.
    const regex = globMatcher(g, "regex"), walk = globMatcher(g, "walk");
    for (let u = 0; u < 10; u++) {
      const p = Array.from({ length: 1 + (seed % 6) }, () => pick(pathParts)).join("");
      expect([g, p, walk(p)]).toEqual([g, p, regex(p)]);
      walked++;
    }
  }
  expect(walked).toBe(30_000);
  // Folded globs mean the same: `**/**/` is `**/`, `***` is `**`.
  for (const [few, many] of [["notes/**/deep.md", "notes/**/**/**/**/deep.md"], ["src/**", "src/***"]] as const) {
    for (const p of [DEEP, "notes/top.md", "src/a/b/c.md", "src/a", "x/a/y"]) expect(globMatcher(many)(p)).toBe(globMatcher(few)(p));
  }
});

test("braces are alternatives (a comma inside them is not a list), a trailing / and //, . and .. read as paths read", () => {
  expect(paths("--path", "{notes,src/a}/**")).toEqual([DEEP, "notes/top.md", "src/a/b/c.md"]);
  expect(paths("path:notes/{top,none}.md")).toEqual(["notes/top.md"]);
  expect(paths("path:{notes/top.md,src/**},notes/d1/**")).toEqual([DEEP, "notes/top.md", "src/a/b/c.md"]);
  expect(paths("path:notes/*/")).toEqual([DEEP]);
  expect(paths("path:notes//top.md")).toEqual(["notes/top.md"]);
  expect(paths("path:src/x/../a/./b/c.md")).toEqual(["src/a/b/c.md"]);
  for (const [glob, expected] of [["{a,b}", ["a", "b"]], ["x/{a,{b,c}}/*.{md,txt}", ["x/a/*.md", "x/a/*.txt", "x/b/*.md", "x/b/*.txt", "x/c/*.md", "x/c/*.txt"]], ["{one}", ["{one}"]], ["x{a,b", ["x{a,b"]]] as const) {
    expect(expandBraces(glob)).toEqual([...expected]);
  }
});

test("no hits under a path filter that matches no file at all: a warning names the glob", () => {
  const r = cli(["query", "python", "--path", "Notes/**", "--root", root, "--json"]);
  expect(r.code).toBe(0);
  expect(r.json.hits).toEqual([]);
  expect(r.stderr).toContain("warning: path:Notes/** matches no file of this run");
  // A glob that matches files, but none with the word: no warning.
  const some = cli(["query", "zebrafishnowhere", "--path", "notes/**", "--root", root, "--json"]);
  expect(some.stderr).not.toContain("matches no file");
});
