/**
 * Per-file extraction: from one normalized, redacted text to everything the indexes need about
 * that file, as a compact entry: title, front matter, sections, an ADR's decision, log error lines
 * (claims), technologies and references mentioned, relative links, and chunks with their term
 * frequencies. Pure: same path + text + settings → same entry. `entryGraph` turns an entry into
 * nodes and edges; every id depends only on the workspace-relative path and the content.
 */
import { posix } from "node:path";
import { sha256Hex } from "../shared/hash.ts";
import { chunkSpans, lineAt, lineStarts } from "./chunk.ts";
import { pageStarts } from "./documents/index.ts";
import { linkDestination, parseMarkdown, splitFrontMatter } from "./markdown.ts";
import type { ImportRef, SymbolDef } from "./symbols/index.ts";

export type NodeType = "document" | "section" | "chunk" | "technology" | "reference" | "decision" | "claim" | "commit" | "author" | "symbol" | "module";
export const NODE_TYPES: readonly NodeType[] = ["document", "section", "chunk", "technology", "reference", "decision", "claim", "commit", "author", "symbol", "module"];
export type EdgeType = "contains" | "mentions" | "references" | "links_to" | "authored" | "modified" | "defines" | "imports";
export const EDGE_TYPES: readonly EdgeType[] = ["contains", "mentions", "references", "links_to", "authored", "modified", "defines", "imports"];

export type GraphNode = { id: string; type: NodeType; name: string; path?: string; line?: number; attrs?: Record<string, unknown> };
export type GraphEdge = { source: string; target: string; type: EdgeType; line?: number };

/** [start offset, end offset, first line, last line, length in terms, position of its first term] */
export type Chunk = [number, number, number, number, number, number];

/** What the index shards keep per file (the text itself lives in the text shards). */
export type FileEntry = {
  sha256: string;
  kind: "markdown" | "code" | "log" | "text" | "pdf" | "docx";
  title: string;
  frontmatter?: Record<string, unknown>;
  /** [heading text, level, line] */
  sections: [string, number, number][];
  /** Present for ADRs: the decision's status, if stated. */
  decision?: { status?: string };
  /** Log error lines: [line, text] */
  claims: [number, string][];
  /** [technology name, first line] */
  techs: [string, number][];
  /** External references: [url, line] */
  refs: [string, number][];
  /** Distinct inline code spans of a markdown file (at most MAX_CODE_SPANS), in document order. */
  code_spans?: string[];
  /** Relative links to workspace paths: [path, line]; resolved to documents when the graph is loaded. */
  links: [string, number][];
  chunks: Chunk[];
  /** Front-matter tags (`tags` or `tag`), lower-cased, unique, sorted; absent when none. */
  tags?: string[];
  /** Code: symbols defined, [name, kind, line, exported 1/0, container?] in document order (symbols/index.ts). */
  symbols?: SymbolDef[];
  /** Code: modules imported, [module, line] (a relative JS/TS import as the workspace path it names). */
  imports?: ImportRef[];
  /** Markdown: code spans that name a symbol (`parseQuery`, `RunIndex.node()` → RunIndex.node): [name, line]; resolved when read. */
  symrefs?: [string, number][];
  /** PDF: the 1-based line where each page starts in the stored text (page n starts at pages[n - 1]). */
  pages?: number[];
  /** Problems that did not stop the file (e.g. invalid front matter): [line, message]. */
  warnings?: [number, string][];
};

export const docId = (path: string) => `doc_${sha256Hex(`doc\0${path}`).slice(0, 20)}`;
export const chunkId = (doc: string, i: number) => `chk_${doc.slice(4)}_${i}`;
export const refId = (url: string) => `ref_${sha256Hex(`ref\0${url}`).slice(0, 20)}`;
export const symId = (doc: string, i: number) => `sym_${doc.slice(4)}_${i}`;
export const modId = (name: string) => `mod_${sha256Hex(`mod\0${name}`).slice(0, 20)}`;
/** The symbol a code span names: identifiers joined by `.`, `::` or `#`, optionally called (`f()`, `f(x)`), else undefined. */
export function spanSymbol(span: string): string | undefined {
  const m = /^([A-Za-z_$][\w$]*(?:(?:\.|::|#)[A-Za-z_$][\w$]*)*)(?:\([^()]*\))?$/.exec(span.trim());
  return m && m[1]!.length >= 2 ? m[1]!.replace(/::|#/g, ".") : undefined;
}
/** The id prefixes of the shared nodes (technologies, references, modules): one node however many documents mention it. */
export const SHARED_PREFIXES = ["tech_", "ref_", "mod_"] as const;
export type SharedPrefix = (typeof SHARED_PREFIXES)[number];
export const sharedPrefix = (id: string): SharedPrefix | undefined => SHARED_PREFIXES.find((p) => id.startsWith(p));
/** A technology's id: its name folded to lower-case words (`+` and `#` spelled out, so that C, C++ and C# are three). */
export const techId = (name: string) => `tech_${name.toLowerCase().replace(/\+/g, "p").replace(/#/g, "sharp").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "x"}`;

const CODE_LANG = new Map<string, string>(Object.entries({
  py: "Python", js: "JavaScript", mjs: "JavaScript", ts: "TypeScript", tsx: "TypeScript", go: "Go", rs: "Rust",
  java: "Java", rb: "Ruby", sh: "Shell", bash: "Shell", c: "C", h: "C", cpp: "C++", sql: "SQL", yaml: "YAML",
  yml: "YAML", toml: "TOML", json: "JSON", javascript: "JavaScript", typescript: "TypeScript", python: "Python",
  rust: "Rust", golang: "Go", ruby: "Ruby", shell: "Shell", zsh: "Shell",
}));
const DATA_EXT = new Set([".json", ".yaml", ".yml", ".toml"]);
/** Unambiguous technology names recognised in prose (lower-case term → display name). */
const TECH_TERMS = new Map<string, string>(Object.entries({
  postgres: "PostgreSQL", postgresql: "PostgreSQL", mysql: "MySQL", sqlite: "SQLite", redis: "Redis", kafka: "Kafka",
  rabbitmq: "RabbitMQ", docker: "Docker", kubernetes: "Kubernetes", k8s: "Kubernetes", terraform: "Terraform",
  nginx: "nginx", python: "Python", typescript: "TypeScript", javascript: "JavaScript", nodejs: "Node.js",
  golang: "Go", rust: "Rust", graphql: "GraphQL", grpc: "gRPC", elasticsearch: "Elasticsearch", mongodb: "MongoDB",
  react: "React", git: "Git", bun: "Bun", prometheus: "Prometheus", grafana: "Grafana", ansible: "Ansible",
  webassembly: "WebAssembly", openssl: "OpenSSL", json: "JSON", yaml: "YAML", sql: "SQL", linux: "Linux",
  "node.js": "Node.js", reactjs: "React", "react.js": "React", "c++": "C++",
}));
/**
 * Names that are also common English words ("react accordingly"): they count only when written
 * with a capital, as the name is ("React", "REACT"); `reactjs` and `react.js` count in any case.
 */
const CAPITALIZED_ONLY = new Set(["react"]);
/**
 * ASCII word boundaries: the names are ASCII, and a plain word boundary is cheaper than Unicode
 * look-arounds; longer names first (`react.js` before `react`). `c++` ends in no word character,
 * so it gets its own boundaries (no word character or `+` before it, no letter, `_` or `+` after
 * it: `C++17` names it, `c+++` does not).
 */
const escapeName = (t: string) => t.replace(/[.+]/g, (c) => `\\${c}`);
const TECH_RE = new RegExp(`\\b(${[...TECH_TERMS.keys()].filter((t) => t !== "c++").sort((a, b) => b.length - a.length).map(escapeName).join("|")})\\b|(?<![\\w+])(c\\+\\+)(?![a-z_+])`, "g");
/**
 * A log line that reports an error: a level word in capitals (ERROR, FATAL, CRITICAL, PANIC), an
 * exception or traceback, an error type with its message (`ValueError: …`, `Error: …`), Go's
 * `panic:`, and structured levels (`level=error`, `"level":"error"`, any case).
 */
const ERROR_WORD = /\b(?:ERROR|FATAL|CRITICAL|PANIC|Exception|Traceback)\b|\b(?:[A-Z][A-Za-z0-9]*)?Error:|^\s*panic:/;
const ERROR_LEVEL = /\blevel\s*[=:]\s*"?(?:error|fatal|critical|panic)\b|"level"\s*:\s*"(?:error|fatal|critical|panic)"/i;
const isErrorLine = (l: string) => ERROR_WORD.test(l) || ERROR_LEVEL.test(l);
const MAX_CLAIMS = 500;
const MAX_CODE_SPANS = 50;

function kindOf(path: string): FileEntry["kind"] {
  const ext = posix.extname(path).toLowerCase();
  if (ext === ".md" || ext === ".markdown") return "markdown";
  if (ext === ".log") return "log";
  if (ext === ".pdf") return "pdf";
  if (ext === ".docx") return "docx";
  return CODE_LANG.has(ext.slice(1)) && !DATA_EXT.has(ext) ? "code" : "text";
}

const isAdr = (path: string) => /(^|\/)(adrs?|decisions?)\//i.test(path) || /^adr[-_ ]?\d+/i.test(posix.basename(path));

/** Every string of parsed front matter (keys and values, nested) through `redact`. */
function redactData(v: unknown, redact: (s: string) => string): unknown {
  if (typeof v === "string") return redact(v);
  if (Array.isArray(v)) return v.map((x) => redactData(x, redact));
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k), redactData(x, redact)]));
  }
  return v;
}

/**
 * Every string the entry keeps that is not a slice of the (redacted) text, through `redact` again.
 * The text was redacted before it was parsed, but parsing spells what its detectors did not see:
 * markdown entities in headings (`# key &#65;KIA…` is the section `key AKIA…`, and the title when
 * it is the H1), YAML escapes and folded lines in front matter (`"\x41KIA…"`), percent-escapes in a
 * link's path, a reader's document title. Code spans, symbol references and URLs go through it too
 * (Bun's parser keeps their text as written today; nothing here depends on it). Tags are derived
 * again from the redacted front matter (lower-casing first would hide a token from the
 * case-sensitive detectors); lists of distinct values stay distinct (two may redact alike: the
 * first line is kept).
 */
function redactEntry(e: FileEntry, redact: (s: string) => string): void {
  // [name, line] lists of distinct names: each redacted name once, at its first line.
  const distinct = (xs: [string, number][]): [string, number][] => {
    const m = new Map<string, number>();
    for (const [k, line] of xs) { const r = redact(k); const had = m.get(r); if (had === undefined || line < had) m.set(r, line); }
    return [...m];
  };
  e.title = redact(e.title);
  e.sections = e.sections.map(([name, level, line]) => [redact(name), level, line]);
  if (e.frontmatter) {
    e.frontmatter = redactData(e.frontmatter, redact) as Record<string, unknown>;
    const tags = frontMatterTags(e.frontmatter);
    if (tags.length) e.tags = tags; else delete e.tags;
  }
  if (e.decision?.status) e.decision.status = redact(e.decision.status);
  if (e.code_spans) e.code_spans = [...new Set(e.code_spans.map(redact))];
  if (e.symrefs) e.symrefs = distinct(e.symrefs);
  e.refs = distinct(e.refs);
  e.links = distinct(e.links);
  if (e.warnings) e.warnings = e.warnings.map(([line, message]) => [line, redact(message)]);
}

/**
 * `doc`: what a PDF or Word document's reader found besides its text (its title); `redact`: the
 * redactor the text went through, applied again to every string not taken from it as it is (see
 * redactEntry).
 */
export function extractFile(
  path: string, sha256: string, text: string, chunking: { size: number; overlap: number }, doc?: { title?: string; redact?: (s: string) => string },
): FileEntry {
  const kind = kindOf(path);
  const starts = lineStarts(text);
  const line = (off: number) => lineAt(starts, off);
  const techs = new Map<string, number>();
  let comments: [number, number][] = [];
  // A technology's line: the first line that names it, a fence's info string or the text.
  const addTech = (name: string, ln: number) => { const had = techs.get(name); if (had === undefined || ln < had) techs.set(name, ln); };
  const entry: FileEntry = { sha256, kind, title: posix.basename(path), sections: [], claims: [], techs: [], refs: [], links: [], chunks: [] };

  if (kind === "markdown") {
    const fm = splitFrontMatter(text);
    if (Object.keys(fm.data).length) entry.frontmatter = fm.data;
    const tags = frontMatterTags(fm.data);
    if (tags.length) entry.tags = tags;
    if (fm.error) entry.warnings = [[fm.errorLine ?? 1, fm.error]];
    const md = parseMarkdown(text, fm.bodyOffset);
    const h1 = md.headings.find((h) => h.level === 1);
    if (typeof fm.data.title === "string" && fm.data.title.trim()) entry.title = fm.data.title.trim();
    else if (h1) entry.title = h1.text;
    entry.sections = md.headings.map((h) => [h.text, h.level, line(h.offset)]);
    // Each distinct span at its first occurrence (the spans are in document order).
    const firstAt = new Map<string, number>();
    for (const sp of md.codeSpans) if (!firstAt.has(sp.text)) firstAt.set(sp.text, sp.offset);
    const spans = [...firstAt.keys()].slice(0, MAX_CODE_SPANS);
    if (spans.length) entry.code_spans = spans;
    const symrefs = new Map<string, number>();
    for (const sp of spans) {
      const name = spanSymbol(sp);
      if (!name || symrefs.has(name)) continue;
      symrefs.set(name, line(firstAt.get(sp)!));
    }
    if (symrefs.size) entry.symrefs = [...symrefs];
    for (const f of md.fences) { const n = CODE_LANG.get(f.language); if (n) addTech(n, line(f.offset)); }
    // One reference per URL and one link per target path (`a.md` and `a.md#x` are one), at its first line.
    const refs = new Map<string, number>();
    const links = new Map<string, number>();
    const first = (m: Map<string, number>, key: string, ln: number) => { const had = m.get(key); if (had === undefined || ln < had) m.set(key, ln); };
    for (const l of md.links) {
      const href = linkDestination(l.href);
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) {
        if (/^https?:/i.test(href)) first(refs, href, line(l.offset));
      } else if (!href.startsWith("#")) {
        const rel = decodeURIComponentSafe(href.split(/[?#]/)[0]!);
        const target = rel && posix.normalize(rel.startsWith("/") ? rel.slice(1) : posix.join(posix.dirname(path), rel));
        if (target && !target.startsWith("..")) first(links, target, line(l.offset));
      }
    }
    entry.refs = [...refs];
    entry.links = [...links];
    comments = md.comments;
    if (isAdr(path)) {
      const status = typeof fm.data.status === "string" ? fm.data.status : statusFromText(text);
      entry.decision = status ? { status } : {};
    }
  } else if (kind === "docx") {
    // The Word reader wrote heading-styled paragraphs as ATX headings (documents/docx.ts).
    const md = parseMarkdown(text, 0);
    entry.sections = md.headings.map((h) => [h.text, h.level, line(h.offset)]);
    const h1 = md.headings.find((h) => h.level === 1);
    if (doc?.title) entry.title = doc.title; else if (h1) entry.title = h1.text;
    comments = md.comments;
  } else if (kind === "pdf") {
    entry.pages = pageStarts(text);
    if (doc?.title) entry.title = doc.title;
  } else if (kind === "code") {
    addTech(CODE_LANG.get(posix.extname(path).slice(1).toLowerCase())!, 1);
  } else if (kind === "log") {
    const re = /^.*$/gm;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m[0].length === 0) { re.lastIndex++; continue; }
      if (!isErrorLine(m[0])) continue;
      if (entry.claims.length === MAX_CLAIMS) {
        (entry.warnings ??= []).push([line(m.index), `only the first ${MAX_CLAIMS} error lines are claims; this one and those after it are not`]);
        break;
      }
      entry.claims.push([line(m.index), m[0].trim().slice(0, 240)]);
    }
  }

  const lower = text.toLowerCase();
  // Length in terms and first term position are filled in by the index builder (pipeline/shard.ts), which tokenizes.
  entry.chunks = chunkSpans(text, chunking.size, chunking.overlap).map((sp) => [sp.s, sp.e, line(sp.s), line(sp.e), 0, 0]);
  if (kind !== "code") {
    // Not a mention: a word in an HTML comment (markdown) or in a URL (a link's target, an autolink, a bare URL).
    let c = 0;
    const named = new Set<string>();
    TECH_RE.lastIndex = 0;
    // toLowerCase keeps offsets unless a character changes length (rare: then no capital is checked).
    const sameOffsets = lower.length === text.length;
    for (let m = TECH_RE.exec(lower); m; m = TECH_RE.exec(lower)) {
      const term = m[1] ?? m[2]!;
      const name = TECH_TERMS.get(term)!;
      if (named.has(name)) continue;
      if (CAPITALIZED_ONLY.has(term) && sameOffsets && text[m.index] === term[0]) continue;
      while (c < comments.length && comments[c]![1] <= m.index) c++;
      if ((c < comments.length && comments[c]![0] <= m.index) || inUrl(lower, m.index)) continue;
      named.add(name);
      addTech(name, line(m.index));
    }
  }
  entry.techs = [...techs].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  if (doc?.redact) redactEntry(entry, doc.redact);
  return entry;
}

/** The nodes and edges one file contributes (links are resolved by the caller, which knows all documents). */
export function entryGraph(path: string, e: FileEntry): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const id = docId(path);
  const key = id.slice(4);
  const nodes: GraphNode[] = [{
    id, type: "document", name: e.title, path, line: 1,
    attrs: { kind: e.kind, ...(e.frontmatter ? { frontmatter: e.frontmatter } : {}), ...(e.code_spans ? { code_spans: e.code_spans } : {}), ...(e.pages ? { pages: e.pages.length } : {}) },
  }];
  const edges: GraphEdge[] = [];
  const own = (n: GraphNode) => { nodes.push(n); edges.push({ source: id, target: n.id, type: "contains" }); };
  e.sections.forEach(([name, level, line], i) => own({ id: `sec_${key}_${i}`, type: "section", name, path, line, attrs: { level } }));
  if (e.decision) own({ id: `dec_${key}`, type: "decision", name: e.title, path, line: 1, ...(e.decision.status ? { attrs: { status: e.decision.status } } : {}) });
  for (const [line, text] of e.claims) own({ id: `clm_${key}_${line}`, type: "claim", name: text, path, line, attrs: { kind: "error" } });
  e.chunks.forEach(([, , line, end, len], i) => own({ id: chunkId(id, i), type: "chunk", name: `${path}:${line}-${end}`, path, line, attrs: { end_line: end, tokens: len } }));
  for (const [name, line] of e.techs) {
    nodes.push({ id: techId(name), type: "technology", name });
    edges.push({ source: id, target: techId(name), type: "mentions", line });
  }
  for (const [url, line] of e.refs) {
    nodes.push({ id: refId(url), type: "reference", name: url });
    edges.push({ source: id, target: refId(url), type: "references", line });
  }
  (e.symbols ?? []).forEach(([name, kind, line, exported, container], i) => {
    const sid = symId(id, i);
    nodes.push({ id: sid, type: "symbol", name, path, line, attrs: { kind, exported: exported === 1, ...(container ? { container } : {}) } });
    edges.push({ source: id, target: sid, type: "defines", line });
  });
  for (const [mod, line] of e.imports ?? []) {
    nodes.push({ id: modId(mod), type: "module", name: mod });
    edges.push({ source: id, target: modId(mod), type: "imports", line });
  }
  return { nodes, edges };
}

/**
 * Whether the word at `at` is part of a URL or link destination: its run of non-blank characters
 * has "://" or "](" before it, not closed by ")" or ">", or starts with "www." (a host written
 * without its scheme); or the line has an angle-bracket destination open before it (`](<my notes.md>`,
 * which may hold blanks).
 */
function inUrl(text: string, at: number): boolean {
  let i = at;
  for (const stop = Math.max(0, at - 2048); i > stop; i--) {
    const ch = text.charCodeAt(i - 1);
    if (ch === 32 || ch === 10 || ch === 9 || ch === 13) break;
  }
  const pre = text.slice(i, at);
  const u = Math.max(pre.lastIndexOf("://"), pre.lastIndexOf("]("));
  if (u >= 0 && pre.indexOf(")", u) < 0 && pre.indexOf(">", u) < 0) return true;
  if (/^[(<[*_"']*www\./i.test(pre)) return true;
  // The line up to the mention, at most 2,048 characters back: searched for its start within them only
  // (lastIndexOf on the whole text read back to the file's start for each mention of a long line).
  const near = text.slice(Math.max(0, at - 2048), at);
  const line = near.slice(near.lastIndexOf("\n") + 1);
  const angle = line.lastIndexOf("](<");
  return angle >= 0 && line.indexOf(">", angle + 3) < 0;
}

/**
 * Front matter `tags` and `tag`: a list, or a string split at commas (else at spaces); strings,
 * numbers and booleans as written (`[2024, true]`: `2024`, `true`); lower-cased, trimmed, unique,
 * sorted. The one reading of tags: query's `tag:`, list's `tag` field and the document's `tags`.
 */
export function frontMatterTags(fm: Record<string, unknown>): string[] {
  const out = new Set<string>();
  for (const v of [fm.tags, fm.tag]) {
    const items = typeof v === "string" ? v.split(v.includes(",") ? "," : /\s+/) : Array.isArray(v) ? v : typeof v === "number" || typeof v === "boolean" ? [v] : [];
    for (const t of items) {
      const tag = typeof t === "string" || typeof t === "number" || typeof t === "boolean" ? String(t).trim().toLowerCase() : "";
      if (tag) out.add(tag);
    }
  }
  return [...out].sort();
}

function statusFromText(text: string): string | undefined {
  // Blank lines between the heading and its value as `(?:[^\S\n]*\n)*` (blanks being any white space
  // but a line break, a no-break space too): `\s*\n+\s*` could split a run of newlines in many ways
  // (a heading and 4,000 newlines took 38 s).
  const m = /^#{1,6}[^\S\n]*status[^\S\n]*\n(?:[^\S\n]*\n)*[^\S\n]*([A-Za-z][\w -]{0,40})/im.exec(text) ?? /^status:[^\S\n]*(?:\n[^\S\n]*)*([A-Za-z][\w -]{0,40})/im.exec(text);
  return m?.[1]?.trim().toLowerCase();
}

function decodeURIComponentSafe(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}
