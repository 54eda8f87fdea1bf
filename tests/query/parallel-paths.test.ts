// why-connected --all: a path is a sequence of edges, so two edges between the same two nodes (a link
// each way) make two paths, each shown with its own type, direction and line. Results stay in a fixed
// order and at most 100.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, cli, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

const ARCH = "doc_11b20aa34a733108d5ec"; // notes/architecture.md: links to runbook.md at line 11
const RUNBOOK = "doc_9a6fab4f97809b183090"; // notes/runbook.md: links back at line 21

let example: string;
beforeAll(() => {
  example = ingested();
});

const steps = (p: any) => p.edges.map((e: any) => `${e.source}-${e.type}->${e.target}@${e.line}`);

test("a link each way between two documents: two paths with --all, the first one without", () => {
  const all = cli(["why-connected", ARCH, RUNBOOK, "--all", "--root", example, "--json"]);
  expect(all.code).toBe(0);
  expect(all.json.length).toBe(1);
  expect(all.json.paths.map(steps)).toEqual([[`${ARCH}-links_to->${RUNBOOK}@11`], [`${RUNBOOK}-links_to->${ARCH}@21`]]);
  for (const p of all.json.paths) expect(p.nodes.map((n: any) => n.id)).toEqual([ARCH, RUNBOOK]);
  const one = cli(["why-connected", ARCH, RUNBOOK, "--root", example, "--json"]).json;
  expect(one.paths.map(steps)).toEqual([all.json.paths[0].edges.map((e: any) => `${e.source}-${e.type}->${e.target}@${e.line}`)]);
  // The human output shows both, each edge with its direction and line.
  const text = cli(["why-connected", ARCH, RUNBOOK, "--all", "--root", example]).stdout;
  expect(text).toContain("2 shortest path(s) of 1 edge(s)");
  expect(text).toContain("-links_to->  (line 11)");
  expect(text).toContain("<-links_to-  (line 21)");
  // Same answer every time.
  expect(cli(["why-connected", ARCH, RUNBOOK, "--all", "--root", example, "--json"]).stdout).toBe(all.stdout);
});

test("parallel edges on every hop of a longer path: every combination, at most 100, in a fixed order", () => {
  // d0 ↔ d1 ↔ … ↔ d7, each pair linked both ways: 2^7 = 128 shortest paths of 7 edges from d0 to d7.
  const n = 8;
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const links = [i > 0 ? `[back](d${i - 1}.md)` : "", i < n - 1 ? `[next](d${i + 1}.md)` : ""].filter(Boolean);
    files[`notes/d${i}.md`] = `# Page ${i}\n\n${links.join("\n\n")}\n`;
  }
  const root = ingested(files);
  const ids = cli(["list", "--type", "document", "--sort", "path", "--root", root, "--json"]).json.nodes.map((x: any) => x.id);
  const r = cli(["why-connected", ids[0], ids[n - 1], "--all", "--max-depth", "10", "--root", root, "--json"]);
  expect(r.code).toBe(0);
  expect(r.json.length).toBe(n - 1);
  expect(r.json.paths).toHaveLength(100);
  const keys = r.json.paths.map((p: any) => steps(p).join(" "));
  expect(new Set(keys).size).toBe(100);
  for (const p of r.json.paths) expect(p.nodes.map((x: any) => x.id)).toEqual(ids);
  expect(cli(["why-connected", ids[0], ids[n - 1], "--all", "--max-depth", "10", "--root", root, "--json"]).stdout).toBe(r.stdout);
  // Two hops: all four combinations.
  const two = cli(["why-connected", ids[0], ids[2], "--all", "--root", root, "--json"]).json;
  expect(two.paths.map((p: any) => steps(p).join(" "))).toHaveLength(4);
  expect(new Set(two.paths.map((p: any) => steps(p).join(" "))).size).toBe(4);
});
