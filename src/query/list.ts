/**
 * `list`: nodes filtered by type and field conditions, sorted, paged, counted or grouped. Counting
 * by type alone reads only the manifest's counts (the shards' headers for a run written before the
 * manifest counted sections, decisions and claims); anything else walks the documents (types that
 * live in document meta, such as `document`, read only that).
 */
import { docId, frontMatterTags, type GraphNode } from "../pipeline/extract.ts";
import type { GlobalRecord } from "../pipeline/shard.ts";
import { clip, usageError } from "../shared/errors.ts";
import type { RunIndex } from "./run-index.ts";

export type Condition = { field: string; op: "=" | "~"; value: string };
export type ListOptions = {
  types?: string[]; where: Condition[]; sort?: string; desc?: boolean; limit: number; offset: number; groupBy?: string; countOnly?: boolean;
  /** What errors call the where, sort and group-by inputs (the CLI's flags by default; the MCP tool's argument names). */
  names?: ListNames;
};
export type ListNames = { where: string; sort: string; groupBy: string };
const CLI_LIST_NAMES: ListNames = { where: "--where", sort: "--sort", groupBy: "--group-by" };
export type ListResult = { total: number; nodes?: GraphNode[]; groups?: { value: unknown; count: number }[] };

/**
 * A `where` condition; `name`: what errors call the input (`--where` for the CLI). In NFC, as the
 * stored names are (a decomposed é typed or sent by an MCP client finds them).
 */
export function parseCondition(s: string, name = CLI_LIST_NAMES.where): Condition {
  // A front-matter key may hold any character but `=` and `~` (`frontmatter.优先级=高`, `frontmatter.due date~soon`).
  const m = /^(frontmatter\.[^=~]+|[A-Za-z_][\w.-]*)(=|~)(.*)$/s.exec(s.normalize("NFC"));
  if (!m) throw usageError(`${name} takes FIELD=VALUE or FIELD~SUBSTRING, got '${clip(s)}'`);
  // Every value holds the empty string: `name~` listed every node.
  if (m[2] === "~" && m[3] === "") throw usageError(`${name} ${clip(m[1]!, 80)}~ needs a substring to look for, e.g. ${m[1]}~auth`);
  return { field: checkField(m[1]!, name), op: m[2] as "=" | "~", value: m[3]! };
}

/** The fields every node has (`path` and `line` only a document's own nodes), and `tag` (`tags`): the front matter's tags. */
const NODE_FIELDS = ["id", "type", "name", "path", "line", "tag", "tags"];
/**
 * Every attribute a node can have (pipeline/extract.ts entryGraph, git/graph.ts): documents `kind`,
 * `frontmatter`, `code_spans`, `pages`; sections `level`; decisions `status`; claims `kind`; chunks
 * `end_line`, `tokens`; symbols `kind`, `exported`, `container`; commits `oid`, `time`, `author`,
 * `author_id`; authors `commits`. Also as `attrs.NAME`.
 */
export const ATTRIBUTES = ["kind", "level", "status", "tokens", "end_line", "exported", "container", "pages", "code_spans", "frontmatter", "oid", "time", "author", "author_id", "commits"];

/** `field` if `list` knows it (a node field, an attribute, `attrs.ATTRIBUTE`, `frontmatter.KEY` with any KEY), else a usage error naming the valid ones. */
export function checkField(field: string, flag: string): string {
  if (NODE_FIELDS.includes(field) || ATTRIBUTES.includes(field)) return field;
  if (field.startsWith("attrs.") && ATTRIBUTES.includes(field.slice(6))) return field;
  if (field.startsWith("frontmatter.") && field.length > 12) return field;
  throw usageError(`${flag}: unknown field '${clip(field, 80)}'; fields are ${NODE_FIELDS.join(", ")}, the attributes ${ATTRIBUTES.join(", ")} (also as attrs.NAME), and frontmatter.KEY`);
}

/** A node's value for a field: id, type, name, path, line, an attribute, frontmatter.KEY, or tag. */
export function fieldOf(n: GraphNode, field: string): unknown {
  if (field === "id" || field === "type" || field === "name" || field === "path" || field === "line") return n[field];
  const fm = n.attrs?.frontmatter as Record<string, unknown> | undefined;
  if (field === "tag" || field === "tags") { const tags = fm ? frontMatterTags(fm) : []; return tags.length ? tags : undefined; }
  // Own keys only: `frontmatter.constructor` is a key the front matter may lack, not Object's.
  if (field.startsWith("frontmatter.")) { const k = field.slice(12); return fm && Object.hasOwn(fm, k) ? fm[k] : undefined; }
  return n.attrs?.[field.startsWith("attrs.") ? field.slice(6) : field];
}

const text = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v));

function matches(n: GraphNode, c: Condition): boolean {
  const v = fieldOf(n, c.field);
  // No value (absent, or null: YAML's `~`, or `.inf` and `.nan`, which JSON holds as null) is the
  // group `null` of --group-by: `F=null` selects it.
  if (v === undefined || v === null) return c.op === "=" && c.value.toLowerCase() === "null";
  const values = Array.isArray(v) ? v : [v];
  const want = c.value.toLowerCase();
  // `tag=a,b` is tags a and b, as query's `--tag a,b` is (a stored tag never holds a comma: the
  // front matter's tags are split at commas).
  if ((c.field === "tag" || c.field === "tags") && c.op === "=" && want.includes(",")) {
    const all = want.split(",").map((t) => t.trim()).filter(Boolean);
    return all.every((t) => values.some((x) => text(x).toLowerCase() === t));
  }
  return values.some((x) => (c.op === "=" ? text(x).toLowerCase() === want : text(x).toLowerCase().includes(want)));
}

/** A value's class in the sort order: numbers, then every other value (strings, booleans, lists) as text, then missing. */
const rank = (v: unknown) => (v === undefined || v === null ? 2 : typeof v === "number" ? 0 : 1);

/**
 * A total order on field values (transitive whatever the mix of types): numbers first, by value;
 * then other values by their text (code units; a list or object as its JSON); missing values last.
 */
function compare(a: unknown, b: unknown): number {
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 2) return 0;
  if (ra === 0) return (a as number) - (b as number);
  const x = text(a), y = text(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Every node of the run of the given types, in no particular order. */
function* allNodes(ix: RunIndex, types?: string[]): Generator<GraphNode> {
  const want = (t: string) => !types || types.includes(t);
  const onlyDocs = types && types.every((t) => t === "document");
  for (const n of ix.shards) {
    if (onlyDocs) {
      for (const [, m] of ix.metas(n)) {
        const node = ix.nodeOnly(`doc_${docKey(m.path)}`);
        if (node) yield node;
      }
      continue;
    }
    if (types && !types.some((t) => t !== "technology" && t !== "reference" && t !== "module" && t !== "commit" && t !== "author")) continue;
    for (const [, rec] of ix.docs(n)) for (const node of ix.docNodes(rec).values()) if (node.type !== "technology" && node.type !== "reference" && node.type !== "module" && want(node.type)) yield node;
  }
  // Git provenance nodes (commits, authors) live in the run's git artifact.
  if (want("commit") || want("author")) for (const node of ix.git()?.nodes() ?? []) if (want(node.type)) yield node;
  if (want("technology") || want("reference") || want("module")) {
    const seen = new Set<string>();
    for (const n of ix.shards) {
      for (const [id, g] of ix.seg(n)!.range<GlobalRecord>("global")) {
        if (seen.has(id) || !want(g.type)) continue;
        seen.add(id);
        yield { id, type: g.type, name: g.name };
      }
    }
  }
}

const docKey = (path: string) => docId(path).slice(4);

export function listNodes(ix: RunIndex, o: ListOptions): ListResult {
  const names = o.names ?? CLI_LIST_NAMES;
  if (o.sort) checkField(o.sort, names.sort);
  if (o.groupBy) checkField(o.groupBy, names.groupBy);
  for (const c of o.where) checkField(c.field, names.where);
  // Counting by type needs no node: the manifest (or the headers) counts local nodes, and the shared ones.
  if (o.where.length === 0 && (o.countOnly || o.groupBy === "type") && (!o.groupBy || o.groupBy === "type")) {
    const counts = ix.typeCounts();
    // Shared nodes are counted once over all shards by ingest (manifest counts), not per shard.
    counts.technology = ix.store.manifest.counts.technologies ?? 0;
    counts.reference = ix.store.manifest.counts.references ?? 0;
    counts.module = ix.store.manifest.counts.modules ?? 0;
    counts.commit = ix.store.manifest.counts.commits ?? 0;
    counts.author = ix.store.manifest.counts.authors ?? 0;
    const groups = Object.entries(counts).filter(([t, c]) => c > 0 && (!o.types || o.types.includes(t)))
      .map(([value, count]) => ({ value: value as unknown, count })).sort((a, b) => b.count - a.count || compare(a.value, b.value));
    const total = groups.reduce((s, g) => s + g.count, 0);
    return o.groupBy ? { total, groups } : { total };
  }
  const nodes: GraphNode[] = [];
  for (const n of allNodes(ix, o.types)) if (o.where.every((c) => matches(n, c))) nodes.push(n);
  if (o.groupBy) {
    const counts = new Map<string, { value: unknown; count: number }>();
    for (const n of nodes) {
      const v = fieldOf(n, o.groupBy);
      for (const x of Array.isArray(v) ? v : [v]) {
        const k = JSON.stringify(x ?? null);
        const g = counts.get(k) ?? { value: x ?? null, count: 0 };
        g.count++;
        counts.set(k, g);
      }
    }
    return { total: nodes.length, groups: [...counts.values()].sort((a, b) => b.count - a.count || compare(a.value, b.value)) };
  }
  if (o.countOnly) return { total: nodes.length };
  // --desc reverses the order of values; nodes with equal values stay in ascending id order.
  const key = o.sort ?? "id";
  nodes.sort((a, b) => {
    const c = compare(fieldOf(a, key), fieldOf(b, key));
    return (o.desc ? -c : c) || compare(a.id, b.id);
  });
  return { total: nodes.length, nodes: nodes.slice(o.offset, o.offset + o.limit) };
}
