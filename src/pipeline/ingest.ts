/**
 * One ingest run: plan in memory, gate, then write.
 *
 *   planRun   scan → records (stat cache first) → changed shards rebuilt (normalize → redact →
 *             extract → encode; workers for full runs) → manifest. Returns the exact bytes it
 *             would write; nothing visible is written: each new object is spilled to a temp file
 *             in a staging directory (`<profile>/.tmp-objects.*`) as soon as it is built, so memory
 *             does not grow with the workspace.
 *   writeRun  new objects (renamed from the staging directory) → fsync → manifest → pointer (last)
 *             → stat cache → runs.log
 *   ingest    lock → compat gate → planRun → budget gate → writeRun (blocked or failed: the
 *             staging directory is removed)
 *
 * Files are grouped into shards by document id (shardCount: 4 to 64 by the number of files); each shard is two objects (index, text),
 * so one changed file rewrites two objects. Unchanged files are not read (stat cache) and their
 * extracted entries are reused from the previous run's shard objects.
 */
import { existsSync, mkdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import type { Workspace } from "../config/load.ts";
import { budgetGate, budgetMessage, evaluateBudget, ingestedBytes, type Budget } from "../policy/budget.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../schema/version.ts";
import { VERSION } from "../shared/build-info.ts";
import { AgError, describeError, DISK_FULL_HINT, ExitCode, isDiskFull, whyWriteFailed } from "../shared/errors.ts";
import { atomicWriteFile, fsyncDir, TEMP_PREFIX } from "../shared/fs.ts";
import { sha256Hex } from "../shared/hash.ts";
import { canonicalJson, canonicalJsonOfItems } from "../shared/json.ts";
import { group } from "../shared/maps.ts";
import { checkProfile, manifestPath, objectPath, objectsDir, pkgDir, pointerPath, oldStatCachePath, runLogPath, runsDir, statCachePath } from "../store/layout.ts";
import { acquireLock } from "../store/lock.ts";
import { manifestText, outputsHash, pointerState, type Artifact, type CurrentRun, type FileRecord, type Manifest } from "../store/manifest.ts";
import { encodeText, hasObject, objectState, readObjectText, spillObject, type SpilledObject } from "../store/objects.ts";
import { compatGate } from "../store/open.ts";
import { Segment } from "../store/segment.ts";
import { appendRunLog, runLogLine, runStartLine, undoAppend, type LogMark } from "../store/run-log.ts";
import { dropOversizedCaches, sweepTemp } from "../store/sweep.ts";
import { encodeStatCache, loadStatCache, type StatCache, type StatEntries } from "../store/statcache.ts";
import { measureUsage } from "../store/usage.ts";
import { DEFAULT_MAX_DOCUMENT_BYTES, isDocumentPath } from "./documents/index.ts";
import { checkIncludes, scan, sizeLimit, type Found } from "./scan.ts";
import { makeRedactor } from "./text.ts";
import { GIT_ARTIFACT, type GitGraph } from "../git/graph.ts";
import { sharedPrefix, type SharedPrefix } from "./extract.ts";
import { entryUrl } from "../shared/entries.ts";
import { TYPE_COUNT_KEYS, bestSymbols, buildShard, collectIfLarge, countSymbolMentions, localExtractors, readSource, readSummary, symbolMentionsOf, symbolsOf, shardCount, shardName, shardOf, toRecord, type Mention, type ShardResult, type ShardSummary, type ShardTask } from "./shard.ts";

/** Up to this many changed shards the work runs inline: starting workers would cost more. */
const INLINE_SHARDS = 2;

export type RunPlan = {
  runId: string;
  manifest: Manifest;
  manifestText: string;
  /** The current run already is this run: nothing to write. */
  unchanged: boolean;
  /**
   * Objects not yet in the store, waiting in temp files under `stageDir`; `repair`: one whose file
   * is there but damaged (other bytes, unreadable), which the rename replaces.
   */
  newObjects: (SpilledObject & { repair?: true })[];
  /**
   * The staging directory (inside the profile directory, named with TEMP_PREFIX) holding the
   * spilled objects; absent when no shard was built. writeRun empties and removes it; a plan that
   * is not written must be discarded (`discardPlan`).
   */
  stageDir?: string;
  /** The stat cache to write (zstd JSON), when it differs from the one on disk. */
  statCacheData?: Uint8Array;
  /** Bytes the write would add under the profile directory. */
  planBytes: number;
  sourceBytes: number;
  processed: number;
  reused: number;
};

export type PlanOptions = {
  /** Ignore the stat cache and previous entries (a full run; `rebuild`). */
  ignoreCaches?: boolean;
  /** Mixed into the run id so that a forced run gets a new id. */
  runSalt?: string;
  onProgress?: (done: number, total: number) => void;
  /** Called once the plan knows how many shards it rebuilds, before it builds them. */
  onBuild?: (shards: number) => void;
};

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** What a worker (or the inline path) hands back: a shard's result with its objects spilled to temp files. */
export type SpilledShardResult = Omit<ShardResult, "objects"> & {
  objects?: { index: SpilledObject; text: SpilledObject; counts: NonNullable<ShardResult["objects"]>["counts"] };
};
/** A worker's message: the shard to build and the staging directory its objects go to. */
export type ShardJob = { task: ShardTask; stage: string };
/** A worker asks the main thread for a document's text or a code file's symbols (see shard-worker.ts). */
export type ExtractRequest = { kind: "extract"; id: number } & ({ what: "document"; path: string; buf: Uint8Array } | { what: "symbols"; path: string; text: string });
export type ExtractReply = { kind: "extracted"; id: number; result?: unknown; error?: string };
/** What a worker posts: a request, or its shard built. */
export type WorkerMessage = ExtractRequest | { kind: "done"; result: SpilledShardResult };

/** Answers a worker's extraction request with the main thread's extractors (parsers loaded once per run). */
async function serveExtract(w: Worker, req: ExtractRequest): Promise<void> {
  let reply: ExtractReply;
  try {
    const result = req.what === "document" ? await localExtractors.documentText(req.path, req.buf) : await localExtractors.symbols(req.path, req.text);
    reply = { kind: "extracted", id: req.id, result };
  } catch (err) {
    reply = { kind: "extracted", id: req.id, error: describeError(err) };
  }
  try { w.postMessage(reply); } catch { /* the worker was stopped meanwhile */ }
}

/** Writing the temp file of a new object failed (disk full, I/O error): reported like a failed write. */
class SpillError extends Error {
  constructor(readonly reason: unknown) { super(describeError(reason)); }
}

/** Spills a built shard's two objects into `stage`; only their names and sizes are returned. */
export function spillShard(res: ShardResult, stage: string): SpilledShardResult {
  const { objects, ...rest } = res;
  if (!objects) return rest;
  try {
    return { ...rest, objects: { index: spillObject(objects.index, stage), text: spillObject(objects.text, stage), counts: objects.counts } };
  } catch (err) {
    throw new SpillError(err);
  }
}

let stages = 0;
/** A new staging directory for spilled objects (creating the profile directory if needed; call with the lock held). */
function makeStage(profileDir: string): string {
  stages = (stages + 1) % 1e9;
  const dir = join(profileDir, `${TEMP_PREFIX}objects.${process.pid}.${stages}`);
  try { mkdirSync(dir, { recursive: true }); } catch (err) { throw new SpillError(err); }
  return dir;
}

/** Removes what a plan spilled (its staging directory). For a plan that will not be written. */
export function discardPlan(plan: RunPlan): void {
  if (plan.stageDir) rmSync(plan.stageDir, { recursive: true, force: true });
}

/**
 * `current`: the current run as the compatibility gate read it (`{ state: "empty" }` for a full run).
 * Call with the write lock held: new objects are spilled to temp files in the profile directory
 * (created if missing); if planning throws they are removed again.
 */
export async function planRun(ws: Workspace, current: CurrentRun, opts: PlanOptions = {}): Promise<RunPlan> {
  const stage: { dir?: string } = {};
  try {
    return await buildPlan(ws, current, opts, stage);
  } catch (err) {
    if (stage.dir) rmSync(stage.dir, { recursive: true, force: true });
    throw err;
  }
}

async function buildPlan(ws: Workspace, current: CurrentRun, opts: PlanOptions, stage: { dir?: string }): Promise<RunPlan> {
  checkIncludes(ws);
  const found = scan(ws.root, ws.profile);
  const prev = current.state === "ok" ? current.manifest : undefined;
  const nShards = shardCount(found.filter((f) => !f.skip).length);
  const prevShardCount = prev?.artifacts.find((a) => a.name.startsWith("index/"))?.counts?.shards;
  const reuse = !opts.ignoreCaches && prev !== undefined && prev.config_hash === ws.configHash &&
    prev.auditgraph_version === VERSION && prev.schema_version === ARTIFACT_SCHEMA_VERSION && (prevShardCount === undefined || prevShardCount === nShards);
  const { cache: diskCache, text: oldCacheText, bytes: oldCacheBytes } = loadStatCache(ws.profileDir);
  // When the previous run's entries are reusable: its records (path → record); its ingested files
  // (path → sha256); per shard, its ingested files (path order, as the manifest lists them).
  const prevRecords = new Map<string, FileRecord>();
  const prevSha = new Map<string, string>();
  const prevShards = new Map<number, FileRecord[]>();
  if (reuse) {
    for (const r of prev!.files) {
      prevRecords.set(r.path, r);
      if (r.status === "ok") { prevSha.set(r.path, r.sha256!); group(prevShards, shardOf(r.path, nShards), r); }
    }
  }
  // The stat cache vouches for files as the current run recorded them, so only for that run.
  const cached = reuse && current.state === "ok" && diskCache?.run === current.runId ? diskCache.files : {};
  const max = ws.profile.ingestion.max_file_size_bytes;

  // Pass A (when the previous run's entries are reusable): records for files skipped by the scan,
  // files the stat cache vouches for (their previous records) and changed-looking files, hashed
  // now to see if they changed (their previous records when they did not: the same content gave
  // the same warnings).
  const records: FileRecord[] = [];
  const known = new Map<string, FileRecord>();
  const shards = new Map<number, Found[]>();
  for (const f of found) {
    if (f.skip) { records.push(toRecord(f.path, { bytes: f.bytes, skip: f.skip })); continue; }
    group(shards, shardOf(f.path, nShards), f);
    if (!reuse) continue;
    const before = prevRecords.get(f.path);
    const c = Object.hasOwn(cached, f.path) ? cached[f.path] : undefined; // a file may be named "constructor"
    if (before && c && c[0] === f.bytes && c[1] === f.mtimeMs && c[2] === f.ino && c[3] === f.ctimeMs) known.set(f.path, before);
    else {
      const { text: _, raw: __, ...r } = readSource(f.abs, f.bytes, sizeLimit(ws.profile, f.path), isDocumentPath(f.path));
      const now = toRecord(f.path, r);
      known.set(f.path, before && before.bytes === now.bytes && before.sha256 === now.sha256 && before.status === now.status && before.reason === now.reason ? before : now);
    }
  }

  // A shard is clean when the previous run ingested the same (path, sha256) list in it.
  const prevArtifacts = new Map((prev?.artifacts ?? []).map((a) => [a.name, a]));
  // A previous shard is only reused if both its objects are still in the store (self-healing
  // after a deleted object: the shard is rebuilt from the sources).
  const usable = (n: number) => [shardName("index", n), shardName("text", n)].every((k) => {
    const a = prevArtifacts.get(k);
    return a !== undefined && hasObject(ws.profileDir, a.sha256);
  });
  const isClean = (n: number, files: Found[]) => {
    if (!reuse) return false;
    const before = prevShards.get(n) ?? [];
    let i = 0;
    for (const f of files) {
      const r = known.get(f.path);
      if (!r) return false;
      if (r.status !== "ok") continue;
      const p = before[i++];
      if (!p || p.path !== f.path || p.sha256 !== r.sha256) return false;
    }
    if (i !== before.length) return false;
    return i === 0 || usable(n);
  };

  const settings: ShardTask["settings"] = {
    maxBytes: max, maxDocBytes: ws.profile.ingestion.max_document_bytes ?? DEFAULT_MAX_DOCUMENT_BYTES,
    symbols: ws.profile.ingestion.symbols ?? true, chunkTokens: ws.profile.ingestion.chunk_tokens, overlapTokens: ws.profile.ingestion.chunk_overlap_tokens, redaction: ws.redaction,
  };
  const artifacts: Artifact[] = [];
  const tasks: ShardTask[] = [];
  // The clean shards' index objects: their summaries are read when the counts are made.
  const cleanIndex: string[] = [];
  // The previous run's index objects of the shards rebuilt or gone (their shared nodes may have changed); null: one is missing.
  let changedIndex: string[] | null = [];
  const changedShards: number[] = []; // the shard of each changedIndex entry
  const noteChanged = (n: number) => {
    const a = prevArtifacts.get(shardName("index", n));
    if (a && changedIndex) { if (hasObject(ws.profileDir, a.sha256)) { changedIndex.push(a.sha256); changedShards.push(n); } else changedIndex = null; }
  };
  for (const a of prevArtifacts.values()) {
    const m = /^index\/(\d+)$/.exec(a.name);
    if (m && !shards.has(Number(m[1]))) noteChanged(Number(m[1]));
  }
  let reused = 0;
  for (const [n, files] of [...shards].sort((a, b) => a[0] - b[0])) {
    const ia = prevArtifacts.get(shardName("index", n));
    const ta = prevArtifacts.get(shardName("text", n));
    if (isClean(n, files)) {
      for (const f of files) records.push(known.get(f.path)!);
      if (ia && ta && prevShards.has(n)) {
        artifacts.push(ia, ta);
        reused += prevShards.get(n)!.length;
        cleanIndex.push(ia.sha256);
      }
      continue;
    }
    noteChanged(n);
    tasks.push({
      shard: n, shards: nShards, profileDir: ws.profileDir, settings,
      files: files.map((f) => {
        const was = prevSha.get(f.path), now = known.get(f.path);
        // `same`: the stat cache vouched for it, or pass A hashed it to the sha256 it had (buildShard does not read it again).
        const same = was !== undefined && now?.status === "ok" && now.sha256 === was && now.bytes === f.bytes;
        return { path: f.path, abs: f.abs, bytes: f.bytes, ...(was !== undefined ? { prevSha: was } : {}), ...(same ? { same } : {}) };
      }),
      ...(reuse && ia && ta && usable(n) ? { prev: { index: ia.sha256, text: ta.sha256 } } : {}),
    });
  }

  opts.onBuild?.(tasks.length);
  if (tasks.length > 0) stage.dir = makeStage(ws.profileDir);
  // The built shards' summaries are folded in as they arrive (see Tally).
  const tally = new Tally();
  const results = await runTasks(tasks, stage.dir!, opts.onProgress, records.length, found.length, (r) => {
    if (r.summary) tally.add(r.summary, r.shard);
    delete r.summary;
  });
  const encoded: SpilledObject[] = [];
  let processed = 0;
  for (const res of results) {
    records.push(...res.records);
    processed += res.processed;
    reused += res.reused;
    if (!res.objects) continue;
    encoded.push(res.objects.index, res.objects.text);
    artifacts.push(
      { name: shardName("index", res.shard), sha256: res.objects.index.sha256, bytes: res.objects.index.bytes, counts: res.objects.counts },
      { name: shardName("text", res.shard), sha256: res.objects.text.sha256, bytes: res.objects.text.bytes },
    );
  }
  records.sort(byPath);
  artifacts.sort((a, b) => (a.name < b.name ? -1 : 1));


  // Git provenance (src/git, when git.enabled): one more artifact, reused while the repositories' heads and the settings are unchanged.
  const git = ws.git.enabled ? await planGit(ws, opts.ignoreCaches ? undefined : prevArtifacts.get(GIT_ARTIFACT), stage) : undefined;
  if (git?.artifact) { artifacts.push(git.artifact); artifacts.sort((a, b) => (a.name < b.name ? -1 : 1)); }
  if (git?.object) encoded.push(git.object);
  // Each record's canonical JSON once: the inputs hash is over their array, and the manifest writes them a line each.
  const recordJson = records.map((r) => canonicalJson(r));
  const inputsHash = sha256Hex(canonicalJsonOfItems(recordJson));
  const builtId = "run_" + sha256Hex(canonicalJson({
    schema_version: ARTIFACT_SCHEMA_VERSION, auditgraph_version: VERSION, config_hash: ws.configHash, inputs_hash: inputsHash, salt: opts.runSalt,
    ...(git ? { git: { artifact: git.artifact?.sha256, warnings: git.warnings } } : {}),
  })).slice(0, 32);
  // The current run already is this run, with all its objects present: nothing to write. Either it
  // has this id, or it is a rebuild (its id salted with the run it replaced) of the same inputs,
  // settings and versions, which made the same artifacts: the current run stays.
  const same = !opts.ignoreCaches && current.state === "ok" && tasks.length === 0 && !git?.object &&
    (current.runId === builtId || sameRun(current.manifest, ws.configHash, inputsHash, artifacts, git?.warnings ?? []));
  const runId = same ? current.runId : builtId;
  // The stat cache for this run: each file it records as read (not one that vanished or could not be read).
  const foundBy = new Map(found.map((f) => [f.path, f]));
  const stats: StatEntries = Object.create(null); // a path may be "__proto__"
  for (const r of records) {
    const f = foundBy.get(r.path)!;
    if (!f.skip && r.reason !== "vanished" && r.reason !== "unreadable") stats[r.path] = [f.bytes, f.mtimeMs, f.ino, f.ctimeMs];
  }
  const statCacheText = JSON.stringify({ run: runId, files: stats } satisfies StatCache);
  const statCacheData = statCacheText === oldCacheText ? undefined : encodeStatCache(statCacheText);
  const cacheUpdate = statCacheData ? { statCacheData } : {};
  const cacheBytes = Math.max(0, (statCacheData?.length ?? 0) - oldCacheBytes);
  const okCount = records.filter((r) => r.status === "ok").length;
  const sourceBytes = ingestedBytes(records);

  if (same && current.state === "ok") {
    const manifest = current.manifest;
    return {
      runId, manifest, unchanged: true, newObjects: [], sourceBytes, processed: 0, reused: okCount, planBytes: cacheBytes, ...cacheUpdate,
      // Not written (the run exists): made only if asked for (a 100,000-file manifest takes a third of a second).
      get manifestText() { return manifestText(manifest); },
    };
  }

  const total = (k: string) => artifacts.reduce((s, a) => s + (a.counts?.[k] ?? 0), 0);
  // The graph's own totals: shared nodes (technologies, references) once, links that resolve to an ingested document.
  const okPaths = new Set(records.filter((r) => r.status === "ok").map((r) => r.path));
  // Shared nodes, links and code-span mentions from what changed when the previous run's counts
  // can be updated (the summaries of the rebuilt and removed shards as they were, against the
  // built ones), else over every shard.
  const before = reuse && changedIndex && prev ? previousSummaries(ws.profileDir, changedIndex, changedShards) : undefined;
  const prevShared = before && sharedOf(prev!.counts);
  const updated = prevShared && sharedUpdate(ws.profileDir, prevShared, cleanIndex, before!, [...tally.globals]);
  const edgesUpdated = before && edgeUpdate(ws.profileDir, prev!.counts, prevSha, okPaths, cleanIndex, before, tally);
  // A clean shard's summary is read only for what is not updated from what changed.
  if (!updated || !edgesUpdated) for (const sha of cleanIndex) tally.add(readSummary(ws.profileDir, sha, { globals: !updated }));
  const byType = updated || countShared(tally.globals);
  const sharedCount = byType.tech_ + byType.ref_ + byType.mod_;
  let resolved = 0;
  let symbolMentions = 0;
  if (edgesUpdated) ({ links: resolved, mentions: symbolMentions } = edgesUpdated);
  else {
    for (const [target, n] of tally.links) if (okPaths.has(target)) resolved += n;
    // Markdown code spans that name a symbol defined in this run: one `mentions` edge each.
    symbolMentions = countSymbolMentions(tally.symbolParts);
  }
  const modules = byType.mod_;
  const gitC = git?.graph ? gitCounts(git.graph, okPaths) : undefined;
  // Local nodes by type (TYPE_COUNT_KEYS), summed over the shards that count them, when every
  // shard's counts have them (a shard reused from a run written before they were recorded has not).
  const indexArtifacts = artifacts.filter((a) => a.name.startsWith("index/"));
  const typeCounts = indexArtifacts.every((a) => a.counts?.[TYPE_COUNT_KEYS.section] !== undefined)
    ? Object.fromEntries(Object.values(TYPE_COUNT_KEYS).filter((k) => indexArtifacts.some((a) => a.counts?.[k] !== undefined)).map((k) => [k, total(k)]))
    : {};
  const manifest: Manifest = {
    schema_version: ARTIFACT_SCHEMA_VERSION,
    auditgraph_version: VERSION,
    run_id: runId,
    profile: ws.profileName,
    config_hash: ws.configHash,
    inputs_hash: inputsHash,
    outputs_hash: outputsHash(artifacts),
    counts: {
      files: records.length, ok: okCount, skipped: records.length - okCount,
      chunks: total("chunks"), nodes: total("nodes") + sharedCount + (gitC?.nodes ?? 0), edges: total("edges") + resolved + symbolMentions + (gitC?.edges ?? 0),
      // The shared nodes by type (a count by type needs them: a shard knows only its own mentions).
      technologies: byType.tech_,
      references: byType.ref_,
      // The edges of the two kinds that resolve across shards (so the next run can update them from what changed).
      links_to: resolved,
      symbol_mentions: symbolMentions,
      ...typeCounts,
      ...(modules ? { modules } : {}),
      ...(gitC ? { commits: gitC.commits, authors: gitC.authors } : {}),
    },
    files: records,
    artifacts,
    ...(git?.warnings.length ? { warnings: git.warnings } : {}),
  };
  const text = manifestText(manifest, recordJson);
  // Objects already in the store (or built twice) are not written again: their temp files go. The
  // copy in the store is read and hashed first (only objects this run built: the rebuilt shards,
  // every shard for a rebuild), and a damaged one is replaced by the built object.
  const seen = new Set<string>();
  const newObjects: RunPlan["newObjects"] = [];
  for (const o of encoded) {
    if (seen.has(o.sha256)) { rmSync(o.tempPath, { force: true }); continue; }
    seen.add(o.sha256);
    const state = objectState(ws.profileDir, o.sha256);
    if (state === "sound") rmSync(o.tempPath, { force: true });
    else newObjects.push(state === "damaged" ? { ...o, repair: true } : o);
  }
  const planBytes = newObjects.reduce((s, o) => s + o.bytes, 0) + Buffer.byteLength(text) + runId.length + 1 + cacheBytes +
    runLogLine({ runId, finishedAt: new Date(0), wallMs: 9_999_999, processed, reused, newObjects: newObjects.length }).length +
    runStartLine(runId, new Date(0)).length;
  return {
    runId, manifest, manifestText: text, unchanged: false, newObjects, ...(stage.dir ? { stageDir: stage.dir } : {}),
    planBytes, sourceBytes, processed, reused, ...cacheUpdate,
  };
}

/**
 * Whether manifest `m` is the run these inputs make, whatever its id: the same schema and
 * auditgraph versions, config hash, inputs hash (the files' records), artifacts and run warnings.
 */
function sameRun(m: Manifest, configHash: string, inputsHash: string, artifacts: Artifact[], warnings: string[]): boolean {
  return m.schema_version === ARTIFACT_SCHEMA_VERSION && m.auditgraph_version === VERSION && m.config_hash === configHash &&
    m.inputs_hash === inputsHash && m.outputs_hash === outputsHash(artifacts) &&
    canonicalJson(m.warnings ?? []) === canonicalJson(warnings);
}

/**
 * The summaries of the rebuilt and removed shards' previous index objects, or undefined when one
 * cannot be read (a damaged block): the counts are then made over every shard, and the run heals
 * the store instead of failing on an object it is about to replace.
 */
function previousSummaries(profileDir: string, index: string[], shards: number[]): (ShardSummary & { shard: number })[] | undefined {
  try { return index.map((sha, i) => ({ ...readSummary(profileDir, sha), shard: shards[i]! })); } catch { return undefined; }
}

type SharedCounts = Record<SharedPrefix, number>;

/** Shared nodes by kind as a manifest's counts hold them (undefined when it lacks them). */
function sharedOf(counts: Record<string, number>): SharedCounts | undefined {
  if (!Number.isInteger(counts.technologies) || !Number.isInteger(counts.references)) return undefined;
  return { tech_: counts.technologies!, ref_: counts.references!, mod_: counts.modules ?? 0 };
}

/**
 * What the run's counts need of the shards' summaries, folded in shard by shard: the distinct
 * shared node ids, the links by target path, and the symbol parts. A summary is not kept whole:
 * every shard lists the shared nodes it mentions, and on the corpus copied 10 times (64 shards,
 * each mentioning about 40,000 of its 76,000 references) holding every list took the main thread
 * about 150 MB, growing with the workspace.
 */
/** What a shard summary says of symbols, and the shard it is of. */
type SymbolPart = Pick<ShardSummary, "symbols" | "symrefs"> & { shard?: number };

class Tally {
  readonly globals = new Set<string>();
  readonly links = new Map<string, number>();
  /** The symbol parts of the summaries that have any (with their shard, for those of built shards). */
  readonly symbolParts: SymbolPart[] = [];
  add(s: ShardSummary, shard?: number): void {
    for (const id of s.globals) this.globals.add(id);
    for (const t of s.links) this.links.set(t, (this.links.get(t) ?? 0) + 1);
    if (s.symbols.length || s.symrefs.length) this.symbolParts.push({ symbols: s.symbols, symrefs: s.symrefs, shard });
  }
}

/** Shared nodes by kind, counted over the distinct ids. */
function countShared(ids: Iterable<string>): SharedCounts {
  const out: SharedCounts = { tech_: 0, ref_: 0, mod_: 0 };
  for (const id of ids) { const p = sharedPrefix(id); if (p) out[p]++; }
  return out;
}

/** More changed shared ids than this: counting over every shard is cheaper than looking each up in every clean shard. */
const MAX_SHARED_CHANGES = 256;

/**
 * The shared nodes (technologies, references, modules: counted once however many shards mention
 * them) updated from the previous run's counts (`prev`) by what changed: the ids the rebuilt and
 * removed shards mentioned before (`changedIndex`, their previous index objects) against the ids
 * the rebuilt shards mention now (`now`). An id in only one of the two sets counts (+1 new, -1 gone)
 * unless a clean shard mentions it, which is one dictionary lookup per clean shard; a one-file
 * change usually changes none, where walking every clean shard's `global` table took most of an
 * incremental run (corpus-2000: about 230 of 700 ms). Undefined when too much changed.
 */
function sharedUpdate(profileDir: string, prev: SharedCounts, cleanIndex: string[], changed: ShardSummary[], now: string[]): SharedCounts | undefined {
  const before = new Set(changed.flatMap((s) => s.globals));
  const after = new Set(now);
  const changes: [string, number][] = [];
  for (const id of before) if (!after.has(id)) changes.push([id, -1]);
  for (const id of after) if (!before.has(id)) changes.push([id, 1]);
  if (changes.length > MAX_SHARED_CHANGES) return undefined;
  const out: SharedCounts = { ...prev };
  if (changes.length === 0) return out;
  const segs = cleanIndex.map((sha) => new Segment(objectPath(profileDir, sha)));
  try {
    for (const [id, sign] of changes) {
      const p = sharedPrefix(id);
      if (p && !segs.some((s) => s.has("global", id))) out[p] += sign;
    }
  } finally { for (const s of segs) s.close(); }
  return out;
}

/**
 * Whether the rebuilt and removed shards define the same symbols and hold the same code spans as
 * before, shard by shard (the usual edit: then no name resolves elsewhere and their mentions are
 * what they were, so the mention count stands without reading any other shard).
 */
function sameSymbolParts(before: SymbolPart[], built: SymbolPart[]): boolean {
  // In one order whichever way the summary was made (as built: document order; as stored: key order).
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const key = (p: Pick<ShardSummary, "symbols" | "symrefs">) => JSON.stringify([
    [...p.symbols].sort((a, b) => cmp(a[0], b[0])), [...p.symrefs].sort((a, b) => cmp(a[1], b[1]) || a[0] - b[0]),
  ]);
  const was = new Map<number, string>();
  for (const p of before) if (p.symbols.length || p.symrefs.length) was.set(p.shard!, key(p));
  let n = 0;
  for (const p of built) {
    if (p.shard === undefined || was.get(p.shard) !== key(p)) return false;
    n++;
  }
  return n === was.size;
}

/** More documents that became ingested or stopped being than this: links are counted over every shard. */
const MAX_PATH_CHANGES = 256;

/**
 * The `links_to` edges (links that resolve to an ingested document) and the code-span `mentions`
 * edges, updated from the previous run's counts by what changed, like sharedUpdate: the rebuilt and
 * removed shards' links and code spans as they were (`changed`, their previous summaries) go, the
 * built shards' (`built`) come. A clean shard's links count again only for the documents that became
 * ingested or stopped being (a lookup per such path and clean shard), and its code spans only if no
 * symbol name resolves elsewhere than before (the clean shards' symbol tables are read to know;
 * they are small). Undefined when the previous counts lack them or too much changed: then every
 * shard's summary is read. `prevOk`: the previous run's ingested files (keys).
 */
function edgeUpdate(profileDir: string, prevCounts: Record<string, number>, prevOk: Map<string, unknown>, okPaths: Set<string>, cleanIndex: string[], changed: (ShardSummary & { shard: number })[], built: Tally): { links: number; mentions: number } | undefined {
  const { links_to: prevLinks, symbol_mentions: prevMentions } = prevCounts;
  if (!Number.isInteger(prevLinks) || !Number.isInteger(prevMentions)) return undefined;
  const flipped: string[] = [];
  for (const p of prevOk.keys()) if (!okPaths.has(p)) flipped.push(p);
  for (const p of okPaths) if (!prevOk.has(p)) flipped.push(p);
  if (flipped.length > MAX_PATH_CHANGES) return undefined;
  let links = prevLinks!;
  for (const s of changed) for (const t of s.links) if (prevOk.has(t)) links--;
  for (const [t, n] of built.links) if (okPaths.has(t)) links += n;
  const symbolsTouched = !sameSymbolParts(changed, built.symbolParts);
  const clean = flipped.length || symbolsTouched ? cleanIndex.map((sha) => new Segment(objectPath(profileDir, sha))) : [];
  try {
    for (const p of flipped) {
      const sign = okPaths.has(p) ? 1 : -1;
      for (const seg of clean) links += sign * (seg.get<Mention[]>("links", p)?.length ?? 0);
    }
    let mentions = prevMentions!;
    if (symbolsTouched) {
      const cleanSymbols = clean.map((seg) => symbolsOf(seg));
      const was = bestSymbols([...cleanSymbols, ...changed]);
      const now = bestSymbols([...cleanSymbols, ...built.symbolParts]);
      if (was.size !== now.size) return undefined;
      for (const [name, e] of was) { const f = now.get(name); if (!f || e.some((x, i) => x !== f[i]) || e.length !== f.length) return undefined; }
      mentions += symbolMentionsOf(built.symbolParts, now) - symbolMentionsOf(changed, was);
    }
    return { links, mentions };
  } finally { for (const seg of clean) seg.close(); }
}

/** The git artifact of a run (see src/git/provenance.ts), spilled into the staging directory when new. */
async function planGit(ws: Workspace, prev: Artifact | undefined, stage: { dir?: string }): Promise<{ artifact?: Artifact; object?: SpilledObject; graph?: GitGraph; warnings: string[] }> {
  const { buildProvenance } = await import("../git/provenance.ts");
  const { GitGraph } = await import("../git/graph.ts");
  const previous = prev && hasObject(ws.profileDir, prev.sha256)
    ? () => { try { return readObjectText(ws.profileDir, prev.sha256); } catch { return undefined; } }
    : undefined;
  const r = await buildProvenance({
    root: ws.root, includePaths: ws.profile.include_paths, maxCommits: ws.git.max_commits, redact: makeRedactor(ws.redaction), salt: ws.configHash, previous,
  });
  if (r.text === undefined) return { warnings: r.warnings };
  const enc = encodeText(r.text);
  let object: SpilledObject | undefined;
  // One object, read and hashed whole: a damaged copy is written again (see the run's other objects in buildPlan).
  if (objectState(ws.profileDir, enc.sha256) !== "sound") {
    stage.dir ??= makeStage(ws.profileDir);
    try { object = spillObject(enc, stage.dir); } catch (err) { throw new SpillError(err); }
  }
  const graph = new GitGraph(r.artifact);
  return {
    artifact: { name: GIT_ARTIFACT, sha256: enc.sha256, bytes: enc.bytes, counts: { commits: graph.commitCount, authors: graph.authorCount } },
    ...(object ? { object } : {}), graph, warnings: r.artifact.warnings,
  };
}

/** The git part of a manifest's counts: commits and authors are nodes, `authored` and the `modified` edges that resolve are edges. */
function gitCounts(g: GitGraph, okPaths: Set<string>): { commits: number; authors: number; nodes: number; edges: number } {
  return { commits: g.commitCount, authors: g.authorCount, nodes: g.commitCount + g.authorCount, edges: g.commitCount + g.resolvedModified((p) => okPaths.has(p)) };
}

/**
 * Builds shards inline when there are few, else on a pool of workers (one per core, at most 4).
 * Each shard's objects are spilled into `stage` where they are built (a worker writes its own), so
 * only names and sizes come back.
 * If a worker fails (it cannot start, or building throws), the pool stops (and waits for every worker
 * to have stopped, so none still writes into `stage`) and the shards without a result are built
 * inline, so a real error surfaces with its own message and exit code.
 */
async function runTasks(tasks: ShardTask[], stage: string, onProgress: PlanOptions["onProgress"], already: number, total: number, onResult: (r: SpilledShardResult) => void): Promise<SpilledShardResult[]> {
  let done = already;
  const results = new Map<number, SpilledShardResult>();
  // A shard's first result counts (a worker told to stop may still report one that is built again inline).
  const report = (r: SpilledShardResult) => {
    if (results.has(r.shard)) return;
    done += r.records.length; onProgress?.(done, total); onResult(r); results.set(r.shard, r);
  };
  let failed: string | undefined;
  const size = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2, Number(process.env.AUDITGRAPH_WORKERS) || Infinity, tasks.length));
  if (tasks.length > INLINE_SHARDS && size > 1) {
    const queue = [...tasks].sort((a, b) => b.files.length - a.files.length || a.shard - b.shard);
    const stops: (() => void)[] = [];
    const stopAll = () => { queue.length = 0; for (const stop of stops) stop(); };
    await Promise.all(Array.from({ length: size }, () => new Promise<void>((resolve) => {
      const w = new Worker(entryUrl("pipeline/shard-worker.ts"));
      // Stopped mid-shard, a worker is done once it has closed (bounded: a worker that never reports closing is not waited for).
      w.addEventListener("close", () => resolve());
      stops.push(() => { w.terminate(); setTimeout(resolve, 5_000).unref(); });
      const next = () => {
        const t = queue.shift();
        if (!t) { w.terminate(); resolve(); return; }
        w.postMessage({ task: t, stage } satisfies ShardJob);
      };
      w.onmessage = (ev: MessageEvent<WorkerMessage>) => {
        if (ev.data.kind === "extract") { void serveExtract(w, ev.data); return; }
        report(ev.data.result);
        next();
      };
      w.onerror = (ev) => { ev.preventDefault(); failed ??= ev.message || "a shard worker failed"; stopAll(); };
      next();
    })));
  }
  // AUDITGRAPH_WORKERS_STRICT=1 (tests, diagnosis): a failed worker is an error instead of the inline fallback.
  if (failed !== undefined && process.env.AUDITGRAPH_WORKERS_STRICT === "1") throw new Error(`shard worker failed: ${failed}`);
  for (const t of tasks) {
    if (results.has(t.shard)) continue;
    report(spillShard(await buildShard(t), stage));
    if (tasks.length > INLINE_SHARDS) collectIfLarge(); // as a worker does: many shards inline must not pile up garbage
  }
  return [...results.values()].sort((a, b) => a.shard - b.shard);
}

/** How far writeRun got: the log's mark before the run's start line, objects renamed into place (in plan order), and whether the pointer was written. */
export type WriteProgress = { logMark?: LogMark; renamed?: number; pointer?: boolean };

/** Putting one object in place failed (its fan-out directory, or the rename). */
class ObjectWriteError extends Error {
  constructor(readonly path: string, readonly reason: unknown) { super(describeError(reason)); }
}

/**
 * Writes a planned run: objects first (renamed from their temp files, then fsynced in parallel: one
 * flush for the batch rather than one wait per object, then their directories), then the manifest,
 * then the pointer. Crash-safe at every step.
 */
export async function writeRun(profileDir: string, plan: RunPlan, wallMs: number, progress: WriteProgress = {}): Promise<string | undefined> {
  if (!plan.unchanged) {
    // Before anything of the run is in place: a run with this line, no finish line and no pointer
    // naming it never became current, and the next writer removes it (store/run-log.ts).
    progress.logMark = appendRunLog(profileDir, runStartLine(plan.runId, new Date()));
    const paths = plan.newObjects.map((o) => objectPath(profileDir, o.sha256));
    const dirs = new Set(paths.map((p) => dirname(p)));
    for (const [i, p] of paths.entries()) {
      const d = dirname(p);
      try {
        const made = mkdirSync(d, { recursive: true });
        if (made) dirs.add(dirname(made)); // a new directory's own entry must survive too
        renameSync(plan.newObjects[i]!.tempPath, p);
      } catch (err) { throw new ObjectWriteError(p, err); }
      progress.renamed = i + 1;
    }
    discardPlan(plan); // the staging directory, empty by now
    await Promise.all([...paths, runLogPath(profileDir)].map(fsyncPath));
    await Promise.all([...dirs].map(fsyncPath));
    const mp = manifestPath(profileDir, plan.runId);
    atomicWriteFile(mp, plan.manifestText);
    fsyncDir(dirname(mp));
    atomicWriteFile(pointerPath(profileDir), plan.runId + "\n");
    progress.pointer = true;
    fsyncDir(profileDir);
  }
  // The stat cache is a cache: one that cannot be written (a read-only cache/ directory) costs the
  // next run a hash of every file, not this run. Said as a warning; the run and its log line stand.
  let cacheWarning: string | undefined;
  if (plan.statCacheData !== undefined) {
    try {
      atomicWriteFile(statCachePath(profileDir), plan.statCacheData, { fsync: false });
      rmSync(oldStatCachePath(profileDir), { force: true });
    } catch (err) {
      cacheWarning = `the stat cache ${statCachePath(profileDir)} cannot be written (${whyWriteFailed(err)}): the next ingest may read every file again`;
    }
  }
  if (!plan.unchanged) {
    appendRunLog(profileDir, runLogLine({
      runId: plan.runId, finishedAt: new Date(), wallMs, processed: plan.processed, reused: plan.reused, newObjects: plan.newObjects.length,
    }));
  }
  return cacheWarning;
}

/** fsync a file or directory (directories: so that the renames in them survive a power cut). */
async function fsyncPath(p: string): Promise<void> {
  // Imported here: a static import of node:fs/promises would load it for every command of the executable.
  const { open } = await import("node:fs/promises");
  const fh = await open(p, "r");
  try { await fh.sync(); } finally { await fh.close(); }
}

export type IngestOptions = {
  /**
   * A full run (`auditgraph rebuild`): no compatibility gate, no reuse of the current run, and a
   * run id salted with the run it replaces (read under the lock), so it is always a new run.
   */
  rebuild?: boolean;
  onProgress?: PlanOptions["onProgress"];
  onBuild?: PlanOptions["onBuild"];
};

/** `previous`: for a rebuild, the run that was current when it took the lock (null: none). */
export type IngestResult = { plan: RunPlan; budget: Budget; budgetWarning?: string; cacheWarning?: string; previous?: string | null };

export async function ingest(ws: Workspace, opts: IngestOptions = {}): Promise<IngestResult> {
  const t0 = performance.now();
  checkProfile(ws.profileDir); // before the lock, which makes .pkg/
  const hadPkg = existsSync(pkgDir(ws.root));
  const lock = await acquireLock(ws.root);
  try {
    // A rebuild is the way out of a damaged pointer too: it then replaces no run it can name.
    const pointer = opts.rebuild ? pointerState(ws.profileDir) : undefined;
    const previous = pointer ? (pointer.state === "ok" ? pointer.runId : null) : undefined;
    const current: CurrentRun = opts.rebuild ? { state: "empty" } : compatGate(ws.profileDir).current;
    sweepTemp(ws.profileDir);
    dropOversizedCaches(ws.profileDir);
    // Measured before planning: the plan's spilled objects (temp files) are counted once, in planBytes.
    const usageBytes = measureUsage(ws.profileDir);
    // The directories this run would make (the profile directory, `.pkg/profiles/` too on a first
    // run): only these go again when it is blocked or fails; one that `init` made stays.
    const made = missingDirs(ws.profileDir, ws.root);
    let plan: RunPlan | undefined;
    let gate: ReturnType<typeof budgetGate>;
    try {
      plan = await planRun(ws, current, {
        onProgress: opts.onProgress, onBuild: opts.onBuild,
        ...(opts.rebuild ? { ignoreCaches: true, runSalt: `rebuild after ${previous ?? "nothing"}` } : {}),
      });
      const facts = { sourceBytes: plan.sourceBytes, usageBytes, additionalBytes: plan.planBytes };
      if (plan.unchanged && evaluateBudget(facts, ws.budget).status === "block") {
        // An unchanged workspace writes nothing but its stat cache, a cache: over the budget (a
        // lowered multiplier), it leaves the cache as it is and says so, rather than fail (exit 4)
        // a run that adds nothing.
        plan = { ...plan, planBytes: 0 };
        delete plan.statCacheData;
        const over = evaluateBudget({ ...facts, additionalBytes: 0 }, ws.budget);
        gate = { budget: over, warning: budgetMessage(over, ws.profileDir) };
      } else gate = budgetGate(facts, ws.budget, ws.profileDir);
    } catch (err) {
      // Blocked or failed before writing: nothing spilled stays behind, nor a profile directory made for it.
      if (plan) discardPlan(plan);
      removeMadeDirs(made);
      if (err instanceof SpillError) throw writeFailed(`writing a new run to ${ws.profileDir} failed`, err.reason);
      throw err;
    }
    const { budget, warning } = gate;
    const freshManifest = !existsSync(manifestPath(ws.profileDir, plan.runId));
    // The store's directories the write may make: an undone write removes those it made, no other.
    const existed = new Set(writeDirs(ws.profileDir, plan).filter((d) => existsSync(d)));
    const progress: WriteProgress = {};
    let cacheWarning: string | undefined;
    try {
      mkdirSync(ws.profileDir, { recursive: true });
      cacheWarning = await writeRun(ws.profileDir, plan, performance.now() - t0, progress);
    } catch (err) {
      const undone = undoFailedWrite(ws.profileDir, plan, freshManifest, progress, err, existed);
      if (!progress.pointer) removeMadeDirs(made);
      throw undone;
    }
    return { plan, budget, ...(warning ? { budgetWarning: warning } : {}), ...(cacheWarning ? { cacheWarning } : {}), ...(opts.rebuild ? { previous } : {}) };
  } finally {
    lock.release();
    if (!hadPkg) try { rmdirSync(pkgDir(ws.root)); } catch { /* the run wrote into it */ }
  }
}

/**
 * `profileDir` and those of its parents below `.pkg/` that do not exist (yet), deepest first: the
 * directories a run makes when it creates the profile directory.
 */
function missingDirs(profileDir: string, root: string): string[] {
  const top = pkgDir(root) + sep;
  const out: string[] = [];
  for (let d = profileDir; d.startsWith(top) && !existsSync(d); d = dirname(d)) out.push(d);
  return out;
}

/** Removes directories a run made (`missingDirs`, deepest first) while they are empty. */
function removeMadeDirs(made: string[]): void {
  for (const d of made) {
    try { rmdirSync(d); } catch { return; }
  }
}

/** The directories inside the profile directory a write of `plan` may make, deepest first. */
function writeDirs(profileDir: string, plan: RunPlan): string[] {
  const fanOut = [...new Set(plan.newObjects.map((o) => dirname(objectPath(profileDir, o.sha256))))];
  return [...fanOut, objectsDir(profileDir), dirname(manifestPath(profileDir, plan.runId)), runsDir(profileDir)];
}

/** A write that failed and was undone: the store is as it was (`kept`: what was left on purpose). */
const writeFailed = (what: string, err: unknown, kept = "") =>
  new AgError(`${what}: ${whyWriteFailed(err)}; what it had written was removed${kept ? ` ${kept}; the store is otherwise unchanged` : " and the store is unchanged"}`, {
    exitCode: ExitCode.internal, code: "write_failed",
    // Not a full disk: something in the store is in the way (a file where a directory should be, permissions).
    hint: isDiskFull(err) ? DISK_FULL_HINT : "run 'auditgraph verify' to see what in the store is in the way, then run the command again",
  });

/**
 * A write that failed part-way (disk full, I/O error, something in the way). Before the pointer
 * was written, the run is removed again: its staging directory, its start line in runs.log, the new
 * objects renamed into place (absent when it was planned, under the lock) and its manifest (when this
 * write made it), and the
 * directories it made (not in `existed`) when they are empty again, so the store is as it was. An object that replaced a damaged copy is
 * kept: the bytes its name promises, which the damaged copy were not. After the pointer was
 * written, the run is complete and current. Whether the pointer already named this run says
 * nothing: a run that repairs the current one (an unchanged workspace whose object was deleted)
 * has the same id.
 */
function undoFailedWrite(profileDir: string, plan: RunPlan, freshManifest: boolean, progress: WriteProgress, err: unknown, existed: Set<string>): AgError {
  if (progress.pointer) {
    return new AgError(`run ${plan.runId} is written and current, but updating its stat cache or runs.log in ${profileDir} failed: ${whyWriteFailed(err)}`, { exitCode: ExitCode.internal, code: "write_failed", hint: DISK_FULL_HINT });
  }
  discardPlan(plan);
  if (progress.logMark !== undefined) try { undoAppend(profileDir, progress.logMark); } catch { /* the run was never current: the start line alone is harmless */ }
  const placed = plan.newObjects.slice(0, progress.renamed ?? 0);
  for (const o of placed) if (!o.repair) rmSync(objectPath(profileDir, o.sha256), { force: true });
  if (freshManifest) rmSync(manifestPath(profileDir, plan.runId), { force: true });
  for (const d of writeDirs(profileDir, plan)) {
    if (existed.has(d)) continue; // there before the run: not its to remove
    try { rmdirSync(d); } catch { /* not empty, or already gone */ }
  }
  const repaired = placed.filter((o) => o.repair).length;
  const kept = repaired ? `but the ${repaired} object(s) it wrote over damaged copies` : "";
  if (err instanceof ObjectWriteError) return writeFailed(`writing object ${err.path} of run ${plan.runId} failed`, err.reason, kept);
  return writeFailed(`writing run ${plan.runId} to ${profileDir} failed`, err, kept);
}
