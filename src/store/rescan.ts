/**
 * Re-scanning what a store holds of the users' content: handed to a finder the caller supplies (the
 * current redaction detectors, see `validate-store`), with what it finds located by run and place.
 * Read-only. An object shared by several runs is read once and its findings are reported for each.
 *
 * - Document texts (`text/` segments): text table keys are `<path>\0<page>` (pipeline/shard.ts,
 *   pageKey); a document's pages are consecutive and concatenated before the scan, so a line is the
 *   line of the stored (normalized, redacted) text, as query hits give it.
 * - Document records (the `docs` table of `index/` segments): every string but the path (and the
 *   source's sha256), such as a
 *   title taken from a PDF's or a Word file's metadata, front matter values, section names, symbol
 *   and module names, warnings. A string that the document's stored text holds as it is was scanned
 *   with that text (and is reported at its line there), so only the others are reported, at the
 *   record's field (`title`, `frontmatter.KEY`, `sections`…). Every other table of the segment is
 *   made from these records (names, terms) and is not read.
 * - Other artifacts (JSON objects, such as `git`): the strings `artifactStrings` picks from them
 *   (commit subjects, author names), reported at a node id and field.
 *
 * File paths are not scanned: they are the documents' names, never redacted, so a rebuild would
 * store them again.
 */
import { objectPath } from "./layout.ts";
import type { Manifest } from "./manifest.ts";
import { misplaced, readObject } from "./objects.ts";
import { artifactMismatch, Segment } from "./segment.ts";

/** What a finder reports in one text: a 1-based line and the kind of thing found there. Never the thing itself. */
export type Found = { line: number; kind: string };
/**
 * Where a finding is: a document's text (`path`, `line`), a field of a document's record (`path`,
 * `field`), or a field of a node of another artifact (`node`, `field`: a commit's subject).
 */
export type Finding = { run_id: string; path?: string; line?: number; node?: string; field?: string; kind: string };
/** A string an artifact stores that came from the users' content, and where it is. */
export type StoredString = { node: string; field: string; text: string };
export type RescanOptions = {
  /** The strings of a JSON artifact (not a segment) to scan, by artifact name; undefined: not scanned. */
  artifactStrings?: (name: string, value: unknown) => Iterable<StoredString> | undefined;
};
export type RescanResult = { runs: string[]; objects: number; texts: number; strings: number; bytes: number; findings: Finding[] };

type Place = Omit<Finding, "run_id">;
const utf8 = new TextDecoder();
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A location as text: `path:line`, `path (field)` or `node (field)`. */
export const placeText = (f: Place): string =>
  f.line !== undefined ? `${f.path}:${f.line}` : `${f.path ?? f.node} (${f.field})`;

export function rescanRuns(
  profileDir: string, runs: { runId: string; manifest: Manifest }[], find: (text: string) => Found[], opts: RescanOptions = {},
): RescanResult {
  // object sha256 → the runs that use it, and the artifact names it is listed as
  const uses = new Map<string, { runs: string[]; names: Set<string> }>();
  // index object sha256 → the text object of the same shard (of the first run listing it)
  const textOf = new Map<string, string>();
  for (const { runId, manifest } of runs) {
    const byName = new Map(manifest.artifacts.map((a) => [a.name, a.sha256]));
    for (const a of manifest.artifacts) {
      const isSeg = a.name.startsWith("text/") || a.name.startsWith("index/");
      if (!isSeg && !opts.artifactStrings) continue;
      let use = uses.get(a.sha256);
      if (!use) uses.set(a.sha256, (use = { runs: [], names: new Set() }));
      if (!use.runs.includes(runId)) use.runs.push(runId);
      use.names.add(a.name);
      if (a.name.startsWith("index/")) {
        const t = byName.get(`text/${a.name.slice(6)}`);
        if (t && !textOf.has(a.sha256)) textOf.set(a.sha256, t);
      }
    }
  }
  const out: RescanResult = { runs: runs.map((r) => r.runId), objects: 0, texts: 0, strings: 0, bytes: 0, findings: [] };
  const report = (sha: string, places: Place[]) => {
    for (const p of places) for (const runId of uses.get(sha)!.runs) out.findings.push({ run_id: runId, ...p });
  };
  for (const sha of [...uses.keys()].sort()) {
    const as = [...uses.get(sha)!.names].sort();
    if (as.every((n) => n.startsWith("text/"))) { out.objects++; report(sha, scanTexts(profileDir, sha, as, find, out)); }
    else if (as.every((n) => n.startsWith("index/"))) { out.objects++; report(sha, scanRecords(profileDir, sha, as, textOf.get(sha), find, out)); }
    else if (as.every((n) => !n.startsWith("text/") && !n.startsWith("index/"))) {
      const places: Place[] = [];
      let value: unknown;
      for (const name of as) {
        value ??= readObject<unknown>(profileDir, sha);
        const strings = opts.artifactStrings!(name, value);
        if (!strings) continue;
        for (const s of strings) {
          out.strings++;
          out.bytes += Buffer.byteLength(s.text);
          for (const kind of kindsOf(find(s.text))) places.push({ node: s.node, field: s.field, kind });
        }
      }
      if (value !== undefined) out.objects++;
      report(sha, places);
    } else {
      // One object listed as a segment and as something else: the segment check names the mismatch.
      openChecked(profileDir, sha, as).close();
    }
  }
  out.findings = dedupe(out.findings).sort((a, b) =>
    cmp(a.run_id, b.run_id) || cmp(a.path ?? "\uffff" + a.node, b.path ?? "\uffff" + b.node)
    || (a.line ?? 0) - (b.line ?? 0) || cmp(a.field ?? "", b.field ?? "") || cmp(a.kind, b.kind));
  return out;
}

const kindsOf = (found: Found[]) => [...new Set(found.map((f) => f.kind))].sort();

function dedupe(fs: Finding[]): Finding[] {
  const seen = new Set<string>();
  return fs.filter((f) => {
    const k = JSON.stringify([f.run_id, f.path, f.line, f.node, f.field, f.kind]);
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/** Opens a segment and checks it is what each of its artifact names says. */
function openChecked(profileDir: string, sha: string, as: string[]): Segment {
  const seg = new Segment(objectPath(profileDir, sha));
  try {
    for (const name of as) {
      const wrong = artifactMismatch(seg.header, name);
      if (wrong) throw misplaced(objectPath(profileDir, sha), wrong);
    }
  } catch (e) { seg.close(); throw e; }
  return seg;
}

/** Every document text of a text segment, whole. */
function* documentTexts(seg: Segment, from = "", to?: string): Generator<[string, Uint8Array[]]> {
  let path: string | undefined;
  let parts: Uint8Array[] = [];
  for (const [key, bytes] of seg.rangeBytes("text", from, to)) {
    const p = key.slice(0, key.lastIndexOf("\0"));
    if (p !== path) { if (path !== undefined) yield [path, parts]; path = p; parts = []; }
    parts.push(bytes);
  }
  if (path !== undefined) yield [path, parts];
}

function scanTexts(profileDir: string, sha: string, as: string[], find: (text: string) => Found[], out: RescanResult): Place[] {
  const seg = openChecked(profileDir, sha, as);
  const places: Place[] = [];
  try {
    for (const [path, parts] of documentTexts(seg)) {
      out.texts++;
      out.bytes += parts.reduce((s, p) => s + p.length, 0);
      for (const f of find(utf8.decode(Buffer.concat(parts)))) places.push({ path, line: f.line, kind: f.kind });
    }
  } finally { seg.close(); }
  return places;
}

/** A string of a record: [field, text, the front matter key it is under, that key's place (1-based)]. */
type RecordString = [field: string, text: string, key?: string, index?: number];

/**
 * Every string of a record (all but its path and its source's sha256), front matter keys included (a key can be a secret too: the YAML
 * `"AKIA…": x` is a key). Under the front matter the field is its top-level key, named only when
 * the report is made (fieldOf), so a key that is itself a secret is never printed.
 */
function recordStrings(rec: Record<string, unknown>): RecordString[] {
  const out: RecordString[] = [];
  const walk = (v: unknown, field: string, key?: string, index?: number) => {
    if (typeof v === "string") out.push([field, v, key, index]);
    else if (Array.isArray(v)) for (const x of v) walk(x, field, key, index);
    else if (v && typeof v === "object") {
      let i = 0;
      for (const [k, x] of Object.entries(v)) {
        i++;
        const top = field === "frontmatter" && key === undefined;
        if (field === "frontmatter") out.push([field, k, top ? k : key, top ? i : index]);
        walk(x, field, top ? k : key, top ? i : index);
      }
    }
  };
  for (const [k, v] of Object.entries(rec)) if (k !== "path" && k !== "sha256") walk(v, k);
  return out;
}

/** The field a finding is reported under: `frontmatter.<key>`, or the key's place when the key holds a secret itself. */
const fieldOf = ([field, , key, index]: RecordString, find: (text: string) => Found[]): string =>
  key === undefined ? field : find(key).length ? `${field} (key #${index})` : `${field}.${key}`;

function scanRecords(
  profileDir: string, sha: string, as: string[], textSha: string | undefined, find: (text: string) => Found[], out: RescanResult,
): Place[] {
  const seg = openChecked(profileDir, sha, as);
  const places: Place[] = [];
  let text: Segment | undefined;
  try {
    for (const [, rec] of seg.range<Record<string, unknown>>("docs")) {
      const path = typeof rec?.path === "string" ? rec.path : "";
      const strings = recordStrings(rec ?? {});
      out.strings += strings.length;
      const joined = strings.map(([, s]) => s).join("\n");
      out.bytes += Buffer.byteLength(joined);
      // One pass over all of them; string by string only when something is found.
      if (find(joined).length === 0) continue;
      let body: string | undefined;
      for (const str of strings) {
        const s = str[1];
        const found = find(s);
        if (found.length === 0) continue;
        if (body === undefined && textSha) {
          text ??= new Segment(objectPath(profileDir, textSha));
          body = "";
          for (const [, parts] of documentTexts(text, `${path}\0`, `${path}\x01`)) body = utf8.decode(Buffer.concat(parts));
        }
        if (body && body.includes(s)) continue; // reported at its line by the text's scan
        const field = fieldOf(str, find);
        for (const kind of kindsOf(found)) places.push({ path, field, kind });
      }
    }
  } finally { seg.close(); text?.close(); }
  return places;
}
