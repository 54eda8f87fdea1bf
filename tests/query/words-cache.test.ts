// The words cache (src/query/words.ts): every word of the run's dictionaries once, with the shards
// holding it, so that the words containing a word are found without reading every dictionary.
// Checked against an oracle over dictionaries of all 64 shard numbers; only changed shards are read
// again; a damaged cache is made again; the CLI keeps it, answers the same with or without it, and
// one that cannot be written only costs the reading.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadWords, type ShardObjects } from "../../src/query/words.ts";
import { cacheFileBytes } from "../../src/query/cache-file.ts";
import { crc32Hex } from "../../src/shared/hash.ts";
import { wordsCachePath } from "../../src/store/layout.ts";
import { cleanup, cli, ingested, tempDir } from "../helpers/cli.ts";

afterAll(cleanup);

/** A deterministic generator (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Words of a few letters (ASCII, accented, Devanagari with its vowel sign, digits, `_`), and keys a
// dictionary holds that are not words (compounds, a quoted key).
const LETTERS = ["a", "b", "c", "d", "e", "ä", "é", "क", "ि", "1", "_"];
const NOT_WORDS = ["a.b", "c-d", "e/a", '"\\tb"', "x y"];

function dictionaries(seed: number, shards: number[]): Map<number, string[]> {
  const r = rng(seed);
  const word = () => Array.from({ length: 1 + Math.floor(r() * 5) }, () => LETTERS[Math.floor(r() * LETTERS.length)]!).join("");
  const out = new Map<number, string[]>();
  for (const n of shards) {
    const keys = new Set<string>();
    const size = Math.floor(r() * 60);
    for (let i = 0; i < size; i++) keys.add(r() < 0.1 ? NOT_WORDS[Math.floor(r() * NOT_WORDS.length)]! : word());
    out.set(n, [...keys].sort());
  }
  return out;
}

/** A dictionary's data blocks as a segment holds them: lines `<key>\t<value>\n`, cut every 7 keys. */
function blocks(keys: string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < keys.length; i += 7) out.push(Buffer.from(keys.slice(i, i + 7).map((k) => `${k}\t${k.length}\n`).join("")));
  return out;
}

const isWord = (k: string) => /^[\p{L}\p{M}\p{N}_]+$/u.test(k);
/** What the words cache must answer: per needle, each word containing it with its shards. */
function oracle(dicts: Map<number, string[]>, needles: string[]): string[][] {
  return needles.map((needle) => {
    const where = new Map<string, number[]>();
    for (const [n, keys] of [...dicts].sort((a, b) => a[0] - b[0])) for (const k of keys) if (needle && isWord(k) && k.includes(needle)) where.set(k, [...(where.get(k) ?? []), n]);
    return [...where].map(([w, s]) => `${w} ${s.join(",")}`).sort();
  });
}

const NEEDLES = ["a", "b", "ab", "ä", "é", "क", "कि", "1", "_", "a_", "e1", "zzz", "", "\t", "0"];

describe("loadWords over all 64 shard numbers", () => {
  const all = Array.from({ length: 64 }, (_, n) => n);
  const sha = (n: number, v = 0) => (n.toString(16).padStart(2, "0") + String(v)).padEnd(64, "a");
  let dir: string;
  let dicts: Map<number, string[]>;
  let want: ShardObjects;
  const reads: number[] = [];
  const reader = (d: Map<number, string[]>) => (n: number, block: (raw: Uint8Array) => void) => { reads.push(n); for (const b of blocks(d.get(n)!)) block(b); };
  const answers = (words: ReturnType<typeof loadWords>) => words.containing(NEEDLES)!.map((found) => found.map(([w, s]) => `${w} ${s.join(",")}`).sort());

  beforeAll(() => {
    dir = tempDir();
    dicts = dictionaries(7, all);
    want = new Map(all.map((n) => [n, sha(n)]));
  });

  test("made from every dictionary, it answers as the dictionaries do, and is kept", () => {
    reads.length = 0;
    expect(answers(loadWords(dir, want, reader(dicts), true))).toEqual(oracle(dicts, NEEDLES));
    expect(reads).toEqual(all);
    expect(existsSync(wordsCachePath(dir))).toBe(true);
    // The same objects again: the cache answers alone.
    reads.length = 0;
    expect(answers(loadWords(dir, want, () => { throw new Error("read a dictionary"); }, true))).toEqual(oracle(dicts, NEEDLES));
  });

  test("after shards change, only those dictionaries are read; a shard gone takes its words with it", () => {
    const changed = dictionaries(11, [3, 40]);
    const next = new Map(dicts);
    for (const [n, keys] of changed) next.set(n, keys);
    next.delete(63);
    const want2: ShardObjects = new Map([...want].filter(([n]) => n !== 63).map(([n, s]) => [n, changed.has(n) ? sha(n, 1) : s]));
    reads.length = 0;
    expect(answers(loadWords(dir, want2, reader(next), true))).toEqual(oracle(next, NEEDLES));
    expect(reads).toEqual([3, 40]);
    // Written for the new objects: read again without any dictionary.
    expect(answers(loadWords(dir, want2, () => { throw new Error("read a dictionary"); }, false))).toEqual(oracle(next, NEEDLES));
    // Not written (write false): the file still names the new objects, not some third set.
    reads.length = 0;
    loadWords(dir, want, reader(dicts), false);
    expect(reads.sort((a, b) => a - b)).toEqual([3, 40, 63]);
    expect(answers(loadWords(dir, want2, () => { throw new Error("read a dictionary"); }, false))).toEqual(oracle(next, NEEDLES));
  });

  // Latin-1 both ways: the damage is the only change (text made from the bytes as latin1 and
  // written back as UTF-8 changed every non-ASCII word, and the checksum failed on that instead).
  const zstd = (text: string) => Bun.zstdCompressSync(Buffer.from(text, "latin1"));
  test.each([
    ["garbage", () => Buffer.from("not a cache")],
    ["truncated", (b: Buffer) => b.subarray(0, b.length >> 1)],
    ["empty", () => Buffer.alloc(0)],
    ["a flipped byte", (b: Buffer) => { const c = Buffer.from(b); c[c.length >> 1] ^= 0x40; return c; }],
    ["a line changed under a right-looking header", (b: Buffer) => Buffer.from(zstd(Buffer.from(Bun.zstdDecompressSync(b)).toString("latin1").replace(/\t[0-9a-f]{16}\n/, "\tffffffffffffffff\n")))],
    // The checksum covers the header's JSON too: a shard's object changed there is damage, not a cache for shard 0's other object.
    ["a shard's object changed in the header", (b: Buffer) => Buffer.from(zstd(Buffer.from(Bun.zstdDecompressSync(b)).toString("latin1").replace('"0":"000', '"0":"001')))],
    ["another format", (b: Buffer) => Buffer.from(zstd(Buffer.from(Bun.zstdDecompressSync(b)).toString("latin1").replace("auditgraph-words 2 ", "auditgraph-words 3 ")))],
    // A sound file (its checksum holds) naming only shard 64, out of range: nothing of it is used.
    ["a shard number out of range", () => Buffer.from(Bun.zstdCompressSync(cacheFileBytes("auditgraph-words 2", { "64": "a".repeat(64) }, Buffer.alloc(0))))],
  ])("a cache with %s is ignored, made again and written", (_name, damage) => {
    loadWords(dir, want, reader(dicts), true);
    writeFileSync(wordsCachePath(dir), damage(readFileSync(wordsCachePath(dir))));
    reads.length = 0;
    expect(answers(loadWords(dir, want, reader(dicts), true))).toEqual(oracle(dicts, NEEDLES));
    expect(reads).toEqual(all);
    expect(answers(loadWords(dir, want, () => { throw new Error("read a dictionary"); }, false))).toEqual(oracle(dicts, NEEDLES));
  });
});

describe("the CLI", () => {
  let root: string;
  const cache = () => join(root, ".pkg/profiles/default/cache/words.zst");
  const query = (text: string) => {
    const r = cli(["query", text, "--limit", "50", "--root", root, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    return (r.json.hits as { path: string; line: number; id: string; score: number }[]).map((h) => `${h.path}:${h.line} ${h.id} ${h.score}`);
  };
  beforeAll(() => {
    root = ingested({
      "notes/a.md": "# Pool\n\nWe connect the pool at start-up.\n",
      "notes/b.md": "# Failures\n\nThe connection was reset; clients reconnect.\n",
      "notes/c.md": "# Ärger\n\nDisconnected clients are dropped. Schöne Verbindungsärger.\n",
      "src/net.py": "def reconnect_all():\n    return connector_pool\n",
    });
  });

  test("a query that looks inside longer words keeps the cache; the next answers the same from it", () => {
    expect(existsSync(cache())).toBe(false);
    const first = query("connect");
    expect(first.length).toBeGreaterThan(3);
    expect(existsSync(cache())).toBe(true);
    const bytes = readFileSync(cache());
    expect(query("connect")).toEqual(first);
    expect(query("ndungsärger").some((h) => h.startsWith("notes/c.md:3"))).toBe(true); // only inside a longer word, not ASCII
    expect(readFileSync(cache())).toEqual(bytes);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  });

  test("after an ingest the cache is brought up to date: a new word is found inside", () => {
    appendFileSync(join(root, "notes/a.md"), "\nA reconnectable pool.\n");
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    expect(query("connectab").some((h) => h.startsWith("notes/a.md:5"))).toBe(true);
  });

  test("the same answers with a damaged cache, none, or one that cannot be written", () => {
    const good = query("onnect");
    writeFileSync(cache(), "garbage");
    expect(query("onnect")).toEqual(good);
    expect(readFileSync(cache()).toString()).not.toBe("garbage");
    rmSync(cache());
    mkdirSync(cache()); // a directory where the file goes: the write fails, the answer does not
    expect(query("onnect")).toEqual(good);
    rmSync(cache(), { recursive: true });
    expect(query("onnect")).toEqual(good);
    // A line that is not well formed under a checksum that holds (a writer's bug, not damage on
    // disk): the words are made again from the dictionaries and written.
    const [head, ...lines] = Buffer.from(Bun.zstdDecompressSync(readFileSync(cache()))).toString("utf8").split("\n");
    const at = lines.findIndex((l) => l.slice(0, l.indexOf("\t")).includes("onnect"));
    expect(at).toBeGreaterThanOrEqual(0);
    lines[at] = lines[at]!.replace(/\t[0-9a-f]{16}$/, "\tnot-hex-at-all!!");
    const bad = lines.join("\n");
    const json = head!.slice("auditgraph-words 2 00000000 ".length);
    const crc = crc32Hex(Bun.hash.crc32(Buffer.from(`${json}\n${bad}`)));
    writeFileSync(cache(), Bun.zstdCompressSync(Buffer.from(`auditgraph-words 2 ${crc} ${json}\n${bad}`)));
    expect(query("onnect")).toEqual(good);
    expect(Buffer.from(Bun.zstdDecompressSync(readFileSync(cache()))).toString("utf8")).not.toContain("not-hex-at-all");
    // A FIFO: read, it would wait for a writer forever (a server with it); it is no cache, and is replaced.
    rmSync(cache());
    expect(Bun.spawnSync(["mkfifo", cache()]).exitCode).toBe(0);
    const r = cli(["query", "onnect", "--limit", "50", "--root", root, "--json"], { timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.json.hits.map((h: { path: string; line: number; id: string; score: number }) => `${h.path}:${h.line} ${h.id} ${h.score}`)).toEqual(good);
    expect(statSync(cache()).isFile()).toBe(true);
  });
});
