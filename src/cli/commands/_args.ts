// Flag groups shared by several commands: spread the ones a command needs into its `args`.
import type { ArgsDef } from "citty";
import { warn } from "../output.ts";
import { flagSpellings } from "../define.ts";
import { clip, usageError } from "../../shared/errors.ts";
import { normalJit } from "../../shared/jit.ts";

export const jsonArgs = {
  json: { type: "boolean", description: "Print exactly one JSON document on stdout" },
} as const satisfies ArgsDef;

export const workspaceArgs = {
  root: { type: "string", description: "Workspace root (default: $AUDITGRAPH_ROOT, else the current directory)", valueHint: "DIR" },
  config: { type: "string", description: "Config file (default: $AUDITGRAPH_CONFIG, else <root>/config/pkg.yaml, else built-in)", valueHint: "FILE" },
  profile: { type: "string", description: "Profile name (default: the config's active_profile)", valueHint: "NAME" },
} as const satisfies ArgsDef;

export const withWorkspace = async (args: { root?: string; config?: string; profile?: string }) => {
  const { loadWorkspace } = await import("../../config/load.ts");
  const ws = loadWorkspace({ root: args.root, config: args.config, profile: args.profile });
  for (const w of ws.warnings) warn(w);
  return ws;
};

/** The workspace plus its current run, through the compatibility gate (exit 3 when incompatible). */
export const withStore = async (args: { root?: string; config?: string; profile?: string }) => {
  const ws = await withWorkspace(args);
  const { openStore } = await import("../../store/open.ts");
  const store = openStore(ws);
  opened = { profileDir: ws.profileDir, runId: store.runId };
  return { ws, store };
};

/** The run this command opened (withStore), for runReplaced. */
let opened: { profileDir: string; runId: string } | undefined;

/**
 * Whether the run this command opened stopped being current while it read it (readers take no
 * lock: an ingest then `runs prune` can delete the objects it was reading). Its damage was not
 * damage: the command is run again on the new current run (main.ts).
 */
export async function runReplaced(): Promise<boolean> {
  if (!opened) return false;
  const { pointerState } = await import("../../store/manifest.ts");
  const p = pointerState(opened.profileDir);
  const moved = p.state === "ok" && p.runId !== opened.runId;
  opened = undefined;
  return moved;
}

/** Runs of at least this many files are read with huge pages (see withIndex). */
const HUGE_PAGES_MIN_FILES = 10_000;
/**
 * Read commands over runs of at least this many files go back to the normal JIT policy (see
 * withIndex and src/shared/jit.ts): the 20,000-file benchmark workspace's `query "event loop"`
 * took 101 → 132 ms with the start-up policy, the generated 100,000-file one's 166 → 238 ms.
 */
const LARGE_RUN_FILES = 10_000;
/** An ingest that rebuilds more shards than this goes back to ordinary pages (see the ingest command). */
export const HUGE_PAGES_MAX_SHARDS = 2;

/**
 * The current run's index (see query/run-index.ts), opened through the compatibility gate.
 * `wide`: the command may read a large part of the graph (an export, a walk of more than one edge),
 * so it does not ask for huge pages.
 */
export const withIndex = async (args: { root?: string; config?: string; profile?: string }, opts: { wide?: boolean } = {}) => {
  const { ws, store } = await withStore(args);
  // A read over a large run touches tens of MiB for the first time: huge pages make that cheap
  // (src/shared/hugepages.ts). Over a small one they would add about as much memory as the heap
  // holds and save little time, so they are asked for from HUGE_PAGES_MIN_FILES files on. A read
  // of the whole graph allocates and frees GBs, which huge pages slow down; a walk of two edges or
  // more gains less than it costs (the 20,000-file benchmark's `neighbors --depth 2`: 282 ms and
  // 144 MB with them, 308 ms and 114 MB without; the target is 120 MB).
  const hp = await import("../../shared/hugepages.ts");
  const mode = hp.hugePagesSetting();
  const files = store.manifest.counts.files ?? 0;
  if (!opts.wide && (mode === "always" || (mode === "auto" && files >= HUGE_PAGES_MIN_FILES))) hp.setHugePages(true);
  // Over a large run a read decodes long postings lists: there the JIT, compiling on another core,
  // pays for itself (src/shared/jit.ts).
  if (files >= LARGE_RUN_FILES) normalJit();
  const { RunIndex } = await import("../../query/run-index.ts");
  // A one-shot command may keep the words cache it makes (query/words.ts); the servers do not write.
  return { ws, store, ix: new RunIndex(store, { writeCaches: true }) };
};

/**
 * An integer flag from `min` to `max`, written in decimal digits (not 0x10, 1e1, +5 or 2.0), or a
 * usage error naming the flag. Not given: `fallback`; given but empty (`--limit ""`, `--limit`
 * last) is an error, not the default.
 */
export function rangeFlag(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

/** A non-negative integer flag (an offset). */
export const countFlag = (value: string | undefined, name: string, fallback: number): number => rangeFlag(value, name, fallback, 0, 1_000_000_000);

/** A positive integer flag. */
export const intFlag = (value: string | undefined, name: string, fallback: number, max = 1_000_000): number => rangeFlag(value, name, fallback, 1, max);

/**
 * Every value of a string flag, in order (`--tag a --tag b`, `--tag=a`): the parser keeps only the
 * last. Stops at `--`.
 */
export function flagValues(rawArgs: string[], name: string): string[] {
  const out: string[] = [];
  const spellings = flagSpellings(name);
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") break;
    for (const n of spellings) {
      if (a === `--${n}`) { if (i + 1 < rawArgs.length) out.push(rawArgs[++i]!); else out.push(""); break; }
      if (a.startsWith(`--${n}=`)) { out.push(a.slice(n.length + 3)); break; }
    }
  }
  return out;
}

/** The warning of ingest and rebuild for a directory the scan could not list (its record's reason: `unreadable_directory`). */
export const unreadableDirWarning = (path: string) =>
  `directory ${path} cannot be read: the files under it are left out (recorded as skipped: unreadable_directory)`;

/**
 * A string flag's value, or undefined when it was not given; given without a value (`--sort`
 * last, `--sort ""`, or only commas for a list) is a usage error naming it, not "not given": a
 * typo must not run the command with its defaults.
 */
export function givenValue(value: unknown, name: string, example: string, list = false): string | undefined {
  if (value === undefined) return undefined;
  const v = String(value);
  if (v.trim() === "" || (list && !v.split(",").some((x) => x.trim()))) throw usageError(`--${name} needs a value, e.g. --${name} ${example}`);
  return v;
}

/**
 * A comma-separated flag's values, each one of `allowed`, over every time it is given (`--type a,b
 * --type c`: a, b and c); undefined when it is not given. A value outside `allowed` is a usage
 * error naming them.
 */
export function givenChoices(rawArgs: string[], name: string, example: string, allowed: readonly string[]): string[] | undefined {
  const given = flagValues(rawArgs, name);
  if (given.length === 0) return undefined;
  // Names are lower-case (`--type Section` is section), as a filter's key is read in any case.
  const out = [...new Set(given.flatMap((v) => givenValue(v, name, example, true)!.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean)))];
  for (const t of out) if (!allowed.includes(t)) throw usageError(`--${name} must be among ${allowed.join(", ")}, got '${clip(t, 80)}'`);
  return out;
}
