// A disk that fills up during a run: `.pkg/` is a tiny tmpfs (needs root, as `.ci/run` has). The
// failed run is undone: one clear message, and the existing store is byte-identical afterwards.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, treeHash, workspace } from "../helpers/cli.ts";

const SLOW = 60_000; // a full run on a busy 2-core machine
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) Bun.spawnSync(["umount", m]);
  cleanup();
});

function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  const p = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`this test mounts a tmpfs and needs root (as in .ci/run): mount failed: ${p.stderr.toString().trim()}`);
  mounts.push(dir);
}

describe("disk full during a run", () => {
  test("ingest fails with one message, removes what it wrote, and the previous run stays current", () => {
    const root = workspace();
    mountTmpfs(join(root, ".pkg"), "384k");
    writeFileSync(join(root, "config.yaml"), "storage:\n  footprint_budget:\n    multiplier: 1000\n");
    const cfg = ["--config", join(root, "config.yaml")];
    const first = cli(["ingest", "--root", root, ...cfg, "--json"]);
    expect(first.code).toBe(0);
    // Incompressible notes in every shard: far more objects than the tmpfs has pages left.
    for (let i = 0; i < 400; i++) writeFileSync(join(root, "notes", `noise-${i}.md`), `# Noise ${i}\n\n${randomBytes(1500).toString("base64")}\n`);
    const before = treeHash(join(root, ".pkg"));
    const r = cli(["ingest", "--root", root, ...cfg]);
    expect(r.code).toBe(1);
    const line = expectOneLineError(r);
    expect(line).toContain("no space left on device");
    expect(line).toContain("the store is unchanged");
    expect(r.stderr).toContain("hint: free disk space");
    expect(treeHash(join(root, ".pkg"))).toEqual(before);
    expect(readdirSync(join(root, ".pkg", "profiles", "default", "runs"))).toEqual([first.json.run_id]);
    expect(cli(["verify", "--root", root, ...cfg]).code).toBe(0);
    expect(cli(["query", "postgresql", "--root", root, ...cfg]).code).toBe(0);
    // With the noise gone the next ingest works as if nothing had happened.
    for (let i = 0; i < 400; i++) rmSync(join(root, "notes", `noise-${i}.md`));
    expect(cli(["ingest", "--root", root, ...cfg, "--json"]).json).toMatchObject({ run_id: first.json.run_id, unchanged: true });
  }, SLOW);

  test("a disk too full to write the lock: ingest and runs prune say so in one line, leave nothing behind, and work once there is room", () => {
    const root = workspace();
    mountTmpfs(join(root, ".pkg"), "512k");
    writeFileSync(join(root, "config.yaml"), "storage:\n  footprint_budget:\n    multiplier: 1000\n");
    const cfg = ["--config", join(root, "config.yaml")];
    expect(cli(["ingest", "--root", root, ...cfg]).code).toBe(0);
    // Every block of the tmpfs taken (inodes remain: the lock's temp file is created, its pid cannot be written).
    const filler = join(root, ".pkg", "filler");
    const fd = openSync(filler, "w");
    try { for (;;) writeSync(fd, Buffer.alloc(4096, 1)); } catch (e) { expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC"); } finally { closeSync(fd); }
    const before = treeHash(join(root, ".pkg"));
    for (const args of [["runs", "prune", "--keep", "1"], ["ingest"]]) {
      const r = cli([...args, "--root", root, ...cfg]);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      const line = expectOneLineError(r);
      expect(line).toContain("cannot take the workspace lock");
      expect(line).toContain("no space left on device");
      expect(r.stderr).toContain("hint: free disk space");
      expect(treeHash(join(root, ".pkg"))).toEqual(before);
      expect(readdirSync(join(root, ".pkg")).filter((n) => n.startsWith(".tmp"))).toEqual([]);
    }
    rmSync(filler);
    expect(cli(["runs", "prune", "--keep", "1", "--root", root, ...cfg]).code).toBe(0);
  }, SLOW);
});
