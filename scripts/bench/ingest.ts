#!/usr/bin/env bun
/**
 * Ingest benchmark: unpacks the benchmark corpus into a temp workspace and times the CLI run from
 * source (`bun src/cli.ts ingest`) for a fresh ingest, an unchanged re-ingest and a re-ingest with
 * one file changed. Prints wall and CPU seconds (user + system: a fairer figure on a busy machine),
 * files/s, MB/s, peak RSS and store bytes / source bytes.
 *
 *   bun run bench:ingest [--corpus FILE.tar.gz] [--reps N] [--extractors-only]
 * Targets (2 cores): fresh <= 3 s, unchanged <= 0.3 s, one changed <= 0.5 s, RSS <= 300 MB, store <= 1.0x.
 *
 * Then the cost of the PDF/Word and symbol extractors: fresh ingests with each of them off and on
 * (a config file: .pdf/.docx left out of allowed_extensions, ingestion.symbols false), on the
 * corpus (target: both together add <= 25%), on a code-heavy workspace (this repository's src/ and
 * tests/) and on generated documents (PDFs of 5 pages and Word files with headings).
 */
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { makeDocx, makePdf } from "../../tests/pipeline-docs/fixtures.ts";
import { spawnMeasured } from "./spawn.ts";

const REPO = join(import.meta.dir, "..", "..");
const { values } = parseArgs({ options: { corpus: { type: "string" }, reps: { type: "string" }, "extractors-only": { type: "boolean" } } });
const corpus = values.corpus ?? join(REPO, "..", "shared", "bench", "corpus-2000.tar.gz");
const reps = Math.max(1, Number(values.reps ?? 3));

const du = (dir: string): number => {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? du(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
};

type Sample = { wall: number; cpu: number; rss: number; json: any };
function ingest(root: string, config?: string): Sample {
  const p = spawnMeasured([process.execPath, "run", join(REPO, "src", "cli.ts"), "ingest", "--root", root, "--json", ...(config ? ["--config", config] : [])]);
  if (p.code !== 0) throw new Error(`ingest failed (${p.code}): ${p.stderr}`);
  return { wall: p.ms / 1000, cpu: p.cpuMs / 1000, rss: p.rssBytes, json: JSON.parse(p.stdout) };
}

const work = mkdtempSync(join(tmpdir(), "ag-bench-ingest-"));
try {
  const tar = Bun.spawnSync(["tar", "-xzf", corpus, "-C", work]);
  if (tar.exitCode !== 0) throw new Error(`cannot unpack ${corpus}: ${tar.stderr.toString()}`);
  const source = du(join(work, "notes"));
  const files = readdirSync(join(work, "notes"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  console.log(`corpus ${corpus}: ${files} files, ${(source / 1e6).toFixed(1)} MB; ${navigator.hardwareConcurrency} cores; bun ${Bun.version}; ${reps} rep(s), median shown`);
  const changeFile = join(work, "notes", readdirSync(join(work, "notes"), { recursive: true }).map(String).filter((p) => p.endsWith(".md")).sort()[0]!);

  if (!values["extractors-only"]) coreScenarios(work, source, files, changeFile);
  extractorCosts(work);
} finally {
  rmSync(work, { recursive: true, force: true });
}

function coreScenarios(work: string, source: number, files: number, changeFile: string): void {
  const rows: [string, Sample[], number][] = [];
  const fresh: Sample[] = [], unchanged: Sample[] = [], changed: Sample[] = [];
  for (let i = 0; i < reps; i++) {
    rmSync(join(work, ".pkg"), { recursive: true, force: true });
    fresh.push(ingest(work));
    unchanged.push(ingest(work));
    appendFileSync(changeFile, `\nbenchmark edit ${i}\n`);
    changed.push(ingest(work));
  }
  const store = du(join(work, ".pkg", "profiles"));
  rows.push(["fresh", fresh, files], ["unchanged", unchanged, files], ["one file changed", changed, files]);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`${"scenario".padEnd(18)}${"wall s".padStart(8)}${"cpu s".padStart(8)}${"files/s".padStart(10)}${"MB/s".padStart(8)}${"peak RSS MB".padStart(13)}  parsed/reused`);
  for (const [name, s, n] of rows) {
    const wall = median(s.map((x) => x.wall));
    const rss = median(s.map((x) => x.rss)) / 1024 / 1024;
    const last = s[s.length - 1]!.json;
    const cpu = median(s.map((x) => x.cpu));
    console.log(`${name.padEnd(18)}${wall.toFixed(3).padStart(8)}${cpu.toFixed(3).padStart(8)}${(n / wall).toFixed(0).padStart(10)}${(source / 1e6 / wall).toFixed(1).padStart(8)}${rss.toFixed(0).padStart(13)}  ${last.processed}/${last.reused}`);
  }
  rmSync(join(work, ".pkg"), { recursive: true, force: true });
  ingest(work);
  const one = du(join(work, ".pkg", "profiles"));
  console.log(`store after one fresh ingest: ${one} bytes = ${(one / source).toFixed(3)}x source; after all ${reps * 3} runs: ${store} bytes = ${(store / source).toFixed(3)}x`);
}

/** A config with the new extractors on or off (the documented default otherwise). */
function extractorConfig(dir: string, name: string, docs: boolean, symbols: boolean, include: string[]): string {
  const exts = [".md", ".markdown", ".txt", ".log", ".rst", ".adoc", ".py", ".js", ".mjs", ".ts", ".tsx", ".go", ".rs", ".java", ".rb", ".sh", ".c", ".h", ".cpp", ".sql", ".yaml", ".yml", ".toml", ".json", ...(docs ? [".pdf", ".docx"] : [])];
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `profiles:\n  default:\n    include_paths: [${include.map((p) => JSON.stringify(p)).join(", ")}]\n    ingestion:\n      allowed_extensions: [${exts.map((e) => JSON.stringify(e)).join(", ")}]\n      symbols: ${symbols}\n`);
  return file;
}

/** Median wall and CPU of `reps` fresh ingests of `root` with `config`, and the last run's output. */
function fresh(root: string, config: string): { wall: number; cpu: number; rss: number; json: any } {
  const runs: Sample[] = [];
  for (let i = 0; i < reps; i++) { rmSync(join(root, ".pkg"), { recursive: true, force: true }); runs.push(ingest(root, config)); }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)), rss: median(runs.map((r) => r.rss)), json: runs[runs.length - 1]!.json };
}

function extractorCosts(work: string): void {
  const cfgDir = mkdtempSync(join(tmpdir(), "ag-bench-cfg-"));
  const code = mkdtempSync(join(tmpdir(), "ag-bench-code-"));
  const docs = mkdtempSync(join(tmpdir(), "ag-bench-docs-"));
  try {
    // This repository's code (src/ and tests/, without stores or fixtures' stores).
    for (const d of ["src", "tests"]) cpSync(join(REPO, d), join(code, d), { recursive: true, filter: (p) => !p.includes("/.pkg") && !p.includes("/fixtures/stores") });
    // Generated documents: 100 PDFs of 5 pages of prose and 100 Word files with headings.
    mkdirSync(join(docs, "docs"));
    const words = "audit ledger invoice retention policy quarterly revenue vendor contract approval payroll compliance".split(" ");
    const line = (i: number, j: number) => Array.from({ length: 12 }, (_, k) => words[(i * 7 + j * 3 + k) % words.length]).join(" ");
    for (let i = 0; i < 100; i++) {
      writeFileSync(join(docs, "docs", `report-${i}.pdf`), makePdf(Array.from({ length: 5 }, (_, p) => Array.from({ length: 30 }, (_, j) => `${line(i + p, j)} ${i}.${p}.${j}`))));
      writeFileSync(join(docs, "docs", `handbook-${i}.docx`), makeDocx(Array.from({ length: 40 }, (_, j) => [j % 10 === 0 ? "Heading1" : j % 5 === 0 ? "Heading2" : "", line(i, j)] as [string, string])));
    }
    writeFileSync(join(docs, "docs", "index.md"), "# Documents\n");
    const cases: [string, string, string[], [string, boolean, boolean][]][] = [
      ["corpus", work, ["notes"], [["neither", false, false], ["+ documents", true, false], ["+ symbols", false, true], ["both", true, true]]],
      ["code (src/, tests/)", code, ["src", "tests"], [["neither", false, false], ["+ symbols", false, true]]],
      ["documents (100 PDF, 100 DOCX)", docs, ["docs"], [["neither", false, false], ["+ documents", true, false]]],
    ];
    console.log(`\nnew extractors: fresh ingest, median of ${reps}`);
    console.log(`${"workspace".padEnd(32)}${"extractors".padEnd(14)}${"files ok".padStart(9)}${"wall s".padStart(8)}${"cpu s".padStart(8)}${"wall +%".padStart(9)}${"cpu +%".padStart(8)}${"RSS MB".padStart(8)}  symbols/modules`);
    for (const [label, root, include, variants] of cases) {
      let base: { wall: number; cpu: number } | undefined;
      for (const [name, d, s] of variants) {
        const r = fresh(root, extractorConfig(cfgDir, `${label.replace(/\W+/g, "-")}-${name.replace(/\W+/g, "-")}`, d, s, include));
        base ??= r;
        const pct = (x: number, b: number) => `${x >= b ? "+" : ""}${(((x - b) / b) * 100).toFixed(1)}`;
        const c = r.json.counts;
        console.log(`${label.padEnd(32)}${name.padEnd(14)}${String(c.ok).padStart(9)}${r.wall.toFixed(3).padStart(8)}${r.cpu.toFixed(3).padStart(8)}${pct(r.wall, base.wall).padStart(9)}${pct(r.cpu, base.cpu).padStart(8)}${(r.rss / 1024 / 1024).toFixed(0).padStart(8)}  ${symbolCount(root, r.json)}/${c.modules ?? 0}`);
      }
    }
  } finally {
    for (const d of [cfgDir, code, docs]) rmSync(d, { recursive: true, force: true });
  }
}

/** Symbols of the run (list --count-only). */
function symbolCount(root: string, _json: unknown): number {
  const p = Bun.spawnSync([process.execPath, "run", join(REPO, "src", "cli.ts"), "list", "--type", "symbol", "--count-only", "--root", root, "--json"], { stdout: "pipe", stderr: "pipe" });
  try { return JSON.parse(p.stdout.toString()).total ?? 0; } catch { return 0; }
}
