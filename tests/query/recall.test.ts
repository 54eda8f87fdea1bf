// Recall of `query`: every ingested file that ripgrep finds for a word is reachable by querying that
// word. Words are chosen automatically from each workspace (examples/workspace,
// tests/fixtures/relevance and tests/fixtures/stores/workspace): distinct words of 4 or more letters
// found in 1 to 5 files, spread evenly over their alphabetical order, a fixed number per workspace.
//
// The oracle is `rg -F -i -l WORD` over the files the run ingested (status ok in `runs show`), as
// the contract words it: a file where the word is only inside a longer word ("pool" in "pooling",
// "connect" in "Disconnected") counts too. Such files come after the word's own hits (search.ts
// fills the page with them), so they are reachable with `--limit 1000`. The whole-word oracle
// (`rg -w`) is checked as well: every file it finds is reached by the word's own hits, before the
// words that contain it.
//
// Left out, so that rg and the index look at the same text:
// - stop words (a query of one stop word is a usage error by contract);
// - words that redaction removes or changes in some file (the index never sees a secret);
// - front-matter keys (`title:`, `tags:`, `status:` ...): syntax, not content.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, cliAsync, EXAMPLE, inParallel, REPO, tempDir, type CliResult } from "../helpers/cli.ts";
import { makeRedactor, normalizeText } from "../../src/pipeline/text.ts";

setDefaultTimeout(120_000);

const WORKSPACES: { name: string; dir: string; words: number }[] = [
  { name: "examples/workspace", dir: EXAMPLE, words: 9 },
  { name: "tests/fixtures/relevance", dir: join(REPO, "tests", "fixtures", "relevance"), words: 22 },
  { name: "tests/fixtures/stores/workspace", dir: join(REPO, "tests", "fixtures", "stores", "workspace"), words: 5 },
].filter((w) => existsSync(w.dir));

/** English stop words of 4+ letters (shorter words are never chosen). */
const STOP = new Set(`about above after again against also because been before being below between both could does doing down
during each from further have having here hers herself himself into itself just more most must myself once only other ours
ourselves over same shall should some such than that their theirs them themselves then there these they this those through
under until upon very were what when where which while whom will with would your yours yourself yourselves`.split(/\s+/));

/** The default redaction (every detector on), as an ingest without a config file applies it. */
const redact = makeRedactor({ enabled: true, detectors: ["pem_private_key", "jwt", "bearer_token", "credential_kv", "url_credentials", "vendor_token"] });

const WORD = /[\p{L}\p{N}_]+/gu;
const wordsOf = (text: string): Set<string> => new Set((text.toLowerCase().match(WORD) ?? []).filter((w) => /^\p{L}{4,}$/u.test(w)));
const frontMatterKeys = (text: string): string[] => {
  if (!text.startsWith("---\n")) return [];
  const end = text.indexOf("\n---", 3);
  return end < 0 ? [] : [...text.slice(4, end).matchAll(/^([A-Za-z_][\w-]*):/gm)].map((m) => m[1]!.toLowerCase());
};

/** Up to `n` words spread evenly over the sorted candidates: deterministic, and not all from one end of the alphabet. */
const spread = (sorted: string[], n: number) =>
  sorted.length <= n ? sorted : Array.from({ length: n }, (_, i) => sorted[Math.floor((i * sorted.length) / n)]!);


/** Files (workspace-relative) holding `word` (as a whole word with `whole`), case-insensitively, by ripgrep. */
function rgFiles(root: string, files: string[], word: string, whole = false): string[] {
  const p = Bun.spawnSync(["rg", ...(whole ? ["-w"] : []), "-F", "-i", "-l", "--no-messages", "--", word, ...files], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0 && p.exitCode !== 1) throw new Error(`rg failed for '${word}': ${p.stderr.toString()}`);
  return p.stdout.toString().split("\n").filter(Boolean).map((f) => f.replace(/^\.\//, "")).sort();
}

type Probe = { word: string; files: string[]; wholeFiles: string[]; result?: CliResult };
type Outcome = { name: string; okFiles: string[]; probes: Probe[] };

const outcomes: Outcome[] = [];

beforeAll(async () => {
  if (!Bun.which("rg")) throw new Error("rg (ripgrep) is not installed (.ci/run installs it from .ci/packages.txt)");
  const all: { probe: Probe; root: string }[] = [];
  for (const ws of WORKSPACES) {
    const root = tempDir("ag-recall-");
    cpSync(ws.dir, root, { recursive: true, filter: (src) => !src.includes("/.pkg") });
    const ing = cli(["ingest", "--root", root, "--json"]);
    if (ing.code !== 0) throw new Error(`ingest of ${ws.name} failed (exit ${ing.code}): ${ing.stderr}`);
    const show = cli(["runs", "show", "--root", root, ing.json.run_id, "--json"]);
    if (show.code !== 0) throw new Error(`runs show on ${ws.name} failed: ${show.stderr}`);
    const okFiles: string[] = show.json.files.filter((f: any) => f.status === "ok" && !f.path.split("/").includes(".pkg")).map((f: any) => f.path).sort();

    // Candidates, counted per file the way rg -w sees them; a word whose presence redaction changes is left out.
    const fileCount = new Map<string, number>();
    const excluded = new Set<string>(STOP);
    for (const f of okFiles) {
      const raw = readFileSync(join(root, f), "utf8");
      const words = wordsOf(raw);
      const kept = wordsOf(redact(normalizeText(raw)));
      for (const w of words) {
        fileCount.set(w, (fileCount.get(w) ?? 0) + 1);
        if (!kept.has(w)) excluded.add(w);
      }
      for (const k of frontMatterKeys(raw)) excluded.add(k);
    }
    const candidates = [...fileCount].filter(([w, n]) => n >= 1 && n <= 5 && !excluded.has(w)).map(([w]) => w).sort();
    const probes = spread(candidates, ws.words).map((word) => ({ word, files: rgFiles(root, okFiles, word), wholeFiles: rgFiles(root, okFiles, word, true) }));
    outcomes.push({ name: ws.name, okFiles, probes });
    for (const probe of probes) all.push({ probe, root });
  }
  await inParallel(all, async ({ probe, root }) => {
    probe.result = await cliAsync(["query", "--root", root, "--json", "--explain", "--limit", "1000", probe.word]);
  });
});
afterAll(cleanup);

describe("recall: every file rg finds for a word, query finds too", () => {
  for (const ws of WORKSPACES) {
    test(ws.name, () => {
      const o = outcomes.find((x) => x.name === ws.name)!;
      expect(o.okFiles.length, "files ingested").toBeGreaterThan(0);
      expect(o.probes.length, "words chosen").toBeGreaterThanOrEqual(Math.min(ws.words, 5));
      const failures: string[] = [];
      const stopped: string[] = [];
      for (const p of o.probes) {
        const r = p.result!;
        if (p.files.length === 0) failures.push(`${p.word}: rg finds no file (the word choice is broken)`);
        if (r.code === 2 && /stop ?word/i.test(r.stderr)) { stopped.push(p.word); continue; }
        if (r.code !== 0 || r.json?.status !== "ok") { failures.push(`${p.word}: exit ${r.code}: ${r.stderr.trim().split("\n")[0]}`); continue; }
        const hit = new Set(r.json.hits.map((h: any) => h.path));
        const missing = p.files.filter((f) => !hit.has(f));
        if (missing.length) failures.push(`${p.word}: rg finds ${p.files.join(", ")}; query misses ${missing.join(", ")}`);
        // The files holding the whole word are all among the hits before the first in-word one
        // (--explain marks those with the factor their scores were scaled by).
        const inWord = r.json.hits.findIndex((h: any) => h.explain?.scaled !== undefined);
        const own = new Set((inWord < 0 ? r.json.hits : r.json.hits.slice(0, inWord)).map((h: any) => h.path));
        const late = p.wholeFiles.filter((f) => !own.has(f));
        if (late.length) failures.push(`${p.word}: rg -w finds ${late.join(", ")} only after the in-word hits`);
      }
      // A longer stop list than ours is the implementation's choice, within reason.
      expect(stopped.length, `treated as stop words: ${stopped.join(", ")}`).toBeLessThanOrEqual(3);
      expect(failures, `words: ${o.probes.map((p) => p.word).join(" ")}`).toEqual([]);
    });
  }
});
