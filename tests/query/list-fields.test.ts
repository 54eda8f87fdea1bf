// `list` knows its fields: an unknown one in --where, --sort or --group-by is one line naming it and
// the valid ones, exit 2 (frontmatter.KEY takes any key). And --sort is a total order whatever the mix
// of values: numbers by value, then other values as text, then nodes without the field; ties by id;
// --desc the exact reverse but for the ties, which stay in id order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, cli, expectOneLineError, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

describe("fields", () => {
  let root: string;
  beforeAll(() => {
    root = ingested();
  });

  test("an unknown field: one line naming it and the valid fields, exit 2, for each flag", () => {
    for (const [args, flag, field] of [
      [["--where", "bogus=1"], "--where", "bogus"], [["--where", "name~x", "--where", "bogus~1", "--count-only"], "--where", "bogus"],
      [["--sort", "bogus"], "--sort", "bogus"], [["--group-by", "bogus"], "--group-by", "bogus"],
      [["--group-by", "bogus", "--count-only"], "--group-by", "bogus"], [["--sort", "attrs.bogus"], "--sort", "attrs.bogus"],
      [["--sort", "frontmatter."], "--sort", "frontmatter."], [["--where", "Name=x"], "--where", "Name"],
    ] as [string[], string, string][]) {
      const r = cli(["list", ...args, "--root", root]);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      const line = expectOneLineError(r);
      expect(line).toStartWith(`error: ${flag}: unknown field '${field}'; fields are id, type, name, path, line, tag`);
      for (const valid of ["level", "end_line", "exported", "attrs.NAME", "frontmatter.KEY"]) expect(line).toContain(valid);
    }
    const j = cli(["list", "--sort", "bogus", "--root", root, "--json"]);
    expect([j.code, j.json.status, j.json.code]).toEqual([2, "error", "usage"]);
  });

  test("--group-by counts every group: --limit, --offset, --sort or --desc beside it is a usage error, not ignored", () => {
    for (const extra of [["--limit", "2"], ["--offset", "1"], ["--sort", "name"], ["--desc"]]) {
      const r = cli(["list", "--group-by", "type", ...extra, "--root", root]);
      expect({ extra, code: r.code }).toEqual({ extra, code: 2 });
      expect(expectOneLineError(r)).toContain(`${extra[0]} applies to a list of nodes, and --group-by counts every group`);
    }
    expect(cli(["list", "--group-by", "type", "--desc=false", "--root", root]).code).toBe(0);
  });

  test("every documented field is accepted, frontmatter.KEY with any key", () => {
    const fields = ["id", "type", "name", "path", "line", "tag", "tags", "kind", "level", "status", "tokens", "end_line", "exported",
      "container", "pages", "code_spans", "frontmatter", "oid", "time", "author", "author_id", "commits", "attrs.level",
      "frontmatter.status", "frontmatter.no-such-key", "frontmatter.a.b"];
    const runs = [...fields.map((f) => ["--sort", f]), ["--group-by", "frontmatter.x"], ["--group-by", "attrs.kind"], ["--where", "tags~x", "--where", "frontmatter.y=1"]];
    for (const args of runs) {
      const r = cli(["list", ...args, ...(args[0] === "--group-by" ? [] : ["--limit", "1"]), "--root", root]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    }
  });
});

describe("--sort on mixed values", () => {
  // priority values (YAML): numbers, strings, a duplicate, and a document without one.
  const values = ["10", "9", '"5a"', "100", '"2b"', "7", '"x"', "3", "9", undefined];
  const note = (v: string | undefined) => (v === undefined ? "# N\n" : `---\npriority: ${v}\n---\n# N\n`);
  const sorted = (root: string, desc: boolean) => {
    const r = cli(["list", "--root", root, "--type", "document", "--sort", "frontmatter.priority", ...(desc ? ["--desc"] : []), "--json"]);
    expect(r.code).toBe(0);
    return r.json.nodes.map((n: any) => ({ id: n.id as string, v: n.attrs.frontmatter?.priority as unknown }));
  };
  const ascending = [3, 7, 9, 9, 10, 100, "2b", "5a", "x", undefined];

  test("numbers by value, then strings as text, then missing; --desc the reverse with ties by id; whatever the file names", () => {
    // The same values under three sets of file names (so in three different id orders).
    for (const order of [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [4, 0, 7, 2, 9, 5, 1, 8, 3, 6]]) {
      const root = ingested(Object.fromEntries(order.map((v, i) => [`notes/n${i}.md`, note(values[v])])));
      const asc = sorted(root, false);
      const desc = sorted(root, true);
      expect(asc.map((n: any) => n.v)).toEqual(ascending);
      expect(desc.map((n: any) => n.v)).toEqual([...ascending].reverse());
      // Equal values (the two 9s) in ascending id order both ways; otherwise desc is asc reversed.
      const nines = (l: any[]) => l.filter((n) => n.v === 9).map((n) => n.id);
      expect(nines(asc)).toEqual([...nines(asc)].sort());
      expect(nines(desc)).toEqual(nines(asc));
      expect(desc.filter((n: any) => n.v !== 9)).toEqual(asc.filter((n: any) => n.v !== 9).reverse());
    }
  });
});

test("a where value is matched in NFC, as names are stored, for every caller of the shared parser (the MCP tool too)", async () => {
  const w = ingested({ "notes/cafe.md": "# Café\n\nThe café menu.\n" });
  const { listNodes, parseCondition } = await import("../../src/query/list.ts");
  const { openStore } = await import("../../src/store/open.ts");
  const { loadWorkspace } = await import("../../src/config/load.ts");
  const { RunIndex } = await import("../../src/query/run-index.ts");
  const decomposed = "name=Cafe\u0301";
  expect(parseCondition(decomposed)).toEqual({ field: "name", op: "=", value: "Café" });
  const ix = new RunIndex(openStore(loadWorkspace({ root: w })));
  try {
    expect(listNodes(ix, { types: ["section"], where: [parseCondition(decomposed)], limit: 100, offset: 0 }).total).toBe(1);
  } finally { ix.close(); }
  // The CLI, which goes through the same parser.
  expect(cli(["list", "--type", "section", "--where", decomposed, "--root", w, "--json"]).json.total).toBe(1);
});

describe("tags", () => {
  test("list's tag field reads front matter tags as query's tag: does (split strings, numbers, booleans, tag or tags)", () => {
    const root = ingested({
      "notes/a.md": "---\ntags: alpha, Beta\n---\n# A\n\nbody\n",
      "notes/f.md": "---\ntags: [true, 2024]\n---\n# F\n\nbody\n",
      "notes/s.md": "---\ntag: solo words\n---\n# S\n\nbody\n",
      "notes/none.md": "# None\n\nbody\n",
    });
    const listed = (t: string) => (cli(["list", "--where", `tag=${t}`, "--json", "--root", root]).json.nodes as { path: string }[]).map((n) => n.path).sort();
    const queried = (t: string) => [...new Set((cli(["query", `tag:${t}`, "--json", "--limit", "100", "--root", root]).json.hits as { path: string }[]).map((h) => h.path))].sort();
    for (const [t, paths] of [["beta", ["notes/a.md"]], ["alpha", ["notes/a.md"]], ["true", ["notes/f.md"]], ["2024", ["notes/f.md"]], ["solo", ["notes/s.md"]], ["words", ["notes/s.md"]]] as const) {
      expect({ t, list: listed(t), query: queried(t) }).toEqual({ t, list: [...paths], query: [...paths] });
    }
    const grouped = cli(["list", "--type", "document", "--group-by", "tag", "--json", "--root", root]).json;
    const groups = grouped.groups as { value: unknown; count: number }[];
    expect(groups.filter((g) => g.value !== null).map((g) => g.value).sort()).toEqual(["2024", "alpha", "beta", "solo", "true", "words"]);
    // A document counts in each of its tags' groups; the total is the documents, one of them untagged.
    expect(groups.find((g) => g.value === null)!.count).toBe(1);
    expect({ total: grouped.total, sum: groups.reduce((n, g) => n + g.count, 0) }).toEqual({ total: 4, sum: 7 });
  }, 60_000);
});

test("frontmatter.KEY is the front matter's own key: constructor, toString or __proto__ are absent, not Object's", () => {
  const root = ingested({ "notes/a.md": "---\ntitle: A\n---\n# A\n\nbody\n", "notes/b.md": "---\nconstructor: yes\n---\n# B\n\nbody\n" });
  for (const k of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    const where = cli(["list", "--type", "document", "--where", `frontmatter.${k}~y`, "--json", "--root", root]);
    expect({ k, code: where.code }).toEqual({ k, code: 0 });
    expect(where.json.nodes.map((n: any) => n.path)).toEqual(k === "constructor" ? ["notes/b.md"] : []);
    const groups = cli(["list", "--type", "document", "--group-by", `frontmatter.${k}`, "--json", "--root", root]).json.groups;
    expect(groups).toEqual(k === "constructor" ? [{ value: "yes", count: 1 }, { value: null, count: 1 }] : [{ value: null, count: 2 }]);
  }
}, 60_000);

test("list --group-by: values that print alike (the number 10 and the string \"10\", null and \"null\") are told apart in text", () => {
  const root = ingested({
    "notes/a.md": "---\nprio: 10\n---\n# A\n\nbody\n", "notes/b.md": "---\nprio: \"10\"\n---\n# B\n\nbody\n",
    "notes/c.md": "---\nprio: \"null\"\n---\n# C\n\nbody\n", "notes/d.md": "# D\n\nbody\n", "notes/e.md": "---\nprio: high\n---\n# E\n\nbody\n",
  });
  const r = cli(["list", "--type", "document", "--group-by", "frontmatter.prio", "--root", root]);
  expect(r.code).toBe(0);
  const labels = r.stdout.trim().split("\n").map((l: string) => l.trim().replace(/^\d+\s+/, ""));
  expect(labels.sort()).toEqual(["\"10\"", "\"null\"", "10", "high", "null", "total"]);
}, 60_000);

test("names of types are read in any case; a count with a sort or page, and an empty substring, are usage errors", () => {
  const root = ingested();
  const sections = cli(["list", "--type", "section", "--count-only", "--root", root, "--json"]).json.total;
  expect(sections).toBeGreaterThan(0);
  expect(cli(["list", "--type", "Section", "--count-only", "--root", root, "--json"]).json.total).toBe(sections);
  const q = cli(["query", "type:SECTION", "--limit", "1000", "--root", root, "--json"]);
  expect(q.code).toBe(0);
  expect(q.json.hits.length).toBe(sections);
  for (const flag of [["--sort", "name"], ["--offset", "2"], ["--desc"]]) {
    const r = cli(["list", "--count-only", ...flag, "--root", root]);
    expect({ flag, code: r.code }).toEqual({ flag, code: 2 });
    expect(expectOneLineError(r)).toContain("--count-only counts every match");
  }
  const empty = cli(["list", "--where", "name~", "--root", root]);
  expect(empty.code).toBe(2);
  expect(expectOneLineError(empty)).toContain("needs a substring");
});

test("list --where tag=a,b means both tags, as query --tag a,b does", () => {
  const root = ingested({
    "notes/both.md": "---\ntags: [alpha, beta]\n---\n# Both\n",
    "notes/one.md": "---\ntags: [alpha]\n---\n# One\n",
  });
  const listed = cli(["list", "--where", "tag=alpha,beta", "--root", root, "--json"]).json.nodes.map((n: { path: string }) => n.path);
  const queried = cli(["query", "--tag", "alpha,beta", "--root", root, "--json"]).json.hits.map((h: { path: string }) => h.path);
  expect(listed).toEqual(["notes/both.md"]);
  expect(queried).toEqual(listed);
  expect(cli(["list", "--where", "tag=alpha", "--root", root, "--json"]).json.total).toBe(2);
});
