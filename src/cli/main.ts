/**
 * The command tree. Commands are loaded lazily (literal import paths, so `bun build --compile`
 * bundles them) and each stays thin: parse flags, call one function, print the result.
 */
import { defineCommand, renderUsage, runCommand, type CommandDef } from "citty";
import { AgError, ExitCode, describeError } from "../shared/errors.ts";
import { VERSION } from "../shared/build-info.ts";
import { printJson, red, useColor } from "./output.ts";

const usageText = async (cmd: CommandDef<any>, parent?: CommandDef<any>) => {
  const text = await renderUsage(cmd, parent);
  return useColor(process.stdout) ? text : text.replace(/\x1b\[[0-9;]*m/g, "");
};

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
    verify: load(() => import("./commands/verify.ts")),
  },
});

/** Runs the CLI and returns the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  // A reader that goes away (`auditgraph export | head`) is not an error worth a stack trace.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => { if (err.code === "EPIPE") process.exit(process.exitCode ?? 0); else throw err; });
  try {
    if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
      process.stdout.write((await usageText(root)) + "\n");
      return argv.length === 0 ? ExitCode.usage : ExitCode.ok;
    }
    if (argv[0] === "--version" || argv[0] === "-V") {
      process.stdout.write(VERSION + "\n");
      return ExitCode.ok;
    }
    const sub = await findLeaf(root, argv);
    if (sub && (argv.includes("--help") || argv.includes("-h"))) {
      process.stdout.write((await usageText(sub.cmd, sub.parent)) + "\n");
      return ExitCode.ok;
    }
    // Run the leaf directly: citty drops a subcommand's return value, which carries the exit code.
    const { result } = sub ? await runCommand(sub.cmd, { rawArgs: argv.slice(sub.depth) }) : await runCommand(root, { rawArgs: argv });
    return typeof result === "number" ? result : ExitCode.ok;
  } catch (err) {
    return reportError(err, json);
  }
}

async function findLeaf(cmd: CommandDef<any>, argv: string[]): Promise<{ cmd: CommandDef<any>; parent?: CommandDef<any>; depth: number } | undefined> {
  let cur = cmd;
  let parent: CommandDef<any> | undefined;
  let depth = 0;
  for (const a of argv) {
    if (a.startsWith("-")) break;
    const subs = typeof cur.subCommands === "function" ? await cur.subCommands() : await cur.subCommands;
    if (!subs || !(a in subs)) break;
    const next = subs[a];
    parent = cur;
    cur = typeof next === "function" ? await (next as () => Promise<CommandDef<any>>)() : await next;
    depth++;
  }
  return cur === cmd ? undefined : { cmd: cur, parent, depth };
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
    if (process.env.AUDITGRAPH_DEBUG === "1" && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
  }
  if (json) printJson(payload);
  process.stderr.write(`${red("error:")} ${message}\n`);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  return code;
}
