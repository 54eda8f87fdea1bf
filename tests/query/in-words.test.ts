// A plain word is also found inside longer words (connect → connection, reconnect, Disconnected),
// as `grep -F -i -l` finds it, when its own hits do not fill the page: those hits come after every
// hit of the word itself, scored below the last of them, and each reports the line and column of
// the longer word that holds it. A quoted word is exact; a full page is not widened; a word that is
// in no dictionary is found inside the words that hold it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { shardName, shardOf } from "../../src/pipeline/shard.ts";
import { objectPath } from "../../src/store/layout.ts";
import { Segment } from "../../src/store/segment.ts";
import { cleanup, cli, expectOneLineError, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

let root: string;
beforeAll(() => {
  root = workspace({
    "notes/exact.md": "# Pool\n\nWe connect the pool at start-up.\n",
    "notes/exact2.md": "# Sockets\n\nHow to connect a socket, and connect again.\n",
    "notes/longer.md": "# Failures\n\nThe connection was reset by the peer.\n",
    "notes/prefixed.md": "# Retry\n\nClients reconnect after a delay.\n",
    "notes/capital.md": "# Clients\n\nDisconnected clients are dropped.\n",
    "src/net.ts": "export function tryConnectAgain(): void {}\nexport function reconnectAndConnect(): void {}\nconst spool_pool = 1;\n",
    "notes/other.md": "# Other\n\nNothing about networks here.\n",
    "notes/tokyo.md": "# 庁舎\n\n東京都庁舎の建物について説明します。\n",
  });
  expect(cli(["ingest", "--root", root]).code).toBe(0);
});

type Hit = { id: string; path: string; line: number; score: number; snippet: string; matches: { term: string; line: number; column: number }[] };
const query = (...args: string[]) => {
  const r = cli(["query", ...args, "--root", root, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return r.json as { total: number; hits: Hit[] };
};
const paths = (hits: Hit[]) => [...new Set(hits.map((h) => h.path))];
const OWN = ["notes/exact.md", "notes/exact2.md", "src/net.ts"]; // src/net.ts by a part of tryConnectAgain
const INSIDE = ["notes/longer.md", "notes/prefixed.md", "notes/capital.md"];

test("the word's own hits first, then the words that contain it, every file grep finds", () => {
  const { hits, total } = query("connect", "--limit", "100");
  const own = paths(hits.filter((h) => h.matches.some((m) => m.term === "connect")));
  expect(own.sort()).toEqual(OWN);
  // Every hit of the word itself ranks before every hit inside a longer word.
  const firstInside = hits.findIndex((h) => INSIDE.includes(h.path));
  expect(firstInside).toBeGreaterThan(0);
  expect(hits.slice(0, firstInside).every((h) => own.includes(h.path))).toBe(true);
  expect(paths(hits.slice(firstInside)).sort()).toEqual([...INSIDE].sort());
  // Scores never go up, and ties are ordered by id, as for any query.
  for (let i = 1; i < hits.length; i++) {
    const [a, b] = [hits[i - 1]!, hits[i]!];
    expect(a.score > b.score || (a.score === b.score && a.id < b.id), `${a.id} ${a.score} before ${b.id} ${b.score}`).toBe(true);
  }
  expect(hits[firstInside]!.score).toBeLessThan(hits[firstInside - 1]!.score);
  // `total` counts the wider pass when it ran: more than the word's own hits.
  expect(total).toBeGreaterThanOrEqual(hits.length);
  expect(total).toBeGreaterThan(query('"connect"', "--limit", "100").total);
  // Each hit's line holds the longer word it reports, at its column.
  for (const h of hits) {
    const text = readFileSync(join(root, h.path), "utf8").split("\n");
    expect(h.matches.length, h.id).toBeGreaterThan(0);
    for (const m of h.matches) {
      expect(m.term).toContain("connect");
      expect(text[m.line - 1]!.toLowerCase().slice(m.column - 1, m.column - 1 + m.term.length)).toBe(m.term);
    }
    expect(text[h.line - 1]!.toLowerCase()).toContain("connect");
  }
  expect(hits.find((h) => h.path === "notes/capital.md")!.matches[0]!.term).toBe("disconnected");
});

test("a part reports its own column: the second Connect of reconnectAndConnect, pool after spool_", () => {
  // The matches on one line, from every hit (the chunk and the symbol report the same ones).
  const at = (q: string, line: number) => [...new Set(query(q, "--path", "src/net.ts", "--limit", "5").hits.flatMap((h) => h.matches)
    .filter((m) => m.line === line).map((m) => JSON.stringify(m)))].map((m) => JSON.parse(m));
  expect(at("connect", 1)).toEqual([{ term: "connect", line: 1, column: 20 }]); // tryConnectAgain
  expect(at("connect", 2)).toEqual([{ term: "connect", line: 2, column: 29 }]);
  expect(at("pool", 3)).toEqual([{ term: "pool", line: 3, column: 13 }]);
});

test("a full page is not widened; a quoted word is the word only", () => {
  const full = query("connect", "--limit", "2");
  expect(full.hits).toHaveLength(2);
  expect(full.hits.every((h) => OWN.includes(h.path))).toBe(true);
  const quoted = query('"connect"', "--limit", "100");
  expect(full.total).toBe(quoted.total); // the word's own hits only
  expect(paths(quoted.hits).sort()).toEqual(OWN);
  // A word under 3 characters is not looked for inside others (`ne` is in connect, networks, …).
  expect(query("ne", "--limit", "100").hits).toEqual([]);
});

test("a word in no dictionary is found inside the words that hold it; one inside none finds nothing", () => {
  expect(paths(query("onnect", "--limit", "100").hits).sort()).toEqual([...OWN, ...INSIDE].sort());
  const none = query("xqzv", "--limit", "100");
  expect(none.hits).toEqual([]);
  expect(none.total).toBe(0);
});

test("in scripts written without spaces, a word of two characters is found inside the run that holds it", () => {
  // A run of Han and kana is one term (東京都庁舎の建物について説明します), as grep sees the text.
  for (const word of ["東京", "建物", "説明"]) {
    const { hits } = query(word, "--limit", "100");
    expect([word, paths(hits)]).toEqual([word, ["notes/tokyo.md"]]);
    expect(hits[0]!.line).toBe(3);
  }
  // Two Latin letters stay too short to be looked for inside words.
  expect(query("ec", "--limit", "100").hits).toEqual([]);
});

test("--explain marks every hit found inside a longer word, scaled or not", () => {
  const r = cli(["query", "connect", "--limit", "100", "--explain", "--root", root]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("inside longer words");
  const j = cli(["query", "connect", "--limit", "100", "--explain", "--json", "--root", root]).json;
  for (const h of j.hits) expect({ path: h.path, inside: h.explain.scaled !== undefined }).toEqual({ path: h.path, inside: INSIDE.includes(h.path) });
  // No hit of the word itself: nothing to rank below, so nothing is scaled, and every hit is marked.
  const only = cli(["query", "onnect", "--limit", "100", "--explain", "--json", "--root", root]).json;
  expect(only.hits.length).toBeGreaterThan(0);
  for (const h of only.hits) expect(h.explain.scaled).toBe(1);
  const exact = cli(["query", "connect", "--limit", "3", "--explain", "--root", root]);
  expect(exact.stdout).not.toContain("inside longer words");
});

test("a damaged dictionary block met only by the wider pass: exit 5 in one line; a page the word fills does not read it", () => {
  // Enough other words that the dictionary has many blocks, all sorting after `connect`.
  const ws = workspace({
    "notes/a.md": "# A\n\nWe connect here.\n",
    "notes/b.md": "# B\n\nThe connection dropped.\n",
    "notes/words.md": `# Words\n\n${Array.from({ length: 3000 }, (_, i) => `zq${i.toString(36)}word`).join(" ")}\n`,
  });
  expect(cli(["ingest", "--root", ws]).code).toBe(0);
  const profile = join(ws, ".pkg/profiles/default");
  const run = readFileSync(join(profile, "current"), "utf8").trim();
  const manifest = JSON.parse(readFileSync(join(profile, "runs", run, "manifest.json"), "utf8"));
  const shards = manifest.artifacts.filter((a: { name: string }) => a.name.startsWith("index/"));
  const shard = shards.find((a: { name: string }) => a.name === shardName("index", shardOf("notes/words.md", shards.length)));
  const file = objectPath(profile, shard.sha256);
  const seg = new Segment(file);
  const root = seg.header.tables.terms!.root;
  seg.close();
  expect(root.length).toBeGreaterThan(2);
  expect(root[root.length - 1]![0] > "connect").toBe(true);
  const data = readFileSync(file);
  data[16 + data.readUInt32LE(8) + root[root.length - 1]![1]]! ^= 0xff; // the last block's first byte: its crc no longer matches
  writeFileSync(file, data);
  const full = cli(["query", "connect", "--limit", "1", "--root", ws, "--json"]);
  expect(full.code, full.stderr).toBe(0);
  expect(full.json.hits).toHaveLength(1);
  const wide = cli(["query", "connect", "--limit", "10", "--root", ws]);
  expect(wide.code).toBe(5);
  expect(expectOneLineError(wide)).toContain(shard.sha256);
});

test("a term over 40 characters that reads as words (a sentence written without spaces, a long compound word, a long identifier) is searched like any longer word", () => {
  const sentence = "本日は大阪城の天守閣を見学しましたがとても大きくて驚きましたまた来年も訪れたいと思いますので計画を立てます"; // 52 characters, one run
  const ws = workspace({
    "notes/visit.md": `# 見学\n\n${sentence}\n`,
    "notes/compound.md": "# Words\n\nDonaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft\n",
    "notes/hash.md": "# Hash\n\nsha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 totp JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP serial 12345678901234567890123456789012345678901234\n",
    "notes/ids.md": "# Ids\n\nsee test_warning_does_not_affect_outputs_hash and test_run_git_provenance_writes_file_entities, anchor v8startupsnapshotsetdeserializemainfunctioncallback\n",
  });
  expect(cli(["ingest", "--root", ws]).code).toBe(0);
  const q = (word: string) => {
    const r = cli(["query", word, "--root", ws, "--json", "--limit", "100"]);
    expect(r.code, r.stderr).toBe(0);
    return r.json as { hits: Hit[] };
  };
  // At its start, in its middle (across the windows it is indexed by) and at its end.
  for (const word of ["本日", "天守閣", "驚き", "訪れたい", "計画"]) {
    const { hits } = q(word);
    expect([word, paths(hits), hits[0]?.line]).toEqual([word, ["notes/visit.md"], 3]);
    expect(hits[0]!.snippet).toContain(word);
  }
  for (const word of ["donaudampfschiff", "elektrizitäten", "gesellschaft"]) expect([word, paths(q(word).hits)]).toEqual([word, ["notes/compound.md"]]);
  // Pieces of long identifiers, across their `_` and digits, as grep finds them; not pieces of a hash.
  for (const word of ["affect_outputs", "does_not_affect", "nce_writ", "snapshotsetdes", "functioncallback"]) expect([word, paths(q(word).hits)]).toEqual([word, ["notes/ids.md"]]);
  expect(q("84c7d659a").hits).toEqual([]);
  // Nor pieces of base32 or of a long number, which read as no words.
  expect(q("dpehpk3pxpjb").hits).toEqual([]);
  expect(q("4567890123").hits).toEqual([]);
  // A base64 word typed whole is refused as a hash, not with the advice to search for a piece of it.
  const b64 = cli(["query", "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Qgb2YgYmFzZTY0", "--root", ws]);
  expect(b64.code).toBe(2);
  expect(expectOneLineError(b64)).toContain("(hashes, base64) are not indexed");
  // The whole run typed as one word is over the limit: one line that says to search for a piece of it.
  const long = cli(["query", sentence, "--root", ws]);
  expect(long.code).toBe(2);
  expect(expectOneLineError(long)).toContain("words over 40 characters are not indexed whole");
  expect(long.stderr).toContain("search for a piece of it");
});

test("a compound is also found inside a longer one (README.md in docs/README.md, utf-8 in non-UTF-8, v1.2.3 in v1.2.3-rc1), after the hits of the compound itself", () => {
  const ws = workspace({
    "notes/alone.md": "# Alone\n\nSee README.md and utf-8 and v1.2.3 here.\n",
    "notes/inside.md": "# Inside\n\nSee docs/README.md, non-UTF-8 names, and v1.2.3-rc1.\n",
    "notes/apart.md": "# Apart\n\nThe md readme, 8 utf, 3.2.1 v.\n",
  });
  expect(cli(["ingest", "--root", ws]).code).toBe(0);
  for (const q of ["README.md", "utf-8", "v1.2.3"]) {
    const r = cli(["query", q, "--root", ws, "--json"]);
    expect(r.code).toBe(0);
    const hits = r.json.hits as Hit[];
    expect({ q, paths: paths(hits) }).toEqual({ q, paths: ["notes/alone.md", "notes/inside.md"] });
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    expect(hits[1]!.line).toBe(3);
    // A full page is not widened.
    expect(paths(cli(["query", q, "--limit", "1", "--root", ws, "--json"]).json.hits)).toEqual(["notes/alone.md"]);
  }
});
