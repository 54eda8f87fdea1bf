// Path globs with many wildcards are matched in time proportional to the glob and the path, and mean
// what the same glob with fewer wildcards means (`**/**/` is `**/`, `***` is `**`).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { globMatcher } from "../../src/query/parse.ts";
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

test("many single-segment wildcards on a long name: no backtracking, the same answers", () => {
  const m = globMatcher("*a*a*a*a*a*a*a*a*b");
  expect(m("a".repeat(400))).toBe(false);
  expect(m("a".repeat(400) + "b")).toBe(true);
  expect(m("a".repeat(10) + "/b")).toBe(false);
  expect(paths("--path", "n*t*s/*1/*2/*3/*4/**")).toEqual([DEEP]);
  expect(paths("--path", "*/*/*/**/c.md")).toEqual(["src/a/b/c.md"]);
});

test("globs with few and with many wildcards agree", () => {
  const globs: [string, string][] = [
    ["notes/**/deep.md", "notes/**/**/**/**/deep.md"], ["**/*.md", "**/**/*.md"], ["src/**", "src/***"], ["*/a/**", "*/a/**/**"],
  ];
  const all = [DEEP, "notes/top.md", "src/a/b/c.md", "src/a", "notes", "x/a/y"];
  for (const [few, many] of globs) {
    const a = globMatcher(few), b = globMatcher(many);
    for (const p of all) expect([many, p, b(p)]).toEqual([many, p, a(p)]);
  }
});
