/**
 * The page of `auditgraph ui`: views chosen by the URL's hash (#/search, #/node/ID, #/graph[/ID],
 * #/runs, #/diff/A/B), drawn from the JSON API with the helpers of dom.ts (text nodes only), and a
 * poll of /api/status that notices a new current run. The session token comes in the start URL
 * (?token=…), is moved to localStorage (this origin's: a link opened in a new tab has it too, where the
 * tab's own sessionStorage left that tab without it) and removed from the address bar, and goes with
 * every API request as the X-Auditgraph-Token header.
 */
import { fill, h, marked, route, withQuery } from "./dom.ts";
import { clear, draw, moved, prepare, type DrawEdge, type DrawNode } from "./graph.ts";

// The project's tsconfig has no DOM types (see dom.ts).
declare const document: any, window: any, location: any, history: any, localStorage: any;
declare function requestAnimationFrame(f: () => void): number;

const POLL_MS = 1000;
/** Node and edge types for the type filter and the edge toggles: every one the server knows (/api/status, read before any view is drawn). */
let NODE_TYPES: string[] = [];
let EDGE_TYPES: string[] = [];
const MAX_EDGES_SHOWN = 200;

type Api = { ok: boolean; status: number; body: any };

// --- session token -------------------------------------------------------------------------
const start = new URL(location.href);
const given = start.searchParams.get("token");
if (given) {
  localStorage.setItem("auditgraph-token", given);
  start.searchParams.delete("token");
  history.replaceState(null, "", start.pathname + (start.search || "") + start.hash);
}
const token: string = localStorage.getItem("auditgraph-token") ?? "";

async function api(path: string, params: Record<string, string | undefined> = {}): Promise<Api> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  try {
    const r = await fetch(`/api/${path}${s ? `?${s}` : ""}`, { headers: { "X-Auditgraph-Token": token }, cache: "no-store" });
    let body: any;
    try { body = await r.json(); } catch { body = { status: "error", message: `HTTP ${r.status}` }; }
    return { ok: r.ok, status: r.status, body };
  } catch {
    return { ok: false, status: 0, body: { status: "error", code: "offline", message: "the auditgraph ui server does not answer (was it stopped?)" } };
  }
}

const main = document.getElementById("main");
const runEl = document.getElementById("run");
const banner = document.getElementById("banner");

/** What a failed API call means to the reader: rebuild guidance, no run yet, a bad query, or the token. */
function problem(r: Api): any {
  const b = r.body ?? {};
  if (b.code === "rebuild_required") {
    return h("div", { class: "guidance", role: "alert" },
      h("h1", null, "This store needs a rebuild"),
      h("p", null, String(b.message ?? "")),
      h("p", null, "In a terminal, in the workspace: ", h("code", null, "auditgraph rebuild"), ". This page shows the new run as soon as it is current."));
  }
  if (b.code === "no_run") {
    return h("div", { class: "guidance", role: "alert" },
      h("h1", null, "No run yet"),
      h("p", null, String(b.message ?? "")),
      h("p", null, "Run ", h("code", null, "auditgraph ingest"), " in the workspace; this page follows the current run."));
  }
  if (r.status === 401) {
    return h("div", { class: "guidance", role: "alert" },
      h("h1", null, "Session token missing"),
      h("p", null, "Open the exact URL that ", h("code", null, "auditgraph ui"), " printed (it carries the session token)."));
  }
  return h("p", { class: "msg error", role: "alert" }, String(b.message ?? `error ${r.status}`), b.hint ? ` (${b.hint})` : "");
}

// --- routing -------------------------------------------------------------------------------
type Route = { view: string; args: string[]; query: URLSearchParams };

function parseRoute(): Route {
  const hash = String(location.hash || "#/search").replace(/^#\/?/, "");
  const [path, qs] = hash.split("?", 2) as [string, string | undefined];
  const [view, ...args] = path.split("/").map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
  return { view: view || "search", args, query: new URLSearchParams(qs ?? "") };
}

let renderSeq = 0;
/** When the current view was asked for (the hash change): a graph's figures count from here. */
let renderStart = 0;
async function render(): Promise<void> {
  const seq = ++renderSeq;
  renderStart = performance.now();
  const r = parseRoute();
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.view === (r.view === "node" ? "search" : r.view === "diff" ? "runs" : r.view)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (r.view !== "graph") clear();
  // A neighbourhood is asked for together with the status (one round trip less before drawing); its answer is dropped if the status says the store cannot be read.
  const early = r.view === "graph" && r.args[0] ? neighbourhood(r.args[0], graphParams(r.query)) : undefined;
  const status = await api("status");
  if (seq !== renderSeq) return;
  showStatus(status);
  if (!status.ok && r.view !== "runs") { fill(main, problem(status)); document.title = "auditgraph"; return; }
  if (r.view === "node") return nodeView(r.args[0] ?? "", seq);
  if (r.view === "graph") return r.args[0] ? graphView(r.args[0], r.query, seq, early) : overviewView(seq);
  if (r.view === "runs") return runsView(seq);
  if (r.view === "diff") return diffView(r.args[0] ?? "", r.args[1] ?? "", seq);
  // Any other route is the search page: put its address in the bar, or its searches would not run
  // (they run only while the route is the search's).
  if (r.view !== "search") history.replaceState(null, "", withQuery("#/search", Object.fromEntries(r.query)));
  return searchView(r.query);
}

// --- live run ------------------------------------------------------------------------------
let shownRun: string | undefined;
let shownState: string | undefined;

function showStatus(s: Api): void {
  const b = s.body ?? {};
  if (s.ok) {
    if (Array.isArray(b.node_types) && b.node_types.length) NODE_TYPES = b.node_types.map(String);
    if (Array.isArray(b.edge_types) && b.edge_types.length) EDGE_TYPES = b.edge_types.map(String);
    fill(runEl, `run ${b.run_id}`);
    runEl.dataset.runId = b.run_id;
    shownRun = b.run_id;
  } else {
    fill(runEl, b.code === "rebuild_required" ? "store needs a rebuild" : b.code === "no_run" ? "no run yet" : "");
    runEl.dataset.runId = "";
    shownRun = undefined;
  }
  shownState = s.ok ? "ok" : String(b.code ?? s.status);
}

async function poll(): Promise<void> {
  const s = await api("status");
  const state = s.ok ? "ok" : String(s.body?.code ?? s.status);
  const run = s.ok ? s.body.run_id : undefined;
  if (state !== shownState || run !== shownRun) {
    const before = shownRun;
    if (s.ok && before && run !== before) {
      banner.hidden = false;
      fill(banner, `A new run is current: ${run} (was ${before}). The view below shows it.`);
    }
    await render();
  }
  setTimeout(poll, POLL_MS);
}

// --- search --------------------------------------------------------------------------------
let searchSeq = 0;

function searchView(q: URLSearchParams): void {
  document.title = "Search · auditgraph";
  const input = h("input", { type: "search", id: "q", name: "q", value: q.get("q") ?? "", placeholder: 'words, "a phrase", prefix*, type:T path:GLOB tag:TAG', autocomplete: "off", spellcheck: "false", "aria-describedby": "count" });
  const type = h("select", { id: "f-type", name: "type" }, h("option", { value: "" }, "any type"), NODE_TYPES.map((t) => h("option", { value: t, selected: q.get("type") === t }, t)));
  const path = h("input", { type: "text", id: "f-path", name: "path", value: q.get("path") ?? "", placeholder: "notes/**", autocomplete: "off" });
  const tag = h("input", { type: "text", id: "f-tag", name: "tag", value: q.get("tag") ?? "", placeholder: "tag", autocomplete: "off" });
  const count = h("div", { id: "count", class: "count", "aria-live": "polite" });
  const list = h("ul", { id: "results", class: "results", "aria-label": "Results" });
  fill(main,
    h("h1", null, "Search"),
    h("div", { class: "form", role: "search" },
      h("label", { class: "q", for: "q" }, "Query", input),
      h("label", { for: "f-type" }, "Type", type),
      h("label", { for: "f-path" }, "Path", path),
      h("label", { for: "f-tag" }, "Tag", tag)),
    count, list);
  let timer: any;
  const run = async () => {
    // Left before the timer fired (a result followed, another page): the URL is no longer this view's
    // to rewrite (a late search put #/search back over the node page just opened).
    if (parseRoute().view !== "search" || !input.isConnected) return;
    const seq = ++searchSeq;
    const params = { q: input.value, type: type.value, path: path.value, tag: tag.value };
    history.replaceState(null, "", withQuery("#/search", params));
    // `params` of what the list shows: Enter follows the first result only when it is this query's.
    const shown = (what: string) => { list.dataset.params = what; };
    if (!params.q.trim() && !params.type && !params.path && !params.tag) { fill(list); list.dataset.key = ""; shown(JSON.stringify(params)); fill(count, "Type to search the current run."); return; }
    const r = await api("query", { ...params, limit: "30" });
    if (seq !== searchSeq || !input.isConnected) return; // a later keystroke's answer wins; a view left is not drawn
    if (!r.ok) { fill(list); list.dataset.key = ""; shown(JSON.stringify(params)); fill(count, problem(r)); return; }
    const hits: any[] = r.body.hits;
    const warnings: string[] = r.body.warnings ?? [];
    // The count names this query (two queries with no hits give the same answer, not the same line).
    fill(count, hits.length === 0 ? `No hits for '${params.q}'.` : `${r.body.total} hit${r.body.total === 1 ? "" : "s"}${r.body.total > hits.length ? `, the best ${hits.length} shown` : ""}`,
      warnings.map((w) => h("span", { class: "warning" }, ` ${w}`)));
    shown(JSON.stringify(params));
    // The same answer as the one shown (a repeated keystroke, a poll): keep the list and its focus.
    const key = JSON.stringify([r.body.run_id, r.body.total, hits.map((x) => [x.id, x.line, x.snippet])]);
    if (key === list.dataset.key) return;
    list.dataset.key = key;
    fill(list, hits.map((hit) => h("li", null,
      h("a", { href: route("node", hit.id), "data-id": hit.id },
        h("span", { class: "badge" }, hit.type), h("span", { class: "name" }, hit.name || hit.id), " ",
        h("span", { class: "loc" }, `${hit.path}:${hit.line}`),
        h("span", { class: "snippet" }, marked(hit.snippet ?? "", (hit.matches ?? []).map((m: any) => m.term)))))));
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(run, 60); };
  input.addEventListener("input", later);
  for (const f of [type, path, tag]) f.addEventListener("input", later);
  // Up and down move between the results (focus), Enter follows the focused one (or the first).
  const links = () => [...list.querySelectorAll("a")];
  const keys = (ev: any) => {
    const all = links();
    const at = all.indexOf(document.activeElement);
    if (ev.key === "ArrowDown") { ev.preventDefault(); (all[Math.min(at + 1, all.length - 1)] ?? input).focus(); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); if (at <= 0) input.focus(); else all[at - 1].focus(); }
    else if (ev.key === "Enter" && ev.target === input) {
      // The first result of what is typed: a list still showing an earlier query's (typed faster than
      // the search ran) is searched again first.
      ev.preventDefault();
      clearTimeout(timer);
      const current = JSON.stringify({ q: input.value, type: type.value, path: path.value, tag: tag.value });
      const follow = () => { const first = links()[0]; if (first && list.dataset.params === current && input.isConnected) location.hash = first.getAttribute("href"); };
      if (list.dataset.params === current) follow(); else void run().then(follow);
    }
    else if (ev.key === "Escape") input.focus();
  };
  input.addEventListener("keydown", keys);
  list.addEventListener("keydown", keys);
  input.focus();
  void run();
}

// --- node page -----------------------------------------------------------------------------
const nodeLink = (id: string, names: Record<string, any>) => {
  const n = names[id];
  return h("a", { href: route("node", id) }, n?.name || id);
};

function edgeGroups(title: string, edges: any[], end: "source" | "target", names: Record<string, any>): any {
  const groups = new Map<string, any[]>();
  for (const e of edges) { const g = groups.get(e.type) ?? []; g.push(e); groups.set(e.type, g); }
  return h("section", { class: "edges", "aria-label": title },
    h("h2", null, `${title} (${edges.length})`),
    edges.length === 0 ? h("p", { class: "count" }, "none") : null,
    [...groups].map(([type, list]) => [
      h("h3", null, `${type} (${list.length})`),
      h("ul", null, list.slice(0, MAX_EDGES_SHOWN).map((e) => h("li", null,
        h("span", { class: "badge" }, names[e[end]]?.type ?? ""), nodeLink(e[end], names), e.line ? h("span", { class: "loc" }, ` line ${e.line}`) : null))),
      list.length > MAX_EDGES_SHOWN ? h("p", { class: "count" }, `and ${list.length - MAX_EDGES_SHOWN} more`) : null,
    ]));
}

const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v, null, 1));

async function nodeView(id: string, seq: number): Promise<void> {
  const r = await api("node", { id });
  if (seq !== renderSeq) return;
  if (!r.ok) { fill(main, h("h1", null, "Node"), problem(r)); return; }
  const { node, names, excerpt, document: doc, text } = r.body;
  document.title = `${node.name || node.id} · auditgraph`;
  const attrs = Object.entries(node.attrs ?? {}) as [string, unknown][];
  const fm = (node.attrs?.frontmatter ?? undefined) as Record<string, unknown> | undefined;
  fill(main,
    h("h1", null, h("span", { class: "badge" }, node.type), node.name || node.id),
    h("p", { class: "loc" }, node.id, node.path ? `  ·  ${node.path}:${node.line}` : ""),
    h("p", null, h("a", { href: route("graph", node.id) }, "Show the neighbourhood in the graph")),
    attrs.length ? [h("h2", null, "Attributes"), h("dl", { class: "attrs" }, attrs.filter(([k]) => k !== "frontmatter").map(([k, v]) => [h("dt", null, k), h("dd", null, show(v))]))] : null,
    fm ? [h("h2", null, "Front matter"), h("dl", { class: "attrs" }, Object.entries(fm).map(([k, v]) => [h("dt", null, k), h("dd", null, show(v))]))] : null,
    excerpt ? [h("h2", null, `Source: ${excerpt.path}`), h("pre", { class: "excerpt", tabindex: 0, "aria-label": `Excerpt of ${excerpt.path} from line ${excerpt.start}` },
      (excerpt.lines as string[]).map((l, i) => h("span", { class: excerpt.start + i === excerpt.line && node.type !== "document" ? "at" : "" },
        h("span", { class: "ln", "aria-hidden": "true" }, String(excerpt.start + i).padStart(5) + "  "), l)))] : null,
    text !== undefined ? [h("h2", null, "Chunk text"), h("pre", { class: "excerpt", tabindex: 0, "aria-label": "Chunk text" }, h("span", null, text))] : null,
    doc ? h("div", { class: "cols parts" },
      h("section", { "aria-label": "Sections" }, h("h2", null, `Sections (${doc.sections.length})`),
        h("ul", null, doc.sections.map((s: any) => h("li", null, h("a", { href: route("node", s.id) }, `${"#".repeat(s.level)} ${s.name}`), h("span", { class: "loc" }, ` line ${s.line}`))))),
      h("section", { "aria-label": "Chunks" }, h("h2", null, `Chunks (${doc.chunks.length})`),
        h("ul", null, doc.chunks.map((c: any, i: number) => h("li", null, h("a", { href: route("node", c.id) }, `chunk ${i}`), h("span", { class: "loc" }, ` lines ${c.line}–${c.end_line}`))))),
      doc.tags.length ? h("section", { "aria-label": "Tags" }, h("h2", null, "Tags"),
        h("ul", null, doc.tags.map((t: string) => h("li", null, h("a", { href: withQuery("#/search", { tag: t }) }, t))))) : null) : null,
    h("div", { class: "cols" }, edgeGroups("Outgoing edges", r.body.out_edges, "target", names), edgeGroups("Incoming edges", r.body.in_edges, "source", names)));
  main.focus({ preventScroll: true });
}

// --- graph ---------------------------------------------------------------------------------
/** `all`: no edge type chosen in the address (every one, before the status has said which there are). */
type GraphParams = { depth: string; max?: string; on: Set<string>; all: boolean };
function graphParams(q: URLSearchParams): GraphParams {
  const depth = ["1", "2", "3"].includes(q.get("depth") ?? "") ? q.get("depth")! : "1";
  const max = ["1500", "5000"].includes(q.get("max") ?? "") ? q.get("max")! : undefined;
  const all = q.get("types") === null;
  const on = new Set(all ? EDGE_TYPES : q.get("types")!.split(",").filter((t) => EDGE_TYPES.includes(t)));
  return { depth, max, on, all };
}

/** GET /api/neighbors for the graph view (none when no edge type is selected). */
function neighbourhood(id: string, { depth, max, on, all }: GraphParams): Promise<Api> | undefined {
  if (all) return api("neighbors", { id, depth, max });
  if (on.size === 0) return undefined;
  return api("neighbors", { id, depth, max, edge_type: on.size === EDGE_TYPES.length ? undefined : [...on].join(",") });
}

async function graphView(id: string, q: URLSearchParams, seq: number, early?: Promise<Api>): Promise<void> {
  const params = graphParams(q);
  const { depth, max, on } = params;
  const go = (d: string, types: Set<string>, m = max) => { location.hash = withQuery(route("graph", id), { depth: d, types: [...types].join(","), max: m }); };
  const depthSel = h("select", { id: "g-depth", name: "depth" }, ["1", "2", "3"].map((d) => h("option", { value: d, selected: d === depth }, d)));
  depthSel.addEventListener("change", () => go(depthSel.value, on));
  const boxes = EDGE_TYPES.map((t) => {
    const box = h("input", { type: "checkbox", id: `g-${t}`, name: t, checked: on.has(t) });
    box.addEventListener("change", () => { const s = new Set(on); if (box.checked) s.add(t); else s.delete(t); go(depth, s); });
    return h("label", { for: `g-${t}` }, box, ` ${t}`);
  });
  const info = h("p", { class: "count", id: "g-info", "aria-live": "polite" }, "Loading…");
  const box = h("div", { class: "graphbox", id: "graph", role: "img", "aria-label": `Graph of the neighbourhood of ${id}` });
  // A change of depth or edge types draws the view again: the control that made it keeps the focus
  // (a keyboard user would otherwise start again from the top of the page).
  const focused = document.activeElement?.id as string | undefined;
  fill(main,
    h("h1", null, "Neighbourhood of ", h("a", { href: route("node", id) }, id)),
    h("div", { class: "form" }, h("label", { for: "g-depth" }, "Depth", depthSel), h("fieldset", null, h("legend", null, "Edge types"), boxes)),
    info, box,
    h("p", { class: "legend" }, "Colours: documents blue, sections grey-blue, chunks grey, technologies orange, references purple, decisions green, claims red, symbols teal, modules ochre, commits brown, authors pink. Click a node to open it."));
  if (focused?.startsWith("g-")) document.getElementById(focused)?.focus();
  if (on.size === 0) { fill(info, "No edge type selected."); clear(); return; }
  const t0 = renderStart;
  const r = await (early ?? neighbourhood(id, params)!);
  if (seq !== renderSeq) return;
  if (!r.ok) { fill(info, problem(r)); return; }
  const b = r.body;
  document.title = `Graph of ${b.start_node.name || id} · auditgraph`;
  const nodes: DrawNode[] = [{ id, label: b.start_node.name || id, type: b.start_node.type, depth: 0 }, ...b.nodes.map((n: any) => ({ id: n.id, label: n.name || n.id, type: n.type, depth: n.depth }))];
  const edges: DrawEdge[] = b.edges.map((e: any) => ({ source: e.source, target: e.target, type: e.type }));
  const ms = await draw(box, nodes, edges, { start: id, open: (nid) => { location.hash = route("node", nid); } });
  if (seq !== renderSeq) return;
  const total = Math.round(performance.now() - t0);
  const more = b.truncated && b.max < 5000 ? h("button", { type: "button", id: "g-more" }, `Draw up to ${b.max < 1500 ? "1,500" : "5,000"} nodes`) : null;
  more?.addEventListener("click", () => go(depth, on, b.max < 1500 ? "1500" : "5000"));
  fill(info, `${nodes.length} nodes, ${edges.length} edges within ${depth} edge${depth === "1" ? "" : "s"}${b.truncated ? ` (cut at the nearest ${b.max}: the neighbourhood is larger)` : ""}; drawn in ${Math.round(ms)} ms (${total} ms with the requests). `, more);
  moved();
  // last: tests and the benchmark wait for these
  box.dataset.nodes = String(nodes.length);
  box.dataset.draw = String(Math.round(ms));
  box.dataset.ms = String(total);
}

async function overviewView(seq: number): Promise<void> {
  document.title = "Graph overview · auditgraph";
  const info = h("p", { class: "count", id: "g-info", "aria-live": "polite" }, "Loading…");
  const box = h("div", { class: "graphbox", id: "graph", role: "img", "aria-label": "Overview of the workspace: folders and technologies" });
  fill(main, h("h1", null, "Overview"), info, box,
    h("p", { class: "legend" }, "Folders (blue, sized by their documents) and the most mentioned technologies (orange); links between folders in blue, mentions in orange. Click a folder to search it, a technology to open it. For a node's own neighbourhood, open the node and choose ‘Show the neighbourhood in the graph’."));
  const r = await api("overview");
  if (seq !== renderSeq) return;
  if (!r.ok) { fill(info, problem(r)); return; }
  const b = r.body;
  const max = Math.max(1, ...b.clusters.map((c: any) => c.count), ...b.technologies.map((t: any) => t.count));
  const size = (n: number) => 14 + Math.round(40 * Math.sqrt(n / max));
  const nodes: DrawNode[] = [
    ...b.clusters.map((c: any) => ({ id: c.id, label: `${c.name}/ (${c.count})`, type: "folder", size: size(c.count) })),
    ...b.technologies.map((t: any) => ({ id: t.id, label: `${t.name} (${t.count})`, type: "technology", size: size(t.count) })),
  ];
  const emax = Math.max(1, ...b.edges.map((e: any) => e.count));
  const edges: DrawEdge[] = b.edges.filter((e: any) => e.source !== e.target).map((e: any) => ({ source: e.source, target: e.target, type: e.type, width: 1 + Math.round(6 * e.count / emax) }));
  const ms = await draw(box, nodes, edges, {
    labels: true,
    // A folder searches the cluster's own documents (its `path` glob, see buildOverview).
    open: (nid) => { location.hash = nid.startsWith("folder:") ? withQuery("#/search", { path: b.clusters.find((c: any) => c.id === nid)?.path ?? "" }) : route("node", nid); },
  });
  if (seq !== renderSeq) return;
  fill(info, `${b.clusters.length} folders, ${b.technologies.length} technologies; ${Object.entries(b.types).map(([k, v]) => `${v} ${k}`).join(", ")}.`);
  moved();
  box.dataset.nodes = String(nodes.length);
  box.dataset.ms = String(Math.round(ms));
}

// --- runs, budget, diff --------------------------------------------------------------------
const bytes = (n: number) => {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n, i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${u[i]}`;
};

function budgetBar(b: any): any {
  const scale = Math.max(b.block_threshold * 1.1, b.ratio);
  const pct = (x: number) => `${Math.min(100, (x / scale) * 100).toFixed(2)}%`;
  const fillEl = h("div", { class: `fill ${b.status}` });
  fillEl.style.width = pct(b.ratio);
  const warn = h("div", { class: "tick", title: "warn threshold" });
  warn.style.left = pct(b.warn_threshold);
  const block = h("div", { class: "tick", title: "block threshold" });
  block.style.left = pct(b.block_threshold);
  return [
    h("div", { class: "bar", role: "img", "aria-label": `Disk budget ${b.status}: ${(b.ratio * 100).toFixed(1)}% of the limit used; warning at ${b.warn_threshold * 100}%, blocking at ${b.block_threshold * 100}%` }, fillEl, warn, block),
    h("p", { class: "figures" }, `Status ${b.status}: usage ${bytes(b.usage_bytes)} of a limit of ${bytes(b.limit_bytes)} (ratio ${(Math.floor(b.ratio * 1e4) / 1e4).toFixed(4)}); warns at ${bytes(Math.ceil(b.limit_bytes * b.warn_threshold))} (${b.warn_threshold}), blocks at ${bytes(Math.ceil(b.limit_bytes * b.block_threshold))} (${b.block_threshold}); source ${bytes(b.source_bytes)}.`),
  ];
}

async function runsView(seq: number): Promise<void> {
  document.title = "Runs · auditgraph";
  const r = await api("runs");
  if (seq !== renderSeq) return;
  if (!r.ok) { fill(main, h("h1", null, "Runs"), problem(r)); return; }
  const runs: any[] = r.body.runs;
  const readable = runs.filter((x) => x.readable);
  const a = h("select", { id: "d-a", name: "a" }, readable.map((x, i) => h("option", { value: x.run_id, selected: i === readable.length - 2 }, x.run_id)));
  const b = h("select", { id: "d-b", name: "b" }, readable.map((x, i) => h("option", { value: x.run_id, selected: i === readable.length - 1 }, x.run_id)));
  const cmp = h("button", { type: "button" }, "Compare");
  cmp.addEventListener("click", () => { location.hash = route("diff", a.value, b.value); });
  fill(main,
    h("h1", null, "Runs"),
    h("h2", null, "Disk budget"),
    r.body.budget ? budgetBar(r.body.budget) : h("p", { class: "msg" }, String(r.body.error ?? "no budget figures")),
    r.body.source ? h("p", { class: "count" }, `Measured against the ${r.body.source}.`) : null,
    h("h2", null, `Runs of profile ${r.body.profile} (${runs.length})`),
    runs.length === 0 ? h("p", null, "No runs yet.") : h("table", null,
      h("thead", null, h("tr", null, ["", "run", "finished", "schema", "files", "chunks", "nodes", "edges"].map((c) => h("th", { scope: "col" }, c || "current")))),
      h("tbody", null, runs.map((x) => h("tr", null,
        h("td", null, x.current ? "current" : ""), h("td", { class: "mono" }, x.run_id), h("td", null, x.finished_at ?? "-"),
        h("td", null, `${x.schema_version}${x.readable ? "" : " (not readable)"}`),
        h("td", null, x.counts ? String(x.counts.ok ?? "") : String(x.problem ?? "")), h("td", null, String(x.counts?.chunks ?? "")),
        h("td", null, String(x.counts?.nodes ?? "")), h("td", null, String(x.counts?.edges ?? "")))))),
    readable.length >= 2 ? [h("h2", null, "Compare two runs"), h("div", { class: "form" }, h("label", { for: "d-a" }, "Older", a), h("label", { for: "d-b" }, "Newer", b), cmp)] : null);
}

async function diffView(a: string, b: string, seq: number): Promise<void> {
  document.title = "Run diff · auditgraph";
  const r = await api("diff", { a, b });
  if (seq !== renderSeq) return;
  if (!r.ok) { fill(main, h("h1", null, "Run diff"), problem(r)); return; }
  const d = r.body;
  const list = (title: string, cls: string, sign: string, xs: string[]) => h("section", { "aria-label": title },
    h("h2", null, `${title} (${xs.length})`), xs.length ? h("ul", { class: cls }, xs.map((p) => h("li", null, `${sign} ${p}`))) : h("p", { class: "count" }, "none"));
  fill(main,
    h("h1", null, "Run diff"),
    h("p", { class: "mono" }, `${d.run_a} → ${d.run_b}`),
    h("p", null, `${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed; ${d.artifacts_rewritten.length} artifact(s) rewritten${d.config_changed ? "; the config changed" : ""}.`),
    h("div", { class: "cols diff" }, list("Added", "added", "+", d.added), list("Removed", "removed", "-", d.removed), list("Changed", "changed", "~", d.changed)),
    h("p", null, h("a", { href: "#/runs" }, "Back to the runs")));
}

window.addEventListener("hashchange", () => { banner.hidden = true; void render(); });
void render().then(() => {
  setTimeout(poll, POLL_MS);
  // After the first view is painted, when the page is idle: cytoscape readied for the first graph (graph.ts, prepare).
  requestAnimationFrame(() => setTimeout(() => {
    const ready = () => void prepare(main).catch(() => {}).then(() => { document.documentElement.dataset.graphReady = "1"; });
    if (typeof window.requestIdleCallback === "function") window.requestIdleCallback(ready, { timeout: 2000 }); else ready();
  }, 0));
});
