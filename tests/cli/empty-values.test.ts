// A flag given without a value, a value that is no number in decimal digits, or an argument a
// command does not take is a usage error (exit 2) naming it: a typo never runs the command with
// its defaults.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, cli, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

let root: string;
let doc: string;
beforeAll(() => {
  root = ingested();
  doc = cli(["list", "--type", "document", "--limit", "1", "--json", "--root", root]).json.nodes[0].id;
});

const refused = (args: string[], says: string) => {
  const r = cli([args[0]!, "--root", root, ...args.slice(1)]); // the flag under test may come last
  expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
  expect(r.stdout).toBe("");
  expect(r.stderr).toContain(says);
};

test("list, neighbors and why-connected: a flag without a value", () => {
  refused(["list", "--type", ""], "--type needs a value");
  refused(["list", "--type", ","], "--type needs a value");
  refused(["list", "--sort", ""], "--sort needs a value");
  refused(["list", "--group-by", " "], "--group-by needs a value");
  refused(["list", "--where", ""], "--where needs a value");
  refused(["list", "--count-only", "--where"], "--where needs a value");
  refused(["neighbors", doc, "--edge-type", ""], "--edge-type needs a value");
  refused(["neighbors", doc, "--edge-type", ","], "--edge-type needs a value");
  refused(["why-connected", doc, "tech_postgresql", "--edge-type", ""], "--edge-type needs a value");
});

test("upgrade and git introduced: a flag without a value", () => {
  refused(["upgrade", "--check", "--channel", ""], "--channel needs a value");
  refused(["upgrade", "--check", "--version", ""], "--version needs a value");
  const git = cli(["git", "introduced", "kafka", "--root", root, "--path", ""]);
  expect([git.code, git.stdout]).toEqual([2, ""]);
  expect(git.stderr).toContain("--path needs a value");
});

test("numbers are decimal digits", () => {
  for (const v of ["0x10", "1e1", "+5", "2.0", "0b11", "-1", "1.5"]) refused(["list", "--limit", v], "--limit must be an integer");
  refused(["neighbors", doc, "--depth", "2.0"], "--depth must be an integer");
  refused(["list", "--offset", "1e2"], "--offset must be an integer");
  expect(cli(["list", "--limit", " 3 ", "--json", "--root", root]).json.nodes).toHaveLength(3);
});

test("a repeated --type or --edge-type adds to the first, as --type does for query", () => {
  const count = (...flags: string[]) => cli(["list", "--count-only", "--json", "--root", root, ...flags]).json.total as number;
  const docs = count("--type", "document"), secs = count("--type", "section");
  expect(docs).toBeGreaterThan(0);
  expect(secs).toBeGreaterThan(0);
  expect(count("--type", "document", "--type", "section")).toBe(docs + secs);
  expect(count("--type=document", "--type", "section,document")).toBe(docs + secs);
  refused(["list", "--type", "document", "--type", "nosuch"], "--type must be among");
  const walk = (...flags: string[]) => (cli(["neighbors", doc, "--depth", "2", "--json", "--root", root, ...flags]).json.edges as { type: string }[]).map((e) => e.type);
  const both = walk("--edge-type", "contains", "--edge-type", "links_to");
  expect(both.sort()).toEqual(walk("--edge-type", "contains,links_to").sort());
  expect(new Set(both)).toEqual(new Set(["contains", "links_to"]));
  refused(["neighbors", doc, "--edge-type", "contains", "--edge-type", ""], "--edge-type needs a value");
  // Every spelling the parser takes counts (camelCase, `=`).
  expect(walk("--edgeType", "links_to").sort()).toEqual(walk("--edge-type", "links_to").sort());
  expect(new Set(walk("--edgeType=contains", "--edge-type", "links_to"))).toEqual(new Set(["contains", "links_to"]));
});

test("an argument a command does not take", () => {
  refused(["list", "document"], `unexpected argument "document" for 'list'`);
  refused(["node", doc, "extra"], `unexpected argument "extra" for 'node'`);
  refused(["neighbors", doc, "extra"], `unexpected argument "extra" for 'neighbors'`);
  refused(["why-connected", doc, "tech_postgresql", "extra"], `unexpected argument "extra" for 'why-connected'`);
  refused(["export", "extra"], `unexpected argument "extra" for 'export'`);
  refused(["list", "--", "--type"], `unexpected argument "--type" for 'list'`);
  // query takes any number of words.
  expect(cli(["query", "postgres", "failover", "--root", root]).code).toBe(0);
});

test("list --where compares in NFC, as texts are stored", () => {
  const composed = cli(["list", "--where", "name~r\u00e9sum\u00e9", "--count-only", "--json", "--root", root]).json.total;
  const decomposed = cli(["list", "--where", "name~re\u0301sume\u0301", "--count-only", "--json", "--root", root]).json.total;
  expect(decomposed).toBe(composed);
});

test("git commands: an empty PATH is refused (it meant the whole repository), as an empty --root is", () => {
  for (const sub of ["log", "who", "history"]) {
    const r = cli(["git", sub, "", "--root", root]);
    expect([sub, r.code, r.stdout]).toEqual([sub, 2, ""]);
    expect(r.stderr).toContain("PATH must not be empty");
  }
});
