// The front matter reader without the YAML library (simple-yaml.ts) must give what the library gives
// whenever it answers at all: compared on hand-picked blocks and on generated ones made of the
// pieces that trip YAML up (null and boolean words, numbers, `: `, `#`, quotes, flow and block lists,
// indentation, duplicate keys, odd spaces).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse, Schema } from "yaml";
import { frontMatterBlock, splitFrontMatter } from "./markdown.ts";
import { NOT_STRING, simpleYaml } from "./simple-yaml.ts";

/** What splitFrontMatter keeps of the library's answer (null → {}, through JSON), or "error". */
function library(block: string): string {
  try {
    const d = parse(block, { logLevel: "error" });
    return JSON.stringify(d ?? {});
  } catch {
    return "error";
  }
}

function agrees(block: string): boolean {
  const mine = simpleYaml(block);
  if (mine === undefined) return false;
  expect({ block, got: JSON.stringify(mine) }).toEqual({ block, got: library(block) });
  return true;
}

const VALUES = [
  "foo", "Foo Bar", "x  y", "null", "Null", "NULL", "true", "True", "FALSE", "yes", "no", "on", "Off", "y", "~", "",
  "123", "-1", "+1", "1.5", "1e3", "0x1F", "0o17", ".5", ".inf", ".Inf", "-.inf", ".nan", ".NaN", ".Nan", "e10", "Infinity", "NaN",
  ".github/x.md (copy 0)", "._x", "./rel", ".", "v1.2.3", "2024-01-01", "a: b", "a:b", "ends:", "http://x.y/z?q=1", "a #b", "a#b",
  "a, b", "a ]", "[a, b]", "[a,b]", "[ a , b ]", "[]", "[ ]", "[a, ]", "[, a]", "[a: b]", "[a:b]", "[\"a\", 'b']", "[\"a, b\"]", "[a] b",
  "[[a]]", "[null, a]", "[1, a]", "{a: b}", "{}", "\"quoted\"", "\"with # hash\"", "\"esc \\\" q\"", "\"\\n\"", "\"\"", "'single'",
  "'it''s'", "''", "it's", "-dash", "- item", "&anchor", "*alias", "!tag x", "!!str 1", "|", ">", "%x", "@x", "`x`", "?x", "? x",
  "Ünïcödé", "日本語", "Éa", "x\u00a0y", "x\u2028y", "x\u0085y", "x\ufeffy", "a\\b", "a -- b", "a --- b", "a - b", "a'b", "a\"b",
];
const PLAIN_VALUES = VALUES.filter((v) => /^[A-Za-z0-9.]/.test(v) && !/[#:\[\]{},"']/.test(v));
const KEYS = ["title", "tags", "Title", "last-modified", "a_b", "x1", "null", "True", "yes", "1", "-x", "_x", "é", "<<", "__proto__", "constructor", "toString", "a b"];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0; s ^= s >>> 13; return (s >>> 0) / 2 ** 32; };
}

/** Blocks of 1-6 lines; `plainShare`: how many values come from the plain words that are mostly taken. */
function generated(n: number, seed: number, plainShare: number): string[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const value = () => (r() < plainShare ? pick(PLAIN_VALUES) : pick(VALUES));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const lines: string[] = [];
    const count = 1 + Math.floor(r() * 6);
    for (let k = 0; k < count; k++) {
      const x = r();
      if (x < 0.45) lines.push(`${pick(KEYS.slice(0, 6))}: ${value()}`);
      else if (x < 0.55) lines.push(`${pick(KEYS)}: ${value()}`);
      else if (x < 0.7) {
        lines.push(`${pick(KEYS.slice(0, 6))}:${pick(["", " ", "  "])}`);
        const indent = pick(["", "  ", "    "]);
        for (let j = Math.floor(r() * 4); j > 0; j--) lines.push(r() < 0.9 ? `${indent}- ${value()}` : pick(["", `${indent}  - x`, " - x", `${indent}-x`, `${indent}  more`, `${indent}k: v`]));
      } else if (x < 0.8) lines.push(pick(["", "   ", "# comment", " title: x", "title:x", "title :x", "title:\tx", "- x", "...", "key: v # c", "k: 'a", "k: \"a"]));
      else lines.push(`${pick(KEYS.slice(0, 4))}: ${pick(VALUES.filter((v) => /^[A-Za-z]/.test(v)))}${pick(["", " ", "  "])}`);
    }
    out.push(lines.join("\n") + "\n");
  }
  return out;
}

describe("simpleYaml", () => {
  test("its null, boolean and number patterns are the core schema's own", () => {
    const lib = new Schema({ schema: "core" }).tags.flatMap((t) => ("test" in t && t.test ? [String(t.test)] : []));
    expect(NOT_STRING.map(String).sort()).toEqual(lib.sort());
  });

  test("answers the usual front matter, as the library does", () => {
    for (const b of [
      `${"k".repeat(1024)}: x\n`,
      "title: .github/agents/copilot-instructions.md (copy 0)\ntags: [corpus, copy0]\n",
      "title: Event loop basics\nstatus: accepted\ntags:\n  - node\n  - async\n",
      "title: \"ADR 12: Use Postgres\"\ndate: 2024-01-01\nauthor: 'Ann Lee'\n",
      "date: 2024-01-01T10:00:00Z\nversion: 1.2.3\nid: 0123abc\n",
      "title: Notes\n\ntags:\n- a\n\n- b\nsummary: A link to https://example.com/x?y=1 and more\n",
      "tags: []\ndraft:\n",
      "",
    ]) expect(agrees(b)).toBe(true);
  });

  test("leaves to the library what it does not take", () => {
    for (const b of [
      "title: ADR 12: Use Postgres\n", "title: x # comment\n", "count: 3\n", "draft: true\n", "x: ~\n", "title: [REDACTED:aws] x\n",
      "title: x\ntitle: y\n", "title: a\n  continued\n", "meta:\n  a: b\n", "tags:\n  - a\n    - b\n", "title:\tx\n", "- a\n", "%YAML 1.2\n",
      "title: |\n  block\n", "title: &a x\nother: *a\n", "k: \"esc \\\" q\"\n", "k: .inf\n", "null: x\n", "title: x\u00a0y\n",
      `${"k".repeat(1025)}: x\n`, // the library refuses a key over 1,024 characters
    ]) expect(simpleYaml(b)).toBeUndefined();
  });

  test("time linear in a line: runs of spaces inside a value or an item (a pattern with a lazy value and trailing spaces took the square of the run: 65,000 spaces, seconds)", () => {
    const run = " ".repeat(65_000);
    expect(simpleYaml(`title: a${run}b\n`)).toEqual({ title: `a${run}b` });
    expect(simpleYaml(`tags:\n  - a${run}b\n`)).toEqual({ tags: [`a${run}b`] });
    expect(simpleYaml(`tags: [a${run}b, c]\n`)).toEqual({ tags: [`a${run}b`, "c"] });
    expect(simpleYaml(`title: a${run}\n`)).toEqual({ title: "a" });
  }, 3_000);

  test("generated blocks: every answer is the library's, and a good share is answered", () => {
    // Mostly tricky values, then mostly plain ones (where a wrong answer would be a quiet one).
    for (const [seed, share, least] of [[7, 0, 1_000], [11, 0.9, 1_500]] as const) {
      let answered = 0;
      for (const b of generated(20_000, seed, share)) if (agrees(b)) answered++;
      // A test that answered none would check nothing.
      expect(answered).toBeGreaterThan(least);
    }
  });

  test("splitFrontMatter gives the same data through either reader, on the repository's own notes", () => {
    const roots = ["examples", "tests/fixtures"].map((d) => join(import.meta.dir, "..", "..", d));
    let checked = 0;
    const walk = (dir: string) => {
      let names: string[];
      try { names = readdirSync(dir); } catch { return; }
      for (const n of names) {
        const p = join(dir, n);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else if (n.endsWith(".md") && st.size < 1 << 20) {
          const text = readFileSync(p, "utf8");
          const fm = frontMatterBlock(text);
          if (!fm) continue;
          const block = text.slice(fm.yamlStart, fm.yamlEnd);
          const mine = simpleYaml(block);
          if (mine === undefined) continue;
          expect(JSON.stringify(splitFrontMatter(text).data)).toBe(library(block));
          checked++;
        }
      }
    };
    for (const r of roots) walk(r);
    expect(checked).toBeGreaterThan(0);
  });
});
