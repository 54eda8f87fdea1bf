/**
 * Graph exports: JSON, Graphviz DOT and GraphML. Deterministic (nodes sorted by id, edges by
 * source, target, type) and escaped so that `dot` and XML parsers accept any name.
 */
import { ARTIFACT_SCHEMA_VERSION } from "../schema/version.ts";
import { canonicalJson } from "../shared/json.ts";
import type { GraphEdge, GraphNode } from "../pipeline/extract.ts";
import type { Graph } from "./graph.ts";

export const EXPORT_FORMATS = ["json", "dot", "graphml"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const sortedNodes = (g: Graph): GraphNode[] => [...g.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

export function renderExport(g: Graph, format: ExportFormat, runId: string): string {
  const nodes = sortedNodes(g);
  const edges = g.edges; // already sorted
  if (format === "json") return canonicalJson({ schema_version: ARTIFACT_SCHEMA_VERSION, run_id: runId, nodes, edges }, 2) + "\n";
  if (format === "dot") return dot(nodes, edges, runId);
  return graphml(nodes, edges, runId);
}

/** A DOT double-quoted string: backslash and quote escaped, line breaks as \n, controls dropped. */
const dq = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n").replace(/[\x00-\x1f\x7f]/g, "")}"`;

function dot(nodes: GraphNode[], edges: GraphEdge[], runId: string): string {
  const lines = [`digraph auditgraph {`, `  graph [label=${dq(runId)}];`];
  for (const n of nodes) lines.push(`  ${dq(n.id)} [label=${dq(n.name)}, type=${dq(n.type)}${n.path ? `, path=${dq(n.path)}` : ""}];`);
  for (const e of edges) lines.push(`  ${dq(e.source)} -> ${dq(e.target)} [label=${dq(e.type)}];`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** XML 1.0 text: the five entities escaped and characters XML cannot carry removed. */
const x = (s: string) =>
  s.replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, "")
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");

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
    out.push(`    <node id="${x(n.id)}"><data key="name">${x(n.name)}</data><data key="type">${n.type}</data>` +
      `${n.path ? `<data key="path">${x(n.path)}</data>` : ""}${n.line ? `<data key="line">${n.line}</data>` : ""}</node>`);
  }
  edges.forEach((e, i) => out.push(`    <edge id="e${i}" source="${x(e.source)}" target="${x(e.target)}"><data key="etype">${e.type}</data></edge>`));
  out.push("  </graph>", "</graphml>");
  return out.join("\n") + "\n";
}
