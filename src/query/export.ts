/**
 * Graph exports: JSON, Graphviz DOT, GraphML, a Cypher script for Neo4j and JSON Lines; of the whole
 * graph or of a node's neighbourhood (`subgraph`). Deterministic (nodes sorted by id, edges by
 * source, target, type) and escaped so that `dot`, XML parsers, cypher-shell and jq accept any name.
 */
import { ARTIFACT_SCHEMA_VERSION } from "../schema/version.ts";
import { clip } from "../shared/errors.ts";
import { canonicalJson } from "../shared/json.ts";
import type { GraphEdge, GraphNode } from "../pipeline/extract.ts";
import { edgeKey, edgeOrder, type Graph } from "./graph.ts";
import type { RunIndex } from "./run-index.ts";

export const EXPORT_FORMATS = ["json", "dot", "graphml", "cypher", "jsonl"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortedNodes = (g: Graph): GraphNode[] => [...g.nodes.values()].sort((a, b) => cmp(a.id, b.id));

/** What is exported: the whole run, or the neighbourhood of `start` within `depth` edges. */
export type ExportScope = { start: string; depth: number };

export function renderExport(g: Graph, format: ExportFormat, runId: string, scope?: ExportScope): string {
  const nodes = sortedNodes(g);
  const edges = g.edges; // already sorted
  if (format === "json") {
    return canonicalJson({ schema_version: ARTIFACT_SCHEMA_VERSION, run_id: runId, ...(scope ? { subgraph: scope } : {}), nodes, edges }, 2) + "\n";
  }
  if (format === "dot") return dot(nodes, edges, runId);
  if (format === "graphml") return graphml(nodes, edges, runId);
  if (format === "jsonl") return jsonl(nodes, edges);
  return cypher(nodes, edges, runId, scope);
}

/**
 * The neighbourhood of `start`: every node within `depth` edges (followed in both directions,
 * optionally only of some types) and the edges walked to reach them, as `neighbors` finds them.
 * Nodes are the same objects as in the whole graph's export. Bounded: a node is kept only with the
 * edge that reached it, so every kept node is reached by a kept edge; at `maxNodes` nodes no node is
 * added any more (edges between kept nodes still are), at `maxEdges` edges the walk stops; either
 * sets `truncated`. The walk is breadth first, visiting nodes in id order and edges in edge order,
 * so the nodes kept are the nearest, and the same store and bounds give the same subgraph.
 * Undefined when `start` is not a node of the run.
 */
export function subgraph(
  ix: RunIndex, start: string, depth: number, opts: { maxNodes?: number; maxEdges?: number; types?: Set<string> } = {},
): (Graph & { truncated: boolean }) | undefined {
  const first = ix.node(start);
  if (!first) return undefined;
  const maxNodes = opts.maxNodes ?? Infinity;
  const maxEdges = opts.maxEdges ?? Infinity;
  const found = new Map<string, { node: GraphNode; out: GraphEdge[]; in: GraphEdge[] }>([[start, first]]);
  const edges = new Map<string, GraphEdge>();
  let truncated = false;
  let frontier = [start];
  walk: for (let d = 1; d <= depth && frontier.length; d++) {
    const next: string[] = [];
    for (const id of frontier) {
      const here = found.get(id)!;
      for (const e of [...here.out, ...here.in].sort(edgeOrder)) {
        if (opts.types && !opts.types.has(e.type)) continue;
        const key = edgeKey(e);
        if (edges.has(key)) continue;
        // The edge bound ends the walk: nothing more can be kept (a node comes only with its edge).
        if (edges.size >= maxEdges) { truncated = true; break walk; }
        const other = e.source === id ? e.target : e.source;
        if (!found.has(other)) {
          if (found.size >= maxNodes) { truncated = true; continue; }
          // A node of the last level is not walked from: its edges are not read (a technology or
          // a reference there has thousands; the 20,000-file benchmark's depth 2 took 3.8 s and 1.4 GB).
          const o = d < depth ? ix.node(other) : ix.nodeOnly(other);
          if (!o) continue;
          found.set(other, "node" in o ? o : { node: o, out: [], in: [] });
          next.push(other);
        }
        edges.set(key, e);
      }
    }
    frontier = next.sort(cmp);
  }
  const nodes = new Map([...found].map(([id, f]) => [id, f.node]));
  return { nodes, edges: [...edges.values()].sort(edgeOrder), truncated };
}

/**
 * A DOT label (an escString, which Graphviz unescapes when it draws it): backslash and quote
 * escaped, line breaks as \n, controls dropped.
 */
const dq = (s: string) => quoted(s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n").replace(/[\x00-\x1f\x7f]/g, ""));
/**
 * Any other DOT string (ids, `type`, `path`), which Graphviz reads literally: only `\"` is an escape
 * there, so a backslash is written as it is (doubled, it read back as two: `gvpr` printed a path
 * with `\\`), a quote as `\"`, a line break and a tab as themselves; other controls are dropped.
 * Graphviz's scanner takes backslashes two by two, so a run of them before a quote, a line break or
 * the string's end must be even: an odd one loses a backslash (`q\"x` became `q\\"x`, which ended
 * the string: a syntax error; a path ending in `\\` keeps both now).
 */
const dl = (s: string) => quoted(s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "").replace(/\\+(?="|\n|$)/g, (run) => (run.length % 2 ? run.slice(1) : run)).replace(/"/g, '\\"'));

/** Characters of one quoted piece: at most 16,384 bytes of UTF-8, the longest quoted string `dot`'s scanner reads. */
const MAX_DOT_PIECE = 4096;
/**
 * An escaped DOT string in quotes; a longer one as pieces joined with `+` (DOT's concatenation), cut
 * where an even run of backslashes ends and not inside a surrogate pair: a heading of 6,000 words
 * made `dot` stop ("longer than 16384?").
 */
function quoted(inner: string): string {
  if (inner.length <= MAX_DOT_PIECE) return `"${inner}"`;
  const pieces: string[] = [];
  let from = 0;
  while (inner.length - from > MAX_DOT_PIECE) {
    let cut = from + MAX_DOT_PIECE;
    for (;;) {
      let run = 0;
      while (cut - 1 - run >= from && inner.charCodeAt(cut - 1 - run) === 92) run++;
      const last = inner.charCodeAt(cut - 1);
      if (run % 2 === 0 && !(last >= 0xd800 && last <= 0xdbff)) break;
      cut--;
    }
    pieces.push(inner.slice(from, cut));
    from = cut;
  }
  pieces.push(inner.slice(from));
  return pieces.map((p) => `"${p}"`).join(" + ");
}

/**
 * The longest node label DOT gets, in characters: a drawing's label, not the record (every other
 * format has the name whole). Graphviz cannot lay out a node as wide as a 6,000-word heading ("Edge
 * length larger than maximum 65535").
 */
const MAX_DOT_LABEL = 1000;

function dot(nodes: GraphNode[], edges: GraphEdge[], runId: string): string {
  const lines = [`digraph auditgraph {`, `  graph [label=${dq(runId)}];`];
  for (const n of nodes) lines.push(`  ${dl(n.id)} [label=${dq(clip(n.name, MAX_DOT_LABEL + 1))}, type=${dl(n.type)}${n.path ? `, path=${dl(n.path)}` : ""}];`);
  for (const e of edges) lines.push(`  ${dl(e.source)} -> ${dl(e.target)} [label=${dq(e.type)}];`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** XML 1.0 text: the five entities escaped, CR, LF and tab as character references, and characters XML cannot carry removed. */
const x = (s: string) =>
  s.replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, "")
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")
    // As references: a parser turns a raw CR (and CRLF) into LF, and in an attribute a tab or line break into a space.
    .replace(/\r/g, "&#13;").replace(/\n/g, "&#10;").replace(/\t/g, "&#9;");

function graphml(nodes: GraphNode[], edges: GraphEdge[], runId: string): string {
  const out = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<graphml xmlns="http://graphml.graphdrawing.org/xmlns">`,
    `  <key id="name" for="node" attr.name="name" attr.type="string"/>`,
    `  <key id="type" for="node" attr.name="type" attr.type="string"/>`,
    `  <key id="path" for="node" attr.name="path" attr.type="string"/>`,
    `  <key id="line" for="node" attr.name="line" attr.type="int"/>`,
    `  <key id="etype" for="edge" attr.name="type" attr.type="string"/>`,
    `  <graph id="${x(runId)}" edgedefault="directed">`,
  ];
  for (const n of nodes) {
    out.push(`    <node id="${x(n.id)}"><data key="name">${x(n.name)}</data><data key="type">${x(n.type)}</data>` +
      `${n.path ? `<data key="path">${x(n.path)}</data>` : ""}${n.line ? `<data key="line">${n.line}</data>` : ""}</node>`);
  }
  edges.forEach((e, i) => out.push(`    <edge id="e${i}" source="${x(e.source)}" target="${x(e.target)}"><data key="etype">${x(e.type)}</data></edge>`));
  out.push("  </graph>", "</graphml>");
  return out.join("\n") + "\n";
}

/**
 * JSON Lines: one node per line, then one edge per line, each a JSON object whose first key is
 * `kind` ("node" or "edge"), the rest in sorted key order. No header line: every line is a record.
 */
function jsonl(nodes: GraphNode[], edges: GraphEdge[]): string {
  const line = (kind: string, v: object) => `{"kind":"${kind}",${canonicalJson(v).slice(1)}`;
  const out: string[] = [];
  for (const n of nodes) out.push(line("node", n));
  for (const e of edges) out.push(line("edge", e));
  return out.length ? out.join("\n") + "\n" : "";
}

// ---- Cypher -----------------------------------------------------------------------------------

/** Rows per UNWIND statement: big enough for few round trips, small enough for a modest heap. */
export const CYPHER_BATCH = 500;
/** The label every exported node carries, whose id constraint lets relationships find their ends by index. */
export const CYPHER_NODE_LABEL = "AuditgraphNode";

/**
 * A Cypher string literal: double-quoted; backslash, quote, apostrophe and the usual controls
 * escaped; other controls, U+2028/U+2029 and lone surrogates as \uXXXX (a lone surrogate cannot be
 * written as UTF-8); everything else as UTF-8. So a literal is always one line.
 */
export function cypherString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "'") out += "\\'";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) { out += ch + s[i + 1]; i++; } else out += `\\u${c.toString(16)}`;
    } else if (c >= 0xdc00 && c <= 0xdfff) out += `\\u${c.toString(16)}`;
    else out += ch;
  }
  return out + '"';
}

/**
 * A Cypher name (label, relationship type, property key, constraint name), always backtick-quoted,
 * backticks doubled; controls, U+2028/U+2029 and lone surrogates become "_" so a name stays on its line.
 */
export const cypherName = (s: string) =>
  "`" + s.replace(/[\x00-\x1f\x7f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "_").replace(/`/g, "``") + "`";

/** A node type's label: its words capitalized and joined (`document` → Document, `code_symbol` → CodeSymbol). */
export const cypherLabel = (type: string) =>
  type.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join("") || type;
/** An edge type's relationship type: upper case (`links_to` → LINKS_TO). */
export const cypherRelType = (type: string) => type.toUpperCase();

/**
 * A property value Neo4j can store: strings, finite numbers, booleans and lists of one of them
 * as they are; anything else (objects, mixed lists) as its canonical JSON text.
 */
function cypherValue(v: unknown): string {
  if (typeof v === "string") return cypherString(v);
  if (typeof v === "number" && Number.isFinite(v)) {
    if (Number.isSafeInteger(v)) return String(v);
    // Cypher floats have no "+" in the exponent, and an integer past 64 bits is a float literal.
    const s = String(v).replace("e+", "e");
    return /[.e]/.test(s) ? s : `${s}.0`;
  }
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v) && v.length > 0) {
    const t = typeof v[0];
    if ((t === "string" || t === "boolean" || (t === "number" && v.every((x) => Number.isFinite(x)))) && v.every((x) => typeof x === t)) {
      return `[${v.map(cypherValue).join(", ")}]`;
    }
  }
  return cypherString(canonicalJson(v));
}

/** A map literal of the given properties (undefined and null left out), keys in sorted order. */
function cypherMap(props: Record<string, unknown>): string {
  const keys = Object.keys(props).filter((k) => props[k] !== undefined && props[k] !== null).sort(cmp);
  return `{${keys.map((k) => `${cypherName(k)}: ${cypherValue(props[k])}`).join(", ")}}`;
}

/** A node's properties: id, type, name, path, line, then each attribute (an attribute never overrides those). */
function nodeProps(n: GraphNode): Record<string, unknown> {
  const base: Record<string, unknown> = { id: n.id, type: n.type, name: n.name, path: n.path, line: n.line };
  for (const [k, v] of Object.entries(n.attrs ?? {})) if (!(k in base)) base[k] = v;
  return base;
}

function batches<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CYPHER_BATCH) out.push(items.slice(i, i + CYPHER_BATCH));
  return out;
}

/**
 * A script for `cypher-shell -f FILE` (or Neo4j Browser): comment lines, one uniqueness constraint
 * per label (`CREATE CONSTRAINT … IF NOT EXISTS`), then the nodes of each type and the
 * relationships of each type in batches of literal maps:
 *
 *   UNWIND [{…}, …] AS row MERGE (n:`AuditgraphNode` {id: row.id}) SET n:`Document`, n += row;
 *   UNWIND [{…}, …] AS row MATCH (a:`AuditgraphNode` {id: row.source}) MATCH (b:`AuditgraphNode` {id: row.target}) MERGE (a)-[r:`CONTAINS`]->(b) SET r += row.props;
 *
 * Two MATCH clauses rather than one with two patterns, which Neo4j warns about as a possible
 * cartesian product. Literal maps rather than `:param`: parameters are a client-side feature whose syntax differs
 * between cypher-shell versions, a literal loads the same everywhere. MERGE makes loading twice
 * change nothing. Types are in sorted order, rows by id (edges by source, target, type), each
 * statement ends with `;` at the end of its last line and every string literal is one line.
 */
function cypher(nodes: GraphNode[], edges: GraphEdge[], runId: string, scope?: ExportScope): string {
  const L = cypherName(CYPHER_NODE_LABEL);
  const out = [
    `// auditgraph export of run ${runId} (artifact schema ${ARTIFACT_SCHEMA_VERSION}): ${nodes.length} nodes, ${edges.length} relationships`
      + (scope ? `, the subgraph within ${scope.depth} edge(s) of one node` : ""),
    `// load with: cypher-shell -f FILE (MERGE on id: loading twice changes nothing)`,
  ];
  const nodeTypes = [...new Set(nodes.map((n) => n.type))].sort(cmp);
  const edgeTypes = [...new Set(edges.map((e) => e.type))].sort(cmp);
  out.push(`CREATE CONSTRAINT ${cypherName("auditgraph_node_id")} IF NOT EXISTS FOR (n:${L}) REQUIRE n.id IS UNIQUE;`);
  for (const t of nodeTypes) {
    out.push(`CREATE CONSTRAINT ${cypherName(`auditgraph_${t}_id`)} IF NOT EXISTS FOR (n:${cypherName(cypherLabel(t))}) REQUIRE n.id IS UNIQUE;`);
  }
  for (const t of nodeTypes) {
    for (const batch of batches(nodes.filter((n) => n.type === t))) {
      out.push("UNWIND [");
      batch.forEach((n, i) => out.push(`  ${cypherMap(nodeProps(n))}${i < batch.length - 1 ? "," : ""}`));
      out.push(`] AS row MERGE (n:${L} {id: row.id}) SET n:${cypherName(cypherLabel(t))}, n += row;`);
    }
  }
  for (const t of edgeTypes) {
    for (const batch of batches(edges.filter((e) => e.type === t))) {
      out.push("UNWIND [");
      batch.forEach((e, i) => {
        const row = `{${cypherName("source")}: ${cypherString(e.source)}, ${cypherName("target")}: ${cypherString(e.target)}, ${cypherName("props")}: ${cypherMap({ line: e.line })}}`;
        out.push(`  ${row}${i < batch.length - 1 ? "," : ""}`);
      });
      out.push(`] AS row MATCH (a:${L} {id: row.source}) MATCH (b:${L} {id: row.target}) MERGE (a)-[r:${cypherName(cypherRelType(t))}]->(b) SET r += row.props;`);
    }
  }
  return out.join("\n") + "\n";
}
