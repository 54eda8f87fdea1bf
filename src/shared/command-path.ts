/**
 * The command an argument list names, in a citty command tree (auditgraph's and release-server's),
 * and what is wrong when it names none that runs: an unknown name, a group (`runs`, `app`) without
 * one of its commands, or flags before the command, where the word after a flag (`runs --root ws`)
 * would otherwise be reported as an unknown command named after the flag's value.
 */
import type { CommandDef } from "citty";

type Node = CommandDef<any>;

async function subsOf(cmd: Node): Promise<Record<string, unknown> | undefined> {
  const s = typeof cmd.subCommands === "function" ? await cmd.subCommands() : await cmd.subCommands;
  return s as Record<string, unknown> | undefined;
}

async function load(next: unknown): Promise<Node> {
  return typeof next === "function" ? await (next as () => Promise<Node>)() : await (next as Node);
}

/** The deepest command the leading words of `argv` name (`depth` of them), or undefined when the first names none. */
export async function findCommand(root: Node, argv: string[]): Promise<{ cmd: Node; parent?: Node; depth: number } | undefined> {
  let cur = root;
  let parent: Node | undefined;
  let depth = 0;
  for (const a of argv) {
    if (a.startsWith("-")) break;
    const subs = await subsOf(cur);
    if (!subs || !(a in subs)) break;
    parent = cur;
    cur = await load(subs[a]);
    depth++;
  }
  return cur === root ? undefined : { cmd: cur, parent, depth };
}

/** An argument as a shell reads it back (quoted when it holds anything but plain characters). */
const shellWord = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * What is wrong with `argv` when it names no command that runs (`found`: what findCommand made of
 * it; `program`: the executable's name for the examples), or undefined when it names one.
 */
export async function commandProblem(argv: string[], found: Awaited<ReturnType<typeof findCommand>>, program: string): Promise<string | undefined> {
  if (found && !found.cmd.subCommands) return undefined;
  const rest = argv.slice(found?.depth ?? 0);
  if (!found) {
    if (rest[0] === undefined) return "No command specified.";
    if (rest[0] === "--") return "No command specified before '--'.";
    if (rest[0].startsWith("-")) return `the command goes first, then its flags (${program} COMMAND ${shellWord(rest[0])} …): '${rest[0]}' came before any command`;
    return `Unknown command ${rest[0]}`;
  }
  const group = argv.slice(0, found.depth).join(" ");
  const names = Object.keys((await subsOf(found.cmd)) ?? {});
  const has = `'${group}' takes a command: ${names.join(", ")}`;
  if (rest[0] !== undefined && !rest[0].startsWith("-")) return `Unknown command '${group} ${rest[0]}'; ${has}`;
  if (rest.length === 0) return `${has} (${program} ${group} ${names[0]})`;
  // Flags first: the command named later moves to the front; else its place is shown.
  const at = rest.findIndex((a) => names.includes(a));
  const args = at >= 0 ? [rest[at]!, ...rest.slice(0, at), ...rest.slice(at + 1)] : ["COMMAND", ...rest];
  return `${has}, before the flags (${program} ${group} ${args.map(shellWord).join(" ")})`;
}
