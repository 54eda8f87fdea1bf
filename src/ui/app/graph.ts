/**
 * Drawing a graph with cytoscape.js on a canvas: a node's neighbourhood (rings by distance from
 * the start node, or a force-directed layout when small) and the clustered overview. Labels are
 * drawn by cytoscape on the canvas (text, never markup). Clicking a node calls `open`.
 */
import cytoscape from "cytoscape";

// The project's tsconfig has no DOM types (see dom.ts).
declare function requestAnimationFrame(f: () => void): number;
declare const document: any;

/**
 * cytoscape adds a <style> element for its container class unless an element with this id exists;
 * the page's CSP refuses inline styles, so the rule is in style.css and this placeholder stands in.
 */
const CY_STYLESHEET = "__________cytoscape_stylesheet";

export type DrawNode = { id: string; label: string; type: string; depth?: number; size?: number };
export type DrawEdge = { source: string; target: string; type: string; width?: number };

const COLORS: Record<string, string> = {
  document: "#1f5fa8", section: "#6a8caf", chunk: "#9aa5b1", technology: "#b35c00", reference: "#6b3fa0",
  decision: "#2e7d32", claim: "#b3261e", folder: "#1f5fa8", unknown: "#555555",
};
const EDGE_COLORS: Record<string, string> = { contains: "#b8c2cc", mentions: "#e0a060", references: "#b39ddb", links_to: "#3f7fd0" };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let current: any;

/** Draws into `container` (replacing what was there); resolves with the milliseconds until the first frame after layout. */
export function draw(container: unknown, nodes: DrawNode[], edges: DrawEdge[], opts: { start?: string; open: (id: string) => void; labels?: boolean }): Promise<number> {
  const t0 = performance.now();
  current?.destroy();
  if (!document.getElementById(CY_STYLESHEET)) document.head.appendChild(Object.assign(document.createElement("meta"), { id: CY_STYLESHEET }));
  const many = nodes.length > 150;
  const labels = opts.labels ?? nodes.length <= 250;
  const maxDepth = Math.max(1, ...nodes.map((n) => n.depth ?? 0));
  const cy = cytoscape({
    container: container as never,
    elements: [
      ...nodes.map((n) => ({ group: "nodes" as const, data: { id: n.id, label: labels ? n.label : "", type: n.type, depth: n.depth ?? 0, size: n.size ?? (n.id === opts.start ? 26 : 14) } })),
      ...edges.map((e, i) => ({ group: "edges" as const, data: { id: `e${i}`, source: e.source, target: e.target, type: e.type, width: e.width ?? 1 } })),
    ],
    style: [
      { selector: "node", style: { "background-color": (el: any) => COLORS[el.data("type")] ?? COLORS.unknown!, width: "data(size)", height: "data(size)", label: "data(label)", "font-size": 10, color: "#1b1f24", "text-valign": "bottom", "text-margin-y": 2, "text-max-width": "140px", "text-wrap": "ellipsis", "min-zoomed-font-size": 7 } },
      { selector: `node[id = ${JSON.stringify(opts.start ?? "")}]`, style: { "border-width": 3, "border-color": "#111111" } },
      { selector: "edge", style: { width: "data(width)", "line-color": (el: any) => EDGE_COLORS[el.data("type")] ?? "#cccccc", "curve-style": many ? "haystack" : "bezier", opacity: 0.8 } },
      { selector: "edge[type = 'links_to']", style: { "target-arrow-shape": many ? "none" : "triangle", "target-arrow-color": "#3f7fd0" } },
    ],
    layout: many || !opts.start
      ? { name: "concentric", animate: false, concentric: (n: any) => maxDepth - n.data("depth"), levelWidth: () => 1, minNodeSpacing: many ? 2 : 12, spacingFactor: many ? 0.6 : 1 }
      : { name: "cose", animate: false, randomize: false, nodeRepulsion: () => 8000, idealEdgeLength: () => 60, numIter: 600 },
    minZoom: 0.05,
    maxZoom: 4,
    textureOnViewport: many,
    hideEdgesOnViewport: many,
    pixelRatio: 1,
  } as never);
  current = cy;
  // The drawn graph, for the browser tests and the benchmark (node positions, what was drawn).
  (globalThis as { __auditgraphGraph?: unknown }).__auditgraphGraph = cy;
  cy.on("tap", "node", (ev: any) => opts.open(ev.target.id()));
  cy.on("mouseover", "node", (ev: any) => { (container as any).title = ev.target.data("type") + ": " + (ev.target.data("label") || ev.target.id()); });
  return new Promise((resolve) => {
    let done = false;
    const finish = () => { if (!done) { done = true; requestAnimationFrame(() => resolve(performance.now() - t0)); } };
    cy.one("render", finish);
    setTimeout(finish, 2000);
  });
}

export function destroy(): void {
  current?.destroy();
  current = undefined;
}
