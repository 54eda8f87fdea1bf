/**
 * Running the real CLI from source on real temp workspaces, for end-to-end tests.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { isSegment, Segment } from "../../src/store/segment.ts";
import { testCli } from "./compiled-cli.ts";

export const REPO = join(import.meta.dir, "..", "..");
export const CLI = join(REPO, "src", "cli.ts");
/** The command that runs the CLI: src/cli.ts compiled once per source state (compiled-cli.ts). */
export const AG: string[] = await testCli();
export const EXAMPLE = join(REPO, "examples", "workspace");

export type CliResult = { code: number; stdout: string; stderr: string; json: any };

/**
 * Runs `auditgraph ARGS` with a clean environment (no AUDITGRAPH_* from the caller unless given).
 * `entry`: another entry point than src/cli.ts (e.g. tests/upgrades/support.ts's cliForSchema).
 */
/** `timeoutMs`: the process is killed after that long (its code is then -1), for a command that must not hang. */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string>; entry?: string; timeoutMs?: number } = {}): CliResult {
  const p = Bun.spawnSync([...(opts.entry && opts.entry !== CLI ? [process.execPath, opts.entry] : AG), ...args], {
    cwd: opts.cwd ?? REPO, env: cleanEnv(opts.env), stdout: "pipe", stderr: "pipe", ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
  });
  const stdout = p.stdout.toString();
  let json: any;
  try { json = JSON.parse(stdout); } catch {}
  return { code: p.exitCode ?? -1, stdout, stderr: p.stderr.toString(), json };
}

/** The environment `cli` gives the CLI: the caller's, without AUDITGRAPH_* and NO_COLOR. */
function cleanEnv(extra?: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("AUDITGRAPH_") && k !== "NO_COLOR") env[k] = v;
  return { ...env, ...extra };
}

/** `cli` without blocking: for many runs at once (see inParallel). */
export async function cliAsync(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const p = Bun.spawn([...AG, ...args], { cwd: opts.cwd ?? REPO, env: cleanEnv(opts.env), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  let json: any;
  try { json = JSON.parse(stdout); } catch {}
  return { code, stdout, stderr, json };
}

/** Maps items through f, at most `width` at a time, keeping their order. */
export async function inParallel<T, R>(items: T[], f: (t: T) => Promise<R>, width = 3): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) { const i = next++; out[i] = await f(items[i]!); }
  }));
  return out;
}

/** Spawns the CLI without waiting (for kill and concurrency tests). */
export function spawnCli(args: string[], opts: { cwd?: string } = {}) {
  return Bun.spawn([...AG, ...args], { cwd: opts.cwd ?? REPO, stdout: "pipe", stderr: "pipe" });
}

const made: string[] = [];

/** A fresh temp directory, removed by `cleanup()`. */
export function tempDir(prefix = "ag-cli-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function cleanup(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A temp workspace holding the given files (path → content), or a copy of the example workspace. */
export function workspace(files?: Record<string, string | Uint8Array>): string {
  const root = tempDir("ag-ws-");
  if (!files) { cpSync(EXAMPLE, root, { recursive: true, filter: (src) => !src.includes(`${"/"}.pkg`) }); return root; }
  for (const [p, c] of Object.entries(files)) { mkdirSync(dirname(join(root, p)), { recursive: true }); writeFileSync(join(root, p), c); }
  return root;
}

/** workspace(files), ingested once (a failed ingest throws with its stderr). */
export function ingested(files?: Record<string, string | Uint8Array>): string {
  const root = workspace(files);
  const r = cli(["ingest", "--root", root]);
  if (r.code !== 0) throw new Error(`ingest of ${root} failed (exit ${r.code}): ${r.stderr}`);
  return root;
}

/** Every file under dir (relative path → sha256 of its bytes): to prove a command changed nothing. */
export function treeHash(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    let names: string[] = [];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names.sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

/**
 * The decoded contents of every file under dir, for secret searches: a segment (index or text
 * object) as every value of every table, another zstd object decompressed, anything else as is.
 */
export function allStoredText(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) { walk(p); continue; }
      const raw = readFileSync(p);
      if (isSegment(raw)) {
        const seg = new Segment(p);
        try {
          parts.push(JSON.stringify(seg.header));
          for (const [name, t] of Object.entries(seg.header.tables)) {
            if (t.binary) for (const [k, v] of seg.rangeBytes(name)) parts.push(k, new TextDecoder().decode(v));
            else for (const [k, v] of seg.range(name)) parts.push(k, JSON.stringify(v));
          }
        } finally { seg.close(); }
        continue;
      }
      let text = raw.toString("utf8");
      try { text = new TextDecoder().decode(Bun.zstdDecompressSync(raw)); } catch {}
      parts.push(text);
    }
  };
  walk(dir);
  return parts.join("\n");
}

/** One error line on stderr (plus an optional hint line), never a stack trace. */
export function expectOneLineError(r: CliResult): string {
  const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("hint:"));
  if (lines.length !== 1 || !lines[0]!.startsWith("error: ") || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected one 'error:' line on stderr, got:\n${r.stderr}`);
  }
  return lines[0]!;
}

/**
 * Runs the CLI as a user without privileges, for permission tests (root reads and lists anything):
 * as uid/gid 65534 through `setpriv` when this process is root, as itself otherwise. The paths it
 * touches must be open to that user (openToAll). Undefined when it cannot be done (root without
 * setpriv, or the sources or temp directory out of that user's reach): the caller skips, saying why.
 */
export function cliUnprivileged(args: string[]): CliResult | undefined {
  const root = process.getuid?.() === 0;
  const setpriv = root ? Bun.which("setpriv") : null;
  if (root && !setpriv) return undefined;
  const prefix = root ? [setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups", "--"] : [];
  const home = tempDir("ag-home-");
  openToAll(home);
  // The user must reach the executable (or the sources and the runtime) and the temp directories.
  if (root && Bun.spawnSync([...prefix, "test", ...AG.flatMap((f) => ["-r", f, "-a"]), "-x", AG[0]!, "-a", "-w", home]).exitCode !== 0) return undefined;
  const p = Bun.spawnSync([...prefix, ...AG, ...args], { cwd: "/", env: cleanEnv({ HOME: home }), stdout: "pipe", stderr: "pipe" });
  const stdout = p.stdout.toString();
  let json: any;
  try { json = JSON.parse(stdout); } catch {}
  return { code: p.exitCode ?? -1, stdout, stderr: p.stderr.toString(), json };
}

/** Makes a temp directory tree (from tempDir or workspace) readable and writable by every user, for cliUnprivileged. */
export function openToAll(dir: string): void {
  Bun.spawnSync(["chmod", "-R", "a+rwX", dir]);
}
