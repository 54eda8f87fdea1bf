/**
 * Graph questions over the index: the whole graph (for exports), a breadth-first neighbourhood
 * and the shortest paths between two nodes, both reading only the nodes they touch. Read-only.
 */
import type { GraphEdge, GraphNode } from "../pipeline/extract.ts";
import { edgeOrder, type RunIndex } from "./run-index.ts";

export { edgeOrder };

export type Graph = { nodes: Map<string, GraphNode>; edges: GraphEdge[] };

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One key per (source, target, type); keys sort as edgeOrder sorts the edges (ids hold no NUL). */
export const edgeKey = (e: { source: string; target: string; type: string }) => `${e.source}\0${e.target}\0${e.type}`;

/** The whole graph of the run (every document record is read: exports and filtered lists only). */
export function loadGraph(ix: RunIndex): Graph {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  for (const n of ix.shards) {
    for (const [, rec] of ix.docs(n)) {
      const part = ix.docGraph(rec);
      for (const node of part.nodes) if (!nodes.has(node.id)) nodes.set(node.id, node);
      edges.push(...part.edges);
    }
  }
  // Git provenance: commits and authors, `authored` edges and the `modified` edges to ingested documents.
  const git = ix.git();
  if (git) {
    for (const node of git.nodes()) nodes.set(node.id, node);
    edges.push(...git.edges(ix.docIdOf));
  }
  edges.sort(edgeOrder);
  return { nodes, edges };
}

type Adjacent = { edge: GraphEdge; other: string };

/** A node's edges in both directions, optionally restricted to edge types, with a cache. */
function adjacency(ix: RunIndex, types?: Set<string>) {
  const cache = new Map<string, Adjacent[]>();
  return (id: string): Adjacent[] => {
    let list = cache.get(id);
    if (!list) {
      const n = ix.node(id);
      list = [];
      for (const e of [...(n?.out ?? []), ...(n?.in ?? [])]) {
        if (types && !types.has(e.type)) continue;
        list.push({ edge: e, other: e.source === id ? e.target : e.source });
      }
      cache.set(id, list);
    }
    return list;
  };
}

/**
 * Breadth-first walk over edges in both directions, optionally restricted to edge types. With `max`,
 * the walk stops after the first depth at which more than `max` nodes were found, and only the
 * nearest `max` (by depth, then id) are read and returned, with the edges between them: `total` is
 * the number found up to that depth, `truncated` says nodes were left out (a hub ten edges deep is
 * most of the graph: the MCP server's walk read all of it before it cut the answer). With `edges`
 * false the edges are not gathered (an empty list): a listing of the nodes does not show them.
 */
export function neighbors(ix: RunIndex, start: string, depth: number, opts: { types?: Set<string>; max?: number; edges?: boolean } = {}) {
  const { types, max = Infinity, edges = true } = opts;
  const adj = adjacency(ix, types);
  const seen = new Set<string>([start]);
  // A shared node (technology, reference) is named from the shard of the document it was reached from.
  const hints = new Map<string, number | undefined>();
  const used: GraphEdge[] = [];
  /** The nodes found at each depth (levels[0] at depth 1), in the order found. */
  const levels: string[][] = [];
  let frontier = [start];
  for (let d = 1; d <= depth && frontier.length; d++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const { edge, other } of adj(id)) {
        if (edges) used.push(edge);
        if (!seen.has(other)) { seen.add(other); next.push(other); hints.set(other, ix.shardOfNode(id)); }
      }
    }
    if (next.length) levels.push(next);
    frontier = next;
    if (seen.size - 1 > max) break;
  }
  const reached = levels.length; // the depth of the last level found
  const total = seen.size - 1;
  // By depth, then id: each level sorted alone, by the engine's own string order (a comparator in
  // JavaScript was a tenth of a 4,000-node walk). The walk is done: its levels can be sorted in place.
  let found: [string, number][] = [];
  levels.forEach((ids, i) => { for (const id of ids.sort()) found.push([id, i + 1]); });
  const truncated = found.length > max;
  if (truncated) found = found.slice(0, max);
  const kept = truncated ? new Set([start, ...found.map(([id]) => id)]) : seen;
  // The edges between kept nodes that the whole walk takes from the last level, which a cut walk did not expand.
  if (edges && truncated && reached < depth) {
    for (const [id, d] of found) if (d === reached) for (const { edge, other } of adj(id)) if (kept.has(other)) used.push(edge);
  }
  // One edge per (source, target, type), in edgeOrder: the keys sort as the edges do (ids hold no NUL).
  const byKey = new Map<string, GraphEdge>();
  if (edges) for (const e of used) if (kept.has(e.source) && kept.has(e.target)) byKey.set(edgeKey(e), e);
  const uniq = [...byKey.keys()].sort().map((k) => byKey.get(k)!);
  const nodes = found.map(([id, d]) => ({ ...ix.nodeOnly(id, hints.get(id))!, depth: d }));
  return { nodes, edges: uniq, total, truncated };
}

export type PathResult = { nodes: GraphNode[]; edges: GraphEdge[] };

/**
 * Shortest paths from `a` to `b`, edges followed in either direction: a bidirectional
 * breadth-first search that expands the smaller frontier first. With `all`, every shortest path
 * (at most `maxPaths`), else the first in id order. A path is a sequence of edges: two edges between
 * the same two nodes (a link each way, or edges of two types) make two paths. Undefined when none
 * within `maxDepth` edges.
 */
export function shortestPaths(ix: RunIndex, a: string, b: string, opts: { maxDepth: number; types?: Set<string>; all?: boolean; maxPaths?: number }): PathResult[] | undefined {
  if (a === b) return [{ nodes: [ix.nodeOnly(a)!], edges: [] }];
  const adj = adjacency(ix, opts.types);
  // parents[side]: node → the edges that reached it from the previous layer
  const dist = [new Map<string, number>([[a, 0]]), new Map<string, number>([[b, 0]])];
  const parents = [new Map<string, Adjacent[]>(), new Map<string, Adjacent[]>()];
  let frontiers = [[a], [b]];
  let meet: string[] = [];
  for (let depth = 0; depth < opts.maxDepth && meet.length === 0; depth++) {
    const side = frontiers[0]!.length <= frontiers[1]!.length ? 0 : 1;
    if (frontiers[side]!.length === 0) break;
    const next: string[] = [];
    const d = dist[side]!;
    const level = d.get(frontiers[side]![0]!)! + 1;
    for (const id of frontiers[side]!) {
      for (const { edge, other } of adj(id)) {
        const known = d.get(other);
        if (known === undefined) { d.set(other, level); next.push(other); }
        if (known === undefined || known === level) {
          const p = parents[side]!.get(other) ?? [];
          p.push({ edge, other: id });
          parents[side]!.set(other, p);
        }
      }
    }
    next.sort(cmp);
    frontiers[side] = next;
    const other = dist[1 - side]!;
    meet = next.filter((id) => other.has(id));
    if (meet.length) {
      const best = Math.min(...meet.map((id) => other.get(id)!));
      meet = meet.filter((id) => other.get(id) === best);
    }
  }
  if (meet.length === 0) return undefined;
  // Expand paths from the meeting nodes back to each end.
  const limit = opts.all ? (opts.maxPaths ?? 100) : 1;
  const back = (side: number, id: string, budget: { n: number }): { ids: string[]; edges: GraphEdge[] }[] => {
    const end = side === 0 ? a : b;
    if (id === end) return [{ ids: [id], edges: [] }];
    const out: { ids: string[]; edges: GraphEdge[] }[] = [];
    const ps = [...(parents[side]!.get(id) ?? [])].sort((x, y) => cmp(x.other, y.other) || edgeOrder(x.edge, y.edge));
    for (const p of ps) {
      for (const rest of back(side, p.other, budget)) {
        out.push({ ids: [...rest.ids, id], edges: [...rest.edges, p.edge] });
        if (out.length >= budget.n) return out;
      }
    }
    return out;
  };
  const results: PathResult[] = [];
  const seen = new Set<string>();
  const lineKey = (e: GraphEdge) => `${edgeKey(e)}\0${e.line ?? ""}`;
  for (const m of meet) {
    for (const left of back(0, m, { n: limit })) {
      for (const right of back(1, m, { n: limit })) {
        const ids = [...left.ids, ...right.ids.slice(0, -1).reverse()];
        const edges = [...left.edges, ...right.edges.reverse()];
        const key = edges.map(lineKey).join("\n");
        if (seen.has(key)) continue;
        seen.add(key);
        results.push({ nodes: ids.map((id) => ix.nodeOnly(id)!), edges });
        if (results.length >= limit) return results;
      }
    }
  }
  return results;
}
