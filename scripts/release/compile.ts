/**
 * One `bun build --compile` per program and target. The executable never reads a `.env` or
 * `bunfig.toml` from the directory it runs in, and carries version, commit and target as defines.
 * Nothing in src/ may use import.meta.dir or import.meta.path: with --bytecode they would embed the
 * build directory (the two-directory reproducibility test would catch it).
 */
import { existsSync } from "node:fs";
import type { Program, Target } from "../../src/schema/release.ts";
import { AgError } from "../../src/shared/errors.ts";
import { STARTUP_JIT_POLICY } from "../../src/shared/jit.ts";
import type { SourceInfo } from "./source.ts";

/**
 * Each program's entry point and its other entry points (Worker scripts, and modules loaded on first
 * use), relative to the repository root. A compiled executable only contains the entries named on
 * the command line, and its code sees itself at /$bunfs/root/, so `new Worker(new URL("./w.ts",
 * import.meta.url))` or `import(new URL(...).href)` in module M finds w only if the entries are laid
 * out relative to M's directory: `workerRoot` (bun build --root). `jitPolicy`: the JIT tier-up scale the
 * executable starts with (src/shared/jit.ts), when not the normal one.
 */
export const PROGRAM_SOURCES: Record<Program, { entry: string; workerRoot?: string; workers: string[]; jitPolicy?: number }> = {
  // Beside the shard worker, libraries loaded on first use instead of at every start (src/shared/entries.ts).
  auditgraph: { entry: "src/cli.ts", workerRoot: "src", workers: ["src/pipeline/shard-worker.ts", "src/pipeline/unpdf.ts", "src/git/isogit.ts", "src/mcp/sdk.ts", "src/shared/yaml-lib.ts", "src/shared/semver-lib.ts", "src/pipeline/symbols/tree-sitter.ts"], jitPolicy: STARTUP_JIT_POLICY },
  "release-server": { entry: "src/release-server/main.ts", workerRoot: "src/release-server/blobs", workers: ["src/release-server/blobs/hash-worker.ts"] },
};

/** `bun build` arguments of one program: its main file first, then its workers, their root, and its JIT policy. */
export const programBuildArgs = (program: Program): string[] => {
  const { entry, workerRoot, workers, jitPolicy } = PROGRAM_SOURCES[program];
  return [...(workerRoot ? [entry, ...workers, "--root", workerRoot] : [entry]), ...(jitPolicy !== undefined ? [`--compile-jit-policy=${jitPolicy}`] : [])];
};

/** The `bun build --compile` command line for `buildArgs` (programBuildArgs: the entries, their root, the JIT policy) and one target. */
export function compileCommand(buildArgs: string[], target: Target, source: Pick<SourceInfo, "version" | "commit">, outfile: string): string[] {
  const define = (name: string, value: string) => ["--define", `${name}=${JSON.stringify(value)}`];
  return [
    process.execPath, "build", ...buildArgs,
    // bytecode: start-up without parsing the bundle (about 5 ms of CPU for `version` instead of 18)
    "--compile", "--minify", "--bytecode", "--format=esm",
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    `--target=${target.bun_target}`,
    ...define("AUDITGRAPH_BUILD_VERSION", source.version),
    ...define("AUDITGRAPH_BUILD_COMMIT", source.commit),
    ...define("AUDITGRAPH_BUILD_TARGET", target.name),
    "--outfile", outfile,
  ];
}

const running = new Set<Bun.Subprocess>();
/** Stops compiles in flight (an interrupted build must not leave them writing). */
export function killCompiles(): void {
  for (const p of running) p.kill("SIGKILL");
}

/** Compiles `program` from the checkout at `cwd` to `outfile`; a failure is one line naming the target. */
export async function compile(cwd: string, program: Program, target: Target, source: Pick<SourceInfo, "version" | "commit">, outfile: string): Promise<void> {
  const args = programBuildArgs(program);
  const proc = Bun.spawn(compileCommand(args, target, source, outfile), { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  running.add(proc);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]).finally(() => running.delete(proc));
  if (code === 0 && existsSync(outfile)) return;
  const lines = (err + "\n" + out).replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim()).filter(Boolean);
  const why = lines.find((l) => /failed to download|not found|error/i.test(l)) ?? lines.at(-1) ?? `exit ${code}`;
  const runtime = /download|target/i.test(why);
  throw new AgError(
    runtime
      ? `${target.name}: cross-compile runtime for ${target.bun_target} is not available: ${why}`
      : `${target.name}: compiling ${args[0]} failed: ${why}`,
    { code: runtime ? "runtime_missing" : "compile_failed", hint: runtime ? "Bun downloads it from the npm registry into ~/.bun/install/cache on first use" : undefined },
  );
}
