/**
 * The graph of one run, loaded from its index shards: nodes (with paths filled in), edges
 * (including chunk containment and relative links resolved to documents of the same run), the
 * type index and adjacency in both directions. Read-only.
 */
import { readTextShard, shardName, shardOf, type IndexShard } from "../pipeline/shard.ts";
import { chunkId, docId, entryGraph, type Chunk, type GraphEdge, type GraphNode } from "../pipeline/extract.ts";
import { readObject } from "../store/objects.ts";
import type { OpenStore } from "../store/open.ts";

export type ChunkRef = { id: string; doc: string; path: string; chunk: Chunk };

export type Graph = {
  nodes: Map<string, GraphNode>;
  edges: GraphEdge[];
  chunks: ChunkRef[];
  out: Map<string, GraphEdge[]>;
  in: Map<string, GraphEdge[]>;
  byType: Map<string, string[]>;
};

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const edgeOrder = (a: GraphEdge, b: GraphEdge) => cmp(a.source, b.source) || cmp(a.target, b.target) || cmp(a.type, b.type);

export function loadGraph(store: OpenStore): Graph {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const chunks: ChunkRef[] = [];
  const links: { from: string; target: string; line: number }[] = [];
  for (const a of store.manifest.artifacts) {
    if (!a.name.startsWith("index/")) continue;
    const shard = readObject<IndexShard>(store.profileDir, a.sha256);
    for (const [path, e] of Object.entries(shard.files)) {
      const part = entryGraph(path, e);
      for (const n of part.nodes) if (!nodes.has(n.id)) nodes.set(n.id, n);
      edges.push(...part.edges);
      const doc = part.nodes[0]!.id;
      e.chunks.forEach((chunk, i) => chunks.push({ id: chunkId(doc, i), doc, path, chunk }));
      for (const [target, line] of e.links) links.push({ from: doc, target, line });
    }
  }
  for (const l of links) {
    const to = docId(l.target);
    if (nodes.has(to) && to !== l.from) edges.push({ source: l.from, target: to, type: "links_to", line: l.line });
  }
  edges.sort(edgeOrder);
  const out = new Map<string, GraphEdge[]>();
  const inn = new Map<string, GraphEdge[]>();
  const byType = new Map<string, string[]>();
  for (const e of edges) {
    (out.get(e.source) ?? out.set(e.source, []).get(e.source)!).push(e);
    (inn.get(e.target) ?? inn.set(e.target, []).get(e.target)!).push(e);
  }
  for (const id of [...nodes.keys()].sort(cmp)) {
    const t = nodes.get(id)!.type;
    (byType.get(t) ?? byType.set(t, []).get(t)!).push(id);
  }
  return { nodes, edges, chunks, out, in: inn, byType };
}

/** Texts of the given documents (by path), reading only the text shards that hold them. */
export function loadTexts(store: OpenStore, paths: Iterable<string>): Map<string, string> {
  const want = new Map<number, string[]>();
  for (const p of paths) { const n = shardOf(p); (want.get(n) ?? want.set(n, []).get(n)!).push(p); }
  const byName = new Map(store.manifest.artifacts.map((a) => [a.name, a]));
  const out = new Map<string, string>();
  for (const [n, ps] of want) {
    const a = byName.get(shardName("text", n));
    if (!a) continue;
    const shard = readTextShard(store.profileDir, a.sha256);
    for (const p of ps) if (shard.files[p] !== undefined) out.set(p, shard.files[p]!);
  }
  return out;
}

/** Breadth-first walk over edges in both directions, optionally restricted to edge types. */
export function neighbors(g: Graph, start: string, depth: number, types?: Set<string>) {
  const seen = new Map<string, number>([[start, 0]]);
  const used: GraphEdge[] = [];
  let frontier = [start];
  for (let d = 1; d <= depth && frontier.length; d++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const e of [...(g.out.get(id) ?? []), ...(g.in.get(id) ?? [])]) {
        if (types && !types.has(e.type)) continue;
        const other = e.source === id ? e.target : e.source;
        used.push(e);
        if (!seen.has(other)) { seen.set(other, d); next.push(other); }
      }
    }
    frontier = next;
  }
  const uniq = [...new Map(used.map((e) => [`${e.source}\0${e.target}\0${e.type}`, e])).values()].sort(edgeOrder);
  const nodes = [...seen].filter(([id]) => id !== start).map(([id, d]) => ({ ...g.nodes.get(id)!, depth: d }))
    .sort((a, b) => a.depth - b.depth || cmp(a.id, b.id));
  return { nodes, edges: uniq };
}
