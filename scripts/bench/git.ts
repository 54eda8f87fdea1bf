#!/usr/bin/env bun
/**
 * Git provenance benchmark: the cost git.enabled adds to a fresh ingest, and the git commands' times.
 *
 *   1. this repository, cloned into a temp directory (its whole history; default include paths);
 *   2. a synthetic repository with --commits commits (default 6,000: above the default budget of
 *      5,000), each changing one of 200 markdown files, written with `git fast-import`.
 *
 * For each: fresh ingests (the store removed before each) with git off and on, medians of --reps;
 * the unchanged re-ingest with git on (the artifact is reused while HEAD is unchanged); and one
 * run of `git who`, `git log`, `git history` and `git introduced`. Needs the git executable (to
 * make the repositories; auditgraph itself does not use it).
 *
 *   bun run bench:git [--reps N] [--commits N]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadWorkspace } from "../../src/config/load.ts";
import { buildProvenance } from "../../src/git/provenance.ts";
import { makeRedactor } from "../../src/pipeline/text.ts";

const REPO = join(import.meta.dir, "..", "..");
const CLI = join(REPO, "src", "cli.ts");
const { values } = parseArgs({ options: { reps: { type: "string" }, commits: { type: "string" } } });
const reps = Math.max(1, Number(values.reps ?? 3));
const synthetic = Math.max(1, Number(values.commits ?? 6000));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function run(cmd: string[], opts: { cwd?: string; stdin?: string } = {}): { wall: number; out: string } {
  const t = performance.now();
  const p = Bun.spawnSync(cmd, { cwd: opts.cwd, stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin), stdout: "pipe", stderr: "pipe", env: { ...process.env, AUDITGRAPH_NO_UPDATE_CHECK: "1" } });
  const wall = performance.now() - t;
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${p.exitCode}): ${p.stderr.toString()}`);
  return { wall, out: p.stdout.toString() };
}
const ag = (args: string[]) => run([process.execPath, CLI, ...args]);

const tmp = mkdtempSync(join(tmpdir(), "ag-bench-git-"));
const cfgOn = join(tmp, "on.yaml");
const cfgOff = join(tmp, "off.yaml");
writeFileSync(cfgOn, "git:\n  enabled: true\n");
writeFileSync(cfgOff, "git:\n  enabled: false\n");

/** The git step of an ingest alone, in process (what git.enabled adds, without the noise of two whole ingests). */
async function gitStep(root: string): Promise<number> {
  const ws = loadWorkspace({ root, config: cfgOn });
  const walls: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await buildProvenance({ root, includePaths: ws.profile.include_paths, maxCommits: ws.git.max_commits, redact: makeRedactor(ws.redaction), salt: ws.configHash });
    walls.push(performance.now() - t);
  }
  return median(walls);
}

async function measure(label: string, root: string, path: string, needle: string): Promise<void> {
  const fresh = (cfg: string) => {
    const walls: number[] = [];
    let json: any;
    for (let i = 0; i < reps; i++) {
      rmSync(join(root, ".pkg"), { recursive: true, force: true });
      const r = ag(["ingest", "--root", root, "--config", cfg, "--json"]);
      walls.push(r.wall);
      json = JSON.parse(r.out);
    }
    return { wall: median(walls), json };
  };
  const off = fresh(cfgOff);
  const on = fresh(cfgOn);
  const again = ag(["ingest", "--root", root, "--config", cfgOn, "--json"]);
  const manifest = JSON.parse(readFileSync(join(root, ".pkg", "profiles", "default", "runs", on.json.run_id, "manifest.json"), "utf8"));
  const art = manifest.artifacts.find((a: any) => a.name === "git");
  console.log(`${label}`);
  console.log(`  fresh ingest, git off:  ${(off.wall / 1000).toFixed(2)} s  (${off.json.counts.files} files, ${off.json.counts.nodes} nodes)`);
  console.log(`  fresh ingest, git on:   ${(on.wall / 1000).toFixed(2)} s  (+${(((on.wall - off.wall) / off.wall) * 100).toFixed(0)}%; ${on.json.counts.commits} commits, ${on.json.counts.authors} authors, git artifact ${art?.bytes ?? 0} bytes)`);
  const step = await gitStep(root);
  console.log(`  the git step alone (in process, no reuse): ${(step / 1000).toFixed(2)} s = ${((step / off.wall) * 100).toFixed(0)}% of the fresh ingest without git`);
  console.log(`  unchanged re-ingest, git on: ${(again.wall / 1000).toFixed(2)} s (unchanged: ${JSON.parse(again.out).unchanged})`);
  for (const args of [["who", path], ["log", path], ["history", path], ["introduced", needle]]) {
    const r = ag(["git", ...args, "--root", root, "--config", cfgOn, "--json"]);
    console.log(`  git ${args[0]} ${args[1]}: ${(r.wall / 1000).toFixed(2)} s`);
  }
}

try {
  const self = join(tmp, "self");
  run(["git", "clone", "-q", REPO, self]);
  await measure(`this repository (${run(["git", "rev-list", "--count", "HEAD"], { cwd: self }).out.trim()} commits)`, self, "src/pipeline/ingest.ts", "planRun");

  const syn = join(tmp, "synthetic");
  mkdirSync(syn);
  run(["git", "init", "-q", "."], { cwd: syn });
  const lines: string[] = [];
  const files = 200;
  const content = new Map<number, string>();
  for (let i = 0; i < synthetic; i++) {
    const f = i % files;
    const text = (content.get(f) ?? `# Note ${f}\n`) + `line ${i} of note ${f}\n`;
    content.set(f, text);
    const msg = `Change ${i}`;
    const bytes = Buffer.byteLength(text);
    lines.push(`commit refs/heads/main`, `author Dev${i % 7} <dev${i % 7}@example.com> ${1_600_000_000 + i * 60} +0000`,
      `committer Dev${i % 7} <dev${i % 7}@example.com> ${1_600_000_000 + i * 60} +0000`, `data ${Buffer.byteLength(msg)}`, msg,
      ...(i > 0 ? [] : []), `M 100644 inline notes/n${f}.md`, `data ${bytes}`, text, "");
  }
  run(["git", "fast-import", "--quiet"], { cwd: syn, stdin: lines.join("\n") });
  run(["git", "checkout", "-q", "main"], { cwd: syn });
  run(["git", "gc", "-q"], { cwd: syn });
  await measure(`synthetic repository (${synthetic} commits, ${files} files)`, syn, "notes/n7.md", `line ${synthetic - 1} of`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
