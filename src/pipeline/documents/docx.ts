/**
 * Word (.docx): word/document.xml read from the ZIP archive and turned into a markdown-like text
 * that the rest of the pipeline already understands: one paragraph per block, separated by a blank
 * line; a paragraph in a heading style (Heading 1-6 by style id or name, Title, or an outline
 * level) becomes an ATX heading (`## text`), so headings become sections and count in the heading
 * field; table cells are paragraphs; tabs and line breaks are kept. A body line that would read as
 * markdown structure (`#`, a fence, a setext underline) is escaped with a backslash. The title is
 * the core properties' dc:title, else the first level-1 heading.
 */
import { nextOf } from "../../shared/next-of.ts";
import { zipEntries, ZipError, zipRead, type ZipEntry } from "./zip.ts";

const MAX_XML = 64 * 1024 * 1024;

/**
 * An XML part's text in the encoding it declares: a byte-order mark (UTF-8, UTF-16 LE or BE), else
 * the declaration's `encoding="…"` (ISO-8859-1, windows-1252, …), else UTF-8. A Latin-1 part read
 * as UTF-8 was indexed with U+FFFD in its words, and a UTF-16 part was `corrupt`.
 */
function xmlDecode(b: Uint8Array): string {
  if (b[0] === 0xff && b[1] === 0xfe) return new TextDecoder("utf-16le").decode(b);
  if (b[0] === 0xfe && b[1] === 0xff) return new TextDecoder("utf-16be").decode(b);
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return new TextDecoder().decode(b);
  if (b[0] === 0x3c && b[1] === 0) return new TextDecoder("utf-16le").decode(b); // `<` in UTF-16, no mark
  if (b[0] === 0 && b[1] === 0x3c) return new TextDecoder("utf-16be").decode(b);
  const head = String.fromCharCode(...b.subarray(0, 256));
  const label = /^<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head)?.[1];
  if (!label || /^utf-?8$/i.test(label)) return new TextDecoder().decode(b);
  let d: TextDecoder;
  try { d = new TextDecoder(label as ConstructorParameters<typeof TextDecoder>[0]); } catch { throw new ZipError(`a part declares the encoding ${JSON.stringify(label)}, which cannot be read`); }
  return d.decode(b);
}

const ENT: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
export function xmlText(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const cp = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : "";
    }
    return ENT[e] ?? m;
  });
}

const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

/** Whether a character code is one of `\w` (a tag name goes on). */
const isWord = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/**
 * Every `<name …>` tag in order (as `<name\b([^>]*)>`): where it starts, its attributes, and where
 * it ends (after its `>`). Each `>` is searched for once per place it can be at (nextOf): a `<w:p`
 * repeated without `>` read the rest of the document from each one.
 */
function* tags(xml: string, name: string): Generator<{ start: number; attrs: string; end: number }> {
  const open = `<${name}`;
  const gtFrom = nextOf(xml, ">");
  for (let at = xml.indexOf(open); at >= 0; at = xml.indexOf(open, at)) {
    const start = at;
    at += open.length;
    if (isWord(xml.charCodeAt(at))) continue; // a longer name (`<w:pPr>` for `w:p`)
    const gt = gtFrom(at);
    if (gt < 0) return;
    yield { start, attrs: xml.slice(at, gt), end: gt + 1 };
    at = gt + 1;
  }
}

/**
 * The elements `<name …>…</name>` and `<name …/>` of an XML text in order, as the lazy pattern
 * `<name\b([^>]*)>([\s\S]*?)</name>` finds them, in linear time: the closing tag too is searched
 * for once per place it can be at (each unclosed `<w:p>` read the rest of the document: 80,000 of
 * them in a 941-byte file took 20 s).
 */
function* elements(xml: string, name: string): Generator<{ attrs: string; inner: string }> {
  const closeTag = `</${name}>`;
  const closeFrom = nextOf(xml, closeTag);
  let resume = 0; // tags inside an element found are not elements of their own (the pattern goes on after it)
  for (const t of tags(xml, name)) {
    if (t.start < resume) continue;
    if (t.attrs.endsWith("/")) { yield { attrs: t.attrs.slice(0, -1), inner: "" }; continue; }
    const c = closeFrom(t.end);
    if (c < 0) continue; // no closing tag after it: as the pattern, only self-closing ones are found from here on
    yield { attrs: t.attrs, inner: xml.slice(t.end, c) };
    resume = c + closeTag.length;
  }
}

/** The text between the first `from` and the first `to` after it (as `from([\s\S]*?)to`, which looked for `to` from every `from`). */
const between = (s: string, from: string, to: string): string | undefined => {
  const a = s.indexOf(from);
  if (a < 0) return undefined;
  const b = s.indexOf(to, a + from.length);
  return b < 0 ? undefined : s.slice(a + from.length, b);
};

/** Heading level of a style: from its id, its name or its outline level (0 = not a heading). */
function styleLevels(stylesXml: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!stylesXml) return out;
  for (const m of elements(stylesXml, "w:style")) {
    const id = attr(m.attrs, "w:styleId");
    if (!id) continue;
    const name = /<w:name\s+w:val="([^"]*)"/.exec(m.inner)?.[1] ?? "";
    const outline = /<w:outlineLvl\s+w:val="(\d+)"/.exec(m.inner)?.[1];
    const level = levelOfName(name) || levelOfName(id) || (outline !== undefined && Number(outline) < 9 ? Number(outline) + 1 : 0);
    if (level) out.set(id, level);
  }
  return out;
}

function levelOfName(s: string): number {
  const m = /^heading\s*([1-9])$/i.exec(s.trim());
  if (m) return Number(m[1]);
  return /^title$/i.test(s.trim()) ? 1 : 0;
}

export type DocxText = { text: string; title?: string };

/** Where a text box was taken out of the text around it (its index in the list of boxes). */
const BOX_MARK = /\u0001(\d+)\u0001/g;

/** The text without its `<name …>…</name>` elements (nested ones inside them go with them). */
function dropElements(xml: string, name: string): string {
  let out = "";
  let at = 0;
  for (const { start, end } of outermost(xml, name)) { out += xml.slice(at, start); at = end; }
  return out + xml.slice(at);
}

/**
 * The text with each outermost `<w:txbxContent>…</w:txbxContent>` replaced by a mark naming its
 * inner text, pushed on `boxes` (a box's own boxes are taken when its paragraphs are read).
 */
function takeBoxes(xml: string, boxes: string[]): string {
  let out = "";
  let at = 0;
  for (const { start, end, inner } of outermost(xml, "w:txbxContent")) {
    const own = takeBoxes(inner, boxes); // its own boxes first: their marks are in it
    out += xml.slice(at, start) + `\u0001${boxes.push(own) - 1}\u0001`;
    at = end;
  }
  return out + xml.slice(at);
}

/**
 * The outermost `<name …>…</name>` elements of a text, nesting counted, in one pass (each `>` is
 * searched for once per place it can be at, as in tags()); an element left open is not one.
 */
function outermost(xml: string, name: string): { start: number; end: number; inner: string }[] {
  const out: { start: number; end: number; inner: string }[] = [];
  const gtFrom = nextOf(xml, ">");
  const openFrom = nextOf(xml, `<${name}`);
  const closeFrom = nextOf(xml, `</${name}`);
  let depth = 0;
  let start = 0;
  let innerFrom = 0;
  for (let at = 0; ;) {
    const o = openFrom(at), c = closeFrom(at);
    if (o < 0 && c < 0) break;
    const closing = c >= 0 && (o < 0 || c < o);
    const from = closing ? c : o;
    const after = from + name.length + (closing ? 2 : 1);
    at = after;
    if (isWord(xml.charCodeAt(after)) || xml[after] === ":" || xml[after] === "-" || xml[after] === ".") continue; // a longer name
    const gt = gtFrom(after);
    if (gt < 0) break;
    at = gt + 1;
    if (closing) {
      if (depth > 0 && --depth === 0) out.push({ start, end: gt + 1, inner: xml.slice(innerFrom, from) });
    } else if (xml[gt - 1] === "/") {
      if (depth === 0) out.push({ start: from, end: gt + 1, inner: "" });
    } else if (depth++ === 0) { start = from; innerFrom = gt + 1; }
  }
  // One left open (a damaged part) is not taken out: its text is read where it stands.
  return out;
}

/**
 * The part a relationship of `rels` (a .rels part) of the given type points to, resolved against
 * `dir`, if the package has it: the main document is whatever `_rels/.rels` calls officeDocument
 * (`word/document.xml` usually, `word/document2.xml` as some editors write), its styles whatever the
 * main part's rels call styles.
 */
/** A relationship's Target as a part name: XML entities, then percent-escapes decoded (`doc%20x.xml`, `a&amp;b.xml`). */
function partName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const xml = raw.replace(/&(amp|lt|gt|quot|apos|#(\d{1,7})|#x([0-9a-f]{1,6}));/gi, (all, name: string, dec?: string, hex?: string) => {
    const code = dec ? Number(dec) : hex ? parseInt(hex, 16) : undefined;
    if (code !== undefined) return code <= 0x10ffff ? String.fromCodePoint(code) : all;
    return ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[name.toLowerCase()] ?? all;
  });
  try { return decodeURIComponent(xml); } catch { return xml; }
}

function related(buf: Uint8Array, entries: Map<string, ZipEntry>, rels: string, type: string, dir: string): string | undefined {
  const e = entries.get(rels);
  if (!e) return undefined;
  const xml = xmlDecode(zipRead(buf, e, MAX_XML));
  for (const { attrs: tag } of tags(xml, "Relationship")) {
    const t = /\bType="([^"]*)"/.exec(tag)?.[1] ?? "";
    const target = partName(/\bTarget="([^"]*)"/.exec(tag)?.[1]);
    if (!target || !t.endsWith(`/${type}`) || /\bTargetMode="External"/.test(tag)) continue;
    const parts: string[] = [];
    for (const seg of (target.startsWith("/") ? target : dir + target).split("/")) {
      if (seg === "..") parts.pop(); else if (seg && seg !== ".") parts.push(seg);
    }
    const path = parts.join("/");
    if (entries.has(path)) return path;
  }
  return undefined;
}

export function docxText(buf: Uint8Array): DocxText {
  const entries = zipEntries(buf);
  const mainPath = related(buf, entries, "_rels/.rels", "officeDocument", "") ?? "word/document.xml";
  const main = entries.get(mainPath);
  if (!main) throw new ZipError(`no ${mainPath} (not a Word document)`);
  const xml = xmlDecode(zipRead(buf, main, MAX_XML));
  const slash = mainPath.lastIndexOf("/");
  const mainDir = mainPath.slice(0, slash + 1);
  const stylesPath = related(buf, entries, `${mainDir}_rels/${mainPath.slice(slash + 1)}.rels`, "styles", mainDir) ?? "word/styles.xml";
  const stylesEntry = entries.get(stylesPath);
  const levels = styleLevels(stylesEntry ? xmlDecode(zipRead(buf, stylesEntry, MAX_XML)) : undefined);
  const coreEntry = entries.get("docProps/core.xml");
  const core = coreEntry ? xmlDecode(zipRead(buf, coreEntry, MAX_XML)) : "";
  const coreTitle = between(core, "<dc:title>", "</dc:title>");

  // From the first `<w:body …>` to the last `</w:body>` (the greedy `<w:body\b[^>]*>([\s\S]*)<\/w:body>`, without reading the rest of the text from each `<w:body`).
  const bodyStart = tags(xml, "w:body").next().value?.end ?? -1;
  const bodyClose = xml.lastIndexOf("</w:body>");
  const body = bodyStart >= 0 && bodyClose >= bodyStart ? xml.slice(bodyStart, bodyClose) : undefined;
  if (body === undefined) throw new ZipError("word/document.xml has no body");
  const blocks: string[] = [];
  let firstH1: string | undefined;
  // A text box is paragraphs inside a paragraph: each becomes blocks of its own after the paragraph
  // that holds it (read as one paragraph, the holder's text after the box was lost and its text
  // before the box ran into the box's). Word writes a box twice, as DrawingML and as a VML fallback:
  // the fallback is left out.
  const boxes: string[] = [];
  const paragraphs = (xml: string): void => {
    for (const m of elements(xml, "w:p")) {
      const inner = m.inner;
      const pPr = between(inner, "<w:pPr>", "</w:pPr>") ?? "";
      const style = /<w:pStyle\s+w:val="([^"]*)"/.exec(pPr)?.[1];
      const outline = /<w:outlineLvl\s+w:val="(\d+)"/.exec(pPr)?.[1];
      const level = (style ? levels.get(style) ?? levelOfName(style) : 0) || (outline !== undefined && Number(outline) < 9 ? Number(outline) + 1 : 0);
      let text = "";
      // Attributes bounded (256 characters: these tags carry one or two), so that `<w:t ` repeated without `>` is not read to the end each time.
      const run = /<w:t(?:\s[^>]{0,256})?>([^<]*)<\/w:t>|<w:tab\/>|<w:(?:br|cr)\b[^>]{0,256}\/>|<w:delText\b[^>]{0,256}>[^<]*<\/w:delText>/g;
      for (let r = run.exec(inner); r; r = run.exec(inner)) {
        if (r[1] !== undefined) text += xmlText(r[1]);
        else if (r[0].startsWith("<w:tab")) text += "\t";
        else if (r[0].startsWith("<w:br") || r[0].startsWith("<w:cr")) text += "\n";
      }
      if (text.trim()) {
        if (level) {
          const h = text.replace(/\s+/g, " ").trim();
          firstH1 ??= level === 1 ? h : undefined;
          blocks.push(`${"#".repeat(Math.min(level, 6))} ${h}`);
        } else {
          blocks.push(text.split("\n").map((l) => (/^\s{0,3}(?:#|```|~~~|[=-]+\s*$)/.test(l) ? "\\" + l : l)).join("\n"));
        }
      }
      for (const b of inner.matchAll(BOX_MARK)) paragraphs(boxes[Number(b[1])]!);
    }
  };
  paragraphs(takeBoxes(dropElements(body, "mc:Fallback"), boxes));
  const title = (coreTitle && xmlText(coreTitle).trim()) || firstH1;
  return { text: blocks.join("\n\n") + (blocks.length ? "\n" : ""), ...(title ? { title } : {}) };
}
