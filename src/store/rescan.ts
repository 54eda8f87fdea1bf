/**
 * Re-scanning stored texts: every document text of the given runs' text segments, handed to a
 * finder the caller supplies (the current redaction detectors, see `validate-store`), with what it
 * finds located by run, path and line. Read-only. A text segment shared by several runs is read
 * once and its findings are reported for each of them. Text table keys are `<path>\0<page>`
 * (pipeline/shard.ts, pageKey); a document's pages are consecutive and concatenated before the scan,
 * so a line is the line of the stored (normalized, redacted) text, as query hits give it.
 */
import { objectPath } from "./layout.ts";
import type { Manifest } from "./manifest.ts";
import { misplaced } from "./objects.ts";
import { artifactMismatch, Segment } from "./segment.ts";

/** What a finder reports in one text: a 1-based line and the kind of thing found there. Never the thing itself. */
export type Found = { line: number; kind: string };
export type Finding = { run_id: string; path: string; line: number; kind: string };
export type RescanResult = { runs: string[]; objects: number; texts: number; bytes: number; findings: Finding[] };

const utf8 = new TextDecoder();

export function rescanRuns(profileDir: string, runs: { runId: string; manifest: Manifest }[], find: (text: string) => Found[]): RescanResult {
  // text object sha256 → the runs that use it, and the artifact names it is listed as
  const users = new Map<string, string[]>();
  const names = new Map<string, Set<string>>();
  for (const { runId, manifest } of runs) {
    for (const a of manifest.artifacts) {
      if (!a.name.startsWith("text/")) continue;
      const list = users.get(a.sha256) ?? [];
      list.push(runId);
      users.set(a.sha256, list);
      names.set(a.sha256, (names.get(a.sha256) ?? new Set()).add(a.name));
    }
  }
  const out: RescanResult = { runs: runs.map((r) => r.runId), objects: users.size, texts: 0, bytes: 0, findings: [] };
  for (const sha of [...users.keys()].sort()) {
    const seg = new Segment(objectPath(profileDir, sha));
    try {
      for (const name of [...names.get(sha)!].sort()) {
        const wrong = artifactMismatch(seg.header, name);
        if (wrong) throw misplaced(objectPath(profileDir, sha), wrong);
      }
      let path: string | undefined;
      let parts: Uint8Array[] = [];
      const flush = () => {
        if (path === undefined) return;
        const text = utf8.decode(Buffer.concat(parts));
        out.texts++;
        out.bytes += parts.reduce((s, p) => s + p.length, 0);
        for (const f of find(text)) for (const runId of users.get(sha)!) out.findings.push({ run_id: runId, path, line: f.line, kind: f.kind });
      };
      for (const [key, bytes] of seg.rangeBytes("text")) {
        const p = key.slice(0, key.lastIndexOf("\0"));
        if (p !== path) { flush(); path = p; parts = []; }
        parts.push(bytes);
      }
      flush();
    } finally {
      seg.close();
    }
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  out.findings.sort((a, b) => cmp(a.run_id, b.run_id) || cmp(a.path, b.path) || a.line - b.line || cmp(a.kind, b.kind));
  return out;
}
