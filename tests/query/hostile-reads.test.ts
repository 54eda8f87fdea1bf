// Read commands on input shaped against one pattern each: every one answers at once (each took
// seconds to minutes, and `ui` answers one request at a time) or refuses with one short line.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, cli, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

const DEEP = `notes/${Array.from({ length: 17 }, () => "b".repeat(200)).join("/")}/aaaa.md`;
/** 5,000 distinct words that hold `zqx` (base-26 letter suffixes). */
const ZQX = Array.from({ length: 5000 }, (_, i) => `zqx${[...i.toString(26).padStart(3, "0")].map((d) => String.fromCharCode(97 + parseInt(d, 26))).join("")}`);

let root: string;
beforeAll(() => {
  root = ingested({
    [DEEP]: "# Deep\n\nhello from far down\n",
    "notes/long.md": `# Long\n\nuse buffer.concat here ${"a".repeat(120_000)}\n`,
    "notes/zqx.md": `# Many\n\n${ZQX.join(" ")}\n`,
    // Longer words that sort among the first (zqxaaa…): a cap that took them alphabetically would find this note.
    "notes/longer.md": "# Long\n\nzqxaaalongwordone zqxaaalongwordtwo\n",
    "notes/meta.md": "---\n优先级: 高\ndue date: soon\nprio: .inf\n---\n# Meta\n\nbody\n",
    // `~` and `.nan` are null in JSON as `.inf` is; `high` is a value.
    "notes/tilde.md": "---\nprio: ~\n---\n# Tilde\n\nbody\n",
    "notes/nan.md": "---\nprio: .nan\n---\n# Nan\n\nbody\n",
    "notes/high.md": "---\nprio: high\n---\n# High\n\nbody\n",
    "notes/plain.md": "# Plain\n\nbody\n",
  });
}, 120_000);

test("path globs of several wildcard runs are matched in time linear in the path (a regular expression backtracked: minutes on a deep path)", () => {
  const globs = Array.from({ length: 10 }, (_, i) => `**b**b**${"nopqruvwxy"[i]}`).join(","); // no path ends in any of these
  const r = cli(["query", "hello", "--path", globs, "--json", "--root", root], { timeoutMs: 30_000 });
  expect(r.code).toBe(0);
  expect(r.json.hits).toEqual([]);
  const hit = cli(["query", "hello", "--path", "**b**b**.md", "--json", "--root", root], { timeoutMs: 30_000 });
  expect(hit.json.hits.map((h: { path: string }) => h.path)).toEqual([DEEP]);
}, 60_000);

test("an identifier query on a line with a long run of letters finds its match at once (the line's compounds were tried from each letter)", () => {
  const r = cli(["query", "buffer.concat", "--json", "--root", root], { timeoutMs: 30_000 });
  expect(r.code).toBe(0);
  expect(r.json.hits[0].path).toBe("notes/long.md");
}, 60_000);

test("a fragment inside more than 4,096 words searches the shortest 4,096 of them, with a warning", () => {
  const r = cli(["query", "zqx", "--json", "--limit", "5", "--root", root]);
  expect(r.code).toBe(0);
  expect(r.json.hits[0].path).toBe("notes/zqx.md");
  expect(r.stderr).toMatch(/warning: 'zqx' is inside 500\d words: only the 4096 shortest are searched for more hits \(type more of the word\)/);
  // The shortest: the two longer words are not among them, so their note is no hit.
  const all = cli(["query", "zqx", "--json", "--limit", "1000", "--root", root]);
  expect(all.code).toBe(0);
  expect(all.json.hits.length).toBeGreaterThan(0);
  expect(all.json.hits.some((h: { path: string }) => h.path === "notes/longer.md")).toBe(false);
  expect(cli(["query", "zqxaaalongwordone", "--json", "--root", root]).json.hits[0].path).toBe("notes/longer.md");
});

test("a word over 256 characters: the error says it is not indexed at all, not to search for a piece", () => {
  const word = "Gammacalifragilistic".repeat(15);
  const r = cli(["query", word, "--root", root]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("is 300 characters long: words over 256 characters are not indexed, nor pieces of them");
});

test("list --where: a front-matter key of any characters but = and ~, and =null for the null group", () => {
  const where = (c: string) => cli(["list", "--type", "document", "--where", c, "--json", "--root", root]);
  expect(where("frontmatter.优先级=高").json.nodes.map((n: { path: string }) => n.path)).toEqual(["notes/meta.md"]);
  expect(where("frontmatter.due date~soon").json.nodes.map((n: { path: string }) => n.path)).toEqual(["notes/meta.md"]);
  // `.inf` is null in JSON: the group --group-by shows as null is the one =null selects (and so is a missing key).
  const nulls = ["notes/long.md", "notes/longer.md", "notes/meta.md", "notes/nan.md", "notes/plain.md", "notes/tilde.md", "notes/zqx.md", DEEP].sort();
  expect(where("frontmatter.prio=null").json.nodes.map((n: { path: string }) => n.path).sort()).toEqual(nulls);
  expect(where("frontmatter.prio=high").json.nodes.map((n: { path: string }) => n.path)).toEqual(["notes/high.md"]);
  // --group-by counts the same null group that =null selects (`~`, `.nan`, `.inf` and a missing key alike).
  const groups = cli(["list", "--type", "document", "--group-by", "frontmatter.prio", "--count-only", "--json", "--root", root]);
  expect(groups.code).toBe(0);
  expect(JSON.stringify(groups.json)).toContain("high");
  const nullGroup = (groups.json.groups as { value: unknown; count: number }[]).find((g) => g.value === null);
  expect(nullGroup?.count).toBe(nulls.length);
});

test("errors quote at most a few hundred characters of their input, and filter values beside the text have its limit", () => {
  const huge = "a".repeat(100_000);
  const long = "y".repeat(5_000);
  for (const args of [["node", `doc_${huge}`], ["list", "--where", `nam<${huge}`], ["query", "!".repeat(999)], ["list", "--where", `${long}=1`], ["list", "--sort", long], ["query", `type:${"x".repeat(900)}`], ["list", "--type", long]]) {
    const r = cli([...args, "--root", root]);
    expect([args[0], r.code]).toEqual([args[0], 2]);
    expect(r.stderr.length).toBeLessThan(1_000);
  }
  const flags = cli(["query", "hello", "--path", `${"x".repeat(600)},${"y".repeat(600)}`, "--root", root]);
  expect(flags.code).toBe(2);
  expect(flags.stderr).toContain("filter values are 1201 characters long; the limit is 1000");
  // Several flags count together: each under the limit, 1,050 characters in all.
  const several = cli(["query", "hello", "--path", "x".repeat(400), "--tag", "t".repeat(400), "--path", "y".repeat(250), "--root", root]);
  expect(several.code).toBe(2);
  expect(several.stderr).toContain("filter values are 1050 characters long; the limit is 1000");
  const within = cli(["query", "hello", "--path", "x".repeat(400), "--tag", "t".repeat(400), "--path", "y".repeat(200), "--json", "--root", root]);
  expect(within.code).toBe(0);
});
