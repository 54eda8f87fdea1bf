/**
 * Runs scripts/install.sh under a given POSIX shell with a controlled PATH: symlinks to the real
 * tools it may use, minus any the test removes, plus fake `uname`, `ldd` and `sysctl` when the
 * test pretends to be another platform.
 */
import { expect } from "bun:test";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireTool } from "../release/support.ts";
import { REPO } from "./fixture.ts";

export const SCRIPT = join(REPO, "scripts/install.sh");

/** The shells the installer is tested under, as argv prefixes. */
export const SHELLS: Record<string, string[]> = {
  dash: ["dash"],
  bash: ["bash"],
  mksh: ["mksh"],
  zsh: ["zsh"],
  "busybox sh": ["busybox", "sh"],
};

const TOOLS = [
  "awk", "cat", "chmod", "cp", "curl", "dirname", "find", "grep", "gzip", "head", "id", "ldd", "minisign", "mkdir",
  "ln", "mktemp", "mv", "od", "openssl", "perl", "printf", "rm", "sha256sum", "shasum", "tar", "tr", "uname", "wget",
];

export function shellArgv(name: string): string[] {
  const [cmd, ...rest] = SHELLS[name]!;
  return [requireTool(cmd!, cmd!), ...rest];
}

/** A script meant for any POSIX sh passes `shellcheck -s sh` and `checkbashisms` without a word. */
export function expectPosixSh(script: string): void {
  for (const [tool, pkg, ...args] of [["shellcheck", "shellcheck", "-s", "sh"], ["checkbashisms", "devscripts"]]) {
    const r = Bun.spawnSync([requireTool(tool!, pkg!), ...args, script], { stdout: "pipe", stderr: "pipe" });
    expect(r.stdout.toString() + r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  }
}

export type Fake = {
  /** `uname -s` / `uname -m` answers. */
  os?: string;
  machine?: string;
  /** What `ldd --version` reports: "musl" fakes a musl system. */
  libc?: "musl";
  /** `sysctl -n sysctl.proc_translated` (macOS: "1" under Rosetta 2) and `hw.optional.arm64`. */
  translated?: string;
  armCpu?: string;
};

function script(path: string, body: string) {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

/** A directory to use as the whole PATH. */
export function makeBin(dir: string, opts: { omit?: string[]; fake?: Fake; scripts?: Record<string, string> } = {}): string {
  mkdirSync(dir, { recursive: true });
  const fake = opts.fake ?? {};
  for (const tool of TOOLS) {
    if (opts.omit?.includes(tool)) continue;
    if (opts.scripts?.[tool] !== undefined) {
      script(join(dir, tool), opts.scripts[tool]!);
      continue;
    }
    if (tool === "uname" && (fake.os || fake.machine)) {
      const real = Bun.which("uname")!;
      script(join(dir, tool), `case "$1" in -s) echo '${fake.os ?? "Linux"}' ;; -m) echo '${fake.machine ?? "x86_64"}' ;; *) exec ${real} "$@" ;; esac`);
      continue;
    }
    if (tool === "ldd" && fake.libc === "musl") {
      script(join(dir, tool), `echo 'musl libc (x86_64)' >&2; echo 'Version 1.2.5' >&2; exit 1`);
      continue;
    }
    const real = Bun.which(tool);
    if (!real) throw new Error(`${tool} is not installed; the installer tests need it`);
    symlinkSync(real, join(dir, tool));
  }
  if (fake.translated !== undefined || fake.armCpu !== undefined) {
    script(join(dir, "sysctl"), [
      `case "$2" in`,
      `  sysctl.proc_translated) ${fake.translated === undefined ? "exit 1" : `echo ${fake.translated}`} ;;`,
      `  hw.optional.arm64) ${fake.armCpu === undefined ? "exit 1" : `echo ${fake.armCpu}`} ;;`,
      `  *) exit 1 ;;`,
      `esac`,
    ].join("\n"));
  }
  return dir;
}

export type Result = { code: number; stdout: string; stderr: string };

/** Runs the installer (asynchronously: the release server lives in this process). */
export async function runInstaller(shell: string, args: string[], env: Record<string, string>, prefix: string[] = []): Promise<Result> {
  const wrapper = prefix.length ? [Bun.which(prefix[0]!) ?? prefix[0]!, ...prefix.slice(1)] : [];
  const proc = Bun.spawn([...wrapper, ...shellArgv(shell), SCRIPT, ...args], {
    env, cwd: env.HOME ?? "/", stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
