#!/usr/bin/env bun
/**
 * `bun run bench:binary [--dist DIR] [--target NAME]...`: per target, the executable's raw and
 * archive sizes; for linux-x64 the start-up time of `auditgraph version` (median of 20 fresh
 * processes) next to `bun run src/cli.ts version`. Without --dist it builds the targets first
 * (into a temp dir) and reports the build time.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildRelease } from "../release/build.ts";
import type { ReleaseManifest } from "../../src/schema/release.ts";

const ROOT = join(import.meta.dir, "..", "..");
const RUNS = 20;
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { dist: { type: "string" }, target: { type: "string", multiple: true, default: [] } },
});

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
if (values.dist && !existsSync(join(values.dist, "release.json"))) {
  console.error(`error: ${join(values.dist, "release.json")} not found: run 'bun run build' first, or omit --dist to build here`);
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), "auditgraph-bench-binary-"));
try {
  let dist = values.dist;
  if (!dist) {
    dist = join(tmp, "dist");
    const t0 = performance.now();
    await buildRelease({ root: ROOT, targets: values.target, outDir: dist, check: false, env: {}, log: () => {} });
    console.log(`build (${values.target.length ? values.target.join(", ") : "all targets"}): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const manifest: ReleaseManifest = JSON.parse(readFileSync(join(dist, "release.json"), "utf8"));

  console.log("\nasset                                    raw        archive");
  for (const a of manifest.assets.filter((x) => x.program)) {
    const list = Bun.spawnSync(["tar", "-tvzf", join(dist, a.name)]).stdout.toString();
    const raw = Number(list.split("\n").find((l) => l.endsWith(` ${a.program}`))?.split(/\s+/)[2] ?? NaN);
    console.log(`${a.name.padEnd(40)} ${mb(raw).padStart(9)}  ${mb(a.size).padStart(9)}`);
  }

  if (manifest.assets.some((a) => a.name === "auditgraph-linux-x64.tar.gz") && process.platform === "linux" && process.arch === "x64") {
    Bun.spawnSync(["tar", "-xzf", join(dist, "auditgraph-linux-x64.tar.gz"), "-C", tmp, "auditgraph"]);
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    // wall time, and CPU time (user + system), which a busy machine disturbs less
    const time = (cmd: string[]) => {
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = Bun.nanoseconds();
        const r = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "ignore", stderr: "ignore" });
        wall.push((Bun.nanoseconds() - t0) / 1e6);
        if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}`);
        const u = r.resourceUsage?.cpuTime;
        if (u) cpu.push(Number(u.user + u.system) / 1e3);
      }
      const m = median(wall);
      return `median ${m.toFixed(1)} ms (min ${Math.min(...wall).toFixed(1)}, max ${Math.max(...wall).toFixed(1)}), CPU median ${cpu.length ? median(cpu).toFixed(1) : "?"} ms`;
    };
    console.log(`\nstart-up, ${RUNS} fresh processes each (target: auditgraph version <= 20 ms)`);
    console.log(`  auditgraph version (linux-x64 executable): ${time([join(tmp, "auditgraph"), "version"])}`);
    console.log(`  bun run src/cli.ts version:                ${time([process.execPath, "run", "src/cli.ts", "version"])}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
