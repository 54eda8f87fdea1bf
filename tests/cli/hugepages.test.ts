// Huge pages for short commands (src/shared/hugepages.ts): the advice reaches the kernel (the heap
// regions' VmFlags in /proc/self/smaps), the CLI asks for it where docs/architecture.md says and
// nowhere else, and the answers are the same with and without it.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setHugePages } from "../../src/shared/hugepages.ts";
import { cleanup, cli, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

const thpMode = () => {
  try { return /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1]; } catch { return undefined; }
};
/** Where the advice applies: Linux with THP in `madvise` mode (elsewhere nothing is asked). */
const applies = process.platform === "linux" && thpMode() === "madvise";

/** The VmFlags of this process's heap regions (anonymous read-write mappings of 256 MiB to 2 GiB). */
function heapFlags(): string[][] {
  const out: string[][] = [];
  let heap = false;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0\s*$/.exec(line);
    if (m) { const size = parseInt(m[2]!, 16) - parseInt(m[1]!, 16); heap = size >= 256 * 2 ** 20 && size <= 2 * 2 ** 30; continue; }
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) { heap = false; continue; }
    if (heap && line.startsWith("VmFlags:")) out.push(line.slice(8).trim().split(/\s+/));
  }
  return out;
}

/** The advice lines a command printed under AUDITGRAPH_DEBUG=1: [kind, regions]. */
const advice = (stderr: string) => [...stderr.matchAll(/^auditgraph: (huge|ordinary) pages asked for in (\d+) heap region\(s\)$/gm)].map((m) => [m[1]!, Number(m[2])] as const);
const regions = applies ? (n: number) => n >= 1 : (n: number) => n === 0;

test("the advice reaches the heap's regions and is taken back; AUDITGRAPH_HUGEPAGES=0 asks nothing", () => {
  // This process's own setting must not decide the test (the CLI runs get a clean environment).
  const outer = process.env.AUDITGRAPH_HUGEPAGES;
  delete process.env.AUDITGRAPH_HUGEPAGES;
  try { advised(); } finally { if (outer === undefined) delete process.env.AUDITGRAPH_HUGEPAGES; else process.env.AUDITGRAPH_HUGEPAGES = outer; }
});

function advised(): void {
  if (!applies) { expect(setHugePages(true)).toBe(false); return; }
  expect(heapFlags().length).toBeGreaterThan(0);
  expect(setHugePages(true)).toBe(true);
  expect(heapFlags().every((f) => f.includes("hg"))).toBe(true);
  expect(setHugePages(false)).toBe(true);
  expect(heapFlags().every((f) => f.includes("nh") && !f.includes("hg"))).toBe(true);
  process.env.AUDITGRAPH_HUGEPAGES = "0";
  try {
    expect(setHugePages(true)).toBe(false);
    expect(heapFlags().every((f) => !f.includes("hg"))).toBe(true);
  } finally { delete process.env.AUDITGRAPH_HUGEPAGES; }
}

test("the CLI asks in an ingest with a previous run and in reads of large runs (or when told), and answers alike", () => {
  const root = workspace();
  const debug = { AUDITGRAPH_DEBUG: "1" };
  // A fresh ingest allocates and frees too much for huge pages: nothing asked.
  const fresh = cli(["ingest", "--root", root], { env: debug });
  expect(fresh.code).toBe(0);
  expect(advice(fresh.stderr)).toEqual([]);
  const again = cli(["ingest", "--root", root], { env: debug });
  expect(again.code).toBe(0);
  const asked = advice(again.stderr);
  expect(asked.map((a) => a[0])).toEqual(["huge"]);
  expect(regions(asked[0]![1])).toBe(true);
  // A read of a small run does not ask; told to (=1) it does; the answer is the same.
  const plain = cli(["query", "--root", root, "database unreachable", "--json"], { env: debug });
  expect(advice(plain.stderr)).toEqual([]);
  const told = cli(["query", "--root", root, "database unreachable", "--json"], { env: { ...debug, AUDITGRAPH_HUGEPAGES: "1" } });
  expect(advice(told.stderr).map((a) => a[0])).toEqual(["huge"]);
  expect(regions(advice(told.stderr)[0]![1])).toBe(true);
  expect(told.stdout).toBe(plain.stdout);
  expect(plain.json.hits.length).toBeGreaterThan(0);
  // Told to, a walk of one edge asks; one of two or more (neighbors, export --subgraph) does not,
  // nor does a whole export: they allocate more than huge pages repay. The answers are the same.
  const doc = plain.json.hits.find((h: { id: string }) => h.id.startsWith("doc_"))?.id ?? `doc_${plain.json.hits[0].id.split("_")[1]}`;
  for (const [args, asks] of [
    [["neighbors", doc], true], [["neighbors", doc, "--depth", "2"], false],
    [["export", "--subgraph", doc, "--depth", "1"], true], [["export", "--subgraph", doc, "--depth", "2"], false], [["export"], false],
  ] as const) {
    const on = cli([...args, "--root", root], { env: { ...debug, AUDITGRAPH_HUGEPAGES: "1" } });
    expect([args.join(" "), on.code, advice(on.stderr).map((a) => a[0])]).toEqual([args.join(" "), 0, asks ? ["huge"] : []]);
    expect(on.stdout).toBe(cli([...args, "--root", root], { env: { AUDITGRAPH_HUGEPAGES: "0" } }).stdout);
  }
  const off = cli(["ingest", "--root", root], { env: { ...debug, AUDITGRAPH_HUGEPAGES: "0" } });
  expect(advice(off.stderr)).toEqual([]);
});

test("an ingest that rebuilds many shards asks for ordinary pages again before building them", () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 24; i++) files[`notes/n${i}.md`] = `# Note ${i}\n\nText number ${i}.\n`;
  const root = workspace(files);
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  for (let i = 0; i < 24; i++) writeFileSync(join(root, `notes/n${i}.md`), `# Note ${i}\n\nText number ${i}, changed.\n`);
  const r = cli(["ingest", "--root", root, "--json"], { env: { AUDITGRAPH_DEBUG: "1" } });
  expect(r.code).toBe(0);
  expect(r.json.processed).toBe(24);
  const asked = advice(r.stderr);
  if (!applies) { expect(asked).toEqual([["huge", 0]]); return; }
  expect(asked.map((a) => a[0])).toEqual(["huge", "ordinary"]);
  expect(asked.every((a) => a[1] >= 1)).toBe(true);
});
