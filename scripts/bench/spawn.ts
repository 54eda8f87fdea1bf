/**
 * Runs a command for a benchmark and measures it: wall time, CPU time and the peak RSS of the
 * command itself. Bun.spawnSync's resourceUsage.maxRSS is not that: on Linux it also counts the
 * spawning process's own pages (a child spawned by a 200 MB benchmark reports at least 200 MB), so
 * the peak comes from GNU time (`/usr/bin/time -f %M`, Debian's `time` package), which waits for
 * the command itself; without it the RSS is NaN (printed as n/a).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TIME = ["/usr/bin/time", "/bin/time"].find((p) => Bun.which(p));
const scratch = mkdtempSync(join(tmpdir(), "ag-bench-rss-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));

export type Measured = { ms: number; cpuMs: number; rssBytes: number; code: number; stdout: string; stderr: string };

export function spawnMeasured(cmd: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Measured {
  const out = join(scratch, "rss");
  const argv = TIME ? [TIME, "-f", "%M", "-o", out, ...cmd] : cmd;
  const t0 = Bun.nanoseconds();
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: opts.env, cwd: opts.cwd });
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  let rssBytes = NaN;
  if (TIME) {
    // time's own line is the last of the file ("Command exited with non-zero status N" may come first).
    const kb = Number(readFileSync(out, "utf8").trim().split("\n").at(-1));
    if (Number.isFinite(kb)) rssBytes = kb * 1024;
  }
  return { ms, cpuMs: Number(p.resourceUsage.cpuTime.total) / 1e3, rssBytes, code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}
