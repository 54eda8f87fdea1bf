/**
 * What `auditgraph ui` answers under /api/: the current run of one workspace, read through the same
 * cores as the read commands (openStore's compatibility gate, RunIndex, search, neighbours, list,
 * run diff, budget), with the same JSON shapes as their --json output plus what a page needs to draw
 * (names of edge ends, an excerpt of the stored text, a document's sections and chunks).
 *
 * The run is followed live: every call reads the pointer (one small file) and, when it names
 * another run than the open one, reopens the index through the gate. Requests are answered
 * synchronously, one at a time, so an index is never closed under a reader.
 */
import type { Workspace } from "../config/load.ts";
import { EDGE_TYPES, NODE_TYPES, type GraphEdge, type GraphNode } from "../pipeline/extract.ts";
import type { DocMeta, GlobalRecord, Mention } from "../pipeline/shard.ts";
import { currentBudget } from "../pipeline/footprint.ts";
import { diffRuns } from "../query/diff.ts";
import { edgeKey, edgeOrder } from "../query/graph.ts";
import { parseQuery } from "../query/parse.ts";
import { RunIndex } from "../query/run-index.ts";
import { search } from "../query/search.ts";
import { readPointer } from "../store/manifest.ts";
import { openRun, openStore, type OpenStore } from "../store/open.ts";
import { listRuns } from "../store/runs.ts";
import { AgError, clip, ExitCode, usageError } from "../shared/errors.ts";
import { remember } from "../shared/maps.ts";

/** Nodes of a neighbourhood sent to the page by default (nearest first), and at most when asked (`max`). */
export const GRAPH_NODES = 500;
export const MAX_GRAPH_NODES = 5000;
/** Search answers kept per run. */
const ANSWERS = 128;
/** Lines of stored text shown around a node's line. */
const EXCERPT_BEFORE = 6;
const EXCERPT_AFTER = 14;
/** Technologies shown in the overview (most mentioned first). */
const OVERVIEW_TECHS = 30;

type Open = { runId: string; store: OpenStore; ix: RunIndex; overview?: Overview };
export type Json = Record<string, unknown>;
export type Overview = {
  by: "folder";
  depth: number;
  clusters: { id: string; name: string; count: number; path: string }[];
  technologies: { id: string; name: string; count: number }[];
  edges: { source: string; target: string; type: string; count: number }[];
  types: Record<string, number>;
  edge_types: Record<string, number>;
};

export class UiData {
  private cur?: Open;
  /** The last answers to searches of the current run (typing, then backspace, asks the same again). */
  private readonly answers = new Map<string, Json>();
  private answersRun?: string;

  constructor(readonly ws: Workspace) {}

  /** The current run's index: reopened (through the compatibility gate) when the pointer moved. */
  private open(): Open {
    const ptr = readPointer(this.ws.profileDir);
    if (this.cur && ptr === this.cur.runId) return this.cur;
    const store = openStore(this.ws);
    this.cur?.ix.close();
    if (this.answersRun !== store.runId) { this.answers.clear(); this.answersRun = store.runId; }
    this.cur = { runId: store.runId, store, ix: new RunIndex(store) };
    return this.cur;
  }

  close(): void {
    this.cur?.ix.close();
    this.cur = undefined;
  }

  /**
   * Keeps a long-running server small: the index caches every block, record and posting it reads,
   * so above `softRss` bytes (at most every `minIntervalMs`) the index is reopened (its caches dropped) and a full GC runs; the kept
   * search answers (small) stay. Called after each API request; returns whether it trimmed.
   */
  trim(softRss: number, minIntervalMs = 500): boolean {
    // At most every `minIntervalMs`: the allocator keeps some pages after a collection, and a trim
    // per request would leave every search cold.
    if (process.memoryUsage.rss() <= softRss || performance.now() - this.trimmedAt < minIntervalMs) return false;
    this.close();
    Bun.gc(true);
    this.trimmedAt = performance.now();
    return true;
  }
  private trimmedAt = -Infinity;

  /**
   * Opens the current run's segments ahead of the first request, with the tables every search reads,
   * and (`search`) runs one search so that the first keystroke does not pay for compiling the engine
   * (the first search of a process measured 60 ms of CPU, the same one later 7 ms).
   */
  warm(opts: { search?: boolean } = {}): void {
    try {
      const { ix } = this.open();
      ix.stats();
      // Every search scores chunks by their length and names documents by key: load both tables of every shard.
      for (const n of ix.shards) { ix.chunkLengths(n); ix.keyOf(n, 0); }
      if (opts.search) search(ix, parseQuery("the* and* for*"), { limit: 30 }); // common words, few expansions each
    } catch { /* an incompatible or empty store: the API says so when asked */ }
  }

  /** The run the page shows, its counts and the profile (the page polls this to notice a new run). */
  status(): Json {
    const { runId, store } = this.open();
    return { status: "ok", run_id: runId, profile: this.ws.profileName, schema_version: store.manifest.schema_version, counts: store.manifest.counts, node_types: NODE_TYPES, edge_types: EDGE_TYPES };
  }

  /** `auditgraph query TEXT --type --path --tag --limit --json`. */
  query(text: string, f: { type?: string; path?: string; tag?: string; limit?: string }): Json {
    const limit = intParam(f.limit, "limit", 20, 200);
    const list = (v: string | undefined) => (v ? [v] : []);
    const parsed = parseQuery(text, { types: list(f.type), paths: list(f.path), tags: list(f.tag) });
    const { runId, ix } = this.open();
    const key = JSON.stringify([runId, text, f.type, f.path, f.tag, limit]);
    const known = this.answers.get(key);
    if (known) return known;
    const res = search(ix, parsed, { limit });
    // A copy through JSON: the hits' strings are slices of decompressed blocks and pages, and a kept
    // slice keeps its whole block alive (about 0.7 MB per answer measured on corpus-2000).
    const answer: Json = JSON.parse(JSON.stringify({ status: "ok", run_id: runId, query: text, total: res.total, hits: res.hits, warnings: [...parsed.warnings, ...(res.warnings ?? [])] }));
    remember(this.answers, key, answer, ANSWERS);
    return answer;
  }

  /** `auditgraph node ID --json`, plus the names of the edges' other ends, an excerpt, and a document's parts. */
  node(id: string): Json {
    const { runId, ix } = this.open();
    const found = ix.node(id);
    if (!found) throw notFound(id, runId);
    const { node, out, in: inn } = found;
    const where = ix.locate(node, inn);
    let text: string | undefined;
    let doc: ReturnType<RunIndex["docByPath"]>;
    if (node.path) doc = ix.docByPath(node.path);
    if (node.type === "chunk" && doc) {
      const ch = doc.rec.chunks[Number(id.slice(id.lastIndexOf("_") + 1))];
      if (ch) text = ix.textRange(node.path!, ch[0], ch[1]);
    }
    const names: Record<string, { name: string; type: string; path?: string }> = {};
    for (const e of [...out, ...inn]) {
      for (const end of [e.source, e.target]) {
        if (end === id || names[end]) continue;
        const n = ix.nodeOnly(end);
        names[end] = n ? { name: n.name, type: n.type, ...(n.path ? { path: n.path } : {}) } : { name: end, type: "unknown" };
      }
    }
    const excerpt = where.path ? this.excerpt(ix, where.path, node.type === "document" ? 1 : where.line) : undefined;
    const key = id.slice(4, 24);
    const parts = node.type === "document" && doc ? {
      sections: doc.rec.sections.map(([name, level, line], i) => ({ id: `sec_${key}_${i}`, name, level, line })),
      chunks: doc.rec.chunks.map((c, i) => ({ id: `chk_${key}_${i}`, line: c[2], end_line: c[3] })),
      tags: doc.rec.tags ?? [],
      warnings: doc.rec.warnings ?? [],
    } : undefined;
    return {
      status: "ok", run_id: runId, node: { ...node, ...where }, ...(text !== undefined ? { text } : {}), out_edges: out, in_edges: inn,
      names, ...(excerpt ? { excerpt } : {}), ...(parts ? { document: parts } : {}),
    };
  }

  private excerpt(ix: RunIndex, path: string, line: number): { path: string; start: number; line: number; lines: string[] } | undefined {
    const text = ix.textOf(path);
    if (text === undefined) return undefined;
    const all = text.split("\n");
    const start = Math.max(1, line - EXCERPT_BEFORE);
    return { path, start, line, lines: all.slice(start - 1, line + EXCERPT_AFTER).map((l) => (l.length > 400 ? l.slice(0, 400) + "…" : l)) };
  }

  /** `auditgraph neighbors ID --depth N --edge-type T --json`, with the start node, cut at `max` nodes (default GRAPH_NODES). */
  neighbors(id: string, f: { depth?: string; edge_type?: string; max?: string }): Json {
    const depth = intParam(f.depth, "depth", 1, 3);
    const max = intParam(f.max, "max", GRAPH_NODES, MAX_GRAPH_NODES);
    const types = f.edge_type ? new Set(f.edge_type.split(",").map((t) => t.trim()).filter(Boolean)) : undefined;
    // Only commas or blanks: a list of nothing, as `--edge-type ,` is for the CLI (not "every type").
    if (types?.size === 0) throw usageError(`edge_type names no edge type; use some of ${EDGE_TYPES.join(", ")}, or leave it out for all`);
    for (const t of types ?? []) if (!EDGE_TYPES.includes(t as never)) throw usageError(`edge_type must be among ${EDGE_TYPES.join(", ")}, got '${clip(t, 40)}'`);
    const { runId, ix } = this.open();
    const start = ix.nodeOnly(id);
    if (!start) throw notFound(id, runId);
    const { nodes, edges, truncated } = boundedNeighbors(ix, id, depth, max, types);
    return { status: "ok", run_id: runId, start: id, depth, start_node: start, nodes, edges, truncated, max };
  }

  /**
   * The whole workspace, clustered: documents by folder (as deep as it takes to get more than one
   * folder, at most 3 levels), the most mentioned technologies, and the links and mentions between
   * them counted. Reads the shards' `meta`, `links` and `global` tables, never the document records.
   */
  overview(): Json {
    const o = this.open();
    o.overview ??= buildOverview(o.ix);
    return { status: "ok", run_id: o.runId, ...o.overview };
  }

  /** `auditgraph runs list --json`, plus the current budget (`auditgraph budget --json`). */
  runs(): Json {
    const runs = listRuns(this.ws.profileDir);
    let budget: Json | undefined;
    try {
      const b = currentBudget(this.ws);
      budget = { source: b.source, budget: b.budget };
    } catch (e) {
      budget = { error: e instanceof Error ? e.message : String(e) };
    }
    return { status: "ok", profile: this.ws.profileName, runs, ...budget };
  }

  /** `auditgraph diff A B --json`. */
  diff(a: string, b: string): Json {
    this.open(); // the compatibility gate, as `diff` runs it
    const [ma, mb] = [a, b].map((r) => openRun(this.ws.profileDir, r));
    return { status: "ok", ...diffRuns(ma!, mb!) };
  }
}

/**
 * `neighbors` of query/graph.ts (the same nodes, edges and order when nothing is cut), but it stops
 * taking new nodes at `max`: a busy node's neighbourhood is cut instead of read whole (a
 * technology mentioned by 700 documents is 100,000 nodes two edges away). The nodes kept are the
 * nearest, in the walk's order; the edges kept join two kept nodes, every such edge that the full
 * walk would find (a kept node the cut walk did not reach to read is read for them).
 */
export function boundedNeighbors(ix: RunIndex, start: string, depth: number, max: number, types?: Set<string>) {
  const seen = new Map<string, number>([[start, 0]]);
  const used = new Map<string, GraphEdge>();
  const expanded = new Set<string>();
  let truncated = false;
  let frontier = [start];
  for (let d = 1; d <= depth && frontier.length && !truncated; d++) {
    const next: string[] = [];
    for (const id of frontier) {
      expanded.add(id);
      const n = ix.node(id);
      for (const e of [...(n?.out ?? []), ...(n?.in ?? [])]) {
        if (types && !types.has(e.type)) continue;
        const other = e.source === id ? e.target : e.source;
        if (!seen.has(other)) {
          if (seen.size > max) { truncated = true; continue; }
          seen.set(other, d);
          next.push(other);
        }
        used.set(edgeKey(e), e);
      }
      if (truncated) break;
    }
    frontier = next;
  }
  if (truncated) {
    // The walk stopped before it read every kept node that a full walk would have read (those short
    // of `depth`): their edges to other kept nodes are part of what is drawn.
    for (const [id, d] of seen) {
      if (d >= depth || expanded.has(id)) continue;
      const n = ix.node(id);
      for (const e of [...(n?.out ?? []), ...(n?.in ?? [])]) {
        if ((!types || types.has(e.type)) && seen.has(e.source) && seen.has(e.target)) used.set(edgeKey(e), e);
      }
    }
  }
  const edges = [...used.values()].filter((e) => seen.has(e.source) && seen.has(e.target)).sort(edgeOrder);
  const nodes = [...seen].filter(([id]) => id !== start).map(([id, d]) => ({ ...ix.nodeOnly(id)!, depth: d }))
    .sort((a, b) => a.depth - b.depth || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { nodes, edges, truncated };
}

function buildOverview(ix: RunIndex): Overview {
  // Each document's folder, per shard and ordinal.
  const paths: { shard: number; ords: string[] }[] = [];
  const all: string[] = [];
  for (const n of ix.shards) {
    const ords: string[] = [];
    for (const [ord, m] of ix.metas(n) as Generator<[number, DocMeta]>) { ords[ord] = m.path; all.push(m.path); }
    paths.push({ shard: n, ords });
  }
  let depth = 1;
  const folderAt = (p: string, d: number) => { const parts = p.split("/"); return parts.length <= 1 ? "(top)" : parts.slice(0, Math.min(d, parts.length - 1)).join("/"); };
  while (depth < 3 && new Set(all.map((p) => folderAt(p, depth))).size < 2 && all.some((p) => p.split("/").length > depth + 1)) depth++;
  const folder = (p: string) => `folder:${folderAt(p, depth)}`;
  const counts = new Map<string, number>();
  for (const p of all) counts.set(folder(p), (counts.get(folder(p)) ?? 0) + 1);
  const edges = new Map<string, { source: string; target: string; type: string; count: number }>();
  const bump = (source: string, target: string, type: string) => {
    const k = edgeKey({ source, target, type });
    const e = edges.get(k);
    if (e) e.count++; else edges.set(k, { source, target, type, count: 1 });
  };
  const techs = new Map<string, { name: string; by: Map<string, number>; count: number }>();
  for (const { shard, ords } of paths) {
    const seg = ix.seg(shard)!;
    for (const [target, from] of seg.range<Mention[]>("links")) {
      if (!ix.hasDoc(target)) continue;
      for (const [ord] of from) { const src = ords[ord]; if (src && src !== target) bump(folder(src), folder(target), "links_to"); }
    }
    for (const [id, g] of seg.range<GlobalRecord>("global")) {
      if (g.type !== "technology") continue;
      let t = techs.get(id);
      if (!t) { t = { name: g.name, by: new Map(), count: 0 }; techs.set(id, t); }
      for (const [ord] of g.in) { const src = ords[ord]; if (!src) continue; t.count++; t.by.set(folder(src), (t.by.get(folder(src)) ?? 0) + 1); }
    }
  }
  const top = [...techs].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1)).slice(0, OVERVIEW_TECHS);
  for (const [id, t] of top) for (const [f, c] of t.by) { const k = `${f}\0${id}\0mentions`; edges.set(k, { source: f, target: id, type: "mentions", count: c }); }
  const st = ix.stats();
  return {
    by: "folder", depth,
    // `path`: the glob of the cluster's documents, for a search: a folder as deep as the clustering
    // is its subtree, a shallower one only the files right in it (its subfolders are clusters).
    clusters: [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, count]) => {
      const name = id.slice(7);
      return { id, name, count, path: name === "(top)" ? "*" : name.split("/").length >= depth ? `${name}/**` : `${name}/*` };
    }),
    technologies: top.map(([id, t]) => ({ id, name: t.name, count: t.count })),
    edges: [...edges.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0)),
    types: st.types, edge_types: st.edges,
  };
}

const notFound = (id: string, runId: string) =>
  new AgError(`node '${clip(id)}' not found in run ${runId}`, { exitCode: ExitCode.usage, code: "not_found", hint: "find ids with a search" });

function intParam(v: string | undefined, name: string, fallback: number, max: number): number {
  if (v === undefined || v === "") return fallback; // an empty form field
  const n = /^\d+$/.test(v) ? Number(v) : NaN; // decimal digits, as the CLI's flags: not 1e1, 0x10 or 2.0
  if (!Number.isInteger(n) || n < 1 || n > max) throw usageError(`${name} must be an integer from 1 to ${max}, got '${clip(v, 40)}'`);
  return n;
}
