/**
 * Commands are described with citty's types, but defined, parsed and described (`--help`) here:
 * citty's module imports node:util, and a bundled executable loads every static import at start,
 * which cost each run of `auditgraph` several milliseconds before any work began. The parsing and
 * the help text follow citty 0.2 (over node:util's parseArgs, non-strict) for the flags this CLI
 * declares:
 *
 * - `--name value` and `--name=value` for string flags (the next argument is taken as the value,
 *   even when it starts with a dash); a string flag without a value is "";
 * - `--flag`, `--flag=false` and `--no-flag` for booleans; unknown flags are kept (true, or their
 *   `=value`) and ignored by the commands;
 * - `--` ends the flags; positionals fill the declared positional arguments in order, the rest are
 *   in `_`; a missing required one is the same CLIError (exit 2) citty raises;
 * - each value is also reachable as camelCase and kebab-case (`count-only`, `countOnly`).
 */
import type { ArgsDef, CommandDef, ParsedArgs } from "citty";

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

const camel = (s: string) => s.replace(/[-_]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/_/g, "-").toLowerCase();

/** Parses a command's arguments as citty does (see above). */
export function parseArgv(raw: string[], defs: ArgsDef): ParsedArgs {
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
  const set = (spelled: string, v: string | boolean) => {
    const name = main.get(spelled) ?? spelled;
    if (kind.get(name) === "boolean" && typeof v === "string") v = v !== "false";
    else if (kind.get(name) === "string" && typeof v === "boolean") v = "";
    values[name] = v;
  };
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (a === "--") { positionals.push(...raw.slice(i + 1)); break; }
    if (a.startsWith("--no-") && !a.includes("=")) { set(a.slice(5), false); continue; }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) { set(a.slice(2, eq), a.slice(eq + 1)); continue; }
      const name = a.slice(2);
      if (kind.get(name) === "string" && i + 1 < raw.length) set(name, raw[++i]!);
      else set(name, true);
      continue;
    }
    if (a.length > 1 && a.startsWith("-")) {
      const eq = a.indexOf("=");
      if (eq === 2) { set(a[1]!, a.slice(3)); continue; }
      const letters = a.slice(1);
      if (letters.length === 1 && kind.get(letters) === "string" && i + 1 < raw.length) { set(letters, raw[++i]!); continue; }
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
export async function runLeaf(cmd: CommandDef<any>, rawArgs: string[]): Promise<unknown> {
  const defs = (typeof cmd.args === "function" ? await cmd.args() : await cmd.args) ?? {};
  const args = parseArgv(rawArgs, defs);
  return cmd.run?.({ rawArgs, args, cmd, data: undefined } as never);
}

const snake = (s: string) => kebab(s).replace(/-/g, "_");
const columns = (rows: [string, string][], width: (s: string) => number) => {
  const w = Math.max(...rows.map((r) => width(r[0])));
  return rows.map(([a, b]) => `  ${" ".repeat(w - width(a))}${a}    ${b}`.trimEnd()).join("\n");
};

/** A command's help, laid out as citty's renderUsage lays it out (colour only when asked). */
export async function renderUsage(cmd: CommandDef<any>, parent: CommandDef<any> | undefined, color: boolean): Promise<string> {
  const paint = (code: string, end = "39") => (t: string) => (color ? `\x1b[${code}m${t}\x1b[${end}m` : t);
  const cyan = paint("36");
  const gray = paint("90");
  const title = (t: string) => (color ? `\x1b[4m\x1b[1m${t}\x1b[22m\x1b[24m` : t);
  const width = (t: string) => t.replace(/\x1b\[[0-9;]*m/g, "").length;
  const meta = (typeof cmd.meta === "function" ? await cmd.meta() : await cmd.meta) ?? {};
  const parentMeta = (typeof parent?.meta === "function" ? await parent.meta() : await parent?.meta) ?? {};
  const defs: ArgsDef = (typeof cmd.args === "function" ? await cmd.args() : await cmd.args) ?? {};
  const name = `${parentMeta.name ? `${parentMeta.name} ` : ""}${meta.name ?? ""}`;
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
  const version = meta.version ?? parentMeta.version;
  const out = [gray(`${meta.description} (${name}${version ? ` v${version}` : ""})`), ""];
  out.push(`${title("USAGE")} ${cyan(`${name}${opts.length || pos.length ? " [OPTIONS]" : ""} ${usage.join(" ")}`)}`, "");
  if (pos.length) out.push(title("ARGUMENTS"), "", columns(pos, width), "");
  if (opts.length) out.push(title("OPTIONS"), "", columns(opts, width), "");
  if (commands.length) out.push(title("COMMANDS"), "", columns(commands, width), "", `Use ${cyan(`${name} <command> --help`)} for more information about a command.`);
  return out.join("\n");
}
