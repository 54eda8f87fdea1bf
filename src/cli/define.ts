/**
 * Commands are described with citty's types, but defined, parsed and described (`--help`) here:
 * citty's module imports node:util, and a bundled executable loads every static import at start,
 * which cost each run of `auditgraph` several milliseconds before any work began. The parsing and
 * the help text follow citty 0.2 (over node:util's parseArgs, non-strict) for the flags this CLI
 * declares:
 *
 * - `--name value` and `--name=value` for string flags (the next argument is taken as the value,
 *   even when it starts with a dash); a string flag without a value is "";
 * - `--flag`, `--flag=false` and `--no-flag` for booleans (a declared `no-flag` is itself);
 * - a flag the command does not declare is a usage error (exit 2) naming it, with the declared flag
 *   it is closest to when one is close (`unknown flag --profle; did you mean --profile?`): a typo
 *   must not run the command with defaults. (citty keeps unknown flags and the commands ignored
 *   them.) `--help`/`-h` anywhere and `--version`/`-V` first are handled before, in main.ts;
 * - `--` ends the flags; positionals fill the declared positional arguments in order, the rest are
 *   in `_`; a missing required one is the same CLIError (exit 2) citty raises;
 * - each value is also reachable as camelCase and kebab-case (`count-only`, `countOnly`).
 */
import type { ArgsDef, CommandDef, ParsedArgs } from "citty";
import { usageError } from "../shared/errors.ts";

/** Identity, typed as citty's (which this replaces at run time). */
export function defineCommand<const T extends ArgsDef = ArgsDef>(def: CommandDef<T>): CommandDef<T> {
  return def;
}

/** A usage error (exit 2), named as citty names its own. */
export class CLIError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = "CLIError";
  }
}

// camel and kebab run for every flag of the command at every start: by hand, not with regular
// expressions, whose first use (compiling each) was about 2 ms of a read command's profile.
const isLowerOrDigit = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
/** `edge-type` → `edgeType` (a run of `-`/`_` before a lower-case letter or digit goes, the letter is upper-cased). */
function camel(s: string): string {
  if (!s.includes("-") && !s.includes("_")) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    let j = i;
    while (j < s.length && (s[j] === "-" || s[j] === "_")) j++;
    if (j > i && j < s.length && isLowerOrDigit(s.charCodeAt(j))) { out += s[j]!.toUpperCase(); i = j; }
    else { out += s.slice(i, j + 1); i = j; }
  }
  return out;
}
/** `edgeType` or `edge_type` → `edge-type` (a hyphen between a lower-case letter or digit and a capital; `_` → `-`; lower-cased). */
function kebab(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90 && i > 0 && isLowerOrDigit(s.charCodeAt(i - 1))) out += "-";
    out += c === 95 ? "-" : s[i]!;
  }
  return out.toLowerCase();
}
/** Every spelling the parser takes for a flag's name (`edge-type`, `edgeType`). */
export const flagSpellings = (name: string): string[] => [...new Set([name, camel(name), kebab(name)])];

/** Edit distance with adjacent transpositions (optimal string alignment): `jsno` is one from `json`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The declared flag `typed` most likely meant: the closest by edit distance (at most 1 for names up
 * to 4 letters, else 2), else the only one it begins or that begins it (3 letters or more:
 * `--count` for `--count-only`, `--output` for `--out`); undefined when none is.
 */
export function closestFlag(typed: string, names: string[]): string | undefined {
  const t = typed.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const dist = editDistance(t, n.toLowerCase());
    if (dist < bestD) { best = n; bestD = dist; }
  }
  if (best !== undefined && bestD <= (t.length <= 4 ? 1 : 2)) return best;
  const prefixed = t.length >= 3 ? names.filter((n) => n.toLowerCase().startsWith(t)) : [];
  if (prefixed.length === 1) return prefixed[0];
  const within = names.filter((n) => n.length >= 3 && t.startsWith(n.toLowerCase()));
  return within.length === 1 ? within[0] : undefined;
}

/**
 * Parses a command's arguments as citty does (see above). `command`: the command's words
 * (`runs list`), for the hint of an unknown flag.
 */
export function parseArgv(raw: string[], defs: ArgsDef, command?: string): ParsedArgs {
  const kind = new Map<string, "string" | "boolean">();
  const main = new Map<string, string>(); // any spelling → declared name
  for (const [name, d] of Object.entries(defs)) {
    if (d.type === "positional") continue;
    const t = d.type === "boolean" ? "boolean" : "string";
    const alias = (d as { alias?: string | string[] }).alias;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    for (const n of [name, camel(name), kebab(name), ...aliases]) { kind.set(n, t); main.set(n, name); }
  }
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const unknown = (spelled: string, name: string): never => {
    const declared = Object.entries(defs).filter(([, d]) => d.type !== "positional").map(([n]) => n);
    const takesPositional = Object.values(defs).some((d) => d.type === "positional");
    const meant = name.length > 1 ? closestFlag(name, declared) : undefined;
    throw usageError(
      `unknown flag ${spelled}${command ? ` for '${command}'` : ""}${meant ? `; did you mean --${meant}?` : ""}`,
      `'auditgraph ${command ? `${command} ` : ""}--help' lists its flags${takesPositional && !spelled.startsWith("--") ? "; an argument starting with '-' goes after '--'" : ""}`,
    );
  };
  const set = (spelled: string, v: string | boolean) => {
    const name = main.get(spelled) ?? spelled;
    if (kind.get(name) === "boolean" && typeof v === "string") {
      // `--desc=false` turns it off; any value but true or false (`--desc=no`) is a mistake, not on.
      if (v !== "true" && v !== "false") throw usageError(`--${name} takes no value, or =true / =false; got '${v}'`);
      v = v === "true";
    }
    else if (kind.get(name) === "string" && typeof v === "boolean") v = "";
    values[name] = v;
  };
  /**
   * The value of a string flag written as the next argument: an argument that is itself a flag
   * (`--tag --json`) is not one, the flag was given without its value (a negative number or `-`
   * alone still is a value, for the command to judge).
   */
  const valueAfter = (flag: string, i: number): string | undefined => {
    if (i + 1 >= raw.length) return undefined;
    const next = raw[i + 1]!;
    if (next.length > 1 && next.startsWith("-") && !/^-\d/.test(next)) {
      throw usageError(`${flag} needs a value, and '${next}' is a flag`, `a value that starts with '-' is written ${flag}=VALUE`);
    }
    return next;
  };
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (a === "--") { positionals.push(...raw.slice(i + 1)); break; }
    if (a.startsWith("--no-") && !a.includes("=")) {
      const name = a.slice(2);
      if (main.has(name)) set(name, true); // a flag declared as `no-…` (upgrade's --no-delta)
      else if (main.has(a.slice(5))) set(a.slice(5), false);
      else unknown(a, name);
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) {
        if (!main.has(a.slice(2, eq))) unknown(a.slice(0, eq), a.slice(2, eq));
        set(a.slice(2, eq), a.slice(eq + 1));
        continue;
      }
      const name = a.slice(2);
      if (!main.has(name)) unknown(a, name);
      const value = kind.get(name) === "string" ? valueAfter(a, i) : undefined;
      if (value !== undefined) { set(name, value); i++; }
      else set(name, true);
      continue;
    }
    if (a.length > 1 && a.startsWith("-")) {
      const eq = a.indexOf("=");
      if (eq === 2) {
        if (!main.has(a[1]!)) unknown(a.slice(0, 2), a[1]!);
        set(a[1]!, a.slice(3));
        continue;
      }
      const letters = a.slice(1);
      for (const c of letters) if (!main.has(c)) unknown(letters.length === 1 ? a : `-${c} (in ${a})`, c);
      const value = letters.length === 1 && kind.get(letters) === "string" ? valueAfter(a, i) : undefined;
      if (value !== undefined) { set(letters, value); i++; continue; }
      for (const c of letters) set(c, true);
      continue;
    }
    positionals.push(a);
  }
  const out: Record<string, unknown> = { _: positionals };
  for (const [name, d] of Object.entries(defs)) {
    let v: unknown;
    if (d.type === "positional") {
      v = positionals.length ? positionals.shift() : d.default;
      if (v === undefined && d.required !== false && d.default === undefined) {
        throw new CLIError(`Missing required positional argument: ${name.toUpperCase()}`, "EARG");
      }
    } else {
      v = name in values ? values[name] : d.default;
      if (d.required && v === undefined) throw new CLIError(`Missing required argument: --${name}`, "EARG");
    }
    if (v === undefined) continue;
    out[name] = v;
    out[camel(name)] ??= v;
    out[kebab(name)] ??= v;
  }
  for (const [k, v] of Object.entries(values)) if (!(k in out)) out[k] = v;
  return out as ParsedArgs;
}

/** Runs one leaf command with its parsed arguments and returns what its `run` returned. */
export async function runLeaf(cmd: CommandDef<any>, rawArgs: string[], command?: string): Promise<unknown> {
  const defs = (typeof cmd.args === "function" ? await cmd.args() : await cmd.args) ?? {};
  const args = parseArgv(rawArgs, defs, command);
  // An argument beyond the declared ones is a mistake (`list document` for `list --type document`),
  // not something to drop: only a command that takes more words (query) says so.
  const rest = (args._ as unknown[] | undefined) ?? [];
  if (rest.length && !takesMore.has(cmd)) {
    throw new CLIError(`unexpected argument ${JSON.stringify(String(rest[0]))}${command ? ` for '${command}'` : ""}`, "EARG");
  }
  return cmd.run?.({ rawArgs, args, cmd, data: undefined } as never);
}

const takesMore = new WeakSet<CommandDef<any>>();
/** Marks a command that takes words beyond its declared positional arguments (in `args._`). */
export function withMoreWords<T extends CommandDef<any>>(cmd: T): T {
  takesMore.add(cmd);
  return cmd;
}

const snake = (s: string) => kebab(s).replace(/-/g, "_");
const columns = (rows: [string, string][], width: (s: string) => number) => {
  const w = Math.max(...rows.map((r) => width(r[0])));
  return rows.map(([a, b]) => `  ${" ".repeat(w - width(a))}${a}    ${b}`.trimEnd()).join("\n");
};

/** A command's help, laid out as citty's renderUsage lays it out (colour only when asked). */
/** `at`: the command's full name and the program's version, for a command nested deeper than one level (`auditgraph runs list`). */
export async function renderUsage(cmd: CommandDef<any>, parent: CommandDef<any> | undefined, color: boolean, at: { name?: string; version?: string } = {}): Promise<string> {
  const paint = (code: string, end = "39") => (t: string) => (color ? `\x1b[${code}m${t}\x1b[${end}m` : t);
  const cyan = paint("36");
  const gray = paint("90");
  const title = (t: string) => (color ? `\x1b[4m\x1b[1m${t}\x1b[22m\x1b[24m` : t);
  const width = (t: string) => t.replace(/\x1b\[[0-9;]*m/g, "").length;
  const meta = (typeof cmd.meta === "function" ? await cmd.meta() : await cmd.meta) ?? {};
  const parentMeta = (typeof parent?.meta === "function" ? await parent.meta() : await parent?.meta) ?? {};
  const defs: ArgsDef = (typeof cmd.args === "function" ? await cmd.args() : await cmd.args) ?? {};
  const name = at.name ?? `${parentMeta.name ? `${parentMeta.name} ` : ""}${meta.name ?? ""}`;
  const hint = (n: string, d: ArgsDef[string]) => {
    const v = "valueHint" in d && d.valueHint ? `=<${d.valueHint}>` : "";
    return !d.type || d.type === "positional" || d.type === "boolean" ? v : v || `=<${snake(n)}>`;
  };
  const describe = (d: ArgsDef[string], required: boolean) =>
    [d.description, required ? gray("(Required)") : "", d.default === undefined ? "" : gray(`(Default: ${d.default})`)].filter(Boolean).join(" ");
  const pos: [string, string][] = [];
  const opts: [string, string][] = [];
  const usage: string[] = [];
  for (const [n, d] of Object.entries(defs)) {
    if (d.type === "positional") {
      const required = d.required !== false && d.default === undefined;
      pos.push([cyan(n.toUpperCase() + hint(n, d)), describe(d, required)]);
      usage.push(required ? `<${n.toUpperCase()}>` : `[${n.toUpperCase()}]`);
    } else {
      const required = d.required === true && d.default === undefined;
      const alias = (d as { alias?: string | string[] }).alias;
      const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
      opts.push([cyan([...aliases.map((a) => `-${a}`), `--${n}`].join(", ") + hint(n, d)), describe(d, required)]);
      if (required) usage.push(`--${n}${hint(n, d)}`);
    }
  }
  const commands: [string, string][] = [];
  if (cmd.subCommands) {
    const subs = typeof cmd.subCommands === "function" ? await cmd.subCommands() : await cmd.subCommands;
    const names: string[] = [];
    for (const [n, sub] of Object.entries(subs ?? {})) {
      const resolved = typeof sub === "function" ? await (sub as () => Promise<CommandDef<any>>)() : await sub;
      const m = (typeof resolved?.meta === "function" ? await resolved.meta() : await resolved?.meta) ?? {};
      if (m.hidden) continue;
      commands.push([cyan(n), m.description ?? ""]);
      names.push(n);
    }
    usage.push(names.join("|"));
  }
  const version = meta.version ?? parentMeta.version ?? at.version;
  const out = [gray(`${meta.description} (${name}${version ? ` v${version}` : ""})`), ""];
  out.push(`${title("USAGE")} ${cyan(`${name}${opts.length || pos.length ? " [OPTIONS]" : ""} ${usage.join(" ")}`)}`, "");
  if (pos.length) out.push(title("ARGUMENTS"), "", columns(pos, width), "");
  if (opts.length) out.push(title("OPTIONS"), "", columns(opts, width), "");
  if (commands.length) out.push(title("COMMANDS"), "", columns(commands, width), "", `Use ${cyan(`${name} <command> --help`)} for more information about a command.`);
  return out.join("\n");
}
