// Sizes that made the read side hang or read gigabytes: a long one-line file (every chunk cut from
// the line matched it whole, and a query of 256 KB took 23 s; 1 MB did not finish in minutes), a
// current-run pointer or a cache file of gigabytes (read whole before being found wrong).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

type Hit = { id: string; path: string; line: number; snippet: string; matches: { term: string; line: number; column: number }[] };
const profileOf = (root: string) => join(root, ".pkg/profiles/default");

describe("a file of one long line", () => {
  // 2 MiB on one line: about 2,600 chunks of the same line; `zebra` only at its end.
  const line = "alpha word ".repeat((2 << 20) / 11) + "zebra tail";
  const root = ingested({ "notes/one.md": line + "\n", "notes/short.md": "# Short\n\nalpha word here.\n" });

  test("a word on every chunk answers at once, with one hit for the line and its matches where the file has them", () => {
    const r = cli(["query", "alpha", "--limit", "5", "--root", root, "--json"], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    const hits: Hit[] = r.json.hits;
    expect(hits.map((h) => `${h.path}:${h.line}`).sort()).toEqual(["notes/one.md:1", "notes/short.md:3"]);
    for (const h of hits) {
      const text = readFileSync(join(root, h.path), "utf8").split("\n");
      expect(h.matches.length).toBeGreaterThan(0);
      for (const m of h.matches) expect(text[m.line - 1]!.slice(m.column - 1, m.column - 1 + m.term.length)).toBe(m.term);
    }
  }, 40_000);

  test("a word at the end of the line: its column counts from the line's start; a phrase too", () => {
    let r = cli(["query", "zebra", "--root", root, "--json"], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.json.hits.map((h: Hit) => [h.line, h.matches[0]!.column])).toEqual([[1, line.indexOf("zebra") + 1]]);
    expect(r.json.hits[0].snippet).toMatch(/^….*word zebra tail$/);
    r = cli(["query", '"word alpha"', "--limit", "3", "--root", root, "--json"], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.json.hits.map((h: Hit) => `${h.path}:${h.line}`)).toEqual(["notes/one.md:1"]);
  }, 40_000);
});

describe("files of gigabytes where a few bytes belong", () => {
  test("a current-run pointer of 2 GiB: exit 5 saying how long it is, without reading it", () => {
    const root = ingested({ "notes/a.md": "# A\n\nalpha\n" });
    truncateSync(join(profileOf(root), "current"), 2 ** 31); // sparse: no disk used
    for (const args of [["query", "alpha"], ["verify"], ["ingest"]]) {
      const r = cli([...args, "--root", root], { timeoutMs: 20_000 });
      expect(r.code).toBe(5);
      expect(r.stderr).toContain("does not hold a run id: it is 2147483648 bytes long");
      if (args[0] === "query") expectOneLineError(r);
    }
  }, 60_000);

  test("a cache of 300 MiB is ignored by reads and removed by the next ingest, which the disk budget does not stop", () => {
    const root = ingested({ "notes/a.md": "# A\n\nalpha beta\n", "notes/b.md": "# B\n\nalpha\n" });
    const before = cli(["query", "alpha", "--root", root, "--json"]).json;
    const caches = ["stat.zst", "words.zst", "filters.bin"].map((n) => join(profileOf(root), "cache", n));
    for (const c of caches) { if (!existsSync(c)) writeFileSync(c, ""); truncateSync(c, 300 * 2 ** 20); } // sparse: no disk used
    const r = cli(["query", "alpha", "--root", root, "--json"], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.json).toEqual(before);
    // A changed file: the run is written (the budget would count 900 MiB of caches against a 3 MiB limit).
    writeFileSync(join(root, "notes/c.md"), "# C\n\nalpha gamma\n");
    const ing = cli(["ingest", "--root", root, "--json"], { timeoutMs: 20_000 });
    expect(ing.code).toBe(0);
    expect(ing.json.unchanged).toBe(false);
    for (const c of caches) expect(!existsSync(c) || statSync(c).size < 2 ** 20).toBe(true);
    expect(cli(["query", "gamma", "--root", root, "--json"]).json.hits.map((h: Hit) => h.path)).toEqual(["notes/c.md"]);
  }, 60_000);
});
