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

/**
 * Draws into `container` (replacing what was there); resolves with the milliseconds from the start of
 * the call to the first animation frame after cytoscape's first complete render.
 *
 * Speed (a 500-node neighbourhood in headless Chromium, where canvases are software-rasterised):
 * colours and sizes in each element's data (four selectors, none per type to match), positions in the
 * elements (the `preset` layout), and elements drawn straight onto the visible canvas until the first
 * pan, zoom or drag (see directFirstFrame).
 */
export function draw(container: unknown, nodes: DrawNode[], edges: DrawEdge[], opts: { start?: string; open: (id: string) => void; labels?: boolean }): Promise<number> {
  const t0 = performance.now();
  current?.destroy();
  if (!document.getElementById(CY_STYLESHEET)) document.head.appendChild(Object.assign(document.createElement("meta"), { id: CY_STYLESHEET }));
  const many = nodes.length > 150;
  const labels = opts.labels ?? nodes.length <= 250;
  const force = nodes.length <= 60;
  const pos = force ? undefined : radial(nodes, edges, opts.start);
  const elements: unknown[] = new Array(nodes.length + edges.length);
  let k = 0;
  for (const n of nodes) {
    elements[k++] = {
      group: "nodes",
      data: { id: n.id, label: labels ? n.label : "", type: n.type, color: COLORS[n.type] ?? COLORS.unknown!, size: n.size ?? (n.id === opts.start ? 26 : 14) },
      position: pos?.[n.id],
      classes: n.id === opts.start ? "start" : undefined,
    };
  }
  edges.forEach((e, i) => {
    elements[k++] = { group: "edges", data: { id: `e${i}`, source: e.source, target: e.target, type: e.type, color: EDGE_COLORS[e.type] ?? "#cccccc", width: e.width ?? 1 }, classes: !many && e.type === "links_to" ? "arrow" : undefined };
  });
  const cy = cytoscape({
    container: container as never,
    elements,
    style: [
      { selector: "node", style: { "background-color": "data(color)", width: "data(size)", height: "data(size)", ...(labels ? { label: "data(label)", "font-size": 10, color: "#1b1f24", "text-valign": "bottom", "text-margin-y": 2, "text-max-width": "140px", "text-wrap": "ellipsis", "min-zoomed-font-size": 7 } : {}) } },
      { selector: "node.start", style: { "border-width": 3, "border-color": "#111111" } },
      { selector: "edge", style: { width: "data(width)", "line-color": "data(color)", "curve-style": many ? "haystack" : "bezier", opacity: 0.8 } },
      { selector: "edge.arrow", style: { "target-arrow-shape": "triangle", "target-arrow-color": "#3f7fd0" } },
    ],
    // Small graphs: force-directed (cose). Larger ones: rings by distance from the start node, each
    // node placed near its parent (computed here in one pass: a force layout of thousands of nodes
    // takes seconds in a browser without a GPU).
    layout: force ? { name: "cose", animate: false, randomize: false, nodeRepulsion: () => 8000, idealEdgeLength: () => 60, numIter: 300 } : { name: "preset" },
    minZoom: 0.05,
    maxZoom: 4,
    textureOnViewport: many,
    hideEdgesOnViewport: many,
    motionBlur: false,
    pixelRatio: 1,
  } as never);
  current = cy;
  directFirstFrame(cy);
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

/**
 * cytoscape's canvas renderer (3.34) draws a frame's elements through `drawLayeredElements`: texture
 * caches (1024x1024 offscreen canvases per group of elements, then layers), built on the first frame.
 * Here the elements are drawn one by one instead (`drawElements`, what the renderer does itself when
 * caching does not apply) until the first pan, zoom or drag, when the caches take over. The first
 * frame also leaves the drag and selection-box canvases alone: nothing is dragged or selected yet and
 * a canvas never drawn on is transparent, so clearing them only made the browser allocate and
 * composite two more bitmaps. Left alone if the renderer lacks any of this.
 */
function directFirstFrame(cy: any): void {
  const r = cy.renderer?.();
  if (!r || typeof r.drawLayeredElements !== "function" || typeof r.drawElements !== "function") return;
  const layered = r.drawLayeredElements;
  let first = true;
  r.drawLayeredElements = function (this: any, context: unknown, eles: unknown) {
    this.drawElements(context, eles);
    const need = this.data?.canvasNeedsRedraw;
    if (first && Array.isArray(need) && typeof this.DRAG === "number" && typeof this.SELECT_BOX === "number" && !this.hoverData?.draggingEles && !this.hoverData?.selecting) {
      need[this.DRAG] = false;
      need[this.SELECT_BOX] = false;
    }
  };
  cy.one("render", () => { first = false; });
  cy.one("viewport grab boxstart", () => { r.drawLayeredElements = layered; });
}

/** Rings by depth (the start node at the centre); in each ring, nodes follow the angle of the node that reached them. */
function radial(nodes: DrawNode[], edges: DrawEdge[], start?: string): Record<string, { x: number; y: number }> {
  const depth = new Map(nodes.map((n) => [n.id, n.id === start ? 0 : n.depth ?? 1]));
  const parent = new Map<string, string>();
  for (const e of edges) {
    const [a, b] = [e.source, e.target];
    const da = depth.get(a), db = depth.get(b);
    if (da === undefined || db === undefined) continue;
    if (da + 1 === db && !parent.has(b)) parent.set(b, a);
    else if (db + 1 === da && !parent.has(a)) parent.set(a, b);
  }
  const rings = new Map<number, DrawNode[]>();
  for (const n of nodes) { const d = depth.get(n.id)!; const r = rings.get(d) ?? []; r.push(n); rings.set(d, r); }
  const angle = new Map<string, number>();
  const pos: Record<string, { x: number; y: number }> = {};
  let radius = 0;
  for (const d of [...rings.keys()].sort((a, b) => a - b)) {
    const ring = rings.get(d)!;
    if (d === 0 && ring.length === 1) { pos[ring[0]!.id] = { x: 0, y: 0 }; angle.set(ring[0]!.id, 0); continue; }
    ring.sort((a, b) => (angle.get(parent.get(a.id) ?? "") ?? 0) - (angle.get(parent.get(b.id) ?? "") ?? 0) || (a.id < b.id ? -1 : 1));
    radius = Math.max(radius + 120, (ring.length * 14) / (2 * Math.PI));
    ring.forEach((n, i) => {
      const a = (2 * Math.PI * i) / ring.length;
      angle.set(n.id, a);
      pos[n.id] = { x: radius * Math.cos(a), y: radius * Math.sin(a) };
    });
  }
  return pos;
}

export function destroy(): void {
  current?.destroy();
  current = undefined;
}
