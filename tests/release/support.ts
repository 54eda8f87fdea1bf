// Shared bits of the release tests: temp dirs, spawning, a throwaway copy of the checkout.
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { git } from "../../scripts/release/source.ts";
import { releaseBuild, REPO_ROOT } from "../helpers/release-build.ts";
import { tempDir } from "../helpers/cli.ts";

export { REPO_ROOT };

export { cleanup as removeTempDirs, tempDir } from "../helpers/cli.ts";

export function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; stdin?: string } = {}) {
  const r = Bun.spawnSync(cmd, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export function requireTool(name: string, pkg: string): string {
  const p = Bun.which(name);
  if (!p) throw new Error(`${name} is not installed: apt-get install ${pkg} (.ci/run installs it from .ci/packages.txt)`);
  return p;
}

/**
 * The working tree (tracked and untracked, not ignored files) copied to `dest` and committed there
 * with fixed metadata, into a clean tree. With `from` (an earlier copy), a clone of that copy: the
 * same commit, even if the working tree changed in between.
 */
export function copyCheckout(dest: string, from?: string): string {
  if (from) {
    const r = run(["git", "clone", "-q", from, dest]);
    if (r.code !== 0) throw new Error(`git clone ${from}: ${r.stderr}`);
    return linkModules(dest);
  }
  const files = git(REPO_ROOT, ["ls-files", "-co", "--exclude-standard", "-z"]).split("\0").filter(Boolean);
  for (const f of files) {
    const from = join(REPO_ROOT, f);
    if (!existsSync(from) || lstatSync(from).isDirectory()) continue;
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(from, join(dest, f));
  }
  const r = run(["git", "init", "-q"], { cwd: dest });
  if (r.code !== 0) throw new Error(`git init in ${dest}: ${r.stderr}`);
  commitAll(dest, "snapshot", 1_700_000_000);
  return linkModules(dest);
}

/** Commits every change in the copy `dir` with fixed author, committer and date (`epoch`, seconds). */
export function commitAll(dir: string, message: string, epoch: number): void {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "release test", GIT_AUTHOR_EMAIL: "release-test@example.invalid", GIT_AUTHOR_DATE: `${epoch} +0000`,
    GIT_COMMITTER_NAME: "release test", GIT_COMMITTER_EMAIL: "release-test@example.invalid", GIT_COMMITTER_DATE: `${epoch} +0000`,
  };
  for (const args of [["add", "-A"], ["-c", "commit.gpgsign=false", "commit", "-q", "-m", message]]) {
    const r = run(["git", ...args], { cwd: dir, env });
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} in ${dir}: ${r.stderr}`);
  }
}

function linkModules(dest: string): string {
  writeFileSync(join(dest, ".git", "info", "exclude"), "/node_modules\n");
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dest, "node_modules"));
  return dest;
}

/**
 * The target list every user of the shared release build passes: one build (keyed by the list)
 * then serves the release, installer, container and compiled-executable tests alike.
 */
export const SHARED_TARGETS = ["darwin-arm64", "darwin-x64", "linux-arm64", "linux-x64", "linux-x64-baseline"];

/** The linux-x64 `auditgraph` of the shared release build, extracted into a new temp dir named from `prefix`. */
export async function sharedLinuxExe(prefix: string): Promise<string> {
  const out = await releaseBuild(SHARED_TARGETS);
  return join(extract(join(out, "auditgraph-linux-x64.tar.gz"), tempDir(prefix)), "auditgraph");
}

/** Extracts a .tar.gz with the system tar; returns the directory. */
export function extract(archive: string, into: string): string {
  mkdirSync(into, { recursive: true });
  const r = run(["tar", "-xzf", archive, "-C", into]);
  if (r.code !== 0) throw new Error(`tar -xzf ${archive}: ${r.stderr}`);
  return into;
}

/**
 * A throwaway key pair made by the real minisign (in `dir`, created if needed); encrypted when a
 * password is given. `pubLine` is the public key's base64 line, `id` its key id.
 */
export function makeKey(dir: string, password?: string) {
  requireTool("minisign", "minisign");
  mkdirSync(dir, { recursive: true });
  const pub = join(dir, "key.pub");
  const sec = join(dir, "key.sec");
  const args = ["minisign", "-G", "-p", pub, "-s", sec, ...(password === undefined ? ["-W"] : [])];
  const r = run(args, { stdin: password === undefined ? undefined : `${password}\n${password}\n` });
  if (r.code !== 0) throw new Error(`minisign -G failed: ${r.stderr}`);
  const text = readFileSync(pub, "utf8");
  return { pub, sec, secret: readFileSync(sec, "utf8"), pubLine: text.trim().split("\n")[1]!.trim(), id: text.split("\n")[0]!.split(" ").pop()! };
}

