// `auditgraph completion bash|zsh|fish`: every command and flag of the command tree is in each
// script, each script parses in its shell, and bash and fish (zsh: registration only, its
// completion needs a terminal) complete commands, nested commands and flags.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandTree, type CommandNode } from "../../src/cli/commands/completion.ts";
import { root } from "../../src/cli/main.ts";
import { cli } from "../helpers/cli.ts";

let tree: CommandNode;
let dir: string;
const scripts: Record<string, string> = {};

beforeAll(async () => {
  tree = await commandTree(root);
  dir = mkdtempSync(join(tmpdir(), "ag-completion-"));
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = cli(["completion", shell]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    scripts[shell] = r.stdout;
    writeFileSync(join(dir, shell), r.stdout);
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const walk = (n: CommandNode): CommandNode[] => [n, ...n.subcommands.flatMap(walk)];

function run(cmd: string[]) {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", HOME: dir } });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("the tree has every command of `auditgraph --help`, the nested ones and this one", () => {
  const help = cli(["--help"]).stdout;
  const listed = [...help.split("COMMANDS")[1]!.matchAll(/^\s+([a-z-]+)\s{2,}/gm)].map((m) => m[1]);
  expect(tree.subcommands.map((c) => c.path[0])).toEqual(listed);
  expect(walk(tree).map((n) => n.path.join(" "))).toContain("runs prune");
  expect(walk(tree).map((n) => n.path.join(" "))).toContain("completion");
});

describe.each(["bash", "zsh", "fish"])("%s", (shell) => {
  test("names every command and every flag", () => {
    const text = scripts[shell]!;
    for (const n of walk(tree)) {
      for (const c of n.subcommands) expect(text).toContain(c.path.at(-1)!);
      for (const f of n.flags) for (const s of f.spellings) expect(text).toContain(shell === "fish" ? (s.startsWith("--") ? `-l ${s.slice(2)}` : `-s ${s.slice(1)}`) : s);
    }
    expect(text).toContain("group-by"); // a flag of `list`
    expect(text).toContain("why-connected");
  });

  test.skipIf(shell === "fish" && !Bun.which("fish"))("parses (-n)", () => {
    const r = run([shell, "-n", join(dir, shell)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

test("bash: commands, nested commands, flags, and file names for a flag's value", () => {
  const complete = (...words: string[]) => {
    const line = words.map((w) => `'${w}'`).join(" ");
    const r = run(["bash", "-c", `source '${join(dir, "bash")}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _auditgraph; printf '%s\\n' "\${COMPREPLY[@]}"; complete -p auditgraph`]);
    expect(r.stderr).toBe("");
    return r.stdout.trim().split("\n");
  };
  expect(complete("auditgraph", "")).toEqual([...tree.subcommands.map((c) => c.path[0]!), "complete -o default -F _auditgraph auditgraph"]);
  expect(complete("auditgraph", "ru")).toEqual(["runs", "complete -o default -F _auditgraph auditgraph"]);
  expect(complete("auditgraph", "runs", "")).toEqual(["list", "show", "prune", "complete -o default -F _auditgraph auditgraph"]);
  expect(complete("auditgraph", "list", "--gr")).toEqual(["--group-by", "complete -o default -F _auditgraph auditgraph"]);
  expect(complete("auditgraph", "runs", "prune", "--ke")).toEqual(["--keep", "complete -o default -F _auditgraph auditgraph"]);
  // a value, and a positional: nothing from us, so bash completes file names (-o default)
  expect(complete("auditgraph", "ingest", "--root", "")).toEqual(["complete -o default -F _auditgraph auditgraph"]);
  expect(complete("auditgraph", "node", "doc:x", "")).toEqual(["complete -o default -F _auditgraph auditgraph"]);
});

test("zsh: registers _auditgraph with compdef when sourced", () => {
  const r = run(["zsh", "-fc", `autoload -Uz compinit; compinit -u -d '${join(dir, "zcompdump")}'; source '${join(dir, "zsh")}'; print -r -- $_comps[auditgraph]`]);
  expect(r.stderr).toBe("");
  expect(r.stdout).toBe("_auditgraph\n");
  expect(scripts.zsh!.startsWith("#compdef auditgraph\n")).toBe(true);
});

test.skipIf(!Bun.which("fish"))("fish: commands, nested commands and their own flags", () => {
  const complete = (line: string) => {
    const r = run(["fish", "--no-config", "-c", `source '${join(dir, "fish")}'; complete -C '${line}'`]);
    expect(r.stderr).toBe("");
    return r.stdout.trim().split("\n").map((l) => l.split("\t")[0]);
  };
  expect(complete("auditgraph ")).toEqual(tree.subcommands.map((c) => c.path[0]!).sort());
  expect(complete("auditgraph runs ")).toEqual(["list", "prune", "show"]);
  const runsList = complete("auditgraph runs list --");
  expect(runsList).toContain("--json");
  expect(runsList).not.toContain("--group-by"); // that is the top-level `list`'s
  expect(complete("auditgraph list --gr")).toEqual(["--group-by"]);
});

test("an unknown shell is a usage error", () => {
  const r = cli(["completion", "powershell"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("completion knows bash, zsh and fish, not 'powershell'");
});
