/**
 * The page's only way to make DOM: elements with attributes from a fixed list, and text as text
 * nodes. File names, notes, front matter and snippets are untrusted; nothing here parses HTML
 * (no innerHTML, no insertAdjacentHTML), and link targets are made by the page itself (`#/…`),
 * never taken from the data. Text is shown as the CLI prints it (src/shared/printable.ts): control
 * and bidi characters as escapes, so a file name with U+202E cannot turn `x.txt` into `txt.x` on
 * the page, nor reorder the fields beside it.
 */
import { printable } from "../../shared/printable.ts";
// The project's tsconfig has no DOM types (the page is bundled by Bun, not type-checked against lib.dom).
declare const document: any;

type Child = Node | string | number | false | null | undefined | Child[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

const SAFE_ATTRS = new Set([
  "class", "id", "href", "title", "role", "type", "name", "value", "placeholder", "for", "tabindex", "hidden", "colspan",
  "aria-label", "aria-live", "aria-current", "aria-describedby", "aria-controls", "aria-expanded", "aria-hidden", "autocomplete",
  "spellcheck", "min", "max", "step", "data-id", "data-ms", "data-nodes", "data-view", "checked", "selected", "disabled", "lang", "scope",
]);

/** An element; `href` must be a page route (`#/…`), anything else is refused. */
export function h(tag: string, attrs: Record<string, string | number | boolean | undefined> | null, ...children: Child[]): Node {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === false) continue;
    if (!SAFE_ATTRS.has(k)) throw new Error(`attribute ${k} is not allowed`);
    if (k === "href" && !String(v).startsWith("#/")) throw new Error("only page routes are linked");
    el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): Node {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (typeof c === "string" || typeof c === "number") el.appendChild(document.createTextNode(printable(String(c), { newlines: true })));
    else el.appendChild(c);
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el: Node, ...children: Child[]): Node {
  el.replaceChildren();
  return append(el, children);
}

/** `text` with the given terms marked (case-insensitive), as text nodes and <mark> elements. */
export function marked(raw: string, terms: string[]): Node[] {
  const text = printable(raw, { newlines: true });
  const lower = text.toLowerCase();
  const ranges: [number, number][] = [];
  for (const t of new Set(terms.map((x) => x.toLowerCase()).filter((x) => x.length > 0))) {
    for (let at = lower.indexOf(t); at >= 0; at = lower.indexOf(t, at + t.length)) ranges.push([at, at + t.length]);
  }
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: Node[] = [];
  let pos = 0;
  for (const [s, e] of ranges) {
    if (s < pos) continue;
    if (s > pos) out.push(document.createTextNode(text.slice(pos, s)));
    out.push(h("mark", null, text.slice(s, e)));
    pos = e;
  }
  if (pos < text.length) out.push(document.createTextNode(text.slice(pos)));
  return out;
}

/** A page route with its parameters, e.g. route("node", id) → "#/node/<id>". */
export const route = (...parts: string[]) => "#/" + parts.map(encodeURIComponent).join("/");
export const withQuery = (r: string, q: Record<string, string | undefined>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `${r}?${s}` : r;
};
