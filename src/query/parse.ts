/**
 * The query language: plain words, "quoted phrases", identifiers as typed (Buffer.concat(),
 * --flag-name, v1.2.3), prefix*, and filters type:T path:GLOB tag:TAG. Pure: text → clauses and
 * filters, or a usage error saying what is wrong.
 */
import { NODE_TYPES } from "../pipeline/extract.ts";
import { baseTerms, compoundOf, identParts, MAX_IDENT, MAX_TERM, rawWords, readsAsWords, STOP_WORDS, wordCharsOf } from "../pipeline/tokens.ts";
import { clip, usageError } from "../shared/errors.ts";

export const MAX_QUERY_CHARS = 1000;
const MAX_CLAUSES = 32;
export const FILTER_KEYS = ["type", "path", "tag"] as const;

export type Clause =
  /** One term (a word, or the compound of an identifier with its words as a fallback phrase). */
  | { kind: "term"; text: string; term: string; fallback?: string[] }
  /** Adjacent terms, in order. */
  | { kind: "phrase"; text: string; terms: string[] }
  | { kind: "prefix"; text: string; prefix: string }
  /** A word and every indexed word that contains it (made by search when a word's own hits do not fill the page). */
  | { kind: "infix"; text: string; word: string; terms: string[] };

export type Filters = { types?: string[]; paths?: string[]; tags?: string[] };
export type ParsedQuery = { clauses: Clause[]; filters: Filters; warnings: string[] };

/** An unknown `name:` in a query (`text`: the token, to quote it as a search). */
const unknownFilter = (name: string, text: string) =>
  usageError(`unknown filter '${clip(name, 40)}:' in query; filters are ${FILTER_KEYS.map((k) => `${k}:`).join(", ")} (put the text in quotes to search for it: '"${clip(text, 100)}"')`);

/** The common words of a query, each once, at most ten named (an error quotes a few hundred characters at most). */
function commonWords(clauses: Clause[]): string {
  const words = [...new Set(clauses.map((c) => c.text))];
  return words.length > 10 ? `${words.slice(0, 10).join(", ")} and ${words.length - 10} more` : words.join(", ");
}

/** Merges filters given as flags into those of the text (a flag adds to the same key). */
export function parseQuery(raw: string, flags: Filters = {}): ParsedQuery {
  // Characters as a person (and the MCP tool's schema) counts them: code points, so 1,000 emoji pass.
  if (raw.length > MAX_QUERY_CHARS) {
    const chars = [...raw].length;
    if (chars > MAX_QUERY_CHARS) throw usageError(`query is ${chars} characters long; the limit is ${MAX_QUERY_CHARS}`);
  }
  // Texts are indexed in NFC (pipeline/text.ts): a query typed with combining accents finds them.
  const text = raw.normalize("NFC");
  const warnings: string[] = [];
  const filters: Filters = {};
  // A value with nothing in it (`tag:,`, `--tag " "`, an MCP or UI `tag` of spaces) is refused, as
  // `tag:` is: dropping it would answer unfiltered.
  // A value in double quotes is one value, commas and all (`tag:"a,b"`); flags' values are put in
  // NFC as the text is (a tag typed with combining accents finds the composed one).
  const add = (k: keyof Filters, raw: string) => {
    const v = raw.normalize("NFC");
    const quoted = v.length >= 2 && v.startsWith('"') && v.endsWith('"');
    const values = (quoted ? [v.slice(1, -1)] : k === "paths" ? commaList(v) : v.split(",")).map((x) => x.trim()).filter(Boolean);
    const key = k.slice(0, -1);
    if (values.length === 0) throw usageError(`filter '${key}:' needs a value, e.g. ${example(key)}`);
    (filters[k] ??= []).push(...values);
  };
  const given = FILTER_KEYS.flatMap((k) => ((flags as Record<string, string[] | undefined>)[`${k}s`] ?? []).map((v) => [`${k}s` as keyof Filters, v] as const));
  // Filter values given beside the text (flags, the UI's and the MCP tool's parameters) have the text's limit too, all together.
  const flagChars = given.reduce((n, [, v]) => n + v.length, 0);
  if (flagChars > MAX_QUERY_CHARS) throw usageError(`filter values are ${flagChars} characters long; the limit is ${MAX_QUERY_CHARS}`);
  for (const [k, v] of given) add(k, v);

  const clauses: Clause[] = [];
  /** Words over MAX_TERM characters that are not identifiers (a hash): not in the index. */
  const tooLong: string[] = [];
  const quotes = (text.match(/"/g) ?? []).length;
  let src = text;
  if (quotes % 2 === 1) {
    warnings.push(`unbalanced quote in query: the phrase runs to the end of the query`);
    src += '"';
  }
  // A filter whose value is quoted (`tag:"a,b"`, `path:"my notes/**"`), a "phrase", or a word.
  const re = /(?<!\S)([A-Za-z_]+:"[^"]*")(?!\S)|"([^"]*)"|(\S+)/g;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    if (m[1] !== undefined) {
      const at = m[1].indexOf(":");
      const key = m[1].slice(0, at).toLowerCase();
      if (!(FILTER_KEYS as readonly string[]).includes(key)) throw unknownFilter(m[1].slice(0, at), m[1].replace(/"/g, ""));
      add(`${key}s` as keyof Filters, m[1].slice(at + 1));
      continue;
    }
    const phrase = m[2];
    if (phrase !== undefined) {
      const terms = baseTerms(phrase).filter((t) => t.length <= MAX_TERM || (tooLong.push(t), false));
      if (terms.length === 1) clauses.push({ kind: "term", text: `"${phrase}"`, term: terms[0]! });
      else if (terms.length > 1) clauses.push({ kind: "phrase", text: `"${phrase}"`, terms });
      continue;
    }
    const tok = m[3]!;
    const f = /^([A-Za-z_]+):(.*)$/.exec(tok);
    // Not a filter: `std::vector`, and a URL (`https://…`) unless its scheme is a filter's key
    // (`path:/notes` is the filter --path /notes).
    const key = f?.[1]!.toLowerCase() ?? "";
    const known = (FILTER_KEYS as readonly string[]).includes(key);
    if (f && !f[2]!.startsWith(":") && (known || !f[2]!.startsWith("/"))) {
      if (known) {
        add(`${key}s` as keyof Filters, f[2]!); // `tag:` (nothing after it) is refused there
        continue;
      }
      if (f[2]) throw unknownFilter(f[1]!, tok);
    }
    if (tok.endsWith("*") && !tok.slice(0, -1).includes("*")) {
      const prefix = baseTerms(tok.slice(0, -1)).join("");
      const words = baseTerms(tok.slice(0, -1));
      if (words.length !== 1 || prefix.length < 2) throw usageError(`a prefix search needs at least 2 letters or digits before '*', got '${clip(tok, 80)}'`);
      clauses.push({ kind: "prefix", text: tok, prefix });
      continue;
    }
    const compound = compoundOf(tok);
    const all = baseTerms(tok);
    const words = all.filter((t) => t.length <= MAX_TERM);
    if (compound && words.length > 1) {
      clauses.push({ kind: "term", text: tok, term: compound, fallback: words });
    } else if (words.length === 1 && all.length === 1) {
      const parts = identParts(wordCharsOf(tok));
      clauses.push({ kind: "term", text: tok, term: words[0]!, ...(parts.length > 1 ? { fallback: parts } : {}) });
    } else if (words.length > 1 && all.length === words.length) {
      clauses.push({ kind: "phrase", text: tok, terms: words });
    } else {
      // A word longer than MAX_TERM is not a term of the index: an identifier is found by its
      // parts (each a word of the query), anything else (a hash) by nothing.
      const parts = all.flatMap((t) => {
        if (t.length <= MAX_TERM) return [t];
        const ps = identParts(rawWords(tok).find((w) => w.toLowerCase() === t) ?? "");
        if (!ps.length) tooLong.push(t);
        return ps;
      });
      for (const p of new Set(parts)) clauses.push({ kind: "term", text: tok, term: p });
    }
  }
  // A type's name in any case (`type:Section`), as the key (`TYPE:`) is read.
  if (filters.types) filters.types = [...new Set(filters.types.map((t) => t.toLowerCase()))];
  for (const t of filters.types ?? []) {
    if (!NODE_TYPES.includes(t as never)) throw usageError(`type must be one of ${NODE_TYPES.join(", ")}, got '${clip(t, 80)}'`);
  }
  const hasFilter = Object.keys(filters).length > 0;
  if (clauses.length === 0 && !hasFilter && tooLong.length) {
    const w = tooLong[0]!;
    const shown = clip(w, 48);
    // A word that reads as words (a sentence of a script written without spaces, a long identifier) is indexed by its pieces.
    if (w.length > MAX_IDENT) throw usageError(`'${shown}' is ${w.length} characters long: words over ${MAX_IDENT} characters are not indexed, nor pieces of them`, "search for the words around it");
    if (readsAsWords(rawWords(text).find((x) => x.toLowerCase() === w) ?? w)) throw usageError(`'${shown}' is ${w.length} characters long: words over ${MAX_TERM} characters are not indexed whole`, "search for a piece of it (up to 21 characters), or for several pieces");
    throw usageError(`'${shown}' is ${w.length} characters long: words over ${MAX_TERM} characters (hashes, base64) are not indexed`, "search for the words around it, or for an identifier's parts");
  }
  if (clauses.length === 0 && !hasFilter) throw usageError(text.trim() ? `query '${clip(text.trim(), 100)}' has no words to search for` : "query is empty");
  // Common words count only when the query has nothing else (or inside phrases).
  const isStop = (c: Clause) => c.kind === "term" && !c.fallback && STOP_WORDS.has(c.term) && !c.text.startsWith('"');
  const kept = clauses.filter((c) => !isStop(c));
  if (kept.length === 0 && clauses.length > 0) {
    // Beside a filter, the filter answers alone (as `tag:x` does), and the user hears why the words went.
    if (hasFilter) return { clauses: [], filters, warnings: [...warnings, `only common words besides the filters (${commonWords(clauses)}): they are left out`] };
    throw usageError(`query '${clip(text.trim(), 100)}' has only common words (${commonWords(clauses)}); add a more specific word, or quote a phrase`);
  }
  if (kept.length > MAX_CLAUSES) throw usageError(`query has ${kept.length} words; the limit is ${MAX_CLAUSES}`);
  return { clauses: dedupe(kept), filters, warnings };
}

function dedupe(cs: Clause[]): Clause[] {
  const seen = new Set<string>();
  return cs.filter((c) => {
    const k = c.kind === "term" ? `t:${c.term}` : c.kind === "phrase" ? `p:${c.terms.join(" ")}` : c.kind === "prefix" ? `x:${c.prefix}` : `i:${c.word}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

const example = (key: string) => (key === "type" ? "type:section" : key === "path" ? "path:notes/**" : "tag:security");

/**
 * Whether a glob's regular expression cannot backtrack far: at most one `**`, and in each path
 * segment at most one wildcard run (and no `?` beside a `*`), so that a `[^/]*` is bounded by the
 * segment's literal text and `/`. `notes/*\/usrdoc/**` is one; `**?**?**z` (cubic in the path: 64 ms a
 * path of 520 characters, 80 s for a query of 99 such globs) and `*a*b` are matched by walkGlob.
 */
function regexSafe(g: string): boolean {
  let doubles = 0;
  for (const seg of g.split("/")) {
    const runs = seg.match(/\*+/g) ?? [];
    if (runs.length > 1 || (runs.length === 1 && seg.includes("?"))) return false;
    if (runs[0] && runs[0].length > 1) doubles++;
  }
  return doubles <= 1;
}

/**
 * A path glob: `*` within a segment, `**` across segments, `?` one character; a bare folder matches
 * below it. A glob whose pattern cannot backtrack far (regexSafe) is a regular expression; any other
 * is matched by walkGlob, in time proportional to its length × the path's (a regular expression with
 * several `.*` or `(?:.*\/)?` backtracks polynomially to exponentially: `**\/` thirty times took 12 s on a deep path).
 */
export function globMatcher(glob: string, how: "auto" | "walk" | "regex" = "auto"): (path: string) => boolean {
  // The glob is in NFC (the query is); a stored path keeps the bytes its directory listed, maybe
  // NFD (a file saved on macOS): a path with non-ASCII characters is also tried in NFC.
  const ms = expandBraces(glob).map((g) => rawGlobMatcher(g, how));
  const m = ms.length === 1 ? ms[0]! : (p: string) => ms.some((x) => x(p));
  return (p) => m(p) || (NON_ASCII.test(p) && m(p.normalize("NFC")));
}

/** A comma list, its commas inside braces left to the glob (`notes/{adr,specs}/**,docs/**` is two values). */
function commaList(v: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === "{") depth++;
    else if (v[i] === "}" && depth > 0) depth--;
    else if (v[i] === "," && depth === 0) { out.push(v.slice(from, i)); from = i + 1; }
  }
  out.push(v.slice(from));
  return out;
}

/** Alternatives a glob's braces give at most (`{a,b}` in several places multiply): past this, the braces are literal. */
const MAX_BRACE_GLOBS = 256;

/**
 * A glob's `{a,b,…}` alternatives as globs of their own (`notes/{adr,specs}/**` → two), nested
 * braces too, as shells and Bun.Glob read them. A brace without a comma (`{x}`) is literal, as are
 * all braces of a glob past MAX_BRACE_GLOBS alternatives.
 */
export function expandBraces(glob: string): string[] {
  const out: string[] = [];
  const walk = (g: string): boolean => {
    // The first `{` whose matching `}` holds a comma at its own depth.
    for (let i = g.indexOf("{"); i >= 0; i = g.indexOf("{", i + 1)) {
      let depth = 0;
      const commas: number[] = [];
      let close = -1;
      for (let j = i; j < g.length; j++) {
        if (g[j] === "{") depth++;
        else if (g[j] === "}" && --depth === 0) { close = j; break; }
        else if (g[j] === "," && depth === 1) commas.push(j);
      }
      if (close < 0) return walk0(g);
      if (commas.length === 0) continue;
      const cuts = [i, ...commas, close];
      for (let k = 0; k + 1 < cuts.length; k++) {
        if (!walk(g.slice(0, i) + g.slice(cuts[k]! + 1, cuts[k + 1]!) + g.slice(close + 1))) return false;
      }
      return true;
    }
    return walk0(g);
  };
  const walk0 = (g: string) => { out.push(g); return out.length <= MAX_BRACE_GLOBS; };
  return walk(glob) ? [...new Set(out)] : [glob];
}
const NON_ASCII = /[^\x00-\x7f]/;

function rawGlobMatcher(glob: string, how: "auto" | "walk" | "regex"): (path: string) => boolean {
  // Leading `/` and `./` (any mix: `/./notes`) name the workspace root.
  let g = glob.replace(/^(?:\.\/|\/)+/, "");
  // `a//b` is `a/b`, `a/./b` is `a/b`, `a/x/../b` is `a/b` (as a path is read; never above the root).
  if (/\/\/|(?:^|\/)\.{1,2}(?:\/|$)/.test(g)) {
    const parts: string[] = [];
    for (const seg of g.split("/")) {
      if (seg === "..") parts.pop(); else if (seg !== "." && seg !== "") parts.push(seg);
    }
    g = parts.join("/") + (g.endsWith("/") && parts.length ? "/" : "");
  }
  // The workspace root itself (`/`, `./`, `.`): every path below it, as any other folder.
  if (g === "" || g === ".") g = "**";
  // A trailing `/` names folders: everything below them (`notes/` and `notes/*/` alike).
  if (g.endsWith("/")) g = `${g}**`;
  // `**/**/` is `**/`, and a run of three or more stars is `**`: the same paths, fewer wildcards.
  g = g.replace(/\*{3,}/g, "**").replace(/(?:\*\*\/)+/g, "**/").replace(/\/\*\*(?:\/\*\*)+(?=\/|$)/g, "/**");
  if (how === "walk" || (how === "auto" && !regexSafe(g))) {
    // `how`: always walkGlob, or always the regular expression (tests/query/path-globs.test.ts holds
    // both ways to the same answers; "regex" on a glob that is not regexSafe can backtrack: tests only).
    const tokens = globTokens(g);
    const below = /[*?]/.test(g) ? undefined : globTokens(`${g}/**`);
    return (p) => walkGlob(tokens, p) || (below !== undefined && walkGlob(below, p));
  }
  let re = "";
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === "*" && g[i + 1] === "*") { re += g[i + 2] === "/" ? "(?:.*/)?" : ".*"; i += g[i + 2] === "/" ? 2 : 1; }
    else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  const exact = new RegExp(`^${re}$`);
  const below = /[*?]/.test(g) ? undefined : new RegExp(`^${re}/`);
  return (p) => exact.test(p) || (below?.test(p) ?? false);
}

/**
 * A glob as tokens for walkGlob: a character, `?` (one but `/`), `*` (any run without `/`), `**`
 * (any run), and `**\/` as an `either` (no folder at all: on past the `/`) before `**` and `/`. A
 * star may always end (on to the next token); only the start of `**\/` may skip its `/`.
 */
type GlobToken = { kind: "char"; c: string } | { kind: "one" } | { kind: "star"; any: boolean } | { kind: "either"; to: number };
function globTokens(g: string): GlobToken[] {
  const out: GlobToken[] = [];
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === "*" && g[i + 1] === "*") {
      if (g[i + 2] === "/") { out.push({ kind: "either", to: out.length + 3 }, { kind: "star", any: true }, { kind: "char", c: "/" }); i += 2; }
      else { out.push({ kind: "star", any: true }); i += 1; }
    } else if (c === "*") out.push({ kind: "star", any: false });
    else if (c === "?") out.push({ kind: "one" });
    else out.push({ kind: "char", c });
  }
  return out;
}

/** Whether the path matches the glob's tokens: the set of token positions reachable, carried along the path. */
function walkGlob(tokens: GlobToken[], path: string): boolean {
  const n = tokens.length;
  let cur = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  // Positions reachable without taking a character (later positions only: one pass in order).
  const close = (set: Uint8Array) => {
    for (let k = 0; k < n; k++) {
      if (!set[k]) continue;
      const t = tokens[k]!;
      if (t.kind === "star") set[k + 1] = 1;
      else if (t.kind === "either") { set[k + 1] = 1; set[t.to] = 1; }
    }
  };
  cur[0] = 1;
  close(cur);
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    next.fill(0);
    let any = false;
    for (let k = 0; k < n; k++) {
      if (!cur[k]) continue;
      const t = tokens[k]!;
      if (t.kind === "char") { if (t.c === ch) { next[k + 1] = 1; any = true; } }
      else if (t.kind === "one") { if (ch !== "/") { next[k + 1] = 1; any = true; } }
      else if (t.kind === "star" && (t.any || ch !== "/")) { next[k] = 1; any = true; }
    }
    if (!any) return false;
    close(next);
    [cur, next] = [next, cur];
  }
  return cur[n] === 1;
}
