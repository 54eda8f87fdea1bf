#!/usr/bin/env bun
/**
 * Ingest benchmark: unpacks the benchmark corpus into a temp workspace and times the CLI run from
 * source (`bun src/cli.ts ingest`) for a fresh ingest, an unchanged re-ingest and a re-ingest with
 * one file changed. Prints wall and CPU seconds (user + system: a fairer figure on a busy machine),
 * files/s, MB/s, peak RSS and store bytes / source bytes.
 *
 *   bun run bench:ingest [--corpus FILE.tar.gz] [--reps N]
 * Targets (2 cores): fresh <= 3 s, unchanged <= 0.3 s, one changed <= 0.5 s, RSS <= 300 MB, store <= 1.0x.
 */
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const REPO = join(import.meta.dir, "..", "..");
const { values } = parseArgs({ options: { corpus: { type: "string" }, reps: { type: "string" } } });
const corpus = values.corpus ?? join(REPO, "..", "shared", "bench", "corpus-2000.tar.gz");
const reps = Math.max(1, Number(values.reps ?? 3));

const du = (dir: string): number => {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? du(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
};

type Sample = { wall: number; cpu: number; rss: number; json: any };
function ingest(root: string): Sample {
  const t = performance.now();
  const p = Bun.spawnSync([process.execPath, "run", join(REPO, "src", "cli.ts"), "ingest", "--root", root, "--json"], { stdout: "pipe", stderr: "pipe" });
  const wall = (performance.now() - t) / 1000;
  if (p.exitCode !== 0) throw new Error(`ingest failed (${p.exitCode}): ${p.stderr.toString()}`);
  return { wall, cpu: Number(p.resourceUsage.cpuTime.total) / 1e6, rss: p.resourceUsage.maxRSS, json: JSON.parse(p.stdout.toString()) };
}

const work = mkdtempSync(join(tmpdir(), "ag-bench-ingest-"));
try {
  const tar = Bun.spawnSync(["tar", "-xzf", corpus, "-C", work]);
  if (tar.exitCode !== 0) throw new Error(`cannot unpack ${corpus}: ${tar.stderr.toString()}`);
  const source = du(join(work, "notes"));
  const files = readdirSync(join(work, "notes"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  console.log(`corpus ${corpus}: ${files} files, ${(source / 1e6).toFixed(1)} MB; ${navigator.hardwareConcurrency} cores; bun ${Bun.version}; ${reps} rep(s), median shown`);
  const changeFile = join(work, "notes", readdirSync(join(work, "notes"), { recursive: true }).map(String).filter((p) => p.endsWith(".md")).sort()[0]!);

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
} finally {
  rmSync(work, { recursive: true, force: true });
}
