/**
 * Front matter and markdown structure. Structure comes from Bun's built-in CommonMark parser
 * (`Bun.markdown.render` with callbacks): headings, links, code spans and fence languages. The
 * parser gives no source positions, so heading lines come from a scan of ATX heading lines outside
 * fences, matched in order, and link lines from the first occurrence of the link target.
 */
import { parse as parseYaml } from "yaml";

/** `error` (with `errorLine`, the file's 1-based line, when the YAML parser gives a position) when the block is unusable. */
export type FrontMatter = { data: Record<string, unknown>; bodyOffset: number; error?: string; errorLine?: number };

export function splitFrontMatter(text: string): FrontMatter {
  if (!text.startsWith("---\n")) return { data: {}, bodyOffset: 0 };
  const end = text.indexOf("\n---", 3);
  if (end < 0 || (text[end + 4] !== "\n" && end + 4 !== text.length)) return { data: {}, bodyOffset: 0 };
  const bodyOffset = Math.min(text.length, end + 5);
  try {
    const data = parseYaml(text.slice(4, end + 1));
    if (data === null || data === undefined) return { data: {}, bodyOffset };
    if (typeof data !== "object" || Array.isArray(data)) return { data: {}, bodyOffset, error: "front matter is not a mapping" };
    return { data: JSON.parse(JSON.stringify(data)) as Record<string, unknown>, bodyOffset };
  } catch (e) {
    // The YAML starts on the file's line 2; its own "at line N, column M" would mislead, so it goes.
    const err = e as Error & { linePos?: { line: number }[] };
    const msg = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    const yamlLine = err.linePos?.[0]?.line;
    return { data: {}, bodyOffset, error: `invalid front matter: ${msg}`, ...(yamlLine ? { errorLine: yamlLine + 1 } : {}) };
  }
}

export type Heading = { text: string; level: number; offset: number };
export type MdStructure = {
  headings: Heading[];
  links: { href: string; offset: number }[];
  codeSpans: string[];
  fenceLanguages: string[];
};

type Md = { render: (src: string, cb: Record<string, (children: string, meta: any) => string>) => string };

/** Offsets of ATX heading lines outside fenced code, in document order. */
function headingOffsets(text: string, base: number): number[] {
  const out: number[] = [];
  let fence: string | undefined;
  const re = /^( {0,3})(`{3,}|~{3,}|#{1,6}(?=[ \t]|$))/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const tok = m[2]!;
    if (tok[0] === "#") { if (!fence) out.push(base + m.index); continue; }
    if (!fence) fence = tok;
    else if (tok[0] === fence[0] && tok.length >= fence.length) fence = undefined;
  }
  return out;
}

export function parseMarkdown(text: string, bodyOffset: number): MdStructure {
  const body = text.slice(bodyOffset);
  const s: MdStructure = { headings: [], links: [], codeSpans: [], fenceLanguages: [] };
  const raw: { text: string; level: number }[] = [];
  const hrefs: string[] = [];
  (Bun as unknown as { markdown: Md }).markdown.render(body, {
    heading: (children, meta) => { raw.push({ text: children.trim(), level: meta?.level ?? 1 }); return ""; },
    link: (children, meta) => { if (meta?.href) hrefs.push(String(meta.href)); return children; },
    codespan: (children) => { if (children.length <= 80) s.codeSpans.push(children); return children; },
    code: (_children, meta) => { if (meta?.language) s.fenceLanguages.push(String(meta.language).toLowerCase()); return ""; },
  });
  // Searching the text inside the render callbacks is very slow; locate links afterwards, in order.
  let cursor = 0;
  for (const href of hrefs) {
    const at = body.indexOf(href, cursor);
    if (at >= 0) cursor = at;
    s.links.push({ href, offset: bodyOffset + (at >= 0 ? at : cursor) });
  }
  const offs = headingOffsets(body, bodyOffset);
  let last = bodyOffset;
  raw.forEach((h, i) => {
    const off = offs.length === raw.length ? offs[i]! : last;
    last = off;
    if (h.text) s.headings.push({ ...h, offset: off });
  });
  return s;
}
