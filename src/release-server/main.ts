#!/usr/bin/env bun
/**
 * Entry point of the `release-server` executable: a citty command tree, loaded lazily (literal
 * import paths so `bun build --compile` bundles them). Exit codes: see domain/errors.ts.
 */
import { defineCommand, runCommand, renderUsage, type CommandDef } from "citty";
import { AgError, describeError } from "../shared/errors.ts";
import { VERSION } from "../shared/build-info.ts";
import { commandProblem, findCommand } from "../shared/command-path.ts";
import { ServerExit } from "./domain/errors.ts";

const load = (p: Promise<{ default: CommandDef<any> }>) => () => p.then((m) => m.default);

export const root = defineCommand({
  meta: { name: "release-server", version: VERSION, description: "Self-hosted release distribution server" },
  subCommands: {
    migrate: load(import("./cli/migrate.ts")),
    app: load(import("./cli/app.ts")),
    release: load(import("./cli/release.ts")),
    channel: load(import("./cli/channel.ts")),
    token: load(import("./cli/token.ts")),
    retention: load(import("./cli/retention.ts")),
    audit: load(import("./cli/audit.ts")),
    serve: load(import("./cli/serve.ts")),
  },
});

/** Runs the CLI and returns the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  try {
    if (argv.length === 0 || ["--help", "-h", "help"].includes(argv[0]) || argv.includes("--help") || argv.includes("-h")) {
      process.stdout.write((await usageFor(argv.filter((a) => !a.startsWith("-") && a !== "help"))).replace(/\x1b\[[0-9;]*m/g, "") + "\n");
      return argv.length === 0 ? ServerExit.usage : ServerExit.ok;
    }
    if (argv[0] === "--version" || argv[0] === "-V") {
      process.stdout.write(VERSION + "\n");
      return ServerExit.ok;
    }
    // A group without its command, or flags before the command: said so (citty would name a flag's value as an unknown command).
    const problem = await commandProblem(argv, await findCommand(root, argv), "release-server");
    if (problem !== undefined) throw Object.assign(new Error(problem), { name: "CLIError" });
    const { result } = await runCommand(root, { rawArgs: argv });
    return typeof result === "number" ? result : ServerExit.ok;
  } catch (err) {
    return reportError(err);
  }
}

/** Usage of the deepest command named by `path`. */
async function usageFor(path: string[]): Promise<string> {
  const found = await findCommand(root, path);
  return renderUsage(found?.cmd ?? root, found?.parent);
}

function reportError(err: unknown): number {
  if (err instanceof AgError) {
    process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ""}`);
    return err.exitCode;
  }
  if (err instanceof Error && err.name === "CLIError") {
    process.stderr.write(`error: ${describeError(err).replace(/\x1b\[[0-9;]*m/g, "")} (see 'release-server --help')\n`);
    return ServerExit.usage;
  }
  process.stderr.write(`error: internal error: ${describeError(err)}\n`);
  if (process.env.RELEASE_SERVER_DEBUG === "1" && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
  return ServerExit.internal;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
