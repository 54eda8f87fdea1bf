#!/usr/bin/env bun
/**
 * Budget check benchmark: builds a workspace of 10,000 source files with 20 runs in its store
 * (each run after the first changes a few files), then times
 *   - `auditgraph budget` as a process (from source: includes Bun's start-up and config loading),
 *   - the budget check itself in that command (current run's source bytes + usage walk + evaluate),
 *   - the budget step inside `ingest` (usage walk of the profile directory + budgetGate), in process,
 *     the same functions ingest calls between planning and writing.
 * Prints the median of --reps repetitions. Target: under 50 ms for the check itself.
 *
 *   bun run bench:budget [--files N] [--runs N] [--reps N]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadWorkspace } from "../../src/config/load.ts";
import { budgetGate } from "../../src/policy/budget.ts";
import { currentBudget } from "../../src/pipeline/footprint.ts";
import { measureUsage } from "../../src/store/usage.ts";

const REPO = join(import.meta.dir, "..", "..");
const CLI = join(REPO, "src", "cli.ts");
const { values } = parseArgs({ options: { files: { type: "string" }, runs: { type: "string" }, reps: { type: "string" } } });
const files = Number(values.files ?? 10_000);
const runs = Number(values.runs ?? 20);
const reps = Math.max(1, Number(values.reps ?? 15));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(2)} ms`;
function cli(args: string[]): { wall: number; out: string } {
  const t = performance.now();
  const p = Bun.spawnSync([process.execPath, CLI, ...args], { stdout: "pipe", stderr: "pipe" });
  const wall = performance.now() - t;
  if (p.exitCode !== 0) throw new Error(`auditgraph ${args.join(" ")} failed (${p.exitCode}): ${p.stderr.toString()}`);
  return { wall, out: p.stdout.toString() };
}
function timeIt(f: () => unknown): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}
const note = (i: number, rev: number) =>
  `# Note ${i}\n\nRevision ${rev} of the note about service ${i % 97} and queue ${i % 13}.\n\n${"Operational detail and follow-up. ".repeat(8 + (i % 5))}\n`;

const root = mkdtempSync(join(tmpdir(), "ag-bench-budget-"));
try {
  for (let i = 0; i < files; i++) {
    const dir = join(root, "notes", `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `n${i}.md`), note(i, 0));
  }
  writeFileSync(join(root, "pkg.yaml"), "storage:\n  footprint_budget:\n    multiplier: 100\n");
  const cfg = ["--config", join(root, "pkg.yaml")];
  const t0 = performance.now();
  for (let r = 0; r < runs; r++) {
    if (r > 0) for (let k = 0; k < 5; k++) { const i = (r * 517 + k * 1999) % files; writeFileSync(join(root, "notes", `d${Math.floor(i / 500)}`, `n${i}.md`), note(i, r)); }
    cli(["ingest", "--root", root, ...cfg]);
  }
  const ws = loadWorkspace({ root, config: join(root, "pkg.yaml") });
  const count = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(dir, e.name)) : 1), 0);
  const usage = measureUsage(ws.profileDir);
  console.log(`workspace: ${files} source files, ${runs} runs (built in ${((performance.now() - t0) / 1000).toFixed(1)} s); ` +
    `store: ${count(ws.profileDir)} files, ${(usage / 1e6).toFixed(1)} MB; ${navigator.hardwareConcurrency} cores; bun ${Bun.version}; median of ${reps}`);

  const proc = Array.from({ length: reps }, () => cli(["budget", "--root", root, ...cfg, "--json"]).wall);
  const check = Array.from({ length: reps }, () => timeIt(() => currentBudget(ws)));
  const step = Array.from({ length: reps }, () => timeIt(() => budgetGate({ sourceBytes: 1, usageBytes: measureUsage(ws.profileDir), additionalBytes: 0 }, ws.budget, ws.profileDir)));
  console.log(`auditgraph budget (process, from source)   ${ms(median(proc))}`);
  console.log(`auditgraph budget (the check itself)       ${ms(median(check))}   target < 50 ms`);
  console.log(`budget step inside ingest (usage + gate)   ${ms(median(step))}   target < 50 ms`);
  console.log(`figures: ${JSON.stringify(JSON.parse(cli(["budget", "--root", root, ...cfg, "--json"]).out).budget)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
