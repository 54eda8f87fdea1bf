#!/usr/bin/env bun
/**
 * `bun scripts/release/reproduce.ts [--target NAME]...`: proves that a release is reproducible.
 * Clones HEAD (as it was when the script started) twice into different temp directories, runs `bun install --frozen-lockfile` and
 * `bun run build` in each (all targets unless some are named), and compares SHA256SUMS and
 * release.json byte for byte. Exits 1 when they differ.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const ROOT = join(import.meta.dir, "..", "..");
const { values } = parseArgs({ args: process.argv.slice(2), options: { target: { type: "string", multiple: true, default: [] } } });

function step(cmd: string[], cwd: string): void {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AUDITGRAPH_MINISIGN_")));
  const r = Bun.spawnSync(cmd, { cwd, env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} (in ${cwd}) exited ${r.exitCode}: ${r.stderr.toString().trim().split("\n").pop()}`);
}

const base = mkdtempSync(join(tmpdir(), "auditgraph-reproduce-"));
const commit = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
try {
  console.log(`commit ${commit}`);
  const sums: string[] = [];
  const manifests: string[] = [];
  for (const name of ["first", "second-copy"]) {
    const dir = join(base, name);
    step(["git", "clone", "-q", ROOT, dir], base);
    step(["git", "checkout", "-q", "--detach", commit], dir);
    step([process.execPath, "install", "--frozen-lockfile"], dir);
    const t0 = performance.now();
    step([process.execPath, "run", "build", ...values.target.flatMap((t) => ["--target", t])], dir);
    sums.push(readFileSync(join(dir, "dist", "SHA256SUMS"), "utf8"));
    manifests.push(readFileSync(join(dir, "dist", "release.json"), "utf8"));
    console.log(`${dir}: bun run build took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const same = sums[0] === sums[1] && manifests[0] === manifests[1];
  console.log(`\nSHA256SUMS (${sums[0].trim().split("\n").length} files):\n${sums[0]}`);
  console.log(same ? "identical: SHA256SUMS and release.json match byte for byte" : `DIFFERENT:\n${sums[1]}`);
  process.exitCode = same ? 0 : 1;
} finally {
  rmSync(base, { recursive: true, force: true });
}
