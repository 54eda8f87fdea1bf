// `query` on input a user gets wrong: each is exit 2 with one error line (one JSON error document
// with --json), or, where the query contract says the input is fine, exit 0. Never a stack trace.
//
// All queries run once, up front, against one small workspace, a few processes at a time; the tests
// only check the stored results.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cleanup, cli, cliAsync, expectOneLineError, inParallel, workspace, type CliResult } from "../helpers/cli.ts";

setDefaultTimeout(60_000);

const FILES = {
  "notes/event-loop.md": "# Blocking the event loop\n\nA long `JSON.parse` blocks the event loop; Kafka consumers then lag.\n",
  "notes/sync.md": "# Weekly sync\n\nThe worker is slow: we loop over every event in the batch and commit each one.\n",
  "notes/postgres.md": "# Postgres\n\nSee https://www.postgresql.org/docs/current/ for connection limits; the C++ client uses std::vector.\n",
};

/** About 10,000 characters of ordinary words. */
const LONG = "why does the worker restart after every deploy ".repeat(215).slice(0, 10_000);
/**
 * Exactly 1,000 characters (the most the contract allows), and one more. Long identifiers keep the
 * word count low (25), so that only the length is at its limit.
 */
const AT_LIMIT = Array(25).fill("payment_reconciliation_report_generator").join(" ") + "s";
const OVER_LIMIT = AT_LIMIT + "s";

type Bad = {
  name: string;
  /** The query text, then any flags. */
  args: string[];
  /** Expected exit code: 2 = one error line; 0 = accepted. */
  exit: 0 | 2;
  /** For exit 2: words the error line must contain (case-insensitive). */
  says?: string[];
  note: string;
};

const CASES: Bad[] = [
  { name: "empty query", args: [""], exit: 2, note: "empty query → exit 2, one line" },
  { name: "whitespace only", args: ["   \t  "], exit: 2, note: "nothing but blanks is an empty query" },
  { name: "only stop words", args: ["the of and"], exit: 2, note: "only stop words, unquoted → exit 2" },
  { name: "a 10,000-character query", args: [LONG], exit: 2, note: "over 1,000 characters → exit 2" },
  { name: "1,001 characters", args: [OVER_LIMIT], exit: 2, note: "one over the limit" },
  { name: "a filter of only commas", args: ["postgresql tag:,"], exit: 2, says: ["tag:", "needs a value"], note: "nothing in it: refused, not dropped (the answer would be unfiltered)" },
  { name: "a filter of only commas and blanks, as a flag", args: ["postgresql", "--path", " , "], exit: 2, says: ["needs a value"], note: "as tag: is" },
  { name: "an unknown filter key", args: ["colour:red"], exit: 2, says: ["colour", "type", "path", "tag"], note: "names the key and the known keys" },
  { name: "an unknown filter key next to words", args: ["kafka colour:red"], exit: 2, says: ["colour"], note: "words do not excuse a bad filter" },
  { name: "--limit 0", args: ["kafka", "--limit", "0"], exit: 2, says: ["--limit"], note: "the limit is 1 or more" },
  { name: "--type planet", args: ["kafka", "--type", "planet"], exit: 2, says: ["planet"], note: "not a node type" },
  { name: "type:planet", args: ["type:planet kafka"], exit: 2, says: ["planet"], note: "the filter takes the same values as --type" },
  { name: "a bare *", args: ["*"], exit: 2, note: "a prefix needs at least 2 characters; '*' alone has none" },
  { name: "a one-letter prefix", args: ["k*"], exit: 2, note: "a prefix needs at least 2 characters" },
  { name: "type: with no value", args: ["type:"], exit: 2, says: ["type"], note: "the contract is silent; a known key with no value is a mistake to report, not the word 'type'" },

  { name: "an unbalanced quote", args: ['"event loop'], exit: 0, note: "treated as closed at the end, with a warning line on stderr" },
  { name: "quoted stop words", args: ['"the of and"'], exit: 0, note: "stop words are only an error unquoted" },
  { name: "exactly 1,000 characters", args: [AT_LIMIT], exit: 0, note: "the limit itself is allowed" },
  { name: "a URL", args: ["https://www.postgresql.org/docs/current/"], exit: 0, note: "URLs are text, not a filter 'https'" },
  { name: "a::b", args: ["std::vector"], exit: 0, note: "a::b is text, not a filter 'std'" },
];

/** Bad inputs also checked with --json: one JSON document with status "error" on stdout. */
const JSON_CASES = ["empty query", "only stop words", "a 10,000-character query", "an unknown filter key", "an unbalanced quote"];


/** The query text goes after '--' so that a text starting with '-' or holding only blanks reaches the parser as is. */
const argv = (root: string, c: Bad, json: boolean) => {
  const [text, ...flags] = c.args;
  return ["query", "--root", root, ...(json ? ["--json"] : []), ...flags, "--", text!];
};

const noStackTrace = (r: CliResult, what: string) => {
  expect(r.stderr, `${what}: a stack trace`).not.toMatch(/^ {4}at /m);
  expect(r.stderr, what).not.toContain("internal error");
  expect(r.stdout, `${what}: a stack trace on stdout`).not.toMatch(/^ {4}at /m);
};

let root: string;
const human: CliResult[] = [];
const json: CliResult[] = [];

beforeAll(async () => {
  root = workspace(FILES);
  const ing = cli(["ingest", "--root", root, "--json"]);
  if (ing.code !== 0) throw new Error(`ingest failed (exit ${ing.code}): ${ing.stderr}`);
  const jsonCases = CASES.filter((c) => JSON_CASES.includes(c.name));
  const runs = await inParallel([...CASES.map((c) => argv(root, c, false)), ...jsonCases.map((c) => argv(root, c, true))], cliAsync);
  human.push(...runs.slice(0, CASES.length));
  CASES.forEach((c, i) => { if (jsonCases.includes(c)) json[i] = runs[CASES.length + jsonCases.indexOf(c)]!; });
});
afterAll(cleanup);

describe("bad query input", () => {
  CASES.forEach((c, i) => {
    test(`${c.name} → exit ${c.exit}`, () => {
      const r = human[i]!;
      const what = `query ${JSON.stringify(c.args[0]!.length > 60 ? c.args[0]!.slice(0, 60) + "…" : c.args[0])} ${c.args.slice(1).join(" ")} (${c.note})`;
      noStackTrace(r, what);
      expect(r.code, `${what}\nstdout: ${r.stdout.slice(0, 400)}\nstderr: ${r.stderr}`).toBe(c.exit);
      if (c.exit === 2) {
        const line = expectOneLineError(r);
        for (const w of c.says ?? []) expect(line.toLowerCase().replace(/,/g, ""), what).toContain(w.toLowerCase());
        expect(r.stdout, `${what}: nothing on stdout without --json`).toBe("");
      }
      const j = json[i];
      if (!j) return;
      noStackTrace(j, `${what} --json`);
      expect(j.code, `${what} --json`).toBe(c.exit);
      expect(j.json, `${what} --json: stdout must be exactly one JSON document, got ${JSON.stringify(j.stdout.slice(0, 400))}`).toBeDefined();
      if (c.exit === 2) {
        expect(j.json.status, what).toBe("error");
        expect([typeof j.json.code, typeof j.json.message, j.json.exit_code], what).toEqual(["string", "string", 2]);
        expectOneLineError(j);
      } else {
        expect(j.json.status, what).toBe("ok");
        expect(Array.isArray(j.json.hits), what).toBe(true);
      }
    });
  });

  test("an unbalanced quote: one warning line, and the words are searched as a phrase", () => {
    const i = CASES.findIndex((c) => c.name === "an unbalanced quote");
    for (const r of [human[i]!, json[i]!]) {
      const lines = r.stderr.trim().split("\n").filter((l) => l.length > 0);
      expect(lines, `stderr: ${r.stderr}`).toHaveLength(1);
      expect(lines[0]!, "the warning line").toMatch(/^warning: /);
    }
    const paths = json[i]!.json.hits.map((h: any) => h.path);
    expect(paths).toContain("notes/event-loop.md");
    // The weekly sync has 'event' and 'loop', but apart: it only matches if the quote were dropped.
    expect(paths).not.toContain("notes/sync.md");
  });

  test("only common words beside a filter: the filter answers, as alone, with a warning that the words were left out", () => {
    const alone = cli(["query", "--root", root, "--json", "--", "type:document"]);
    const res = cli(["query", "--root", root, "--json", "--", "the of type:document"]);
    const flag = cli(["query", "--root", root, "--json", "--type", "document", "--", "the"]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.json.hits.length).toBeGreaterThan(0);
    for (const r of [res, flag]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.hits).toEqual(alone.json.hits);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^warning: only common words besides the filters \((the, of|the)\): they are left out$/)]);
    }
  });

  test("an error quotes a few hundred characters of the query at most: common words named once each, a long filter cut", () => {
    const many = cli(["query", "--root", root, "--", Array.from({ length: 500 }, () => "a").join(" ")]);
    expect(many.code).toBe(2);
    const line = expectOneLineError(many);
    expect(line.length).toBeLessThan(300);
    expect(line).toEndWith("has only common words (a); add a more specific word, or quote a phrase");
    const twelve = expectOneLineError(cli(["query", "--root", root, "--", "a an the of to in is it as at by on"]));
    expect(twelve).toContain("(a, an, the, of, to, in, is, it, as, at and 2 more)");
    const filter = cli(["query", "--root", root, "--", `colour:${"r".repeat(990)}`]);
    expect([filter.code, expectOneLineError(filter).length < 400]).toEqual([2, true]);
  });

  test("the long queries are as long as their names say", () => {
    expect([LONG.length, AT_LIMIT.length, OVER_LIMIT.length]).toEqual([10_000, 1000, 1001]);
  });

  test("the limit counts characters as code points, as the MCP tool's schema does", () => {
    // 𝒜 is one letter, two UTF-16 units: 911 characters here are 1,311 units (32 words at most).
    const text = [...Array.from({ length: 20 }, () => "𝒜".repeat(20)), ...Array.from({ length: 12 }, () => "a".repeat(40))].join(" ");
    expect([[...text].length, text.length]).toEqual([911, 1311]);
    const at = cli(["query", text, "--root", root, "--json"]);
    expect([at.code, at.stderr]).toEqual([0, ""]);
    const over = cli(["query", Array.from({ length: 25 }, () => "b".repeat(40)).join(" "), "--root", root]);
    expect(over.code).toBe(2);
    expect(expectOneLineError(over)).toBe("error: query is 1024 characters long; the limit is 1000");
  });

  test("a query without TEXT is a usage error too", () => {
    const r = cli(["query", "--root", root]);
    noStackTrace(r, "query with no text");
    expect(r.code).toBe(2);
    expectOneLineError(r);
  });
});
