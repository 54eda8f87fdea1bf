import { defineCommand, withMoreWords } from "../define.ts";
import { flagValues, givenValue, intFlag, jsonArgs, withIndex, workspaceArgs } from "./_args.ts";
import { printable, printJson, printLine, useColor, warn } from "../output.ts";

export default withMoreWords(defineCommand({
  meta: {
    name: "query",
    description: 'Search the index: words (BM25F), "phrases", identifiers as typed (Buffer.concat()), prefix*, filters type:T path:GLOB tag:TAG',
  },
  args: {
    text: { type: "positional", description: "Search text (see the query language in README); several words are joined by spaces; may be left out when a filter flag is given", required: false },
    type: { type: "string", description: "Only hits of these node types (comma-separated: chunk, document, section, technology, reference, decision, claim, symbol, module)", valueHint: "T" },
    path: { type: "string", description: "Only hits in files matching this glob (`*` in a folder, `**` across folders)", valueHint: "GLOB" },
    tag: { type: "string", description: "Only hits in documents whose front matter has this tag", valueHint: "TAG" },
    limit: { type: "string", description: "Maximum number of hits (default 10)", valueHint: "N" },
    explain: { type: "boolean", description: "Show why each hit ranked where it did" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args, rawArgs }) {
    const limit = intFlag(args.limit, "limit", 10);
    const { parseQuery } = await import("../../query/parse.ts");
    // A flag may be repeated, as its filter may in the text: --tag a --tag b needs both tags,
    // --path and --type take any of theirs. A flag given without a value is an error, as `tag:` is.
    const list = (flag: string) => flagValues(rawArgs, flag).map((v) => givenValue(v, flag, flag === "type" ? "section" : flag === "path" ? "'notes/**'" : "security", true)!);
    // Unquoted words are one query: `query event loop` is `query "event loop"`.
    const rest = Array.isArray(args._) ? (args._ as unknown[]).map(String) : [];
    const text = [String(args.text ?? ""), ...rest].join(" ");
    const parsed = parseQuery(text, { types: list("type"), paths: list("path"), tags: list("tag") });
    const { store, ix } = await withIndex(args);
    for (const w of parsed.warnings) warn(w);
    const { search } = await import("../../query/search.ts");
    const res = search(ix, parsed, { limit, explain: Boolean(args.explain) });
    ix.close();
    for (const w of res.warnings ?? []) warn(w);
    if (args.json) return printJson({ status: "ok", run_id: store.runId, query: text, total: res.total, hits: res.hits });
    if (res.hits.length === 0) return printLine(`no hits for '${printable(text)}'`);
    const color = useColor(1);
    const mark = (s: string, cols: number[], lens: number[]) => {
      if (!color) return s;
      let out = "";
      let at = 0;
      cols.forEach((c, i) => { if (c - 1 >= at) { out += s.slice(at, c - 1) + `\x1b[1;33m${s.slice(c - 1, c - 1 + lens[i]!)}\x1b[0m`; at = c - 1 + lens[i]!; } });
      return out + s.slice(at);
    };
    for (const h of res.hits) {
      // A PDF hit: path:page:line (the line within the page).
      // File names, names and text come from the workspace: control characters are shown escaped (see printable).
      printLine(`${h.score.toFixed(3).padStart(6)}  ${printable(h.path)}:${h.page !== undefined ? `${h.page}:${h.page_line}` : h.line}  [${h.type}] ${printable(h.name)}  (${h.id})`);
      // Highlight the line's matched terms in the snippet, found again by text (the snippet is trimmed or cut).
      const cols: number[] = [];
      const lens: number[] = [];
      const snippet = printable(h.snippet);
      const { lower, at: orig } = lowerWithOffsets(snippet);
      let from = 0;
      for (const m of h.matches.filter((x) => x.line === h.line)) {
        const at = lower.indexOf(m.term, from);
        if (at >= 0) { cols.push(orig[at]! + 1); lens.push(orig[at + m.term.length]! - orig[at]!); from = at + m.term.length; }
      }
      printLine(`        ${mark(snippet, cols, lens)}`);
      if (h.explain) {
        printLine(`        score = (${h.explain.matched} - 1 + sum / ${h.explain.normalizer}) / ${h.explain.of}${h.explain.scaled !== undefined ? ` × ${h.explain.scaled} (inside longer words: ranked after the words as typed)` : ""}`);
        for (const c of h.explain.clauses) {
          const tf = Object.entries(c.tf).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(", ");
          printLine(`          ${printable(c.clause)}: idf ${c.idf}, tf ${tf}, length ${c.length} → ${c.score}`);
        }
      }
    }
    if (res.total > res.hits.length) printLine(`(${res.total - res.hits.length} more; --limit N shows more)`);
  },
}));

/**
 * The text lower-cased, with where each of its code units comes from in the text (`at`, one more
 * entry for the end): lower-casing changes the length of a few letters (`İ` becomes `i̇`), and a
 * match found in the lower-cased text is marked in the text as written.
 */
function lowerWithOffsets(text: string): { lower: string; at: number[] } {
  let lower = "";
  const at: number[] = [];
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    const lc = ch.toLowerCase();
    for (let k = 0; k < lc.length; k++) at.push(i);
    lower += lc;
    i += ch.length;
  }
  at.push(text.length);
  return { lower, at };
}
