/**
 * Front matter and markdown structure. Structure comes from Bun's built-in CommonMark parser
 * (`Bun.markdown.render` with callbacks): headings, links, code spans and fence languages. The
 * parser gives no source positions, so two scans of the body say where things are: a line scan
 * (heading lines, ATX and setext; fenced code with its info string, indented code, HTML blocks and
 * link reference definitions, where no link can be) and scans of the rest for link syntax (inline
 * links, autolinks, reference links), code spans and HTML comments. The parser's headings, links,
 * code spans and fence languages are then matched to those in order.
 */
import { nextOf } from "../shared/next-of.ts";
import { yamlLib } from "../shared/yaml.ts";
import { countBelow } from "../shared/sorted.ts";
import { lineAt, lineStarts } from "./chunk.ts";
import { simpleYaml } from "./simple-yaml.ts";

// logLevel "error": a key that is a list or map is made a string (JSON keys are), without the library's process warning, which names no file.
const yamlOptions = (held: boolean) => (held ? { logLevel: "error" as const, uniqueKeys: distinctUnlessHeld } : { logLevel: "error" as const });
/**
 * The YAML library's key equality, except that two held markers are never one key: two secrets
 * redacted by one detector became the same placeholder, a duplicate key, and the whole front matter
 * was refused. (The later one wins in the stored object, both being the same marker.)
 */
const distinctUnlessHeld = (a: unknown, b: unknown): boolean => {
  const va = (a as { value?: unknown } | null)?.value ?? a;
  const vb = (b as { value?: unknown } | null)?.value ?? b;
  if (typeof va === "string" && va.includes("\uE000REDACTED")) return false;
  return a === b || (va !== undefined && va === vb && typeof va !== "object");
};

/**
 * The redaction marker `[REDACTED:<detector>]` is YAML syntax: alone it is a flow sequence
 * (`title: [REDACTED:…]` became a list), followed by more text it is an error (the whole front matter
 * was lost). Before parsing, each marker becomes a plain scalar of the same length (private-use
 * brackets, so lines and columns stay), and after it the marker again, in keys and values alike.
 */
const MARKER = /\[REDACTED:([a-z0-9_]+)\]/g;
const HELD = /\uE000REDACTED\uE002([a-z0-9_]+)\uE001/g;

/** `error` (with `errorLine`, the file's 1-based line, when the YAML parser gives a position) when the block is unusable. */
export type FrontMatter = { data: Record<string, unknown>; bodyOffset: number; error?: string; errorLine?: number };

/**
 * Front matter longer than this is not parsed (a warning says so). The YAML library's duplicate-key
 * check compares every key with every other: 64,000 keys (0.9 MB) took 55 s, 200,000 never ended,
 * with the workspace lock held. 64 K characters (about 4,000 keys) parse in a fraction of a second.
 */
export const MAX_FRONT_MATTER = 65_536;

const FM_OPEN = /^---[ \t]*\n/;
const FM_CLOSE = /\n(?:---|\.\.\.)[ \t]*(?:\n|$)/g;

/**
 * Where a file's front matter is: `---` alone on the first line, up to the next line that is `---`
 * or `...` (YAML's end of document, which Jekyll and Pandoc accept too), either allowed trailing
 * blanks. The YAML is text[yamlStart, yamlEnd) (with its last newline); the body starts at
 * `bodyOffset`, after the closing line. Undefined when the file has none.
 */
export function frontMatterBlock(text: string): { yamlStart: number; yamlEnd: number; bodyOffset: number } | undefined {
  const open = FM_OPEN.exec(text);
  if (!open) return undefined;
  FM_CLOSE.lastIndex = open[0].length - 1; // the opening line's newline: `---\n---\n` is empty front matter
  const close = FM_CLOSE.exec(text);
  if (!close) return undefined;
  return { yamlStart: open[0].length, yamlEnd: close.index + 1, bodyOffset: close.index + close[0].length };
}

/**
 * For a YAML error about something left open (a quote, `[` or `{` never closed), which the library
 * reports where it gave up (often the end of the block), the offset of the opening character
 * before `at`: the line a reader must fix. Undefined for any other error.
 */
function openedAt(yaml: string, at: number, message: string): number | undefined {
  const quote = /^Missing closing (["'])quote/.exec(message)?.[1];
  if (quote) {
    for (let i = Math.min(at, yaml.length) - 1; i >= 0; i--) if (yaml[i] === quote && !(quote === '"' && yaml[i - 1] === "\\")) return i;
    return undefined;
  }
  const close = /end with a ([\]}])$/.exec(message)?.[1];
  if (!close) return undefined;
  const open = close === "]" ? "[" : "{";
  let depth = 0;
  for (let i = Math.min(at, yaml.length) - 1; i >= 0; i--) {
    if (yaml[i] === close) depth++;
    else if (yaml[i] === open && depth-- === 0) return i;
  }
  return undefined;
}
export function splitFrontMatter(text: string): FrontMatter {
  const fm = frontMatterBlock(text);
  if (!fm) return { data: {}, bodyOffset: 0 };
  const { bodyOffset } = fm;
  if (fm.yamlEnd - fm.yamlStart - 1 > MAX_FRONT_MATTER) return { data: {}, bodyOffset, error: `front matter over ${MAX_FRONT_MATTER.toLocaleString("en")} characters is not read`, errorLine: 1 };
  const block = text.slice(fm.yamlStart, fm.yamlEnd);
  const held = block.includes("[REDACTED:");
  // Plain `key: value` front matter without the library (its first parse costs ~10 ms cold):
  // simple-yaml.ts gives strings and lists of them already, nothing JSON would change.
  const fast = held ? undefined : simpleYaml(block);
  if (fast) return { data: fast, bodyOffset };
  // The library is loaded (on first use, from its entry point) outside the try below, which makes
  // a note's YAML errors its warnings: a build without the entry point stops the run instead.
  const { parse } = yamlLib();
  try {
    const data = parse(held ? block.replace(MARKER, "\uE000REDACTED\uE002$1\uE001") : block, yamlOptions(held));
    if (data === null || data === undefined) return { data: {}, bodyOffset };
    if (typeof data !== "object" || Array.isArray(data)) return { data: {}, bodyOffset, error: "front matter is not a mapping" };
    let json: string;
    // An alias inside the node it names (`a: &a [*a]`) makes a value that holds itself: no JSON has it.
    try { json = JSON.stringify(data); } catch { return { data: {}, bodyOffset, error: "invalid front matter: an alias refers to a value that holds it (a cycle)", errorLine: 1 }; }
    return { data: JSON.parse(held ? json.replace(HELD, "[REDACTED:$1]") : json) as Record<string, unknown>, bodyOffset };
  } catch (e) {
    // The YAML starts on the file's line 2; its own "at line N, column M" would mislead, so it goes.
    const err = e as Error & { linePos?: { line: number }[]; pos?: [number, number] };
    const msg = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "").replace(HELD, "[REDACTED:$1]");
    const opened = err.pos ? openedAt(block, err.pos[0], msg) : undefined;
    const yamlLine = opened !== undefined ? lineAt(lineStarts(block), opened) : err.linePos?.[0]?.line;
    return { data: {}, bodyOffset, error: `invalid front matter: ${msg}`, ...(yamlLine ? { errorLine: yamlLine + 1 } : {}) };
  }
}

export type Heading = { text: string; level: number; offset: number };
export type MdStructure = {
  headings: Heading[];
  /** offset: where the link is written (its `](`, `<` or reference), not where its target is defined. */
  links: { href: string; offset: number }[];
  /** Inline code spans as the parser gives them (at most 80 characters), in document order; offset: the opening backtick run. */
  codeSpans: { text: string; offset: number }[];
  /** Fenced code blocks with an info string: its first word, lower-cased; offset: the opening fence's line. */
  fences: { language: string; offset: number }[];
  /** HTML comments outside code (fenced, indented, code spans), as [start, end) offsets, in order. */
  comments: [number, number][];
};

type Md = { render: (src: string, cb: Record<string, (children: string, meta: any) => string>) => string };

/** What the line scan finds: heading lines, ranges without inline markdown, link reference definitions. */
type Blocks = {
  /** offset: the start of the line the heading text begins on (a setext heading's first text line). */
  heads: Heading[];
  /** [start, end) pairs, in order: fenced and indented code, HTML blocks, link reference definitions. */
  raw: number[];
  /** Normalized label → destination (the first definition of a label wins). */
  defs: Map<string, string>;
  /** Offsets of the lines that start a block (not a paragraph's continuation): no code span crosses one. */
  starts: number[];
  /** [start, end) pairs of the HTML blocks alone (also in `raw`): raw HTML, where a comment is one. */
  html: number[];
  /** Opening fences: the line's offset and the info string's first word, lower-cased ("" without one). */
  fences: { offset: number; language: string }[];
};

const HTML_1 = /<(?:script|pre|style|textarea)(?:[\s>]|$)/iy;
const HTML_1_END = /<\/(?:script|pre|style|textarea)>/i;
const HTML_6 = new RegExp(`</?(?:${"address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul"})(?:[\\s>]|/>|$)`, "iy");
const HTML_7 = /(?:<[A-Za-z][A-Za-z0-9-]*(?:[ \t]+[A-Za-z_:][\w.:-]*(?:[ \t]*=[ \t]*(?:[^\s"'=<>`]+|'[^'\n]*'|"[^"\n]*"))?)*[ \t]*\/?>|<\/[A-Za-z][A-Za-z0-9-]*[ \t]*>)[ \t]*(?:\n|$)/y;
const THEMATIC = /([-*_])(?:[ \t]*\1){2,}[ \t]*(?:\n|$)/y;
const SETEXT = /(?:=+|-+)[ \t]*(?:\n|$)/y;
const TABLE_DELIM = /\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*(?:\n|$)/y;
const LIST_ITEM = /(?:[-+*]|(\d{1,9})[.)])(?=[ \t\n]|$)/y;
const DEFINITION = /\[((?:[^\\[\]]|\\.){1,999})\]:[ \t]*\n?[ \t]*(?:<([^<>\n]*)>|([^\s<>]\S*))(?:[ \t]+(?:"[^"]*"|'[^']*'|\([^()]*\)))?[ \t]*(?:\n|$)/y;

const at = (re: RegExp, s: string, i: number) => { re.lastIndex = i; return re.exec(s); };
const labelKey = (label: string) => label.trim().replace(/\s+/g, " ").toLowerCase();

/** Where an HTML block that starts at `i` ends: "" at a blank line, a string or pattern on the line that ends it; undefined: no HTML block. */
function htmlBlockEnd(s: string, i: number, inParagraph: boolean): string | RegExp | undefined {
  if (at(HTML_1, s, i)) return HTML_1_END;
  if (s.startsWith("<!--", i)) return "-->";
  if (s.startsWith("<?", i)) return "?>";
  if (s.startsWith("<![CDATA[", i)) return "]]>";
  if (s.startsWith("<!", i) && /[A-Za-z]/.test(s[i + 2] ?? "")) return ">";
  if (at(HTML_6, s, i)) return "";
  return !inParagraph && at(HTML_7, s, i) ? "" : undefined;
}

/** The ATX heading whose `#` run starts at `i` on the line ending at `eol`, if it is one. */
function atxHeading(s: string, i: number, eol: number, offset: number): Heading | undefined {
  let e = i;
  while (s.charCodeAt(e) === 35) e++;
  const sp = s.charCodeAt(e);
  if (e - i > 6 || (e < eol && sp !== 32 && sp !== 9)) return undefined;
  return { text: withoutClosingHashes(s.slice(e, eol)).trim(), level: e - i, offset };
}

/**
 * A heading line's content without its closing sequence (`# Title ##`: a run of `#` after a blank,
 * or alone, then blanks only). By hand from the end: the pattern `(?:^|[ \t]+)#+[ \t]*$` tried each
 * blank of a long run (`#` and 100,000 blanks: 13 s).
 */
function withoutClosingHashes(t: string): string {
  let end = t.length;
  while (end > 0 && (t.charCodeAt(end - 1) === 32 || t.charCodeAt(end - 1) === 9)) end--;
  let h = end;
  while (h > 0 && t.charCodeAt(h - 1) === 35) h--;
  if (h === end || (h > 0 && t.charCodeAt(h - 1) !== 32 && t.charCodeAt(h - 1) !== 9)) return t;
  return t.slice(0, h);
}

/**
 * The container markers (`>`, list markers) that start a line at offset `i`, column `col` (tabs to
 * the next multiple of 4): where the content starts (`k`, `kcol`), the innermost container
 * (`inner`) and the column its content starts at (`innerContent`: after `>` and one blank; after a
 * list marker and 1-4 blanks, or one when it is followed by more: the rest is then indented code),
 * the innermost list item's marker column (`liCol`), whether a `>`
 * came (`quoted`), and the innermost list item before any `>` (`openCol`, `openContent`: the item
 * the line opens in the document's own lists; a list in a block quote ends with the quote).
 */
function markersAt(s: string, i: number, col: number): { k: number; kcol: number; inner?: ">" | "li"; innerContent: number; liCol?: number; quoted: boolean; quoteContent: number; openCol?: number; openContent?: number } {
  let inner: ">" | "li" | undefined;
  let innerContent = col;
  let quoteContent = col; // the content column of the innermost `>`
  let liContent: number | undefined, liCol: number | undefined, openCol: number | undefined, openContent: number | undefined;
  let quoted = false;
  const blanks = () => { for (let c = s.charCodeAt(i); c === 32 || c === 9; c = s.charCodeAt(++i)) col = c === 9 ? col + 4 - (col % 4) : col + 1; };
  for (let n = 0; n < 8; n++) {
    blanks();
    const c = s.charCodeAt(i);
    if (c === 62) {
      i++; col++;
      inner = ">"; innerContent = quoteContent = col + (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9 ? 1 : 0);
      quoted = true;
      continue;
    }
    const li = c === 45 || c === 43 || c === 42 || (c >= 48 && c <= 57) ? at(LIST_ITEM, s, i) : null;
    if (!li) break;
    liCol = col;
    i += li[0].length; col += li[0].length;
    const at0 = i, col0 = col;
    blanks();
    const width = col - col0, rest = s.charCodeAt(i) === 10 || i >= s.length;
    inner = "li"; innerContent = liContent = col0 + (width >= 1 && width <= 4 && !rest ? width : 1);
    if (!quoted) { openCol = liCol; openContent = liContent; }
    i = at0; col = col0;
  }
  return { k: i, kcol: col, inner, innerContent, liCol, quoted, quoteContent, openCol, openContent };
}

/**
 * One pass over the lines of the body, CommonMark's block structure simplified: containers (block
 * quotes, list items) are not parsed, only remembered so that their lines do not make setext
 * headings or indented code. Misses are fine: headings and links are matched, not counted.
 */
function scanBlocks(s: string): Blocks {
  const b: Blocks = { heads: [], raw: [], defs: new Map(), starts: [], html: [], fences: [] };
  const raw = (start: number, end: number) => {
    if (b.raw.length && b.raw[b.raw.length - 1]! >= start - 1) b.raw[b.raw.length - 1] = end; else b.raw.push(start, end);
  };
  const htmlBlock = (start: number, end: number) => { raw(start, end); b.html.push(start, end); };
  /** A link reference definition's label and destination; the first definition of a label counts. */
  const define = (m: RegExpExecArray) => {
    const key = labelKey(m[1]!);
    if (key && !b.defs.has(key)) b.defs.set(key, m[2] ?? m[3]!);
  };
  /** Whether the line from `k` to `eol` closes fenced code opened by `f`: at least its run, of its character only, then blanks. */
  const closesFence = (f: string, k: number, eol: number) => {
    if (!s.startsWith(f, k)) return false;
    let e = k + f.length;
    while (s.charCodeAt(e) === f.charCodeAt(0)) e++;
    while (s.charCodeAt(e) === 32 || s.charCodeAt(e) === 9) e++;
    return e >= eol;
  };
  let fence = "";          // the opening fence run while in fenced code
  let fenceCol = 0, fenceStart = 0, fenceInList = false;
  let html: string | RegExp | undefined;
  let htmlStart = 0;
  let para = -1;           // start of the current paragraph's first line, -1 outside one
  let paraTop = false;     // the paragraph is not in a container (only then can it become a setext heading)
  let paraLines = 0, paraTable = false;
  let inList = false, prevBlank = true;
  let listContent = 0;     // the column where the innermost open list item's content starts
  const items: number[] = []; // the content columns of the open list items, outermost first
  /** Every open list item ends (a line at column 0 after a blank line, a thematic break, a heading). */
  const endLists = () => { inList = false; items.length = 0; };
  /** A list item starts at marker column `at` with its content at `content`: the items at or past its column end. */
  const openItem = (at: number, content: number) => {
    while (items.length && items[items.length - 1]! > at) items.pop();
    items.push(content); listContent = content; inList = true;
  };
  let qfence = "";         // the opening fence run while in fenced code inside a block quote
  let qfenceCol = -1;      // opened in a list item of the quote: its column past the quote's content (a quoted line less indented, or a new item, ends it)
  let quoteBreak = false;  // the line before was empty inside a block quote (`>` alone): a new block may start
  let eol = -1;
  /**
   * A fence right after a line's container markers, at most 3 columns into the innermost
   * container's content (further in, it is indented code): code in the quote (`> ```sh`, its lines
   * quoted), or in the item (`- ```js`, its lines indented to the item's content).
   */
  const opensFence = (m: ReturnType<typeof markersAt>, pos: number): boolean => {
    const k = m.k, fc = s.charCodeAt(k);
    if (!((fc === 96 || fc === 126) && s.charCodeAt(k + 1) === fc && s.charCodeAt(k + 2) === fc) || m.kcol - m.innerContent > 3) return false;
    let e = k + 3;
    while (s.charCodeAt(e) === fc) e++;
    const tick = fc === 96 ? s.indexOf("`", e) : -1;
    if (tick >= 0 && tick < eol) return false;
    para = -1;
    if (m.quoted) { qfence = s.slice(k, e); qfenceCol = m.inner === "li" ? m.kcol - m.quoteContent : -1; raw(pos, eol); } // in a quote (`> - ```sh` too): its lines are quoted
    else { fence = s.slice(k, e); fenceCol = m.innerContent; fenceStart = pos; fenceInList = true; }
    return true;
  };
  /** Content four columns or more into the innermost container, where no paragraph goes on: indented code (`>     # x`, `-     code`). */
  const indentedIn = (m: ReturnType<typeof markersAt>, pos: number): boolean => {
    if (m.k >= eol || m.kcol - m.innerContent < 4 || (para >= 0 && m.inner === ">")) return false;
    para = -1; raw(pos, eol); b.starts.push(pos);
    return true;
  };
  for (let pos = 0; pos <= s.length; pos = eol + 1) {
    eol = s.indexOf("\n", pos);
    if (eol < 0) eol = s.length;
    let i = pos, col = 0;
    for (let c = s.charCodeAt(i); c === 32 || c === 9; c = s.charCodeAt(++i)) col = c === 9 ? col + 4 - (col % 4) : col + 1;
    const blank = i >= eol;
    const c = s.charCodeAt(i);
    const afterBlank = prevBlank;
    prevBlank = blank;
    if (fence) {
      if (!blank && fenceInList && col < fenceCol) { raw(fenceStart, pos - 1); fence = ""; }
      else {
        if (!blank && col <= fenceCol + 3 && closesFence(fence, i, eol)) { raw(fenceStart, eol); fence = ""; }
        continue;
      }
    }
    if (html !== undefined) {
      if (html === "" ? blank : typeof html === "string" ? s.slice(pos, eol).includes(html) : html.test(s.slice(pos, eol))) {
        htmlBlock(htmlStart, blank ? pos : eol); html = undefined;
      }
      continue;
    }
    if (qfence) {
      // Fenced code in a block quote: its lines are quoted (`> # not a heading`) until the closing
      // fence; a line outside the quote ends the quote, and the code with it.
      const q = c === 62 ? markersAt(s, i, col) : undefined;
      // In the quote, and not a new item or a line less indented than the fence (which end a fence
      // opened in an item of the quote, `> 2. ```js` then `> 3. …`).
      if (q && !(qfenceCol >= 0 && q.k < eol && (q.liCol ?? q.kcol) - q.quoteContent < qfenceCol)) {
        if (closesFence(qfence, q.k, eol)) qfence = ""; // as at the top: "```~" closes nothing
        raw(pos, eol);
        continue;
      }
      qfence = "";
    }
    if (blank) { para = -1; b.starts.push(pos); continue; }
    // A line less indented than the innermost item's content, where no paragraph goes on, ends the
    // items it is outside of (`  more a` after a nested item's blank line is the outer item's).
    if (inList && para < 0 && items.length && col < listContent) {
      while (items.length && items[items.length - 1]! > col) items.pop();
      listContent = items.length ? items[items.length - 1]! : 0;
    }
    if (col >= 4 && para < 0 && !inList) { raw(pos, eol); b.starts.push(pos); continue; }  // indented code
    if (col === 0 && afterBlank && inList) endLists();
    if (col >= 4 && !inList) { paraLines++; continue; }                  // paragraph continuation
    // Fenced code: a run of 3+ backticks (no backtick after it) or tildes.
    if ((c === 96 || c === 126) && s.charCodeAt(i + 1) === c && s.charCodeAt(i + 2) === c) {
      let e = i + 3;
      while (s.charCodeAt(e) === c) e++;
      const tick = c === 96 ? s.indexOf("`", e) : -1;
      if (tick < 0 || tick > eol) {
        fence = s.slice(i, e); fenceCol = col; fenceStart = pos; fenceInList = inList && col > 0; para = -1;
        b.fences.push({ offset: pos, language: (/^[ \t]*([^\s]*)/.exec(s.slice(e, eol))![1] ?? "").toLowerCase() });
        b.starts.push(pos); continue;
      }
    }
    if (col > 3) {                                                              // in a list item
      // Indented code in the item: four columns past its content, where no paragraph goes on.
      if (inList && para < 0 && col >= listContent + 4) { raw(pos, eol); b.starts.push(pos); continue; }
      const m = markersAt(s, i, col);
      // A nested item (not a thematic break, nor `2.` going on in a paragraph: only `1.` may interrupt one).
      // A marker left of the open item's content is a sibling's (`9.` then `10.`), which a paragraph does not hold.
      if (m.openContent !== undefined && !at(THEMATIC, s, i) && (para < 0 || !/^\d/.test(s.slice(i, i + 1)) || /^1[.)]/.test(s.slice(i, i + 2)) || (inList && col < listContent))) openItem(m.openCol!, m.openContent);
      if (m.inner !== undefined && (opensFence(m, pos) || indentedIn(m, pos))) continue;
      const k = m.k;
      // A `#` four columns or more past the item's content is text (in a paragraph) or code, no heading.
      const deep = m.inner !== undefined ? m.kcol - m.innerContent > 3 : inList && col - listContent > 3;
      const h = !deep && s.charCodeAt(k) === 35 ? atxHeading(s, k, eol, pos) : undefined;
      if (h) { b.heads.push(h); para = -1; b.starts.push(pos); continue; }
      if (para >= 0) { paraLines++; continue; }
      para = pos; paraTop = false; paraLines = 1; paraTable = false; b.starts.push(pos); continue;
    }
    if (c === 61 || c === 45) {                                                   // = or -: setext underline?
      if (para >= 0 && paraTop && !paraTable && at(SETEXT, s, i)) {
        b.heads.push({ text: s.slice(para, pos - 1).trim(), level: c === 61 ? 1 : 2, offset: para });
        para = -1; b.starts.push(pos); continue;
      }
    }
    if ((c === 45 || c === 42 || c === 95) && at(THEMATIC, s, i)) { para = -1; if (col === 0) endLists(); b.starts.push(pos); continue; }
    if (c === 35) {                                                               // #: ATX heading?
      const h = atxHeading(s, i, eol, pos);
      if (h) { b.heads.push(h); para = -1; if (col === 0) endLists(); b.starts.push(pos); continue; }
    }
    if (c === 60) {                                                               // <: HTML block?
      const end = htmlBlockEnd(s, i, para >= 0);
      if (end !== undefined) {
        para = -1; htmlStart = pos;
        if (end === "" || !(typeof end === "string" ? s.slice(i, eol).includes(end) : end.test(s.slice(i, eol)))) html = end;
        else htmlBlock(pos, eol);
        b.starts.push(pos); continue;
      }
    }
    if (c === 91 && para < 0) {                                                   // [: link reference definition?
      const m = at(DEFINITION, s, i);
      if (m) {
        define(m);
        b.starts.push(pos);
        const e = m.index + m[0].length;
        eol = s.charCodeAt(e - 1) === 10 ? e - 1 : e;
        raw(pos, eol);
        continue;
      }
    }
    if (para >= 0 && paraLines === 1 && paraTop && (c === 124 || c === 58 || c === 45) && s.slice(i, eol).includes("|") && at(TABLE_DELIM, s, i)) {
      paraTable = true; paraLines++; continue;
    }
    const li = c === 45 || c === 43 || c === 42 || (c >= 48 && c <= 57) ? at(LIST_ITEM, s, i) : null;
    if (c === 62 || (li && (para < 0 || !li[1] || li[1] === "1" || (inList && col < listContent)))) { // block quote or list item: a container
      const m = markersAt(s, i, col);
      if (m.openContent !== undefined) openItem(m.openCol!, m.openContent);
      b.starts.push(pos);
      const k = m.k;
      const afterQuoteBreak = quoteBreak;
      quoteBreak = m.inner === ">" && k >= eol;
      // A link reference definition in a block quote, at the start of a block of it.
      if (m.inner === ">" && s.charCodeAt(k) === 91 && (para < 0 || afterQuoteBreak)) {
        const m = at(DEFINITION, s, k);
        if (m && !m[0].slice(0, -1).includes("\n")) {
          define(m);
          raw(pos, eol);
          para = -1;
          continue;
        }
      }
      if (opensFence(m, pos) || indentedIn(m, pos)) continue;
      const h = s.charCodeAt(k) === 35 ? atxHeading(s, k, eol, pos) : undefined;
      if (h) { b.heads.push(h); para = -1; continue; }
      para = pos; paraTop = false; paraLines = 1; paraTable = false;
      continue;
    }
    if (para >= 0) { paraLines++; continue; }
    para = pos; paraTop = !inList; paraLines = 1; paraTable = false;
    b.starts.push(pos);
  }
  if (fence) raw(fenceStart, s.length);
  if (html !== undefined) htmlBlock(htmlStart, s.length);
  return b;
}

/** Letters and digits of a heading's text, lower-cased: what the source and the parser's rendering share. */
const sig = (text: string) => text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");

/**
 * `t` with each `](…)` (a link target up to its `)`), and with `entities` each `&…;` reference,
 * replaced by `]`: the patterns `\]\([^)]*\)|&#?\w+;`, by hand so that a `](` with no `)` after
 * it is passed over at once (each `](` of a line of them read the rest of the line: quadratic).
 */
function withoutTargets(t: string, entities: boolean): string {
  const lastClose = t.lastIndexOf(")");
  const re = entities ? /\]\(|&#?\w+;/g : /\]\(/g;
  let out = "";
  let at = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    let end = m.index + m[0].length;
    if (m[0] === "](") {
      if (end > lastClose) continue; // no `)` after it: as the pattern, no match here
      end = t.indexOf(")", end) + 1;
      re.lastIndex = end;
    }
    out += t.slice(at, m.index) + "]";
    at = end;
  }
  return out + t.slice(at);
}
/**
 * The signatures a heading's source text may render to: as is, without link targets and entities
 * (a named entity renders to punctuation, or to a letter the signature cannot know: see
 * entitySig, tried last), also without
 * reference labels; and with numeric character references decoded first (`&#65;` is a letter of
 * the rendered text), as is and without link targets and named entities.
 */
const sourceSigs = (text: string) => {
  const a = withoutTargets(text, true);
  const out = [sig(text), sig(a), sig(a.replace(/\]\[[^\]]*\]/g, "]"))];
  if (text.includes("&#")) {
    const decoded = text.replace(/&#(?:([0-9]{1,7})|[xX]([0-9a-fA-F]{1,6}));/g, (m, d: string | undefined, h: string | undefined) => {
      const cp = d !== undefined ? Number(d) : parseInt(h!, 16);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    });
    out.push(sig(decoded), sig(withoutTargets(decoded, true)));
  }
  return out;
};

/** The names of the character references U+00A0-U+00FF, in code point order (HTML's Latin-1 entities). */
const LATIN1_REFS = ("nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 " +
  "acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig " +
  "Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave " +
  "Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave " +
  "iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml").split(" ");
const CHAR_REFS = new Map<string, string>([
  ["amp", "&"], ["AMP", "&"], ["lt", "<"], ["LT", "<"], ["gt", ">"], ["GT", ">"], ["quot", '"'], ["QUOT", '"'], ["apos", "'"],
  ...LATIN1_REFS.map((name, i): [string, string] => [name, String.fromCharCode(0xa0 + i)]),
]);

/**
 * A link destination as CommonMark reads it: backslash escapes of ASCII punctuation taken out
 * (`my\_notes.md`), numeric character references and the common named ones (`&amp;`, `&eacute;`)
 * decoded; the parser reports it as written. An unknown name stays as it is.
 */
export function linkDestination(href: string): string {
  if (!href.includes("\\") && !href.includes("&")) return href;
  return href.replace(/\\([!-/:-@[-`{-~])|&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));/g, (m, esc: string | undefined, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (esc !== undefined) return esc;
    if (name !== undefined) return CHAR_REFS.get(name) ?? m;
    const cp = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : "\ufffd";
  });
}

/** Named character references (`&Auml;`, `&amp;`). */
const NAMED_REFS = /&[A-Za-z][A-Za-z0-9]{1,31};/g;
/** A heading's ASCII letters and digits, lower-cased, and how many other letters and digits it has. */
const asciiSig = (text: string) => {
  const all = sig(text);
  const ascii = all.replace(/[^a-z0-9]+/g, "");
  return { ascii, other: all.length - ascii.length };
};
/**
 * For a source heading with named character references: its ASCII signature without them, and
 * how many other letters or digits its rendering may have (its own, and two for each reference,
 * which may render to a letter the source cannot tell: `&Ouml;l` is `Öl`, `&frac12;` is `½`,
 * `&amp;` is none). Undefined when it has none.
 */
function entitySig(source: string): { ascii: string; other: number } | undefined {
  const refs = source.match(NAMED_REFS)?.length ?? 0;
  if (refs === 0) return undefined;
  const s = asciiSig(withoutTargets(source, false).replace(NAMED_REFS, ""));
  return { ascii: s.ascii, other: s.other + 2 * refs };
}

const LOOKAHEAD = 64;
/** The text searches of placeHeadings, and those of placeLinks, read at most this many times the text in all (see there). */
const SEARCH_BUDGET = 16;

/**
 * Offsets of the parser's headings, matched in order to the heading lines found (same level and
 * text): lines the parser did not take as headings are skipped; a heading with no line found is
 * looked for by its text between its neighbours, so it never takes another heading's line.
 */
function placeHeadings(s: string, parsed: { text: string; level: number }[], found: Heading[]): number[] {
  const pk: (string | undefined)[] = [];
  const fk: (string[] | undefined)[] = [];
  const fe: ({ ascii: string; other: number } | null | undefined)[] = [];
  const pa: ({ ascii: string; other: number } | undefined)[] = [];
  const same = (i: number, j: number) => {
    const p = parsed[i]!, f = found[j]!;
    if (p.level !== f.level) return false;
    if (p.text === f.text) return true;
    return (fk[j] ??= sourceSigs(f.text)).includes(pk[i] ??= sig(p.text));
  };
  /**
   * Named references that render to letters (see entitySig): the ASCII letters and digits must
   * agree. Looser than `same`, so only for a heading `same` left unplaced, among the heading lines
   * between its neighbours: a line the scanner takes for a heading that the parser does not (code
   * in a list item or a block quote) must not take a heading that has its own line further on.
   */
  const entitySame = (i: number, j: number) => {
    const p = parsed[i]!, f = found[j]!;
    if (p.level !== f.level) return false;
    const e = fe[j] === null ? undefined : (fe[j] ??= entitySig(f.text) ?? null);
    if (!e) return false;
    const r = (pa[i] ??= asciiSig(p.text));
    return r.ascii === e.ascii && r.other <= e.other && (r.ascii !== "" || r.other > 0);
  };
  const offs: number[] = new Array(parsed.length).fill(-1);
  let i = 0, j = 0;
  while (i < parsed.length && j < found.length) {
    if (same(i, j)) { offs[i++] = found[j++]!.offset; continue; }
    let dj = -1, di = -1;
    for (let k = j + 1; k < found.length && k <= j + LOOKAHEAD; k++) if (same(i, k)) { dj = k; break; }
    for (let k = i + 1; k < parsed.length && k <= i + LOOKAHEAD; k++) if (same(k, j)) { di = k; break; }
    if (dj < 0 && di < 0) { i++; j++; }
    else if (di < 0 || (dj >= 0 && dj - j <= di - i)) j = dj;
    else i = di;
  }
  // The rest: a heading line with named references between its neighbours (the first of at most
  // LOOKAHEAD), else by text, after the previous heading's line and before the next placed heading.
  // Where the next placed heading is, for each heading (placed in the loop above: this loop places
  // only headings before it), so that a run of unplaced headings is not walked once per heading.
  const nextPlaced: number[] = new Array(parsed.length);
  for (let k = parsed.length - 1, end = s.length; k >= 0; k--) { nextPlaced[k] = end; if (offs[k]! >= 0) end = offs[k]!; }
  // A text search reads only up to the next placed heading (a match past it is not used), and the
  // reading is bounded in all (SEARCH_BUDGET times the text), after which an unplaced heading takes
  // the previous one's next line.
  let budget = SEARCH_BUDGET * (s.length + 1024);
  const search = (t: string, from: number, end: number): number => {
    const to = Math.min(s.length, end + t.length);
    if (budget <= 0 || to - from < t.length) return -1;
    budget -= to - from;
    const f = s.slice(from, to).indexOf(t);
    return f < 0 ? -1 : from + f;
  };
  let from = 0; // the first heading line not before the previous heading's line
  for (let k = 0; k < parsed.length; k++) {
    if (offs[k]! >= 0) continue;
    const prev = k > 0 ? s.indexOf("\n", offs[k - 1]!) + 1 || s.length : 0;
    const end = nextPlaced[k]!;
    while (from < found.length && found[from]!.offset < prev) from++;
    let hit = -1;
    for (let n = from; n < found.length && n < from + LOOKAHEAD && found[n]!.offset < end; n++) if (entitySame(k, n)) { hit = n; break; }
    if (hit >= 0) { offs[k] = found[hit]!.offset; continue; }
    const t = parsed[k]!.text;
    const line = t.split("\n", 1)[0]!;
    let f = line ? search(line, prev, end) : -1;
    if (f < 0 || f >= end) {
      const word = (t.match(/[\p{L}\p{N}_]+/gu) ?? []).reduce((a, w) => (w.length > a.length ? w : a), "");
      f = word ? search(word, prev, end) : -1;
    }
    const off = f >= 0 && f < end ? s.lastIndexOf("\n", f) + 1 : Math.min(prev, end);
    // Never past the text's last line (a heading placed at its very end would count a line more).
    offs[k] = off >= s.length && s.length > 0 ? s.lastIndexOf("\n", s.length - 2) + 1 : off;
  }
  return offs;
}

/** Link syntax found in the text: `at` is where it is written; `dest` where an inline destination or autolink target starts (else `url`, a definition's). */
type LinkSite = { at: number; dest: number; url?: string };

const INLINE = /`+|<|\]\(/g;
const INLINE_REFS = /`+|<|\]\(|\]\[|\]/g;
const AUTOLINK = /<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>/y;

/** Whether the character at `i` is backslash-escaped. */
function escaped(s: string, i: number): boolean {
  let k = i;
  while (k > 0 && s.charCodeAt(k - 1) === 92) k--;
  return (i - k) % 2 === 1;
}

/** The end of the code span whose opening backtick run of length n ends at `from`, or -1 (the run is literal). */
function codeSpanEnd(s: string, from: number, n: number, bound: number): number {
  for (let q = s.indexOf("`", from); q >= 0 && q < bound;) {
    let e = q;
    while (s.charCodeAt(e) === 96) e++;
    if (e - q === n) return e;
    q = s.indexOf("`", e);
  }
  return -1;
}

/** The `[` that opens the bracket text ending at `]` `p`, within 1000 characters and with no `]` between, or -1. */
function openBracket(s: string, p: number): number {
  for (let k = p - 1, stop = Math.max(0, p - 1000); k >= stop; k--) {
    const c = s.charCodeAt(k);
    if (c === 91) return k;
    if (c === 93) return -1;
  }
  return -1;
}


/** Link syntax outside `raw` ranges, code spans and HTML comments, in document order. */
function linkSites(s: string, b: Blocks): LinkSite[] {
  const closeFrom = nextOf(s, "-->");
  const out: LinkSite[] = [];
  const { raw, starts } = b;
  const re = b.defs.size ? INLINE_REFS : INLINE;
  const noClose = new Map<number, number>();   // backtick run length → a bound up to which no run of it closes
  const gtAfter = nextOf(s, ">"); // each `](<` of a text without `>` read the rest of it (quadratic)
  let r = 0, q = 0;
  /** Where the block holding `p` ends: the next block start, or the next code or definition range (`r` is current for `p`). */
  const blockBound = (p: number) => {
    while (q < starts.length && starts[q]! <= p) q++;
    const bound = q < starts.length ? starts[q]! : s.length;
    return r < raw.length && raw[r]! < bound ? raw[r]! : bound;
  };
  const ref = (p: number, label: string) => {
    const url = b.defs.get(labelKey(label));
    if (url) out.push({ at: p, dest: -1, url });
  };
  re.lastIndex = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const p = m.index;
    while (r < raw.length && raw[r + 1]! <= p) r += 2;
    if (r < raw.length && raw[r]! <= p) { re.lastIndex = raw[r + 1]!; continue; }
    const tok = m[0];
    const c = tok.charCodeAt(0);
    if (c === 96) {
      let n = tok.length;
      if (escaped(s, p) && --n === 0) continue;
      const bound = blockBound(p);
      if (noClose.get(n) === bound) continue;
      const end = codeSpanEnd(s, p + tok.length, n, bound);
      if (end >= 0) re.lastIndex = end; else noClose.set(n, bound);
    } else if (c === 60) {
      if (s.startsWith("<!--", p)) {
        // An inline comment closes within its block (as in inlineCode); unclosed, `<!--` is text.
        const end = closeFrom(p + 2);
        if (end >= 0 && end + 3 <= blockBound(p)) re.lastIndex = end + 3;
      } else {
        const a = at(AUTOLINK, s, p);
        if (a) { out.push({ at: p, dest: p + 1 }); re.lastIndex = p + a[0].length; }
      }
    } else if (tok === "](") {
      let d = p + 2;
      while (s.charCodeAt(d) === 32 || s.charCodeAt(d) === 9) d++;
      if (s.charCodeAt(d) === 10) { d++; while (s.charCodeAt(d) === 32 || s.charCodeAt(d) === 9) d++; }
      if (s.charCodeAt(d) === 60) {
        const end = gtAfter(d);
        d++;
        if (end >= 0) re.lastIndex = end + 1;
      }
      out.push({ at: p, dest: d });
    } else if (tok === "][") {
      const end = s.indexOf("]", p + 2);
      if (end < 0 || end - p > 1000) continue;
      const label = s.slice(p + 2, end);
      if (label.trim()) ref(p, label);
      else { const open = openBracket(s, p); if (open >= 0) ref(p, s.slice(open + 1, p)); }
      re.lastIndex = end + 1;
    } else if (s.charCodeAt(p + 1) !== 58) {                        // `]` not followed by `:`: a shortcut reference?
      const open = openBracket(s, p);
      if (open >= 0 && s.charCodeAt(open - 1) !== 33) ref(p, s.slice(open + 1, p));
    }
  }
  return out;
}

/** Whether the link written at `site` is the one the parser reports with this href. */
function fits(s: string, site: LinkSite, href: string): boolean {
  if (site.dest < 0) return site.url === href;
  if (!s.startsWith(href, site.dest)) return false;
  const c = s.charCodeAt(site.dest + href.length);
  return Number.isNaN(c) || c === 41 || c === 62 || c <= 32;
}

/** Offsets of the parser's links: each matched in order to the next link written with that target. */
function placeLinks(s: string, hrefs: string[], sites: LinkSite[]): number[] {
  const out: number[] = [];
  const missing = new Set<string>();   // no site from the cursor on fits: none will later either
  let next = 0;
  let last = 0;
  // Work is bounded in all: sites tried (64 per site and link) and text read by the fallback search
  // (SEARCH_BUDGET times the text). Links the parser gives without a site here (reference definitions
  // in list items), each with another href, tried every site left and searched the rest of the text
  // (a 1.7 MB note: 45 s). Past the bounds a link takes the previous one's place.
  let tries = 64 * (sites.length + hrefs.length) + 1024;
  let reads = SEARCH_BUDGET * (s.length + 1024);
  for (const href of hrefs) {
    let j = -1;
    if (!missing.has(href) && tries > 0) {
      let k = next;
      for (; k < sites.length && tries > 0; k++, tries--) if (fits(s, sites[k]!, href)) { j = k; break; }
      if (j < 0 && k === sites.length) missing.add(href);
    }
    if (j >= 0) { last = sites[j]!.at; next = j + 1; }
    else if (reads > 0) {
      const f = s.indexOf(href, last);
      reads -= (f < 0 ? s.length : f + href.length) - last;
      if (f >= 0) last = f;
    }
    out.push(last);
  }
  return out;
}

/** A code span's text compared loosely: runs of white space as one space, trimmed (the parser strips one space each side and may keep or fold line breaks). */
const spanKey = (t: string) => {
  // In a table cell `\|` is a pipe inside the span: the parser gives `x|y` for `x\|y`.
  const u = t.includes("\\|") ? t.replace(/\\\|/g, "|") : t;
  return /\s\s|[\t\n\r\f\v]|^\s|\s$/.test(u) ? u.replace(/\s+/g, " ").trim() : u;
};

/**
 * Code spans and HTML comments, in one walk over backtick runs and `<!--` in document order. In
 * fenced or indented code and link reference definitions there is neither; in an HTML block (raw
 * HTML) a `<!--` opens a comment up to the next `-->` and backticks are text; elsewhere a code span
 * hides what it holds (a `<!--` in `` `<!--` `` is code), and an inline comment must close before the
 * block it starts in ends (else the parser shows it as text). Unclosed: no comment.
 */
function inlineCode(s: string, b: Blocks): { spans: { at: number; key: string }[]; comments: [number, number][] } {
  const spans: { at: number; key: string }[] = [];
  const comments: [number, number][] = [];
  const { raw, starts, html } = b;
  const noClose = new Map<number, number>();   // backtick run length → a bound up to which no run of it closes
  const closeFrom = nextOf(s, "-->");
  const re = /`+|<!--/g;
  let r = 0, q = 0, h = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const p = m.index;
    const tok = m[0];
    while (h < html.length && html[h + 1]! <= p) h += 2;
    if (h < html.length && html[h]! <= p) {
      if (tok === "<!--") {
        const end = closeFrom(p + 2);
        if (end >= 0) { comments.push([p, end + 3]); re.lastIndex = end + 3; }
      }
      continue;
    }
    while (r < raw.length && raw[r + 1]! <= p) r += 2;
    if (r < raw.length && raw[r]! <= p) {
      // Past the code or definition; `raw` joins adjacent ranges, so stop at an HTML block joined to it.
      re.lastIndex = h < html.length && html[h]! < raw[r + 1]! ? html[h]! : raw[r + 1]!;
      continue;
    }
    while (q < starts.length && starts[q]! <= p) q++;
    let bound = q < starts.length ? starts[q]! : s.length;
    if (r < raw.length && raw[r]! < bound) bound = raw[r]!;
    if (tok === "<!--") {
      const end = closeFrom(p + 2);
      if (end >= 0 && end + 3 <= bound) { comments.push([p, end + 3]); re.lastIndex = end + 3; }
      continue;
    }
    let n = tok.length;
    let open = p;
    if (escaped(s, p)) { if (--n === 0) continue; open++; }
    if (noClose.get(n) === bound) continue;
    const end = codeSpanEnd(s, p + tok.length, n, bound);
    if (end < 0) { noClose.set(n, bound); continue; }
    spans.push({ at: open, key: spanKey(s.slice(p + tok.length, end - n)) });
    re.lastIndex = end;
  }
  return { spans, comments };
}

/**
 * Offsets of the parser's items (in document order), each matched to the next site with its key;
 * one that fits none is placed where `fallback(key, from)` finds it (`from`: just after the previous
 * item's offset), else at the previous item's offset.
 */
function placeInOrder(keys: string[], sites: { at: number; key: string }[], fallback: (key: string, from: number) => number): number[] {
  // Sites by key, in order: the first site of a key from the cursor on is a binary search, not a
  // walk over every site left (distinct keys with no site, a table's escaped `\|`, made it N²).
  const byKey = new Map<string, number[]>();
  sites.forEach((site, k) => { const l = byKey.get(site.key); if (l) l.push(k); else byKey.set(site.key, [k]); });
  const placed: number[] = [];
  let next = 0;
  let last = -1;
  let searches = 0;
  for (const key of keys) {
    const list = byKey.get(key);
    let j = -1;
    if (list) {
      const lo = countBelow(list, next);
      if (lo < list.length) j = list[lo]!;
    }
    if (j >= 0) { last = sites[j]!.at; next = j + 1; placed.push(last); continue; }
    // No site: the text itself, searched from the last place, a bounded number of times (each
    // search may read the rest of the body).
    const f = searches++ < MAX_FALLBACK_SEARCHES ? fallback(key, last + 1) : -1;
    if (f >= 0) last = f;
    placed.push(f >= 0 ? f : -1);
  }
  // One still without a place is between its neighbours: at the one before it (the one after it
  // when none is before; 0 when nothing was placed).
  let before = -1;
  const out = placed.map((p) => (p >= 0 ? (before = p) : before));
  let after = -1;
  for (let i = out.length - 1; i >= 0; i--) { if (placed[i]! >= 0) after = placed[i]!; else if (out[i]! < 0) out[i] = Math.max(0, after); }
  return out;
}

/** Text searches placeInOrder makes at most for items with no site (see there). */
const MAX_FALLBACK_SEARCHES = 64;

const escapeRe = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function parseMarkdown(text: string, bodyOffset: number): MdStructure {
  const body = text.slice(bodyOffset);
  const s: MdStructure = { headings: [], links: [], codeSpans: [], fences: [], comments: [] };
  const parsed: { text: string; level: number }[] = [];
  const hrefs: string[] = [];
  const spans: string[] = [];
  const languages: string[] = [];
  (Bun as unknown as { markdown: Md }).markdown.render(body, {
    // A setext heading's text may run over several lines: a line break in it reads as a space.
    heading: (children, meta) => { parsed.push({ text: children.replace(/[ \t]*\r?\n[ \t]*/g, " ").trim(), level: meta?.level ?? 1 }); return ""; },
    link: (children, meta) => { if (meta?.href) hrefs.push(String(meta.href)); return children; },
    codespan: (children) => { if (children.length <= 80) spans.push(children); return children; },
    code: (_children, meta) => { if (meta?.language) languages.push(String(meta.language).toLowerCase()); return ""; },
  });
  const hasComment = body.includes("<!--");
  if (!parsed.length && !hrefs.length && !spans.length && !languages.length && !hasComment) return s;
  // Searching the text inside the render callbacks is very slow; positions are found afterwards.
  const blocks = scanBlocks(body);
  if (hrefs.length) {
    const offs = placeLinks(body, hrefs, linkSites(body, blocks));
    hrefs.forEach((href, i) => s.links.push({ href, offset: bodyOffset + offs[i]! }));
  }
  if (spans.length || hasComment) {
    const inline = inlineCode(body, blocks);
    s.comments = inline.comments.map(([a, z]) => [bodyOffset + a, bodyOffset + z]);
    const keys = spans.map(spanKey);
    const offs = placeInOrder(keys, inline.spans, (key, from) => body.indexOf(key, from));
    spans.forEach((text, i) => s.codeSpans.push({ text, offset: bodyOffset + offs[i]! }));
  }
  if (languages.length) {
    // A fence the line scan did not see (in a block quote): the next line with a fence run and that word.
    const fallback = (lang: string, from: number) => {
      const re = new RegExp(`(?:\`{3,}|~{3,})[ \\t]*${escapeRe(lang)}(?![^\\s])`, "gi");
      re.lastIndex = from === 0 ? 0 : body.indexOf("\n", from - 1) + 1 || body.length;
      const m = re.exec(body);
      return m ? body.lastIndexOf("\n", m.index) + 1 : -1;
    };
    const offs = placeInOrder(languages, blocks.fences.map((f) => ({ at: f.offset, key: f.language })), fallback);
    languages.forEach((language, i) => s.fences.push({ language, offset: bodyOffset + offs[i]! }));
  }
  const offs = placeHeadings(body, parsed, blocks.heads);
  parsed.forEach((h, i) => { if (h.text) s.headings.push({ ...h, offset: bodyOffset + offs[i]! }); });
  return s;
}
