/**
 * What a build is built from: package.json's version, the commit, its time (SOURCE_DATE_EPOCH)
 * and whether the working tree has changes, which marks the version ("0.1.0+dirty").
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgError, ExitCode } from "../../src/shared/errors.ts";

export interface SourceInfo {
  root: string;
  version: string;
  commit: string;
  /** Commit time in unix seconds: archive mtimes and the signature's timestamp. */
  epoch: number;
  dirty: boolean;
}

export function git(root: string, args: string[]): string {
  const r = Bun.spawnSync(["git", ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    const why = r.stderr.toString().trim().split("\n")[0] || `exit ${r.exitCode}`;
    throw new AgError(`git ${args[0]} failed in ${root}: ${why}`, {
      exitCode: ExitCode.usage,
      code: "not_a_checkout",
      hint: "the build takes the commit and its time from git: run it inside a clone",
    });
  }
  return r.stdout.toString();
}

export function readSource(root: string): SourceInfo {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  const commit = git(root, ["rev-parse", "HEAD"]).trim();
  const epoch = Number(git(root, ["log", "-1", "--format=%ct", "HEAD"]).trim());
  const dirty = git(root, ["status", "--porcelain", "--untracked-files=normal"]).trim() !== "";
  return { root, version: dirty ? `${pkg.version}+dirty` : pkg.version, commit, epoch, dirty };
}
