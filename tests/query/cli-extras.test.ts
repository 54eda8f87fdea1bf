// Promises of the README that the other query tests do not cover: file warnings from ingest
// (stderr, --json, manifest), --explain, the prefix fallback for a word no file holds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, workspace } from "../helpers/cli.ts";

let root: string;
let ing: ReturnType<typeof cli>;
beforeAll(() => {
  root = workspace({
    "notes/broken.md": "---\ntitle: [unclosed\ntags: a\n---\n# Broken front matter\n\nThe kubernetes rollout notes.\n",
    "notes/fine.md": "---\ntitle: Fine\ntags: [ops]\n---\n# Fine\n\nPostgreSQL backups run nightly; the event loop stays free.\n",
    "notes/tr.md": "# Şehirler\n\nİstanbul ve ığdır şehirleri.\n",
  });
  ing = cli(["ingest", "--root", root, "--json"]);
});
afterAll(cleanup);

describe("ingest warnings", () => {
  test("invalid front matter: exit 0, one stderr line path:line, in --json and in the manifest", () => {
    expect(ing.code).toBe(0);
    expect(ing.json.warnings).toHaveLength(1);
    const w = ing.json.warnings[0];
    expect(w).toMatchObject({ path: "notes/broken.md" });
    expect(w.line).toBeGreaterThanOrEqual(2);
    expect(w.message).toContain("invalid front matter");
    expect(ing.stderr).toContain(`notes/broken.md:${w.line}: invalid front matter`);
    const m = JSON.parse(readFileSync(join(root, ".pkg/profiles/default/runs", ing.json.run_id, "manifest.json"), "utf8"));
    expect(m.files.find((f: any) => f.path === "notes/broken.md").warnings).toEqual([`${w.line}: ${w.message}`]);
    expect(m.files.find((f: any) => f.path === "notes/fine.md").warnings).toBeUndefined();
    // runs show lists it too, as path:line: message.
    expect(cli(["runs", "show", ing.json.run_id, "--root", root]).stdout).toContain(`  warning notes/broken.md:${w.line}: ${w.message}`);
    // The file itself is still ingested and searchable.
    expect(cli(["query", "rollout", "--root", root, "--json"]).json.hits[0].path).toBe("notes/broken.md");
  });
});

describe("query", () => {
  test("--explain gives each clause's idf, tf by field and contribution", () => {
    const j = cli(["query", "event loop", "--explain", "--root", root, "--json"]).json;
    const e = j.hits[0].explain;
    expect(e.of).toBe(2);
    expect(e.clauses.map((c: any) => c.clause).sort()).toEqual(["event", "loop"]);
    for (const c of e.clauses) expect([typeof c.idf, typeof c.score, typeof c.length]).toEqual(["number", "number", "number"]);
    const human = cli(["query", "event loop", "--explain", "--root", root]).stdout;
    expect(human).toContain("event: idf");
    expect(human).toContain(`score = (2 - 1 + sum / ${e.normalizer}) / 2`);
  });
  test("on a TTY the matched terms are highlighted in the snippet; piped, there is no colour", () => {
    if (!Bun.which("script")) throw new Error("script (util-linux/bsdutils) is needed to give the CLI a TTY");
    const tty = Bun.spawnSync(["script", "-qec", `${process.execPath} ${join(import.meta.dir, "..", "..", "src", "cli.ts")} query backups --root ${root}`, "/dev/null"], { env: Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k !== "NO_COLOR" && v !== undefined)) as Record<string, string> });
    const out = tty.stdout.toString();
    expect(out).toContain("\x1b[1;33mbackups\x1b[0m");
    // After a letter that lower-cases to two code units (İ → i̇), the mark is still on the word.
    const tr = Bun.spawnSync(["script", "-qec", `${process.execPath} ${join(import.meta.dir, "..", "..", "src", "cli.ts")} query ığdır --root ${root}`, "/dev/null"], { env: Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k !== "NO_COLOR" && v !== undefined)) as Record<string, string> });
    expect(tr.stdout.toString()).toContain("İstanbul ve \x1b[1;33mığdır\x1b[0m şehirleri.");
    // NO_COLOR turns colour off when it has a value; set but empty it does not (no-color.org).
    const withNoColor = (v: string) => Bun.spawnSync(["script", "-qec", `${process.execPath} ${join(import.meta.dir, "..", "..", "src", "cli.ts")} query backups --root ${root}`, "/dev/null"], { env: { ...Object.fromEntries(Object.entries(process.env).filter(([k, x]) => k !== "NO_COLOR" && x !== undefined)) as Record<string, string>, NO_COLOR: v } }).stdout.toString();
    expect(withNoColor("1")).not.toContain("\x1b[");
    expect(withNoColor("")).toContain("\x1b[1;33mbackups\x1b[0m");
    expect(cli(["query", "backups", "--root", root]).stdout).not.toContain("\x1b[");
  });
  test("a word that no file holds is searched as a prefix (postgres finds PostgreSQL); a misspelling finds nothing, exit 0", () => {
    const j = cli(["query", "postgres", "--root", root, "--json"]).json;
    expect(j.hits[0]).toMatchObject({ path: "notes/fine.md" });
    expect(j.hits[0].matches.some((m: any) => m.term === "postgresql")).toBe(true);
    const miss = cli(["query", "kuberentes", "--root", root, "--json"]);
    expect(miss.code).toBe(0);
    expect(miss.json.hits).toEqual([]);
  });
});

describe("many candidates", () => {
  // More candidates than a query ranks in full (the best limit + 256 and their ties are picked out
  // first): a small --limit must give the first hits of --limit 1000, and a path filter the hits of
  // the unfiltered list that are under the path, in the same order. Some files are identical (equal
  // scores: ordered by id), the others hold the word a different number of times.
  let many: string;
  // Tags with punctuation. A tag filter first narrows to the documents whose names (title, tags,
  // file name) hold the tag's words, then reads their tags: files tagged machine-vision and data
  // share words with machine-learning and Data.V2, and untagged titles ending in "C" hold C++'s one word.
  const tagsOf = (i: number) => (i % 4 === 0 ? ["machine-learning", "C++"] : i % 4 === 1 ? ["Data.V2"] : i % 4 === 2 ? ["machine-vision", "data"] : []);
  const frontMatter = (i: number) => (tagsOf(i).length ? `---\ntags: [${tagsOf(i).join(", ")}]\n---\n` : "");
  const indexOf = (path: string) => Number(/f(\d{3})\.md$/.exec(path)![1]);
  beforeAll(() => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 90; i++) {
      const dir = i % 3 === 0 ? "a" : "b";
      const n = i % 10 === 0 ? 3 : 1 + (i % 7);
      const body = (s: number) => `${"The widget turns. ".repeat(n + s)}Gears and levers ${i % 10 === 0 ? "" : i}.\n`;
      files[`notes/${dir}/f${String(i).padStart(3, "0")}.md`] = `${frontMatter(i)}# Widget notes ${i % 10 === 0 ? "" : i}${i % 4 === 3 ? " C" : ""}\n\n${body(0)}\n## Widget section one\n\n${body(1)}\n## Widget section two\n\n${body(2)}`;
    }
    many = workspace(files);
    expect(cli(["ingest", "--root", many]).code).toBe(0);
  });
  test("a small --limit gives the first hits of a large one; a path filter keeps their order", () => {
    const all = cli(["query", "widget", "--limit", "1000", "--root", many, "--json"]).json;
    expect(all.total).toBeGreaterThan(400);
    expect(all.hits.length).toBeGreaterThan(300);
    const ids = (j: any) => j.hits.map((h: any) => `${h.id} ${h.score}`);
    for (const limit of ["1", "3", "25"]) {
      const j = cli(["query", "widget", "--limit", limit, "--root", many, "--json"]).json;
      expect(j.total).toBe(all.total);
      expect(ids(j)).toEqual(ids(all).slice(0, Number(limit)));
    }
    const under = cli(["query", "widget", "path:notes/a/**", "--limit", "1000", "--root", many, "--json"]).json;
    expect(under.hits.length).toBeGreaterThan(50);
    expect(ids(under)).toEqual(ids({ hits: all.hits.filter((h: any) => h.path.startsWith("notes/a/")) }));
    const top = cli(["query", "widget", "--path", "notes/a/**", "--limit", "5", "--root", many, "--json"]).json;
    expect(ids(top)).toEqual(ids(under).slice(0, 5));
  });
  test("a tag filter gives the unfiltered hits whose file carries the tag, in the same order; a tag or path filter alone lists exactly its files", () => {
    const all = cli(["query", "widget", "--limit", "1000", "--root", many, "--json"]).json;
    const ids = (j: any) => j.hits.map((h: any) => `${h.id} ${h.score}`);
    const tagged = (tag: string) => (path: string) => tagsOf(indexOf(path)).map((t) => t.toLowerCase()).includes(tag);
    for (const tag of ["machine-learning", "c++", "data.v2"]) {
      const under = cli(["query", "widget", "--tag", tag, "--limit", "1000", "--root", many, "--json"]).json;
      expect({ tag, n: under.hits.length > 20 }).toEqual({ tag, n: true });
      expect({ tag, ids: ids(under) }).toEqual({ tag, ids: ids({ hits: all.hits.filter((h: any) => tagged(tag)(h.path)) }) });
      const alone = cli(["query", `tag:${tag}`, "--limit", "1000", "--root", many, "--json"]).json;
      const want = [...new Set<string>(all.hits.map((h: any) => h.path))].filter(tagged(tag)).sort();
      expect({ tag, paths: alone.hits.map((h: any) => h.path).sort() }).toEqual({ tag, paths: want });
    }
    const both = cli(["query", "widget", "--tag", "data.v2", "--path", "notes/a/**", "--limit", "1000", "--root", many, "--json"]).json;
    expect(ids(both)).toEqual(ids({ hits: all.hits.filter((h: any) => tagged("data.v2")(h.path) && h.path.startsWith("notes/a/")) }));
    const pathOnly = cli(["query", "path:notes/a/**", "--limit", "1000", "--root", many, "--json"]).json;
    expect(pathOnly.hits.map((h: any) => h.path).sort()).toEqual(Array.from({ length: 30 }, (_, k) => `notes/a/f${String(k * 3).padStart(3, "0")}.md`));
  });
});

test("C, C++ and a header are technologies C and C++, two nodes (their ids do not fold together)", () => {
  const root = workspace({ "notes/a.c": "int main(void) { return 0; }\n", "notes/b.cpp": "int main() { return 0; }\n", "notes/c.h": "int f(void);\n" });
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  const techs = cli(["list", "--type", "technology", "--root", root, "--json"]).json.nodes.map((n: any) => `${n.id} ${n.name}`).sort();
  expect(techs).toEqual(["tech_c C", "tech_cpp C++"]);
});
