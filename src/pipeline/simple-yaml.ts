/**
 * The front matter most notes have, read without the YAML library: a first parse with the library
 * costs about 10 ms in a fresh process (its lexer, composer and schema run cold), which was most of
 * reading the one edited file of a one-file ingest. Only a small, unambiguous part of YAML is taken
 * here, and it is read exactly as the library reads it (same keys in the same order, same strings);
 * anything else, down to one unusual character, is `undefined` and goes to the library, which also
 * reports its errors. src/pipeline/simple-yaml.test.ts compares the two on generated blocks.
 *
 * Taken, one per line (the block's lines, no tabs):
 * - a blank line;
 * - `key: value` at the start of a line, the key a plain word (letters, digits, `_`, `-`, starting
 *   with a letter, one the core schema reads as a string), no key twice;
 * - `key:` alone: null, or the list of the `- item` lines that follow it (all at one indentation);
 * - value: a plain scalar that the core schema reads as a string (not null, a boolean or a number by
 *   its own patterns), starting with a letter or digit (or `.`, `+`, `-` before one), without `#`,
 *   `: `, a final `:`, quotes, brackets, braces, commas, `\\` or odd spaces; a double-quoted string
 *   without `\\` or `"`; a single-quoted one without `'`; or `[a, b]` of such plain scalars (without
 *   `:`) or quoted strings.
 */

const KEY = /^([A-Za-z][A-Za-z0-9_-]*):/;

/**
 * A string without the ASCII spaces at its ends (YAML's white space here: tabs are refused first).
 * By loops: a pattern like / +$/ tries every start in a run of spaces, time the square of the run.
 */
function trimSpaces(s: string): string {
  let a = 0, b = s.length;
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  return s.slice(a, b);
}

/** `- item` with its indentation, or undefined for any other line. */
function itemOf(line: string): [indent: string, value: string] | undefined {
  let i = 0;
  while (line.charCodeAt(i) === 32) i++;
  if (line.charCodeAt(i) !== 45 || line.charCodeAt(i + 1) !== 32) return undefined;
  return [line.slice(0, i), trimSpaces(line.slice(i + 1))];
}
const BLANK = /^ *$/;
/**
 * What the core schema (the library's default) reads as null, a boolean or a number: its own
 * patterns (yaml/dist/schema/core and common/null), copied so that reading front matter does not
 * load the library; simple-yaml.test.ts checks they are the library's. A plain scalar matching none
 * is a string.
 */
export const NOT_STRING = [
  /^(?:~|[Nn]ull|NULL)?$/, /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/, /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
  /^0o[0-7]+$/, /^[-+]?[0-9]+$/, /^0x[0-9a-fA-F]+$/,
];
const isString = (v: string) => !NOT_STRING.some((re) => re.test(v));
/**
 * A plain scalar of the kind taken here: it starts with a letter or digit, or with `.`, `+` or `-`
 * before one (or `/`, `_`), and holds none of YAML's indicators (`#`, quotes, brackets, braces, commas,
 * anchors, tags, block scalars, directives), no backslash, no control character and no space
 * other than the ASCII one.
 */
const PLAIN = /^(?:[A-Za-z0-9\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF]|[.+-][A-Za-z0-9/_])[^#"'`\[\]{},&*!|>%@\\\u0000-\u001f\u007f-\u009f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*$/;
/** Characters a quoted string here may not hold (escapes, the closing quote, controls, odd spaces and line breaks). */
const ODD = /[\\\u0000-\u001f\u007f-\u009f\u0085\u2028\u2029\ufeff]/;

function plain(v: string, flow: boolean): string | undefined {
  if (!PLAIN.test(v) || !isString(v)) return undefined;
  // `: ` (or a final `:`) would make a mapping; in a flow list any `:` is left to the library.
  if (flow ? v.includes(":") : v.endsWith(":") || v.includes(": ")) return undefined;
  // Internal runs of spaces are kept by YAML; the ends were trimmed already (trimSpaces).
  return v;
}

function quoted(v: string): string | undefined {
  if (v.length < 2 || ODD.test(v)) return undefined;
  const q = v[0];
  if ((q !== '"' && q !== "'") || v[v.length - 1] !== q) return undefined;
  const inner = v.slice(1, -1);
  return inner.includes(q) ? undefined : inner;
}

/** One value: a string, a flow list of strings, or undefined when it is not one this reader takes. */
function scalar(v: string): string | string[] | undefined {
  if (v.startsWith("[")) {
    if (!v.endsWith("]")) return undefined;
    const inner = v.slice(1, -1);
    if (inner.trim() === "") return inner === "" ? [] : undefined;
    const out: string[] = [];
    for (const raw of inner.split(",")) {
      const item = trimSpaces(raw);
      // An empty item, or white space other than ASCII spaces around it: the library decides.
      if (!item || item.trim() !== item) return undefined;
      const s = item[0] === '"' || item[0] === "'" ? quoted(item) : plain(item, true);
      if (s === undefined) return undefined;
      out.push(s);
    }
    return out;
  }
  return v[0] === '"' || v[0] === "'" ? quoted(v) : plain(v, false);
}

/** The front matter block as the YAML library would give it, or undefined to leave it to the library. */
export function simpleYaml(block: string): Record<string, unknown> | undefined {
  if (block.includes("\t") || block.includes("\r")) return undefined;
  const lines = block.split("\n");
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (BLANK.test(line)) continue;
    const m = KEY.exec(line);
    if (!m) return undefined;
    const key = m[1]!;
    // The library refuses an implicit key over 1,024 characters (its error is the one to give).
    if (key.length > 1024 || !isString(key) || seen.has(key)) return undefined;
    seen.add(key);
    // After the colon: nothing, or a space and the value (`key:value` is one plain scalar to YAML).
    const rest = line.slice(m[0].length);
    if (rest !== "" && rest.charCodeAt(0) !== 32) return undefined;
    const v = trimSpaces(rest);
    if (v !== "") {
      const s = scalar(v);
      if (s === undefined) return undefined;
      out[key] = s;
      continue;
    }
    // `key:` alone: a block list of items at one indentation, or null. A blank line ends nothing in
    // YAML: the list goes on if an item follows it (blank lines before the first item: the library's).
    let indent: string | undefined;
    const items: string[] = [];
    let j = i + 1;
    for (;;) {
      let k = j;
      while (k < lines.length && BLANK.test(lines[k]!)) k++;
      const it = k < lines.length ? itemOf(lines[k]!) : undefined;
      if (!it) {
        // An indented line that is not an item (a nested map, a continued scalar): the library's.
        if (k === j && k < lines.length && lines[k]!.startsWith(" ")) return undefined;
        break;
      }
      if (k > j && indent === undefined) return undefined;
      if (indent === undefined) indent = it[0];
      else if (it[0] !== indent) return undefined;
      const s = scalar(it[1]);
      if (s === undefined || typeof s !== "string") return undefined;
      items.push(s);
      j = k + 1;
    }
    i = j - 1;
    out[key] = indent === undefined ? null : items;
  }
  return out;
}
