/**
 * Smoke checks of built executables (`bun run build --check`). What can run here runs: the host's
 * own target natively, linux-arm64 under qemu-user; each prints `version --json` and ingests a
 * workspace. Everything else is inspected: ELF machine and loader (glibc or musl), Mach-O CPU type
 * and code signature.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Program, Target } from "../../src/schema/release.ts";
import { AgError } from "../../src/shared/errors.ts";
import { readElf } from "./elf.ts";
import { CPU_TYPE, parseMachO } from "./macho/macho.ts";
import { verifySignature } from "./macho/codesign.ts";
import type { SourceInfo } from "./source.ts";

const QEMU = { arm64: "qemu-aarch64-static", x64: "qemu-x86_64-static" } as const;
const QEMU_SYSROOT = { arm64: "/usr/aarch64-linux-gnu", x64: "/usr/x86_64-linux-gnu" } as const;
const LOADER = { x64: "x86_64", arm64: "aarch64" } as const;

const fail = (target: Target, program: Program, what: string) =>
  new AgError(`smoke check ${program}-${target.name}: ${what}`, { code: "smoke_failed" });

/** How to run an executable for `target` on this host, or null when it can only be inspected. */
export function runnerFor(target: Target): string[] | null {
  if (target.os !== process.platform || target.libc === "musl") return null;
  if (target.arch === process.arch) return [];
  const qemu = Bun.which(QEMU[target.arch]);
  const sysroot = QEMU_SYSROOT[target.arch];
  if (!qemu || !existsSync(sysroot)) {
    throw new AgError(`${target.name}: ${QEMU[target.arch]} or ${sysroot} is missing, cannot run the ${target.arch} build`, {
      code: "smoke_failed",
      hint: "apt-get install qemu-user-static libc6-arm64-cross",
    });
  }
  return [qemu, "-L", sysroot];
}

function run(cmd: string[], cwd: string) {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, NO_COLOR: "1" } });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString().trim() };
}

/** A copy of the example workspace (without a store) to ingest. */
function workspaceCopy(root: string, into: string): string {
  const ws = join(into, "workspace");
  cpSync(join(root, "examples", "workspace"), ws, { recursive: true, filter: (p) => !p.includes("/.pkg") });
  return ws;
}

function runAuditgraph(exe: string, runner: string[], target: Target, source: SourceInfo): string[] {
  const dir = mkdtempSync(join(tmpdir(), "auditgraph-smoke-"));
  try {
    const v = run([...runner, exe, "version", "--json"], dir);
    if (v.code !== 0) throw fail(target, "auditgraph", `version --json exited ${v.code}: ${v.stderr.split("\n")[0]}`);
    let info: { target?: string; version?: string; commit?: string };
    try {
      info = JSON.parse(v.stdout);
    } catch {
      throw fail(target, "auditgraph", `version --json printed no JSON: ${v.stdout.slice(0, 80)}`);
    }
    const want = { target: target.name, version: source.version, commit: source.commit };
    for (const [k, value] of Object.entries(want)) {
      const got = info[k as keyof typeof info];
      if (got !== value) throw fail(target, "auditgraph", `version --json says ${k} ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`);
    }
    const done = [`version --json: ${target.name} ${source.version}`];
    const ws = workspaceCopy(source.root, dir);
    const ing = run([...runner, exe, "ingest", "--root", ws], dir);
    if (ing.code !== 0) throw fail(target, "auditgraph", `ingest exited ${ing.code}: ${ing.stderr.split("\n")[0]}`);
    return [...done, "ingest: ok"];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Checks one built executable; returns what was checked, throws one line on the first failure. */
export function smokeCheck(exe: string, program: Program, target: Target, source: SourceInfo, bytes: Uint8Array): string[] {
  if (target.os === "darwin") {
    const m = parseMachO(bytes);
    if (m.cpuType !== CPU_TYPE[target.arch]) throw fail(target, program, `Mach-O CPU type 0x${m.cpuType.toString(16)}, expected ${target.arch}`);
    const sig = verifySignature(bytes);
    if (!sig.valid) throw fail(target, program, `invalid code signature: ${sig.problems[0]}`);
    return [`Mach-O ${target.arch}`, `signature valid (${sig.codeDirectories.map((c) => c.nCodeSlots).join("+")} page hashes)`];
  }
  const elf = readElf(bytes);
  if (elf.machine !== target.arch) throw fail(target, program, `ELF machine ${elf.machine}, expected ${target.arch}`);
  const loader = target.libc === "musl" ? `ld-musl-${LOADER[target.arch]}` : "ld-linux-";
  if (!elf.interpreter?.includes(loader)) throw fail(target, program, `interpreter ${elf.interpreter ?? "(none)"}, expected a ${target.libc} loader (${loader}...)`);
  const done = [`ELF ${elf.machine}, interpreter ${elf.interpreter}`];
  const runner = runnerFor(target);
  if (runner === null) return [...done, "not run (cannot execute here)"];
  if (runner.length) done.push(`run under ${runner[0].split("/").pop()}`);
  if (program === "auditgraph") return [...done, ...runAuditgraph(exe, runner, target, source)];
  const dir = mkdtempSync(join(tmpdir(), "auditgraph-smoke-"));
  try {
    const v = run([...runner, exe, "--version"], dir);
    if (v.code !== 0 || v.stdout.trim() !== source.version) {
      throw fail(target, program, `--version printed ${JSON.stringify(v.stdout.trim())} (exit ${v.code}), expected ${source.version}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [...done, `--version: ${source.version}`];
}
