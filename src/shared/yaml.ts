/**
 * YAML files that point at their own lines: parse errors and validation issues both come out as
 * one configuration error (exit 2) of the form `FILE:LINE: key.path: problem`.
 */
import type * as v from "valibot";
import type { Document } from "yaml";
import { requireEntry } from "./entries.ts";
import { configError } from "./errors.ts";

type YamlLib = typeof import("./yaml-lib.ts");
let lib: YamlLib | undefined;
/**
 * The `yaml` library, loaded on first use from its own entry point (shared/yaml-lib.ts). A program
 * built without that entry (the release server) hands its own import to useYaml first.
 */
export const yamlLib = (): YamlLib => (lib ??= requireEntry<YamlLib>("shared/yaml-lib.ts"));
export const useYaml = (l: YamlLib): void => { lib = l; };

export type YamlSource = {
  file: string;
  /** The plain JS value of the document ({} for an empty file). */
  data: unknown;
  /** The line of the deepest node along `path` that exists (a key itself for the last segment). */
  lineOf(path: (string | number)[]): number | undefined;
};

type Ranged = { range?: [number, number, number] | null };

/**
 * Parses with Bun's native YAML parser (under a millisecond for the documented config, where the
 * `yaml` library takes tens of milliseconds cold); the `yaml` library, which knows lines and
 * rejects duplicate keys, runs only when needed: a parse error, a key that may be duplicated, or
 * a line asked for (an error or warning message).
 */
export function parseYamlSource(text: string, file: string): YamlSource {
  let strict: YamlSource | undefined;
  const full = () => (strict ??= parseStrict(text, file));
  let data: unknown;
  try { data = (Bun as unknown as { YAML: { parse(t: string): unknown } }).YAML.parse(text); } catch { return full(); }
  if (Array.isArray(data) && text.includes("\n---")) return full(); // several documents: let the full parser say so
  if (mayRepeatKeys(text)) return full();
  return { file, data: data ?? {}, lineOf: (path) => full().lineOf(path) };
}

/** A cheap over-approximation: could a block mapping in `text` hold the same key twice? */
function mayRepeatKeys(text: string): boolean {
  const scopes: { indent: number; keys: Set<string> }[] = [];
  for (const line of text.split("\n")) {
    const m = /^( *)(- +)?("[^"]*"|'[^']*'|[^\s#'"][^:#]*?) *:(?: |$)/.exec(line);
    if (!m) continue;
    const indent = m[1]!.length + (m[2]?.length ?? 0);
    while (scopes.length && scopes[scopes.length - 1]!.indent > indent) scopes.pop();
    if (m[2]) { while (scopes.length && scopes[scopes.length - 1]!.indent >= indent) scopes.pop(); }
    let top = scopes[scopes.length - 1];
    if (!top || top.indent < indent) { top = { indent, keys: new Set() }; scopes.push(top); }
    if (top.keys.has(m[3]!)) return true;
    top.keys.add(m[3]!);
  }
  return false;
}

function parseStrict(text: string, file: string): YamlSource {
  // Loaded on first use: evaluating the library costs more start-up time than a read command has.
  const { LineCounter, parseDocument } = yamlLib();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = lines.linePos(e.pos[0]);
    throw configError(`${file}:${at.line}:${at.col}: invalid YAML: ${e.message.split("\n")[0]}`);
  }
  const lineOf = (path: (string | number)[]): number | undefined => {
    for (let n = path.length; n > 0; n--) {
      const key = n === path.length ? keyNode(doc, path) : undefined;
      const off = key?.range?.[0] ?? (doc.getIn(path.slice(0, n), true) as Ranged | undefined)?.range?.[0];
      if (off !== undefined) return lines.linePos(off).line;
    }
    return undefined;
  };
  // Aliases are resolved here: an unresolved one or an alias bomb is the file's error, not an internal one.
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0]!;
    const alias = /alias[^:]*:\s*\*?(\S+)$/i.exec(msg)?.[1];
    const aliasAt = alias ? text.indexOf(`*${alias}`) : -1;
    const at = aliasAt >= 0 ? `:${lines.linePos(aliasAt).line}` : "";
    throw configError(`${file}${at}: invalid YAML: ${msg}`);
  }
  return { file, data: data ?? {}, lineOf };
}

/** The mapping key node of `path` (so an unknown key points at itself, not at its value). */
function keyNode(doc: Document, path: (string | number)[]): Ranged | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const items = (parent as { items?: { key?: { value?: unknown } & Ranged }[] } | null)?.items;
  return items?.find((it) => it.key?.value === path[path.length - 1])?.key;
}

/** The configuration error for a valibot issue found in `src`. */
export function yamlIssueError(src: YamlSource, issue: v.BaseIssue<unknown>): Error {
  const path = (issue.path ?? []).map((p) => p.key as string | number);
  const line = src.lineOf(path);
  const keyPath = path.length ? path.join(".") : "(top level)";
  const what = issue.kind === "schema" && issue.type === "strict_object" && issue.expected === "never"
    ? "unknown key"
    : issue.message.replace(/^Invalid (\w+): /, "invalid $1: ");
  return configError(`${src.file}${line ? `:${line}` : ""}: ${keyPath}: ${what}`);
}
