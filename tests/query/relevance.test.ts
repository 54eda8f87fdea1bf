// Relevance of `query` on a small, hand-written workspace (tests/fixtures/relevance): what a user
// typing each query would expect near the top, written from the fixture's content and the query
// contract (words, "phrases", identifiers as typed and by their parts, prefix*, filters), not from
// what any implementation returns. Every hit of every case must also point at a line that holds
// one of its matched terms.
//
// The workspace is ingested once; all queries run up front, a few processes at a time, and each
// case then only checks its stored result.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, cliAsync, inParallel, tempDir, type CliResult } from "../helpers/cli.ts";

setDefaultTimeout(60_000);

const FIXTURE = join(import.meta.dir, "..", "fixtures", "relevance");

/**
 * One query and what a reader of the fixture expects from it.
 *
 * Entries of `top3`, `first`, `before` and `absent` name hits in one of three forms:
 *   "notes/x.md"           any hit with that path
 *   "section:notes/x.md"   a hit of that type with that path
 *   "tech_kubernetes"      the hit with that node id (no "/" in it)
 * "Among the top 3" means: the first hit matching the entry lies within the first three distinct
 * paths of the result (a file often contributes several hits, e.g. its document, a section and a
 * chunk; they count once). Order inside top3 does not matter; `first` is used where it does.
 */
type Case = {
  q: string;
  flags?: string[];
  top3: string[];
  /** The very first hit must match this entry (a title match over body-only mentions, ...). */
  first?: string;
  /** [a, b]: a's best hit ranks above b's best hit, or b is not hit at all. */
  before?: [string, string][];
  /** Paths that must not be hit at all (e.g. they hold a phrase's words, but not adjacent). */
  absent?: string[];
  /** Every hit must have one of these types. */
  types?: string[];
  /** Every hit's path must match this glob, or be one of these paths. */
  paths?: string | string[];
  /** The query's words are plain words: files holding every word must outrank files holding only some. */
  allWords?: boolean;
  /** A misspelling: hits may be empty, and a hit's matched term need not resemble the query. */
  fuzzy?: boolean;
  note: string;
};

const SECURITY_TAGGED = ["notes/adr/0003-session-tokens.md", "notes/adr/0006-mtls-between-services.md", "notes/security/threat-model.md"];

const CASES: Case[] = [
  // Single words: a title (or heading) match outranks body-only mentions.
  { q: "stampede", top3: ["notes/incidents/2026-02-14-cache-stampede.md"], first: "notes/incidents/2026-02-14-cache-stampede.md",
    before: [["notes/incidents/2026-02-14-cache-stampede.md", "notes/engineering/caching.md"], ["notes/incidents/2026-02-14-cache-stampede.md", "notes/meetings/2026-02-02-review.md"]],
    note: "the postmortem has it in its title and body; caching rules and the team review mention it once in passing" },
  { q: "kubernetes", top3: ["notes/ops/kubernetes-migration.md"], first: "notes/ops/kubernetes-migration.md",
    before: [["notes/ops/kubernetes-migration.md", "notes/meetings/2026-01-12-planning.md"]],
    note: "the migration plan is titled Kubernetes; the planning note names it in a bullet" },
  { q: "deployctl", top3: ["docs/deployctl.md"], first: "docs/deployctl.md",
    before: [["docs/deployctl.md", "notes/ops/deploy-checklist.md"]],
    note: "the tool's own page (heading + code) over the checklist that uses it once" },
  { q: "kubernetes", flags: ["--type", "technology"], top3: ["tech_kubernetes"], types: ["technology"],
    note: "--type technology: the Kubernetes technology node" },
  { q: "ECONNRESET", flags: ["--type", "claim"], top3: ["claim:logs/worker.log"], types: ["claim"],
    note: "--type claim: the log's ERROR line, not the runbook that also mentions ECONNRESET" },

  // Several words: documents holding every word outrank documents holding only some.
  { q: "cache invalidation", top3: ["notes/engineering/caching.md"], first: "notes/engineering/caching.md", allWords: true,
    note: "only the caching rules say 'invalidation'; the stampede postmortem says 'cache' more often" },
  { q: "restart worker", top3: ["notes/ops/runbook.md"], first: "notes/ops/runbook.md", allWords: true,
    note: "the runbook says 'restart the worker'; incident response restarts 'the consumer'; many notes say 'worker'" },
  { q: "postgres connection pool", top3: ["notes/engineering/postgres-pooling.md", "notes/ops/runbook.md"],
    first: "notes/engineering/postgres-pooling.md", allWords: true,
    note: "three words: the pooling note (title and body) first, the runbook (one paragraph) next; a thread pool or Postgres alone ranks lower" },
  { q: "rotate client certificates", top3: ["notes/adr/0006-mtls-between-services.md"], first: "notes/adr/0006-mtls-between-services.md", allWords: true,
    note: "three words: only ADR 0006 rotates certificates; the threat model and the Go limiter have some of the words" },
  { q: "how do I restart the worker", top3: ["notes/ops/runbook.md"], first: "notes/ops/runbook.md",
    note: "a question with stop words: the runbook's restart section" },

  // Quoted phrases: adjacent words in order; a file with the words apart does not match.
  { q: '"event loop"', top3: ["notes/engineering/event-loop.md", "notes/engineering/worker-threads.md"],
    first: "notes/engineering/event-loop.md", absent: ["notes/meetings/2026-03-09-sync.md"],
    note: "the weekly sync says 'we loop over every event': both words, not the phrase" },
  { q: '"rate limit"', top3: ["notes/adr/0004-redis-rate-limiting.md", "docs/api/orders-api.md", "src/ratelimit/limiter.go"],
    absent: ["notes/meetings/2026-02-02-review.md", "notes/releases/v1.3.0.md", "notes/meetings/2026-01-12-planning.md"],
    note: "the review says 'limit the rate'; the release notes and planning say 'rate limiting' (another word)" },
  { q: '"out of memory"', top3: ["notes/incidents/2026-03-03-worker-oom.md", "logs/worker.log"],
    absent: ["notes/engineering/worker-threads.md"],
    note: "a phrase with a stop word in it; worker threads says 'memory ... out of proportion'" },
  { q: '"connection pool" exhausted', top3: ["notes/engineering/postgres-pooling.md"], first: "notes/engineering/postgres-pooling.md",
    before: [["notes/engineering/postgres-pooling.md", "notes/ops/runbook.md"]], absent: ["notes/ops/incident-response.md"],
    note: "the phrase is required: incident response says 'exhausted' but has no connection pool" },

  // Identifiers, as typed and by a part.
  { q: "Buffer.concat()", top3: ["notes/engineering/binary-payloads.md", "src/payload.ts"],
    note: "a code span and a fenced block in the note, two calls in the code" },
  { q: "concat", top3: ["notes/engineering/binary-payloads.md", "src/payload.ts"],
    note: "a part of Buffer.concat" },
  { q: "order.created", top3: ["docs/events-catalog.md", "src/events/publisher.ts", "src/worker/consumer.py"],
    note: "the three files with the event name; many other files only say 'order'" },
  { q: "created", top3: ["docs/events-catalog.md", "src/events/publisher.ts", "src/worker/consumer.py"],
    note: "a part of order.created (no other file says 'created')" },
  { q: "snake_case_name", top3: ["notes/engineering/conventions.md"], first: "notes/engineering/conventions.md",
    note: "the naming rule in the conventions" },
  { q: "snake", top3: ["notes/engineering/conventions.md", "notes/adr/0005-json-field-naming.md", "notes/releases/v1.2.3.md"],
    note: "a part of snake_case_name and of snake_case" },
  { q: "camelCaseName", top3: ["notes/engineering/conventions.md"], first: "notes/engineering/conventions.md",
    note: "the naming rule in the conventions" },
  { q: "camel", top3: ["notes/engineering/conventions.md", "notes/adr/0005-json-field-naming.md"],
    note: "a part of camelCaseName and of camelCase" },
  { q: "camelCaseNa", top3: ["notes/engineering/conventions.md"], first: "notes/engineering/conventions.md",
    note: "an identifier being typed: the start of camelCaseName, searched as a prefix (its parts camel case na are no phrase)" },
  { q: "--flag-name", top3: ["notes/engineering/conventions.md"], first: "notes/engineering/conventions.md",
    note: "an option name, passed after '--'" },
  { q: "--dry-run", top3: ["docs/deployctl.md"], first: "docs/deployctl.md",
    note: "an option of deployctl, passed after '--'" },
  { q: "v1.2.3", top3: ["notes/releases/v1.2.3.md", "notes/meetings/2026-03-09-sync.md"], first: "notes/releases/v1.2.3.md",
    before: [["notes/releases/v1.2.3.md", "notes/releases/v1.3.0.md"], ["notes/meetings/2026-03-09-sync.md", "notes/releases/v1.3.0.md"]],
    note: "a version as typed: its release notes, then the sync that schedules it; v1.3.0 shares only parts" },
  { q: "joinFrames", top3: ["src/payload.ts"], first: "src/payload.ts",
    note: "a function name found in code" },

  // Prefixes.
  { q: "retr*", top3: ["notes/engineering/retry-policy.md", "src/http/retry.ts", "docs/api/orders-api.md"],
    note: "retry, retries, retrying, Retry-After: exactly these three files" },
  { q: "idempot*", top3: ["docs/api/orders-api.md", "notes/engineering/retry-policy.md", "notes/ops/runbook.md"],
    note: "idempotency and idempotent: exactly these three files" },

  // Filters, in the text and as flags.
  { q: "type:section rollback", top3: ["section:notes/ops/deploy-checklist.md"], types: ["section"],
    note: "the setext heading 'Rollback'; the line must be the heading's own line" },
  { q: "rollback", flags: ["--type", "section"], top3: ["section:notes/ops/deploy-checklist.md"], types: ["section"],
    note: "the same with --type" },
  { q: "path:notes/adr/** kafka", top3: ["notes/adr/0002-kafka-event-bus.md"], paths: "notes/adr/**",
    note: "Kafka also appears in the events catalog, the glossary and the consumer, outside the ADRs" },
  { q: "kafka", flags: ["--path", "notes/adr/**"], top3: ["notes/adr/0002-kafka-event-bus.md"], paths: "notes/adr/**",
    note: "the same with --path" },
  { q: "tag:security", top3: SECURITY_TAGGED, paths: SECURITY_TAGGED,
    note: "a filter alone lists the tagged files: two ADRs (tags: [security, ...]) and the threat model (tag: Security)" },
  { q: "certificates", flags: ["--tag", "security"], top3: ["notes/adr/0006-mtls-between-services.md", "notes/security/threat-model.md"],
    paths: SECURITY_TAGGED, note: "--tag: both tagged files that mention certificates" },
  { q: "tag:SECURITY session", top3: ["notes/adr/0003-session-tokens.md"], first: "notes/adr/0003-session-tokens.md", paths: SECURITY_TAGGED,
    note: "tags match case-insensitively; ADR 0003 is about sessions, the threat model mentions one" },
  { q: "type:decision path:notes/adr/0003-*", top3: ["decision:notes/adr/0003-session-tokens.md"], types: ["decision"], paths: "notes/adr/0003-*",
    note: "two filters and no words: the one decision node" },
  { q: "type:chunk,document redis", top3: ["notes/adr/0004-redis-rate-limiting.md"], types: ["chunk", "document"],
    note: "a type list; ADR 0004 has Redis in its title and body" },

  // A misspelling must not crash; hits may be empty.
  { q: "kuberentes", top3: [], fuzzy: true, note: "misspelled kubernetes: exit 0" },
];


/** argv for a case: flags first; a query starting with '-' goes after '--', as the contract says. */
const argvOf = (root: string, c: Case) =>
  ["query", "--root", root, "--json", "--limit", "50", ...(c.flags ?? []), ...(c.q.startsWith("-") ? ["--", c.q] : [c.q])];

// ---- reading the fixture ----

const fileCache = new Map<string, string[]>();
const linesOf = (path: string): string[] => {
  let l = fileCache.get(path);
  if (!l) { l = readFileSync(join(FIXTURE, path), "utf8").split("\n"); fileCache.set(path, l); }
  return l;
};

/** Pieces of an identifier: `snake_case_name` → snake, case, name; `camelCaseName` → camel, case, name. */
const partsOf = (raw: string): string[] =>
  raw.split("_").flatMap((s) => s.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\p{N}+|\p{L}+/gu) ?? []).map((p) => p.toLowerCase());

/** A file's terms as the contract defines them, plus identifier parts. */
const termsOfFile = (path: string): Set<string> => {
  const out = new Set<string>();
  for (const raw of readFileSync(join(FIXTURE, path), "utf8").match(/[\p{L}\p{N}_]+/gu) ?? []) {
    out.add(raw.toLowerCase());
    for (const p of partsOf(raw)) out.add(p);
  }
  return out;
};

const FILTER = /^(type|path|tag):\S*$/;

/** What a hit's line may contain for this query: the typed words/identifiers and their parts (lower case). */
function queryPieces(q: string): string[] {
  const out = new Set<string>();
  for (let tok of q.replace(/"/g, " ").split(/\s+/)) {
    if (!tok || FILTER.test(tok)) continue;
    tok = tok.replace(/\*$/, "").replace(/\(\)$/, "");
    out.add(tok.toLowerCase());
    for (const raw of tok.match(/[\p{L}\p{N}_]+/gu) ?? []) {
      out.add(raw.toLowerCase());
      for (const p of partsOf(raw)) if (p.length >= 2) out.add(p);
    }
  }
  return [...out].filter((p) => p.length > 0);
}

const hasWords = (q: string) => queryPieces(q).length > 0;

/** For identifier tokens only (punctuation, '_', a camel hump or a leading '-'): the token as typed and its parts. */
function identifierPieces(q: string): string[] {
  const ident = /^-|[\p{L}\p{N}_][.\-/:][\p{L}\p{N}_]|_|\p{Ll}\p{Lu}/u;
  return q.split(/\s+/).filter((t) => t && !FILTER.test(t) && !t.includes('"') && ident.test(t)).flatMap(queryPieces);
}

const FIXTURE_FILES = [...new Bun.Glob("**/*").scanSync({ cwd: FIXTURE })].sort();

// ---- matching hits against expectation entries ----

const matchesEntry = (h: any, entry: string): boolean => {
  if (!entry.includes("/")) return h.id === entry;
  const colon = entry.indexOf(":");
  return colon > 0 ? h.type === entry.slice(0, colon) && h.path === entry.slice(colon + 1) : h.path === entry;
};

/** Rank of the first hit matching entry, counted in distinct paths (Infinity when not hit). */
function rankOf(hits: any[], entry: string): number {
  const seen: string[] = [];
  for (const h of hits) {
    if (!seen.includes(h.path)) seen.push(h.path);
    if (matchesEntry(h, entry)) return seen.indexOf(h.path);
  }
  return Infinity;
}

const summary = (hits: any[]) => hits.slice(0, 8).map((h) => `${h.score} ${h.type} ${h.path}:${h.line} ${h.id}`).join("\n  ");

// ---- the suite ----

let root: string;
const results: CliResult[] = [];

beforeAll(async () => {
  root = tempDir("ag-relevance-");
  cpSync(FIXTURE, root, { recursive: true, filter: (src) => !src.includes("/.pkg") });
  const ing = cli(["ingest", "--root", root, "--json"]);
  if (ing.code !== 0) throw new Error(`ingest of the relevance fixture failed (exit ${ing.code}): ${ing.stderr}`);
  results.push(...(await inParallel(CASES, (c) => cliAsync(argvOf(root, c)))));
});
afterAll(cleanup);

describe("the fixture says what the cases assume", () => {
  test("every expected path exists; a phrase's absent files never hold it, and (phrase alone) one holds its words apart", () => {
    const problems: string[] = [];
    const seqOf = (path: string) => ` ${(readFileSync(join(FIXTURE, path), "utf8").toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).join(" ")} `;
    for (const c of CASES) {
      const entries = [...c.top3, ...(c.first ? [c.first] : []), ...(c.before ?? []).flat(), ...(c.absent ?? [])];
      for (const e of entries) {
        if (!e.includes("/")) continue;
        const path = e.includes(":") ? e.slice(e.indexOf(":") + 1) : e;
        if (!existsSync(join(FIXTURE, path))) problems.push(`${c.q}: ${path} does not exist`);
      }
      const phrase = /"([^"]+)"/.exec(c.q)?.[1];
      if (!phrase) continue;
      const words = phrase.toLowerCase().split(/\s+/);
      const absent = c.absent ?? [];
      for (const path of absent) if (seqOf(path).includes(` ${words.join(" ")} `)) problems.push(`${c.q}: ${path} holds the phrase`);
      const onlyPhrase = c.q === `"${phrase}"`;
      if (onlyPhrase && !absent.some((path) => words.every((w) => seqOf(path).includes(` ${w} `)))) problems.push(`${c.q}: no absent file holds every word of the phrase`);
    }
    expect(problems).toEqual([]);
  });
});

describe("query relevance", () => {
  CASES.forEach((c, i) => {
    const label = `${c.q}${c.flags ? " " + c.flags.join(" ") : ""} → ${c.top3.join(", ") || "(exit 0)"}`;
    test(label, () => {
      const r = results[i]!;
      const where = `query ${JSON.stringify(c.q)} ${c.flags?.join(" ") ?? ""} (${c.note})`;
      expect(r.stderr, where).not.toMatch(/^\s+at |internal error/m);
      expect(r.code, `${where}\nstderr: ${r.stderr}`).toBe(0);
      expect(r.json?.status, where).toBe("ok");
      const hits: any[] = r.json.hits;
      expect(Array.isArray(hits), where).toBe(true);
      const got = `${where}\n  ${summary(hits)}`;

      // Filters hold for every hit.
      if (c.types) for (const h of hits) expect(c.types, `${h.id} has type ${h.type}: ${got}`).toContain(h.type);
      if (c.paths) {
        const ok = typeof c.paths === "string" ? ((p: string) => new Bun.Glob(c.paths as string).match(p)) : (p: string) => (c.paths as string[]).includes(p);
        for (const h of hits) expect(ok(h.path), `${h.id} at ${h.path} is outside ${JSON.stringify(c.paths)}: ${got}`).toBe(true);
      }

      // What a reader expects near the top.
      for (const e of c.top3) expect(rankOf(hits, e), `${e} is not among the top 3: ${got}`).toBeLessThan(3);
      if (c.first) expect(hits.length > 0 && matchesEntry(hits[0], c.first), `the first hit should be ${c.first}: ${got}`).toBe(true);
      for (const [a, b] of c.before ?? []) {
        const ra = rankOf(hits, a);
        expect(ra, `${a} is not hit: ${got}`).toBeLessThan(Infinity);
        expect(ra < rankOf(hits, b), `${a} should rank above ${b}: ${got}`).toBe(true);
      }
      for (const p of c.absent ?? []) expect(hits.filter((h) => h.path === p).map((h) => h.id), `${p} must not match: ${got}`).toEqual([]);

      // All words beat some words: every file holding all of them ranks above every file holding only some.
      if (c.allWords) {
        const words = c.q.toLowerCase().split(/\s+/);
        const all: string[] = [];
        const some: string[] = [];
        for (const p of FIXTURE_FILES) {
          const t = termsOfFile(p);
          const n = words.filter((w) => t.has(w)).length;
          if (n === words.length) all.push(p); else if (n > 0) some.push(p);
        }
        expect(all.length, `no file holds all of ${words.join(", ")}`).toBeGreaterThan(0);
        const worstAll = Math.max(...all.map((p) => rankOf(hits, p)));
        const bestSome = Math.min(Infinity, ...some.map((p) => rankOf(hits, p)));
        expect(worstAll < bestSome, `files with every word (${all.join(", ")}) must rank above files with some (${some.join(", ")}): ${got}`).toBe(true);
      }

      // Scores: 0..1, descending, ties by id; total counts every match, not only those shown.
      for (let k = 1; k < hits.length; k++) {
        const [a, b] = [hits[k - 1], hits[k]];
        expect(a.score > b.score || (a.score === b.score && a.id < b.id), `hits ${k - 1} and ${k} out of order: ${got}`).toBe(true);
      }
      for (const h of hits) expect(h.score >= 0 && h.score <= 1, `score ${h.score} outside 0..1: ${got}`).toBe(true);

      // Every hit points at a real line that holds one of its matched terms, with a snippet.
      const pieces = queryPieces(c.q);
      const withWords = hasWords(c.q);
      for (const h of hits) {
        const at = `${h.type} ${h.id} ${h.path}:${h.line}`;
        expect([typeof h.id, typeof h.type, typeof h.path, typeof h.line, typeof h.snippet, Array.isArray(h.matches)], `${at} (id, type, path, line, snippet, matches): ${got}`)
          .toEqual(["string", "string", "string", "number", "string", true]);
        expect(existsSync(join(FIXTURE, h.path)), `${at}: no such file in the fixture`).toBe(true);
        const lines = linesOf(h.path);
        expect(Number.isInteger(h.line) && h.line >= 1 && h.line <= lines.length, `${at}: line out of range`).toBe(true);
        for (const m of h.matches) expect([typeof m.term, typeof m.line, typeof m.column], `${at}: match ${JSON.stringify(m)}`).toEqual(["string", "number", "number"]);
        if (!withWords) continue; // filters alone: nothing to match
        const terms: string[] = h.matches.map((m: any) => String(m.term).toLowerCase());
        expect(terms.length, `${at}: no matched terms`).toBeGreaterThan(0);
        const text = lines[h.line - 1]!.toLowerCase();
        const candidates = [...terms, ...identifierPieces(c.q)];
        expect(candidates.some((t) => t && text.includes(t)), `${at}: line ${JSON.stringify(lines[h.line - 1])} holds none of ${JSON.stringify(candidates)}`).toBe(true);
        if (!c.fuzzy) {
          const related = terms.some((t) => pieces.some((p) => p.length >= 3 && (t.includes(p) || p.includes(t))));
          expect(related, `${at}: matched terms ${JSON.stringify(terms)} are not from the query ${JSON.stringify(pieces)}`).toBe(true);
        }
      }
      expect(typeof r.json.total, `total: ${where}`).toBe("number");
      expect(r.json.total, where).toBeGreaterThanOrEqual(hits.length);
    });
  });
});
