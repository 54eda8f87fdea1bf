// Phrases and the "all words rank above some" rule, on entities as on chunks: an entity's postings
// keep no positions, so a phrase is checked against its names; and a hit holding every word
// ranks above any hit holding fewer, however short the latter are.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, cli, workspace } from "../helpers/cli.ts";

let root: string;
beforeAll(() => {
  const filler = Array.from({ length: 150 }, (_, i) => `filler${i}`).join(" ");
  root = workspace({
    "notes/beta-alpha.md": "# Beta Alpha\n\nnothing here.\n",
    "notes/loop-event.md": "# Loop Event\n\nintro\n\nthe event loop runs here\n",
    "src/fetch.ts": "export function fetchUserData() {}\nexport class UserStore { loadData() {} }\n",
    "notes/both.md": `# Misc\n\n${filler} zalpha and zbeta.\n`,
    "notes/alpha.md": "# zalpha\n\nzalpha zalpha zalpha\n",
    "notes/beta.md": "# zbeta\n\nzbeta zbeta zbeta\n",
    "notes/stray.md": "# Intro\n\nThe zevent zloop runs.\n\nAn order.created zevent fires.\nA zloop too.\n",
    // The words out of order on one line, the phrase itself broken across a line break further on.
    "notes/broken.md": "# Broken\n\nqservice qorder qpostgres come first here.\n\nLater we run qpostgres qorder\nqservice as one phrase.\n",
    // Over two line breaks and a blank line; and a line holding the phrase whole, after a broken one.
    "notes/three.md": "# Three\n\nwc wb wa come first here.\n\nLater we run wa\nwb\n\nwc as one phrase.\n",
    "notes/whole.md": "# Whole\n\nvb then vb and va\nvb more\nother\nhere va vb in order\n",
    // A phrase broken by 7 blank lines is followed (its second word 8 lines on); by 8, it is not.
    "notes/far.md": `# Far\n\nintro\n\nua${"\n".repeat(8)}ub\n\nfa${"\n".repeat(9)}fb\n`,
  });
  expect(cli(["ingest", "--root", root]).code).toBe(0);
});
afterAll(cleanup);

const hits = (q: string, ...flags: string[]) => {
  const r = cli(["query", q, "--root", root, "--json", "--limit", "50", ...flags]);
  expect(r.code).toBe(0);
  return r.json.hits as { id: string; type: string; name: string; path: string; line: number; score: number }[];
};

describe("a phrase on entities", () => {
  test("a heading, title or file name holding the words in another order is not a hit", () => {
    expect(hits('"alpha beta"')).toEqual([]);
    expect(hits('"beta alpha"').map((h) => h.type).sort()).toContain("section");
    // The note titled `Loop Event`: only its chunk, at the line where the phrase stands.
    const el = hits('"event loop"');
    expect(el.map((h) => [h.type, h.path, h.line])).toEqual([["chunk", "notes/loop-event.md", 5]]);
    expect(hits('"loop event"').some((h) => h.type === "section" && h.name === "Loop Event")).toBe(true);
  });

  test("a phrase hit's matches are the phrase's words where they stand in order, not stray ones", () => {
    const r = cli(["query", '"zevent zloop"', "--root", root, "--json"]).json.hits as { line: number; matches: { line: number; term: string }[] }[];
    expect(r.map((h) => [h.line, h.matches.map((m) => `${m.line}:${m.term}`)])).toEqual([[3, ["3:zevent", "3:zloop"]]]);
  });

  test("a phrase broken across a line break is shown on the line where it starts, not on a line with its words out of order", () => {
    const r = cli(["query", '"qpostgres qorder qservice"', "--root", root, "--json"]).json.hits as { path: string; line: number; snippet: string; matches: { line: number; term: string }[] }[];
    expect(r.map((h) => [h.path, h.line, h.snippet])).toEqual([["notes/broken.md", 5, "Later we run qpostgres qorder"]]);
    // The rest of the phrase, on the next line, is among its matches.
    expect(r[0]!.matches.map((m) => `${m.line}:${m.term}`)).toEqual(["5:qpostgres", "5:qorder", "6:qservice"]);
    const three = cli(["query", '"wa wb wc"', "--root", root, "--json"]).json.hits as typeof r;
    expect(three.map((h) => [h.path, h.line, h.matches.map((m) => `${m.line}:${m.term}`)])).toEqual([["notes/three.md", 5, ["5:wa", "6:wb", "8:wc"]]]);
    // A line holding the phrase whole is shown before one where it starts broken.
    const whole = cli(["query", '"va vb"', "--root", root, "--json"]).json.hits as typeof r;
    expect(whole.map((h) => [h.path, h.line])).toEqual([["notes/whole.md", 6]]);
    // Within PHRASE_LINES lines the words after count as the phrase's matches; past it they do not.
    const within = cli(["query", '"ua ub"', "--root", root, "--json"]).json.hits as typeof r;
    expect(within.map((h) => [h.line, h.matches.map((m) => `${m.line}:${m.term}`)])).toEqual([[5, ["5:ua", "13:ub"]]]);
    const past = cli(["query", '"fa fb"', "--root", root, "--json"]).json.hits as typeof r;
    expect(past.map((h) => h.matches.map((m) => `${m.line}:${m.term}`))).toEqual([["15:fa"]]);
  });

  test("an identifier holds the phrase of its parts in order only", () => {
    expect(hits('"user data"').map((h) => h.name)).toContain("fetchUserData");
    expect(hits('"fetch user data"').map((h) => h.name)).toContain("fetchUserData");
    // Its matches are every word of the phrase, each at its own column in the identifier.
    const m = (cli(["query", '"user data"', "--type", "symbol", "--root", root, "--json"]).json.hits as { name: string; matches: { term: string; line: number; column: number }[] }[]).find((h) => h.name === "fetchUserData")!;
    expect(m.matches.map((x) => `${x.line}:${x.column}:${x.term}`)).toEqual(["1:22:user", "1:26:data"]);
    expect(hits('"data user"')).toEqual([]);
    expect(hits('"store user"').map((h) => h.name)).not.toContain("UserStore");
    expect(hits('"user store"').map((h) => h.name)).toContain("UserStore");
  });
});

describe("all words rank above some", () => {
  test("a long chunk holding both words ranks above short ones holding one, for chunks and for every type", () => {
    const chunks = hits("zalpha zbeta", "--type", "chunk");
    expect(chunks[0]!.path).toBe("notes/both.md");
    expect(chunks.slice(1).every((h) => h.score < chunks[0]!.score)).toBe(true);
    const all = hits("zalpha zbeta");
    expect(all[0]!.path).toBe("notes/both.md");
    // Every hit with one word scores below one half (the band of 1 of 2 clauses).
    for (const h of all.filter((h) => h.path !== "notes/both.md")) expect(h.score).toBeLessThan(0.5);
  });
});

describe("matches inside identifiers", () => {
  test("a prefix counts once per word (the line holding the word itself is shown); columns are the word's own when lower-casing changes its length", () => {
    const ws = workspace({
      "notes/a.md": "# Pool\n\nThe zcon word first.\nThen myZconfigZconnection appears here.\n",
      "notes/c.md": "# C\n\nsee quser qdata then fetchQuserQdataİ ok\n",
    });
    expect(cli(["ingest", "--root", ws]).code).toBe(0);
    const q = (text: string) => cli(["query", text, "--root", ws, "--json"]).json.hits as { path: string; line: number; matches: { term: string; line: number; column: number }[] }[];
    const con = q("zcon*").find((h) => h.path === "notes/a.md")!;
    expect(con.line).toBe(3);
    const c = q('"quser qdata"').find((h) => h.path === "notes/c.md")!;
    expect(c.matches.map((x) => `${x.line}:${x.column}:${x.term}`)).toEqual(["3:5:quser", "3:11:qdata", "3:27:quser", "3:32:qdata"]);
  });
});
