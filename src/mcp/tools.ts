/**
 * The MCP server's tools: each an argument schema (zod, listed as JSON Schema) and a handler over
 * the current run's index that returns what the matching CLI command prints with --json (same
 * fields, same order of results), so a client reads the same shapes as a script does. Read-only:
 * nothing here writes. Handlers throw AgError for what the caller got wrong (unknown node, bad
 * query); the server turns every throw into a one-line tool error. zod comes from the server
 * (makeTools), which loads it with the SDK when `auditgraph mcp` starts.
 */
import type * as Z from "zod";
import { EDGE_TYPES, NODE_TYPES } from "../pipeline/extract.ts";
import { AgError, ExitCode, usageError } from "../shared/errors.ts";
import type { OpenStore } from "../store/open.ts";
import { renderExport, subgraph } from "../query/export.ts";
import { neighbors, shortestPaths } from "../query/graph.ts";
import { listNodes, parseCondition } from "../query/list.ts";
import { parseQuery } from "../query/parse.ts";
import type { RunIndex } from "../query/run-index.ts";
import { search } from "../query/search.ts";
import { issueLine } from "./stdio.ts";

/** Bounds of export_subgraph: a client asks for at most this many nodes and edges. */
export const SUBGRAPH_LIMITS = { defaultNodes: 500, maxNodes: 5000, defaultEdges: 2000, maxEdges: 20000, maxDepth: 5 };
/** Bound of neighbors: nodes returned (the rest counted in `total`). */
export const NEIGHBOR_LIMITS = { defaultNodes: 200, maxNodes: 5000 };

export type Ctx = { store: OpenStore; ix: RunIndex };
export type Tool<S extends Z.ZodObject = Z.ZodObject> = { name: string; title: string; description: string; schema: S; run: (ctx: Ctx, args: Z.output<S>) => Record<string, unknown> };
const tool = <S extends Z.ZodObject>(t: Tool<S>) => t as unknown as Tool;

const notFound = (nid: string, runId: string) =>
  new AgError(`node '${nid}' not found in run ${runId}`, { exitCode: ExitCode.usage, code: "not_found", hint: "find ids with the query or list tool" });
const need = (ctx: Ctx, nid: string) => { if (!ctx.ix.nodeOnly(nid)) throw notFound(nid, ctx.store.runId); };

/** The tools, their schemas made with `z`. */
export const makeTools = (z: typeof Z): Tool[] => {
  const nodeType = z.enum(NODE_TYPES as unknown as [string, ...string[]]);
  const edgeType = z.enum(EDGE_TYPES as unknown as [string, ...string[]]);
  const id = (what: string) => z.string().min(1).max(200).describe(what);
  const edgeTypes = z.array(edgeType).min(1).optional().describe("Only follow these edge types (default: all)");

  return [
    tool({
      name: "query",
      title: "Search the knowledge graph",
      description:
        "Ranked full-text search (BM25F) over the workspace's notes and code. Words, \"exact phrases\", identifiers as typed " +
        "(Buffer.concat()), prefix*, and filters type:T path:GLOB tag:TAG inside the text. Every hit has id, type, score (0-1), " +
        "path and line of its best match, name, snippet (that line) and matches. Same result as `auditgraph query TEXT --json`.",
      schema: z.strictObject({
        text: z.string().min(1).max(1000).describe("Search text in the query language"),
        types: z.array(nodeType).min(1).optional().describe("Only hits of these node types"),
        path: z.string().min(1).optional().describe("Only hits in files matching this glob (* within a folder, ** across folders)"),
        tag: z.string().min(1).optional().describe("Only hits in documents whose front matter has this tag"),
        limit: z.int().min(1).max(100).default(10).describe("Maximum number of hits"),
        explain: z.boolean().default(false).describe("Add why each hit ranked where it did"),
      }),
      run(ctx, a) {
        const parsed = parseQuery(a.text, { types: a.types ?? [], paths: a.path ? [a.path] : [], tags: a.tag ? [a.tag] : [] });
        const res = search(ctx.ix, parsed, { limit: a.limit, explain: a.explain });
        const warnings = [...parsed.warnings, ...(res.warnings ?? [])];
        return { status: "ok", run_id: ctx.store.runId, query: a.text, total: res.total, hits: res.hits, ...(warnings.length ? { warnings } : {}) };
      },
    }),
    tool({
      name: "node",
      title: "One node and its edges",
      description:
        "One node (document, section, chunk, decision, claim, technology, reference) with its attributes, source path and line, " +
        "and its edges in both directions; a chunk also carries its text. Same result as `auditgraph node ID --json`.",
      schema: z.strictObject({ id: id("Node id, e.g. doc_…, sec_…, chk_…, tech_postgresql") }),
      run(ctx, a) {
        const found = ctx.ix.node(a.id);
        if (!found) throw notFound(a.id, ctx.store.runId);
        const { node, out, in: inn } = found;
        const where = ctx.ix.locate(node, inn);
        let text: string | undefined;
        if (node.type === "chunk") {
          const doc = ctx.ix.docByPath(node.path!);
          const ch = doc?.rec.chunks[Number(a.id.slice(a.id.lastIndexOf("_") + 1))];
          if (ch) text = ctx.ix.textRange(node.path!, ch[0], ch[1]);
        }
        return { status: "ok", run_id: ctx.store.runId, node: { ...node, ...where }, ...(text !== undefined ? { text } : {}), out_edges: out, in_edges: inn };
      },
    }),
    tool({
      name: "neighbors",
      title: "Walk the graph from a node",
      description:
        "Breadth-first walk from a node over edges in both directions: the nodes within `depth` edges (each with its depth, " +
        "path and line when it has a source) and the edges walked. Same result as `auditgraph neighbors ID --json`, plus " +
        "`total` and `truncated` when more than `limit` nodes were found (the nearest are kept, by depth then id; the walk " +
        "stops after the first depth past `limit`, so `total` then counts the nodes up to that depth).",
      schema: z.strictObject({
        id: id("Start node id"),
        depth: z.int().min(1).max(10).default(1).describe("How many edges away"),
        edge_types: edgeTypes,
        limit: z.int().min(1).max(NEIGHBOR_LIMITS.maxNodes).default(NEIGHBOR_LIMITS.defaultNodes).describe("At most this many nodes"),
      }),
      run(ctx, a) {
        need(ctx, a.id);
        const { nodes, edges, total, truncated } = neighbors(ctx.ix, a.id, a.depth, { types: a.edge_types ? new Set(a.edge_types) : undefined, max: a.limit });
        return { status: "ok", run_id: ctx.store.runId, start: a.id, depth: a.depth, nodes, edges, total, truncated };
      },
    }),
    tool({
      name: "why_connected",
      title: "Shortest paths between two nodes",
      description:
        "The shortest path(s) between two nodes, edges followed in either direction, each edge with its type and source line. " +
        "Not connected within max_depth: connected false. Same result as `auditgraph why-connected A B --json`.",
      schema: z.strictObject({
        a: id("First node id"),
        b: id("Second node id"),
        max_depth: z.int().min(1).max(10).default(4).describe("Longest path to look for, in edges"),
        edge_types: edgeTypes,
        all: z.boolean().default(false).describe("Every shortest path (at most 100), not just the first"),
      }),
      run(ctx, a) {
        need(ctx, a.a);
        need(ctx, a.b);
        const paths = shortestPaths(ctx.ix, a.a, a.b, { maxDepth: a.max_depth, ...(a.edge_types ? { types: new Set<string>(a.edge_types) } : {}), all: a.all }) ?? [];
        const connected = paths.length > 0;
        return { status: "ok", run_id: ctx.store.runId, from: a.a, to: a.b, connected, length: connected ? paths[0]!.edges.length : null, max_depth: a.max_depth, paths };
      },
    }),
    tool({
      name: "list",
      title: "List, count or group nodes",
      description:
        "Nodes by type and field, sorted and paged; or how many match (count_only), or counts per value of a field (group_by). " +
        "Fields: id, type, name, path, line, tag, an attribute (kind, level, status, tokens, end_line, exported, container, pages, …; also attrs.NAME), frontmatter.KEY; another field is an error naming the valid ones. " +
        "Same result as `auditgraph list --json`.",
      schema: z.strictObject({
        types: z.array(nodeType).min(1).optional().describe("Only these node types"),
        where: z.array(z.string().min(1)).optional().describe("Conditions, all must hold: FIELD=VALUE (equal, any case) or FIELD~SUBSTRING"),
        sort: z.string().min(1).optional().describe("Sort by this field (default id)"),
        desc: z.boolean().default(false).describe("Sort in descending order"),
        limit: z.int().min(1).max(1000).default(50).describe("At most this many nodes"),
        offset: z.int().min(0).max(1_000_000_000).default(0).describe("Skip the first N nodes"),
        count_only: z.boolean().default(false).describe("Only how many nodes match"),
        group_by: z.string().min(1).optional().describe("Count matching nodes per value of this field"),
      }),
      run(ctx, a) {
        // Errors name this tool's arguments ('where', 'group_by'), not the CLI's flags.
        const names = { where: "'where'", sort: "'sort'", groupBy: "'group_by'" };
        // As the CLI: what orders or pages nodes beside group_by would be ignored, so it is refused.
        const nodeOnly = a.group_by === undefined ? undefined : a.sort !== undefined ? "sort" : a.desc ? "desc" : a.limit !== 50 ? "limit" : a.offset !== 0 ? "offset" : undefined;
        if (nodeOnly) throw usageError(`'${nodeOnly}' applies to a list of nodes, and 'group_by' counts every group (most nodes first): give one or the other`);
        const where = (a.where ?? []).map((c) => parseCondition(c, names.where));
        const r = listNodes(ctx.ix, {
          ...(a.types ? { types: a.types } : {}), where, limit: a.limit, offset: a.offset, desc: a.desc, countOnly: a.count_only, names,
          ...(a.sort ? { sort: a.sort } : {}), ...(a.group_by ? { groupBy: a.group_by } : {}),
        });
        if (r.groups) return { status: "ok", run_id: ctx.store.runId, total: r.total, group_by: a.group_by, groups: r.groups };
        if (!r.nodes) return { status: "ok", run_id: ctx.store.runId, total: r.total };
        return { status: "ok", run_id: ctx.store.runId, total: r.total, offset: a.offset, limit: a.limit, nodes: r.nodes };
      },
    }),
    tool({
      name: "export_subgraph",
      title: "Export a node's neighbourhood",
      description:
        "The nodes within `depth` edges of a node and the edges the walk followed to reach them (not an edge between two nodes at the last depth), bounded: at most max_nodes nodes and max_edges " +
        "edges, `truncated` true when the bound cut the walk (nodes nearer the start are kept). format json gives " +
        "{nodes, edges} as `auditgraph export --subgraph ID --json` does; jsonl, cypher (for Neo4j), dot or graphml give the export text.",
      schema: z.strictObject({
        id: id("Start node id"),
        depth: z.int().min(1).max(SUBGRAPH_LIMITS.maxDepth).default(1).describe("How many edges away"),
        edge_types: edgeTypes,
        max_nodes: z.int().min(1).max(SUBGRAPH_LIMITS.maxNodes).default(SUBGRAPH_LIMITS.defaultNodes).describe("At most this many nodes"),
        max_edges: z.int().min(1).max(SUBGRAPH_LIMITS.maxEdges).default(SUBGRAPH_LIMITS.defaultEdges).describe("At most this many edges"),
        format: z.enum(["json", "jsonl", "cypher", "dot", "graphml"]).default("json").describe("json (structured) or the text of an export format"),
      }),
      run(ctx, a) {
        const g = subgraph(ctx.ix, a.id, a.depth, { maxNodes: a.max_nodes, maxEdges: a.max_edges, ...(a.edge_types ? { types: new Set<string>(a.edge_types) } : {}) });
        if (!g) throw notFound(a.id, ctx.store.runId);
        const head = { status: "ok", run_id: ctx.store.runId, start: a.id, depth: a.depth, truncated: g.truncated, limits: { max_nodes: a.max_nodes, max_edges: a.max_edges } };
        if (a.format === "json") {
          const nodes = [...g.nodes.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
          return { ...head, nodes, edges: g.edges };
        }
        return { ...head, format: a.format, nodes: g.nodes.size, edges: g.edges.length, text: renderExport(g, a.format, ctx.store.runId, { start: a.id, depth: a.depth }) };
      },
    }),
  ];
};

/** A tool's arguments as JSON Schema (input side: fields with defaults are optional). */
export const inputSchema = (z: typeof Z, t: Tool) => {
  const { $schema: _, ...rest } = z.toJSONSchema(t.schema, { io: "input" }) as Record<string, unknown>;
  return rest as { type: "object"; [k: string]: unknown };
};

/** Arguments checked against a tool's schema, or one line saying what is wrong with them. */
export function parseArgs(t: Tool, args: unknown): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  const r = t.schema.safeParse(args ?? {});
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, message: `invalid arguments for ${t.name}: ${issueLine(r.error.issues, [], "arguments")}` };
}
