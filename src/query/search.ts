/**
 * BM25 search (k1 = 1.2, b = 0.75) over chunk texts and, separately, over entity names; the two
 * ranked lists are merged by score (ties by id). Every hit carries a path and a line.
 */
import { terms } from "../pipeline/chunk.ts";
import type { GraphNode } from "../pipeline/extract.ts";
import type { Graph } from "./graph.ts";

const K1 = 1.2;
const B = 0.75;

export type Hit = { id: string; type: string; score: number; path: string; line: number; name: string };

const idf = (n: number, df: number) => Math.log(1 + (n - df + 0.5) / (df + 0.5));

/** Count of `term` in a termFreq string ("a b:3 c"), found with indexOf rather than parsing. */
function countIn(tf: string, term: string): number {
  for (let at = tf.indexOf(term); at >= 0; at = tf.indexOf(term, at + 1)) {
    if (at > 0 && tf.charCodeAt(at - 1) !== 32) continue;
    const end = at + term.length;
    if (end === tf.length || tf.charCodeAt(end) === 32) return 1;
    if (tf.charCodeAt(end) === 58) {
      const stop = tf.indexOf(" ", end);
      return Number(tf.slice(end + 1, stop < 0 ? undefined : stop));
    }
  }
  return 0;
}

function bm25<T>(docs: T[], len: (d: T) => number, tf: (d: T, term: string) => number, q: string[]): { doc: T; score: number }[] {
  if (docs.length === 0 || q.length === 0) return [];
  const avg = docs.reduce((s, d) => s + len(d), 0) / docs.length || 1;
  const perTerm = q.map((t) => docs.map((d) => tf(d, t)));
  const scores = new Float64Array(docs.length);
  perTerm.forEach((counts) => {
    const df = counts.reduce((s, c) => s + (c > 0 ? 1 : 0), 0);
    if (df === 0) return;
    const w = idf(docs.length, df);
    counts.forEach((c, i) => {
      if (c > 0) scores[i]! += (w * c * (K1 + 1)) / (c + K1 * (1 - B + (B * len(docs[i]!)) / avg));
    });
  });
  const out: { doc: T; score: number }[] = [];
  scores.forEach((s, i) => { if (s > 0) out.push({ doc: docs[i]!, score: s }); });
  return out;
}

const ENTITY_TYPES = new Set(["document", "section", "technology", "reference", "decision", "claim"]);

export function search(g: Graph, text: string, opts: { type?: string; limit: number }): Hit[] {
  const q = [...new Set(terms(text))];
  const hits: Hit[] = [];
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  if (!opts.type || opts.type === "chunk") {
    for (const { doc, score } of bm25(g.chunks, (c) => c.chunk[4], (c, t) => countIn(c.chunk[5], t), q)) {
      hits.push({ id: doc.id, type: "chunk", score: round(score), path: doc.path, line: doc.chunk[2], name: g.nodes.get(doc.doc)!.name });
    }
  }
  if (!opts.type || ENTITY_TYPES.has(opts.type)) {
    const entities: { node: GraphNode; terms: string[] }[] = [];
    const candidates = opts.type ? (g.byType.get(opts.type) ?? []).map((id) => g.nodes.get(id)!) : g.nodes.values();
    for (const n of candidates) if (n.type !== "chunk") entities.push({ node: n, terms: terms(n.name) });
    for (const { doc, score } of bm25(entities, (e) => e.terms.length, (e, t) => e.terms.filter((x) => x === t).length, q)) {
      const where = locate(g, doc.node);
      hits.push({ id: doc.node.id, type: doc.node.type, score: round(score), path: where.path, line: where.line, name: doc.node.name });
    }
  }
  hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return hits.slice(0, opts.limit);
}

/** Where a node comes from: its own path, or (for global nodes) the first document that points to it. */
export function locate(g: Graph, n: GraphNode): { path: string; line: number } {
  if (n.path) return { path: n.path, line: n.line ?? 1 };
  const e = g.in.get(n.id)?.[0];
  const src = e ? g.nodes.get(e.source) : undefined;
  return { path: src?.path ?? "", line: e?.line ?? 1 };
}

