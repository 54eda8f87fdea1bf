// readManifest with lazyFiles (what read commands use): the manifest without its file list, from
// reads of its head and tail, must be the manifest a whole read gives, however long the artifacts
// before the list, the list itself, or the warnings after it; a damaged or truncated file is
// reported as a whole read reports it. Manifests as written now (manifestText: a line per file) and
// as written before (indented throughout) read alike.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARTIFACT_SCHEMA_VERSION } from "../../src/schema/version.ts";
import { canonicalJson } from "../../src/shared/json.ts";
import * as v from "valibot";
import { FileRecordSchema, ManifestSchema, manifestText, readManifest, readSplit, type Manifest } from "../../src/store/manifest.ts";
import { manifestPath } from "../../src/store/layout.ts";

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const RUN = "run_" + "ab".repeat(16);
const sha = (i: number) => (i.toString(16).padStart(8, "0")).repeat(8);

/**
 * A canonical manifest with `artifacts` artifacts, `files` files (with a non-ASCII path) and `warnings`
 * run warnings, as manifestText writes it, or indented throughout (`indented`: as written before).
 */
function write(opts: { artifacts: number; files: number; warnings: number; indented?: boolean }): string {
  const profileDir = mkdtempSync(join(tmpdir(), "ag-manifest-"));
  dirs.push(profileDir);
  const manifest = {
    schema_version: ARTIFACT_SCHEMA_VERSION, auditgraph_version: "0.1.0", run_id: RUN, profile: "default",
    config_hash: sha(1), inputs_hash: sha(2), outputs_hash: sha(3), counts: { files: opts.files },
    files: Array.from({ length: opts.files }, (_, i) => ({ path: `notes/é-${String(i).padStart(6, "0")}.md`, sha256: sha(i), bytes: i, status: "ok" })),
    artifacts: Array.from({ length: opts.artifacts }, (_, i) => ({ name: `index/${String(i).padStart(4, "0")}`, sha256: sha(i), bytes: i })),
    ...(opts.warnings ? { warnings: Array.from({ length: opts.warnings }, (_, i) => `git: repository ${i} cannot be read`) } : {}),
  };
  mkdirSync(join(profileDir, "runs", RUN), { recursive: true });
  writeFileSync(manifestPath(profileDir, RUN), opts.indented ? canonicalJson(manifest, 2) + "\n" : manifestText(manifest as Manifest));
  return profileDir;
}

test.each([
  { artifacts: 3, files: 2, warnings: 0 },
  { artifacts: 2_000, files: 5_000, warnings: 0 }, // the artifacts alone are past the first 64 KiB read
  { artifacts: 10, files: 3_000, warnings: 3_000 }, // so are the warnings after the list
].flatMap((o) => [{ ...o, indented: false }, { ...o, indented: true }]))("without its file list, the manifest is the whole read's ($artifacts artifacts, $files files, $warnings warnings, indented: $indented)", (opts) => {
  const dir = write(opts);
  expect(readSplit(manifestPath(dir, RUN))).toBeDefined(); // head and tail found, not a whole read
  const whole = readManifest(dir, RUN);
  const lazy = readManifest(dir, RUN, { lazyFiles: true });
  if (!whole.ok || !lazy.ok) throw new Error("unreadable");
  expect(lazy.manifest.artifacts).toEqual(whole.manifest.artifacts);
  expect(lazy.manifest.warnings).toEqual(whole.manifest.warnings);
  expect(lazy.manifest.counts).toEqual(whole.manifest.counts);
  expect(lazy.manifest.files).toEqual(whole.manifest.files); // read when asked for
  expect(lazy.manifest.files[1]!.path).toBe("notes/é-000001.md");
});

test("manifestText: the canonical JSON value, a line per artifact and per file, the same bytes each time", () => {
  const m = {
    schema_version: ARTIFACT_SCHEMA_VERSION, auditgraph_version: "0.1.0", run_id: RUN, profile: "default",
    config_hash: sha(1), inputs_hash: sha(2), outputs_hash: sha(3), counts: { ok: 2, files: 3 },
    files: [{ status: "ok", path: "a \"quoted\"\nname.md", bytes: 1, sha256: sha(4), warnings: ["2: bad"] }, { path: "b.md", bytes: 2, status: "skipped", reason: "binary" }],
    artifacts: [{ name: "index/00", sha256: sha(5), bytes: 9, counts: { files: 1 } }], warnings: ["git: x"],
  } as Manifest;
  const text = manifestText(m);
  expect(JSON.parse(text)).toEqual(JSON.parse(canonicalJson(m)));
  expect(manifestText(JSON.parse(text))).toBe(text);
  const lines = text.split("\n");
  expect(lines).toContain(`    ${canonicalJson(m.files[0])},`);
  expect(lines).toContain(`    ${canonicalJson(m.files[1])}`);
  expect(lines).toContain(`    ${canonicalJson(m.artifacts[0])}`);
  expect(lines).toContain('    "files": 3,'); // other values indented as before
  expect(text.endsWith("}\n")).toBe(true);
  expect(manifestText({ ...m, files: [] })).toContain('"files": [],');
});

test("a truncated manifest is reported as a whole read reports it, wherever it was cut", () => {
  for (const indented of [false, true]) {
    const dir = write({ artifacts: 200, files: 4_000, warnings: 0, indented });
    const p = manifestPath(dir, RUN);
    expect(statSync(p).size).toBeGreaterThan(550_000);
    for (const at of [100, 30_000, 300_000, 550_000]) {
      truncateSync(p, at);
      expect(readSplit(p)).toBeUndefined();
      const r = readManifest(dir, RUN, { lazyFiles: true });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem).toBe(`manifest ${p} is not valid JSON (truncated?)`);
    }
  }
});

test("file records are accepted exactly when FileRecordSchema accepts them, read whole or lazily", () => {
  // readManifest checks a list of file records by hand first (src/store/manifest.ts isFileRecords)
  // and falls back to the schema: neither way may accept what the schema refuses.
  const good = { path: "notes/a.md", sha256: sha(7), bytes: 12, status: "ok", warnings: ["3: invalid front matter"] };
  const cases: Record<string, unknown> = {
    "a full record": good,
    "a skipped record": { path: "b.bin", bytes: 0, status: "skipped", reason: "binary" },
    "an extra key": { ...good, extra: 1 },
    "no path": { ...good, path: undefined },
    "a numeric path": { ...good, path: 5 },
    "an unknown status": { ...good, status: "done" },
    "negative bytes": { ...good, bytes: -1 },
    "fractional bytes": { ...good, bytes: 1.5 },
    "bytes as text": { ...good, bytes: "12" },
    "a short sha256": { ...good, sha256: "abc" },
    "an upper-case sha256": { ...good, sha256: "AB".repeat(32) },
    "a numeric reason": { ...good, reason: 4 },
    "warnings as text": { ...good, warnings: "3: bad" },
    "a numeric warning": { ...good, warnings: [3] },
    "null": null,
    "an array": [good],
  };
  const accepted: string[] = [];
  for (const [name, record] of Object.entries(cases)) {
    const profileDir = mkdtempSync(join(tmpdir(), "ag-manifest-"));
    dirs.push(profileDir);
    const files = [{ path: "notes/0.md", sha256: sha(1), bytes: 1, status: "ok" }, JSON.parse(JSON.stringify(record) ?? "null")];
    const manifest = {
      schema_version: ARTIFACT_SCHEMA_VERSION, auditgraph_version: "0.1.0", run_id: RUN, profile: "default",
      config_hash: sha(1), inputs_hash: sha(2), outputs_hash: sha(3), counts: { files: 2 }, files, artifacts: [],
    };
    mkdirSync(join(profileDir, "runs", RUN), { recursive: true });
    writeFileSync(manifestPath(profileDir, RUN), canonicalJson(manifest, 2) + "\n");
    const valid = v.safeParse(v.array(FileRecordSchema), files).success;
    const whole = readManifest(profileDir, RUN);
    expect({ name, ok: whole.ok }).toEqual({ name, ok: valid });
    const lazy = readManifest(profileDir, RUN, { lazyFiles: true });
    if (!lazy.ok) throw new Error(`${name}: the lazy read refused the manifest's head`);
    let read = true;
    try { void lazy.manifest.files; } catch { read = false; }
    expect({ name, lazy: read }).toEqual({ name, lazy: valid });
    if (valid) accepted.push(name);
  }
  expect(accepted).toEqual(["a full record", "a skipped record", "an extra key"]);
});

test("a manifest's head is accepted exactly when ManifestSchema accepts it, and read as the schema outputs it", () => {
  // readManifest checks the fields other than the file records by hand first (isManifestHead)
  // and falls back to the schema, which says what is wrong and drops unknown keys.
  const artifact = { name: "index/00", sha256: sha(4), bytes: 10, counts: { chunks: 3, shards: 1 } };
  const head = {
    schema_version: ARTIFACT_SCHEMA_VERSION, auditgraph_version: "0.1.0", run_id: RUN, profile: "default",
    config_hash: sha(1), inputs_hash: sha(2), outputs_hash: sha(3), counts: { files: 1 }, artifacts: [artifact], warnings: ["git: no repository"],
  };
  const cases: Record<string, Record<string, unknown>> = {
    "a full head": head,
    "no warnings": { ...head, warnings: undefined },
    "an extra key": { ...head, extra: 1 },
    "an artifact with an extra key": { ...head, artifacts: [{ ...artifact, extra: true }] },
    "an artifact without counts": { ...head, artifacts: [{ ...artifact, counts: undefined }] },
    "a bad run id": { ...head, run_id: "run_1" },
    "a numeric profile": { ...head, profile: 1 },
    "no schema_version": { ...head, schema_version: undefined },
    "a short config_hash": { ...head, config_hash: "abc" },
    "a negative count": { ...head, counts: { files: -1 } },
    "a fractional count": { ...head, counts: { files: 0.5 } },
    "counts as a list": { ...head, counts: [1] },
    "artifacts as an object": { ...head, artifacts: { a: artifact } },
    "an artifact without sha256": { ...head, artifacts: [{ ...artifact, sha256: undefined }] },
    "an artifact with text bytes": { ...head, artifacts: [{ ...artifact, bytes: "10" }] },
    "an artifact count as text": { ...head, artifacts: [{ ...artifact, counts: { chunks: "3" } }] },
    "warnings as text": { ...head, warnings: "bad" },
  };
  const accepted: string[] = [];
  for (const [name, fields] of Object.entries(cases)) {
    const profileDir = mkdtempSync(join(tmpdir(), "ag-manifest-"));
    dirs.push(profileDir);
    const manifest = JSON.parse(JSON.stringify({ ...fields, files: [{ path: "notes/0.md", sha256: sha(1), bytes: 1, status: "ok" }] }));
    mkdirSync(join(profileDir, "runs", RUN), { recursive: true });
    writeFileSync(manifestPath(profileDir, RUN), canonicalJson(manifest, 2) + "\n");
    const schema = v.safeParse(ManifestSchema, manifest);
    for (const lazyFiles of [false, true]) {
      const r = readManifest(profileDir, RUN, { lazyFiles });
      expect({ name, lazyFiles, ok: r.ok }).toEqual({ name, lazyFiles, ok: schema.success });
      if (r.ok && schema.success) expect(JSON.parse(JSON.stringify(r.manifest))).toEqual(JSON.parse(JSON.stringify(schema.output)));
      if (!r.ok && !schema.success) expect(r.problem).toContain(schema.issues[0].message);
    }
    if (schema.success) accepted.push(name);
  }
  // (the schema library takes a list as a record of its indexes)
  expect(accepted).toEqual(["a full head", "no warnings", "an extra key", "an artifact with an extra key", "an artifact without counts", "counts as a list"]);
});
