/**
 * The command tree. Commands are loaded lazily (literal import paths, so `bun build --compile`
 * bundles them) and each stays thin: parse flags, call one function, print the result.
 */
import type { CommandDef } from "citty";
import { CLIError, defineCommand, renderUsage, runLeaf } from "./define.ts";
import { AgError, ExitCode, describeError } from "../shared/errors.ts";
import { COMPILED, VERSION } from "../shared/build-info.ts";
import { normalJit } from "../shared/jit.ts";
import { commandProblem, findCommand } from "../shared/command-path.ts";
import { flushStdout, isTTY, printable, printJson, red, useColor, writeStderr, writeStdout } from "./output.ts";

const usageText = (cmd: CommandDef<any>, parent?: CommandDef<any>, path?: string[]) =>
  renderUsage(cmd, parent, useColor(1), path ? { name: ["auditgraph", ...path].join(" "), version: VERSION } : {});

/**
 * Commands that are short reads: they keep the executable's start-up JIT policy (src/shared/jit.ts).
 * Every other command (ingest, export, verify, the mcp and ui servers...) runs with the normal one.
 */
export const SHORT_READS = new Set(["version", "query", "node", "neighbors", "why-connected", "list", "completion"]);

/** Commands that write: Ctrl-C or SIGTERM stops them with one line and releases the lock (see onInterrupt). */
const WRITERS = new Set(["ingest", "rebuild", "runs prune"]);

/**
 * Ctrl-C (SIGINT) or SIGTERM during a writing command: one `error:` line (and the JSON error
 * document with `--json`), exit 130 or 143, and the lock released (its exit hook, store/lock.ts).
 * What the writer had put in place is what a killed writer leaves: the pointer names the previous
 * run or the new one, whole, and the next writer sweeps the rest (store/sweep.ts). A write in
 * progress (a file's bytes, a rename) finishes first: the handler runs between them.
 */
function onInterrupt(json: boolean): void {
  const stop = (signal: "SIGINT" | "SIGTERM", code: number) => () => {
    reportError(new AgError(`interrupted by ${signal}: the store is whole (the run that was current, or the new one, is current); what was left half-done is swept by the next writer`, { exitCode: code, code: "interrupted" }), json);
    flushStdout();
    process.exit(code);
  };
  process.once("SIGINT", stop("SIGINT", 130));
  process.once("SIGTERM", stop("SIGTERM", 143));
}

/** Read commands that print only once they have read what they answer: run once more when the run they read was replaced meanwhile. */
const RETRIED_READS = new Set(["query", "node", "neighbors", "why-connected", "list", "export"]);

const load = (f: () => Promise<{ default: CommandDef<any> }>) => () => f().then((m) => m.default);

export const root = defineCommand({
  meta: { name: "auditgraph", version: VERSION, description: "Local-first, deterministic knowledge graph of notes and code" },
  subCommands: {
    version: load(() => import("./commands/version.ts")),
    init: load(() => import("./commands/init.ts")),
    ingest: load(() => import("./commands/ingest.ts")),
    rebuild: load(() => import("./commands/rebuild.ts")),
    budget: load(() => import("./commands/budget.ts")),
    query: load(() => import("./commands/query.ts")),
    node: load(() => import("./commands/node.ts")),
    neighbors: load(() => import("./commands/neighbors.ts")),
    "why-connected": load(() => import("./commands/why-connected.ts")),
    list: load(() => import("./commands/list.ts")),
    export: load(() => import("./commands/export.ts")),
    runs: load(() => import("./commands/runs/index.ts")),
    diff: load(() => import("./commands/diff.ts")),
    mcp: load(() => import("./commands/mcp.ts")),
    git: load(() => import("./commands/git/index.ts")),
    verify: load(() => import("./commands/verify.ts")),
    "validate-store": load(() => import("./commands/validate-store.ts")),
    completion: load(() => import("./commands/completion.ts")),
    upgrade: load(() => import("./commands/upgrade.ts")),
    ui: load(() => import("./commands/ui.ts")),
  },
});

/** The arguments before `--`: what follows it is text (`query -- --json` searches for `--json`). */
const flagsPart = (argv: string[]) => { const end = argv.indexOf("--"); return end < 0 ? argv : argv.slice(0, end); };

/**
 * Whether the command line asks for JSON, as the parser reads `--json`: `--json` or `--json=true`
 * on, `--json=false` or `--no-json` off, the last one standing. An error is printed the way the
 * command's own output would have been.
 */
function wantsJson(argv: string[]): boolean {
  let on = false;
  for (const a of flagsPart(argv)) {
    if (a === "--json" || a === "--json=true") on = true;
    else if (a === "--json=false" || a === "--no-json") on = false;
  }
  return on;
}

/** Runs the CLI and returns the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  // `help COMMAND…` is `COMMAND… --help`.
  if (argv[0] === "help" && argv.length > 1) argv = [...argv.slice(1), "--help"];
  const json = wantsJson(argv);
  // Every exit code is set before stdout is flushed (finally): a reader that has gone (EPIPE) ends
  // the process with it (output.ts), not with 0. reportError sets its own.
  const exit = (code: number) => (process.exitCode = code);
  try {
    if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
      writeStdout((await usageText(root)) + "\n");
      return exit(argv.length === 0 ? ExitCode.usage : ExitCode.ok);
    }
    if (argv[0] === "--version" || argv[0] === "-V") {
      writeStdout(VERSION + "\n");
      return exit(ExitCode.ok);
    }
    const sub = await findCommand(root, argv);
    const flags = flagsPart(argv);
    if (sub && (flags.includes("--help") || flags.includes("-h"))) {
      writeStdout((await usageText(sub.cmd, sub.parent, argv.slice(0, sub.depth))) + "\n");
      return exit(ExitCode.ok);
    }
    const problem = await commandProblem(argv, sub, "auditgraph");
    if (problem !== undefined || !sub) throw new CLIError(problem ?? "No command specified.", "E_NO_COMMAND");
    const path = argv.slice(0, sub.depth).join(" ");
    if (!SHORT_READS.has(path)) normalJit();
    if (WRITERS.has(path)) onInterrupt(json);
    let result: unknown;
    try { result = await runLeaf(sub.cmd, argv.slice(sub.depth), path); } catch (err) {
      // A read that met a missing or damaged object of a run an ingest and `runs prune` replaced
      // meanwhile: run once more, on the run that is current now (see runReplaced).
      if (!(err instanceof AgError) || err.exitCode !== ExitCode.verify || !RETRIED_READS.has(path)) throw err;
      const { runReplaced } = await import("./commands/_args.ts");
      if (!(await runReplaced())) throw err;
      result = await runLeaf(sub.cmd, argv.slice(sub.depth), path);
    }
    return exit(typeof result === "number" ? result : ExitCode.ok);
  } catch (err) {
    return reportError(err, json);
  } finally {
    flushStdout();
    // The update notice (src/upgrade/notice.ts), loaded only for an installed binary on a terminal.
    const off = process.env.AUDITGRAPH_NO_UPDATE_CHECK;
    if (COMPILED && !json && argv[0] !== "upgrade" && argv[0] !== "completion" && (!off || off === "0") && isTTY(2)) {
      try { (await import("../upgrade/notice.ts")).updateNotice(writeStderr); } catch {}
    }
  }
}

export function reportError(err: unknown, json: boolean): number {
  let code: number = ExitCode.internal;
  let message: string;
  let hint: string | undefined;
  let payload: Record<string, unknown>;
  if (err instanceof AgError) {
    code = err.exitCode;
    message = err.message;
    hint = err.hint;
    payload = { status: "error", code: err.code, exit_code: code, message, ...(hint ? { hint } : {}), ...(err.details ?? {}) };
  } else if (err instanceof Error && err.name === "CLIError") {
    code = ExitCode.usage;
    message = `${describeError(err).replace(/\x1b\[[0-9;]*m/g, "")} (see 'auditgraph --help')`;
    payload = { status: "error", code: "usage", exit_code: code, message };
  } else {
    message = `internal error: ${describeError(err)}`;
    payload = { status: "error", code: "internal", exit_code: code, message };
    if (process.env.AUDITGRAPH_DEBUG === "1" && err instanceof Error && err.stack) writeStderr(err.stack + "\n");
  }
  // Set before anything is written: a closed stdout or stderr (EPIPE) ends the process with this code, not 0.
  process.exitCode = code;
  if (json) printJson(payload);
  writeStderr(`${red("error:")} ${printable(message)}\n`);
  if (hint) writeStderr(`hint: ${printable(hint)}\n`);
  return code;
}
