/**
 * Drawing a graph with cytoscape.js on a canvas: a node's neighbourhood (rings by distance from
 * the start node, or a force-directed layout when small) and the clustered overview, all in one
 * cytoscape instance kept for the page's life. Labels are drawn by cytoscape on the canvas (text,
 * never markup). Clicking a node calls `open`.
 */
import cytoscape from "cytoscape";
import { printable } from "../../shared/printable.ts";

// The project's tsconfig has no DOM types (see dom.ts).
declare function requestAnimationFrame(f: () => void): number;
declare const document: any, getComputedStyle: any;

/**
 * cytoscape adds a <style> element for its container class unless an element with this id exists;
 * the page's CSP refuses inline styles, so the rule is in style.css and this placeholder stands in.
 */
const CY_STYLESHEET = "__________cytoscape_stylesheet";

export type DrawNode = { id: string; label: string; type: string; depth?: number; size?: number };
export type DrawEdge = { source: string; target: string; type: string; width?: number };

const COLORS: Record<string, string> = {
  document: "#1f5fa8", section: "#6a8caf", chunk: "#9aa5b1", technology: "#b35c00", reference: "#6b3fa0",
  decision: "#2e7d32", claim: "#b3261e", symbol: "#00796b", module: "#8d6e00", commit: "#5d4037", author: "#ad1457",
  folder: "#1f5fa8", unknown: "#555555",
};
const EDGE_OPACITY = 0.8;
const LABEL_FONT = 10;
/** cytoscape leaves a label out when it would be drawn smaller than this (font size × zoom, in px). */
const MIN_LABEL_PX = 7;
const EDGE_COLORS: Record<string, string> = {
  contains: "#b8c2cc", mentions: "#e0a060", references: "#b39ddb", links_to: "#3f7fd0",
  defines: "#4db6ac", imports: "#c9a227", authored: "#d48aa8", modified: "#a1887f",
};

/**
 * One stylesheet for every drawing: what differs between a small and a large graph is in each
 * element's classes (`label`, `curved`, `arrow`, `start`) and data (colour, size, width).
 */
const STYLE = [
  { selector: "node", style: { "background-color": "data(color)", width: "data(size)", height: "data(size)" } },
  { selector: "node.label", style: { label: "data(label)", "font-size": LABEL_FONT, color: "#1b1f24", "text-valign": "bottom", "text-margin-y": 2, "text-max-width": "140px", "text-wrap": "ellipsis", "min-zoomed-font-size": MIN_LABEL_PX } },
  { selector: "node.start", style: { "border-width": 3, "border-color": "#111111" } },
  { selector: "edge", style: { width: "data(width)", "line-color": "data(color)", "curve-style": "haystack", opacity: EDGE_OPACITY } },
  { selector: "edge.curved", style: { "curve-style": "bezier" } },
  { selector: "edge.arrow", style: { "target-arrow-shape": "triangle", "target-arrow-color": "#3f7fd0" } },
];

/**
 * The one cytoscape instance of the page, kept between drawings with its canvases: a new canvas
 * costs its first frame 25–30 ms in software-rasterised Chromium (its bitmap allocated, cleared and
 * handed to the compositor), and cytoscape makes three. `frame` is what moves from one view's box to
 * the next; cytoscape's container stays inside it (cytoscape destroys itself when its container
 * leaves its parent).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let cy: any;
let frame: any;
let onOpen: (id: string) => void = () => {};

/**
 * Draws into `container` (replacing what was there); resolves with the milliseconds from the start of
 * the call to the first animation frame after cytoscape's first complete render.
 *
 * Speed (a 500-node neighbourhood in headless Chromium, where canvases are software-rasterised): the
 * cytoscape instance and its canvases are reused; positions are computed here (`radial`) and the
 * viewport fitted from them, without cytoscape's bounding boxes; the first frame of a graph too large
 * for labels is painted directly from each element's data (see firstFrame).
 */
export function draw(container: any, nodes: DrawNode[], edges: DrawEdge[], opts: { start?: string; open: (id: string) => void; labels?: boolean }): Promise<number> {
  const t0 = performance.now();
  const many = nodes.length > 150;
  const labels = opts.labels ?? nodes.length <= 250;
  const force = nodes.length <= 60;
  const pos = force ? circle(nodes, opts.start) : radial(nodes, edges, opts.start);
  const elements: unknown[] = new Array(nodes.length + edges.length);
  let k = 0;
  for (const n of nodes) {
    const start = n.id === opts.start;
    elements[k++] = {
      group: "nodes",
      data: { id: n.id, label: printable(n.label.replace(/\n/g, " ")), type: n.type, color: COLORS[n.type] ?? COLORS.unknown!, size: n.size ?? (start ? 26 : 14) },
      position: pos?.[n.id],
      classes: labels ? (start ? "label start" : "label") : start ? "start" : undefined,
    };
  }
  edges.forEach((e, i) => {
    elements[k++] = {
      group: "edges",
      data: { id: `e${i}`, source: e.source, target: e.target, type: e.type, color: EDGE_COLORS[e.type] ?? "#cccccc", width: e.width ?? 1 },
      classes: many ? undefined : e.type === "links_to" ? "curved arrow" : "curved",
    };
  });
  onOpen = opts.open;
  place(container);
  const r = cy.renderer?.();
  if (r) { r.textureOnViewport = many; r.hideEdgesOnViewport = many; }
  cy.batch(() => {
    cy.elements().remove();
    cy.add(elements);
  });
  // Small graphs: force-directed (cose). Larger ones: rings by distance from the start node, each
  // node placed near its parent, computed here in one pass (a force layout of thousands of nodes
  // takes seconds in a browser without a GPU), and the viewport fitted to them.
  if (force) cy.layout({ name: "cose", animate: false, randomize: false, nodeRepulsion: () => 8000, idealEdgeLength: () => 60, numIter: 300 }).run();
  else cy.viewport(fitted(nodes, pos!, labels, cy.width(), cy.height()));
  firstFrame(cy, many && !(labels && cy.zoom() * LABEL_FONT >= MIN_LABEL_PX));
  // The drawn graph, for the browser tests and the benchmark (node positions, what was drawn).
  (globalThis as { __auditgraphGraph?: unknown }).__auditgraphGraph = cy;
  return new Promise((resolve) => {
    let done = false;
    const finish = () => { if (!done) { done = true; requestAnimationFrame(() => resolve(performance.now() - t0)); } };
    cy.one("render", finish);
    setTimeout(finish, 2000);
  });
}

/**
 * Where the force layout starts: the start node in the middle, the others on a circle in their
 * order. cose moves nodes from where they are (`randomize: false`) and draws random numbers only for
 * two nodes at the same point, which every node was when none had a position: the same graph was
 * laid out differently each time, and a node could land on another. From distinct points the layout
 * is the same every time for the same graph.
 */
function circle(nodes: DrawNode[], start?: string): Record<string, { x: number; y: number }> {
  const out: Record<string, { x: number; y: number }> = {};
  const ring = nodes.filter((n) => n.id !== start);
  const r = 40 + 12 * ring.length;
  ring.forEach((n, i) => { const a = (2 * Math.PI * i) / ring.length; out[n.id] = { x: Math.round(r * Math.cos(a)), y: Math.round(r * Math.sin(a)) }; });
  if (start !== undefined) out[start] = { x: 0, y: 0 };
  return out;
}

/** Throwaway drawings before the first graph: one left cytoscape's code half-optimised (the first graph's main-thread CPU 270 ms, 210–250 after three; later graphs 140–190). */
const PREPARE_ROUNDS = 3;
const idle = () => new Promise<void>((done) => { const w = globalThis as any; if (typeof w.requestIdleCallback === "function") w.requestIdleCallback(() => done(), { timeout: 1000 }); else setTimeout(done, 0); });

/**
 * Readies the page's cytoscape before its first graph: the instance and its canvases are made, and
 * a throwaway graph of 300 nodes (rings, too many for labels, like a busy node's neighbourhood) goes
 * through `draw` and its first frame, three times, each after the page was idle (a keystroke waits
 * for one drawing, or the making of the instance, at most), in a box of the graph view's size that is in the page but
 * transparent and under everything; then the drawing is cleared as when leaving the graph view. The
 * first graph the reader asks for then finds the canvases made and cytoscape's code compiled (the
 * page's first 500-node neighbourhood took 700–900 ms, later ones 200–260). Nothing happens if a
 * graph was drawn already; a graph asked for meanwhile takes the frame (draw moves it) and the
 * throwaway drawing is then not cleared by this. Resolves when done.
 */
let park: any;
export async function prepare(main: any): Promise<void> {
  if ((cy && !cy.destroyed()) || park) return;
  park = document.createElement("div");
  park.className = "cypark";
  park.setAttribute("aria-hidden", "true");
  // The graph box's size (main's content box, 70vh): its canvases are then not resized by the first real drawing.
  const ms = getComputedStyle(main);
  const w = main.clientWidth - parseFloat(ms.paddingLeft) - parseFloat(ms.paddingRight);
  park.style.width = `${Math.max(100, w)}px`;
  document.body.appendChild(park);
  const nodes: DrawNode[] = [{ id: "s", label: "s", type: "technology", depth: 0 }];
  const edges: DrawEdge[] = [];
  for (let i = 0; i < 30; i++) { nodes.push({ id: `a${i}`, label: "", type: "document", depth: 1 }); edges.push({ source: "s", target: `a${i}`, type: "mentions" }); }
  for (let i = 0; i < 270; i++) { nodes.push({ id: `b${i}`, label: "", type: i % 3 ? "section" : "chunk", depth: 2 }); edges.push({ source: `a${i % 30}`, target: `b${i}`, type: "contains" }); }
  try {
    place(park); // the instance and its canvases, a task of its own
    for (let i = 0; i < PREPARE_ROUNDS; i++) {
      await idle();
      if (frame?.parentNode !== park) break; // a graph was asked for meanwhile
      await draw(park, nodes, edges, { start: "s", open: () => {} });
    }
  } finally {
    const mine = frame?.parentNode === park;
    park.remove();
    park = undefined;
    if (mine) clear();
  }
}

/** Puts the page's cytoscape instance (made on first use, with its frame) into `container`, sized to it. */
function place(container: any): void {
  if (cy && !cy.destroyed()) {
    container.appendChild(frame);
    cy.resize();
  } else {
    if (!document.getElementById(CY_STYLESHEET)) document.head.appendChild(Object.assign(document.createElement("meta"), { id: CY_STYLESHEET }));
    frame = document.createElement("div");
    frame.className = "cyframe";
    const host = document.createElement("div");
    host.className = "cyframe";
    frame.appendChild(host);
    container.appendChild(frame);
    cy = cytoscape({ container: host, style: STYLE, minZoom: 0.05, maxZoom: 4, motionBlur: false, pixelRatio: 1 } as never);
    // The canvases follow the window's size (cytoscape listens to it) and are matched to the box at
    // every drawing; not to the container's own size, which is 0 while the frame is between views
    // (and a resize to 0 would free the canvases this keeps).
    cy.renderer?.()?.resizeObserver?.disconnect?.();
    cy.on("tap", "node", (ev: any) => onOpen(ev.target.id()));
    // Where the drawing is on the page is read again at each press and wheel turn, before cytoscape
    // maps the pointer: it keeps the place from its first frame, and the page around the drawing can
    // move (a line filled in or wrapped after drawing) without the scroll or resize events that tell
    // it, and then a click lands beside the node it was aimed at (see also moved()).
    for (const type of ["mousedown", "touchstart", "wheel"]) {
      frame.addEventListener(type, () => cy.renderer?.()?.invalidateContainerClientCoordsCache?.(), { capture: true, passive: true });
    }
    cy.on("mouseover", "node", (ev: any) => { frame.parentNode && (frame.parentNode.title = ev.target.data("type") + ": " + (ev.target.data("label") || ev.target.id())); });
  }
}

/** The zoom and pan that fit the positions (with the nodes' sizes, their labels, and a margin of 30 px) in a `w` × `h` box, as cy.fit() would. */
function fitted(nodes: DrawNode[], pos: Record<string, { x: number; y: number }>, labels: boolean, w: number, h: number): { zoom: number; pan: { x: number; y: number } } {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const n of nodes) {
    const p = pos[n.id]!, r = (n.size ?? 26) / 2;
    if (p.x - r < x1) x1 = p.x - r;
    if (p.x + r > x2) x2 = p.x + r;
    if (p.y - r < y1) y1 = p.y - r;
    if (p.y + r > y2) y2 = p.y + r;
  }
  if (labels) { x1 -= 70; x2 += 70; y2 += LABEL_FONT + 4; }
  const zoom = Math.min(4, Math.max(0.05, Math.min((w - 60) / Math.max(1, x2 - x1), (h - 60) / Math.max(1, y2 - y1))));
  return { zoom, pan: { x: w / 2 - (zoom * (x1 + x2)) / 2, y: h / 2 - (zoom * (y1 + y2)) / 2 } };
}

/**
 * cytoscape's canvas renderer (3.34) draws a frame's elements through `drawLayeredElements`: texture
 * caches (1024x1024 offscreen canvases per group of elements, then layers), built on the first frame.
 * Until the first pan, zoom or drag the elements are drawn straight onto the visible canvas instead:
 * when `paint`, from their data (a line per edge, a disc per node: what the stylesheet gives a
 * large graph, whose edges are straight and whose labels are not drawn), else one by one by
 * cytoscape (`drawElements`, its own fallback when caching does not apply). The first frame also
 * leaves the drag and selection-box canvases alone: nothing is dragged or selected yet and a canvas
 * never drawn on is transparent, so clearing them only made the browser allocate and composite two
 * more bitmaps. Left alone if the renderer lacks any of this.
 */
let layeredOf: WeakMap<object, unknown> | undefined;
function firstFrame(cy: any, paint: boolean): void {
  const r = cy.renderer?.();
  if (!r || typeof r.drawLayeredElements !== "function" || typeof r.drawElements !== "function") return;
  layeredOf ??= new WeakMap();
  if (!layeredOf.has(r)) layeredOf.set(r, r.drawLayeredElements);
  const layered = layeredOf.get(r);
  let first = true;
  r.drawLayeredElements = function (this: any, context: any, eles: any) {
    if (paint) paintElements(context, eles); else this.drawElements(context, eles);
    const need = this.data?.canvasNeedsRedraw;
    if (first && Array.isArray(need) && typeof this.DRAG === "number" && typeof this.SELECT_BOX === "number" && !this.hoverData?.draggingEles && !this.hoverData?.selecting) {
      need[this.DRAG] = false;
      need[this.SELECT_BOX] = false;
    }
  };
  cy.one("render", () => { first = false; });
  cy.one("viewport grab boxstart", () => { r.drawLayeredElements = layered; });
}

/** A large graph's elements as its stylesheet draws them: straight edges (centre to centre, at EDGE_OPACITY), discs with the start node's border. */
function paintElements(ctx: any, eles: any): void {
  ctx.lineCap = "butt";
  for (let i = 0; i < eles.length; i++) {
    const ele = eles[i];
    const d = ele.data();
    if (ele.isEdge()) {
      const a = ele.source().position(), b = ele.target().position();
      ctx.globalAlpha = EDGE_OPACITY;
      ctx.strokeStyle = d.color;
      ctx.lineWidth = d.width;
      ctx.beginPath();
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
    } else {
      const p = ele.position();
      ctx.globalAlpha = 1;
      ctx.fillStyle = d.color;
      ctx.beginPath();
      ctx.arc(p.x, p.y, d.size / 2, 0, 2 * Math.PI);
      ctx.fill();
      if (ele.hasClass("start")) {
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#111111";
        ctx.stroke();
      }
    }
  }
  ctx.globalAlpha = 1;
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

/**
 * The page above the drawing changed height (the summary line filled in after drawing): cytoscape
 * keeps the canvas's place on the page from its first frame and would map clicks that far off.
 */
export function moved(): void {
  if (!cy || cy.destroyed()) return;
  const r = cy.renderer?.();
  if (typeof r?.invalidateContainerClientCoordsCache === "function") r.invalidateContainerClientCoordsCache();
  else cy.resize();
}

/**
 * Leaving the graph (another view, or nothing to draw): the elements are removed (a large graph's
 * memory) and the frame taken out of the page; the instance and its canvases stay for the next drawing.
 */
export function clear(): void {
  if (!cy || cy.destroyed() || (park && frame?.parentNode === park)) return; // prepare's drawing, cleared by prepare
  cy.elements().remove();
  frame?.remove();
}
