// Flags: one a command does not declare is a usage error (exit 2) naming it and the flag it is
// closest to, so a typo never runs the command with defaults; every declared flag, --help/-h
// anywhere and --version first still work.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, workspace, ingested } from "../helpers/cli.ts";
import { closestFlag, flagSpellings, parseArgv } from "../../src/cli/define.ts";

afterAll(cleanup);

describe("an unknown flag", () => {
  test("a typo of --profile: exit 2 naming it and --profile, and nothing is ingested", () => {
    const root = workspace();
    mkdirSync(join(root, "config"));
    writeFileSync(join(root, "config", "pkg.yaml"), "profiles:\n  notesonly:\n    include_paths: [notes]\n");
    const r = cli(["ingest", "--root", root, "--profle", "notesonly"]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toBe("error: unknown flag --profle for 'ingest'; did you mean --profile?");
    expect(r.stderr).toContain("hint: 'auditgraph ingest --help' lists its flags");
    expect(existsSync(join(root, ".pkg"))).toBe(false);
    // With --json the same error is also the JSON document on stdout.
    const j = cli(["ingest", "--root", root, "--json", "--profle=notesonly"]);
    expect(j.code).toBe(2);
    expect(j.json).toMatchObject({ status: "error", code: "usage", exit_code: 2, message: "unknown flag --profle for 'ingest'; did you mean --profile?" });
    expect(existsSync(join(root, ".pkg"))).toBe(false);
  });

  test.each([
    [["runs", "list", "--jsno"], "unknown flag --jsno for 'runs list'; did you mean --json?"],
    [["git", "log", "notes", "--lmit", "3"], "unknown flag --lmit for 'git log'; did you mean --limit?"],
    [["list", "--count"], "unknown flag --count for 'list'; did you mean --count-only?"],
    [["ingest", "--no-profle"], "unknown flag --no-profle for 'ingest'"],
    [["ingest", "--frobnicate"], "unknown flag --frobnicate for 'ingest'"],
    [["ingest", "-x"], "unknown flag -x for 'ingest'"],
    [["query", "-foo"], "unknown flag -f (in -foo) for 'query'"],
    [["ui", "--json"], "unknown flag --json for 'ui'"],
    [["export", "--output", "-"], "unknown flag --output for 'export'; did you mean --out?"],
    [["init", "--profile", "x"], "unknown flag --profile for 'init'"],
    [["version", "--verbose"], "unknown flag --verbose for 'version'"],
  ])("%p → exit 2", (args, message) => {
    const root = workspace({ "notes/a.md": "# A\n" });
    const r = cli([...args, "--root", root]);
    expect({ code: r.code, line: expectOneLineError(r) }).toEqual({ code: 2, line: `error: ${message}` });
  });

  test("a boolean flag takes no value, or =true / =false: --desc=no is a usage error, not on", () => {
    const root = ingested();
    for (const bad of ["--desc=no", "--count-only=0", "--desc=1"]) {
      const r = cli(["list", "--root", root, bad]);
      expect([bad, r.code]).toEqual([bad, 2]);
      expect(expectOneLineError(r)).toContain(`takes no value, or =true / =false; got '${bad.split("=")[1]}'`);
    }
    const on = cli(["list", "--root", root, "--count-only=true"]);
    const off = cli(["list", "--root", root, "--count-only=false", "--limit", "1"]);
    expect([on.code, /^\d+\n$/.test(on.stdout), off.code, /^\d+\n$/.test(off.stdout)]).toEqual([0, true, 0, false]);
  });

  test("--root '' and --config '' are usage errors, not the current directory and the default config", () => {
    const cwd = workspace();
    for (const [flag, what] of [["--root", "--root needs a directory"], ["--config", "--config needs a file"]]) {
      const r = cli(["ingest", flag!, ""], { cwd });
      expect([flag, r.code]).toEqual([flag, 2]);
      expect(expectOneLineError(r)).toContain(what!);
    }
    expect(existsSync(join(cwd, ".pkg"))).toBe(false);
  });

  test("an argument starting with '-' goes after '--' (the hint says so where a command takes one)", () => {
    const root = ingested({ "notes/a.md": "# A\n\nthe -foo option\n" });
    const r = cli(["query", "-foo", "--root", root]);
    expect(r.stderr).toContain("an argument starting with '-' goes after '--'");
    expect(cli(["query", "--root", root, "--", "-foo"]).code).toBe(0);
  });
});

describe("what still works", () => {
  test("every flag every command declares, in each spelling the parser takes", async () => {
    const { root } = await import("../../src/cli/main.ts");
    const { commandTree } = await import("../../src/cli/commands/completion.ts");
    const walk = (n: Awaited<ReturnType<typeof commandTree>>): (typeof n)[] => [n, ...n.subcommands.flatMap(walk)];
    let checked = 0;
    for (const node of walk(await commandTree(root))) {
      if (node.path.length === 0 || node.subcommands.length) continue;
      let cmd: any = root;
      for (const w of node.path) {
        const subs = typeof cmd.subCommands === "function" ? await cmd.subCommands() : cmd.subCommands;
        const next = subs[w];
        cmd = typeof next === "function" ? await next() : next;
      }
      const defs = typeof cmd.args === "function" ? await cmd.args() : cmd.args ?? {};
      const positionals = Object.values(defs).filter((d: any) => d.type === "positional").map(() => "x");
      for (const [name, d] of Object.entries(defs) as [string, any][]) {
        if (d.type === "positional") continue;
        const forms = d.type === "boolean" ? [[`--${name}`], [`--${name}=false`], ...(name.startsWith("no-") ? [] : [[`--no-${name}`]])] : [[`--${name}`, "v"], [`--${name}=v`]];
        for (const form of forms) {
          expect(() => parseArgv([...positionals, ...form], defs, node.path.join(" "))).not.toThrow();
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  test("--help and -h after any command, --version first, flags after `--` as positionals", () => {
    for (const args of [["ingest", "--help"], ["runs", "list", "-h"], ["git", "log", "--help"], ["query", "x", "--nonsense", "--help"]]) {
      const r = cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 0 });
      expect(r.stdout).toContain("USAGE");
    }
    expect(cli(["--version"]).code).toBe(0);
    expect(cli(["-V"]).code).toBe(0);
    expect(cli(["version", "--json"]).json.version).toEqual(expect.any(String));
    expect(cli(["completion", "bash"]).code).toBe(0);
    // A nested command's help names the program and its version, as a top-level one's does; `help X` is `X --help`.
    for (const [args, usage] of [[["runs", "list", "--help"], "USAGE auditgraph runs list [OPTIONS]"], [["git", "who", "-h"], "USAGE auditgraph git who [OPTIONS] <PATH>"], [["help", "runs", "list"], "USAGE auditgraph runs list [OPTIONS]"], [["help", "list"], "USAGE auditgraph list [OPTIONS]"]] as const) {
      const r = cli([...args]);
      expect({ args, code: r.code, usage: r.stdout.split("\n")[2]!.trim() }).toEqual({ args, code: 0, usage });
      expect(r.stdout.split("\n")[0]).toMatch(new RegExp(`\\(auditgraph ${args.filter((a) => !a.startsWith("-") && a !== "help").join(" ")} v\\d`));
    }
    // After `--` they are text: `query -- --help` searches for it.
    const root = workspace();
    expect(cli(["query", "--root", root, "--", "--help"]).stdout).not.toContain("USAGE");
  });

  test("a command group without its command, or flags before the command: a usage error that says what goes where", () => {
    for (const [args, line] of [
      [["runs", "--root", "ws"], "error: 'runs' takes a command: list, show, prune, before the flags (auditgraph runs COMMAND --root ws) (see 'auditgraph --help')"],
      // The command named after the flags moves to the front; a word a shell would split is quoted.
      [["runs", "--root", "my ws", "show", "run_x"], "error: 'runs' takes a command: list, show, prune, before the flags (auditgraph runs show --root 'my ws' run_x) (see 'auditgraph --help')"],
      [["runs"], "error: 'runs' takes a command: list, show, prune (auditgraph runs list) (see 'auditgraph --help')"],
      [["git", "wh"], "error: Unknown command 'git wh'; 'git' takes a command: who, log, introduced, history (see 'auditgraph --help')"],
      [["--root", "ws", "query", "x"], "error: the command goes first, then its flags (auditgraph COMMAND --root …): '--root' came before any command (see 'auditgraph --help')"],
      [["frobnicate"], "error: Unknown command frobnicate (see 'auditgraph --help')"],
    ] as const) {
      const r = cli([...args]);
      expect({ args, code: r.code, stdout: r.stdout, line: expectOneLineError(r) }).toEqual({ args, code: 2, stdout: "", line });
    }
  });

  test("a string flag followed by another flag has no value: a usage error, not the other flag taken as its value", async () => {
    const root = await ingested();
    for (const [args, flag, next] of [
      [["query", "kafka", "--tag", "--json"], "--tag", "--json"],
      [["query", "kafka", "--tag", "--limit", "1"], "--tag", "--limit"],
      [["list", "--type", "-x"], "--type", "-x"],
    ] as const) {
      const r = cli([...args, "--root", root]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(expectOneLineError(r)).toBe(`error: ${flag} needs a value, and '${next}' is a flag`);
    }
    // The = form takes any value; a negative number is still a value (the command says what is wrong with it).
    expect(cli(["query", "kafka", "--tag=--json", "--root", root]).stdout).toContain("no hits");
    expect(expectOneLineError(cli(["query", "kafka", "--limit", "-5", "--root", root]))).toBe("error: --limit must be an integer from 1 to 1000000, got '-5'");
  });

  test("--json on an error path is read as the parser reads it: =true is on, =false and --no-json off, nothing after `--`", async () => {
    const root = await ingested();
    const notFound = (extra: string[]) => cli(["node", "nope", ...extra, "--root", root]);
    for (const on of [["--json=true"], ["--no-json", "--json"]]) expect(notFound(on).json).toMatchObject({ status: "error", code: "not_found", exit_code: 2 });
    for (const off of [["--json=false"], ["--json", "--no-json"]]) {
      const r = notFound(off);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
    }
    const r = cli(["query", "--root", root, "--", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("{")).toBe(false);
  });

  test("upgrade's --no-delta is its own flag, not the negation of an unknown one", () => {
    const defs = { "no-delta": { type: "boolean" as const }, json: { type: "boolean" as const } };
    const parsed = (argv: string[]) => parseArgv(argv, defs) as Record<string, unknown>;
    expect(parsed(["--no-delta"])["no-delta"]).toBe(true);
    expect(parsed(["--no-json"]).json).toBe(false);
    expect(() => parseArgv(["--no-deltas"], defs)).toThrow("unknown flag --no-deltas");
  });
});

test("the flag meant: edit distance (transpositions count one), else a unique prefix", () => {
  const names = ["root", "config", "profile", "json", "count-only", "group-by", "limit", "offset", "edge-type", "max-depth"];
  expect(closestFlag("profle", names)).toBe("profile");
  expect(closestFlag("Profile", names)).toBe("profile");
  expect(closestFlag("jsno", names)).toBe("json");
  expect(closestFlag("rot", names)).toBe("root");
  expect(closestFlag("edgetype", names)).toBe("edge-type");
  expect(closestFlag("prof", names)).toBe("profile");
  expect(closestFlag("count", names)).toBe("count-only");
  expect(closestFlag("output", ["out", "format"])).toBe("out");
  expect(closestFlag("limits", names)).toBe("limit");
  expect(closestFlag("frobnicate", names)).toBeUndefined();
  expect(closestFlag("xy", names)).toBeUndefined();
});

test("every spelling of a flag: as declared, camelCase and kebab-case (snake_case and runs of separators too)", () => {
  expect(flagSpellings("edge-type")).toEqual(["edge-type", "edgeType"]);
  expect(flagSpellings("max_depth")).toEqual(["max_depth", "maxDepth", "max-depth"]);
  expect(flagSpellings("groupBy")).toEqual(["groupBy", "group-by"]);
  expect(flagSpellings("json")).toEqual(["json"]);
  expect(flagSpellings("a__b-1")).toEqual(["a__b-1", "aB1", "a--b-1"]);
  expect(flagSpellings("HTTPServer")).toEqual(["HTTPServer", "httpserver"]);
  expect(flagSpellings("x-")).toEqual(["x-"]);
  expect(parseArgv(["--edgeType", "links_to", "--maxDepth=2"], { "edge-type": { type: "string" }, "max-depth": { type: "string" } })).toMatchObject({ "edge-type": "links_to", "max-depth": "2" });
});
