/**
 * runs.log: the profile's append-only JSONL of wall-clock facts about runs (never hashed). Two kinds
 * of line:
 * - `{run_id, started_at}`, appended by a writer before it puts anything of the run in place;
 * - `{run_id, finished_at, wall_ms, processed, reused, new_objects}`, appended once the pointer names
 *   the run (`recovered: true` instead of the counts when the next writer adds it for a writer killed
 *   between its pointer and its log line, with the manifest's modification time).
 * A run with a start line and no finish line, that the pointer does not name, is what a writer killed
 * between its manifest and its pointer leaves: a run that never became current (`unfinishedRuns`).
 * A run named by no line at all (a store whose log was deleted) is never taken for one.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, rmSync, statSync, truncateSync, writeSync } from "node:fs";
import { readRegular } from "../shared/fs.ts";
import { manifestPath, runLogPath } from "./layout.ts";
import type { PointerState } from "./manifest.ts";

export type RunLog = {
  /** Each run's last finish time, in the order of those lines. */
  finished: Map<string, string>;
  /** Runs with a start line. */
  started: Set<string>;
};

export function readRunLog(profileDir: string): RunLog {
  const log: RunLog = { finished: new Map(), started: new Set() };
  let text = "";
  try { text = readRegular(runLogPath(profileDir)).toString("utf8"); } catch { return log; }
  for (const line of text.split("\n")) {
    let e: { run_id?: unknown; finished_at?: unknown; started_at?: unknown };
    try { e = JSON.parse(line); } catch { continue; /* a torn last line after a crash */ }
    if (typeof e?.run_id !== "string") continue;
    if (typeof e.finished_at === "string") { log.finished.delete(e.run_id); log.finished.set(e.run_id, e.finished_at); }
    else if (typeof e.started_at === "string") log.started.add(e.run_id);
  }
  return log;
}

export type RunFacts = { runId: string; finishedAt: Date; wallMs: number; processed: number; reused: number; newObjects: number };

/** A finished run's line. */
export const runLogLine = (r: RunFacts): string => JSON.stringify({
  run_id: r.runId, finished_at: r.finishedAt.toISOString(), wall_ms: Math.round(r.wallMs),
  processed: r.processed, reused: r.reused, new_objects: r.newObjects,
}) + "\n";

/** A run's start line: written before any of its objects, its manifest or the pointer. */
export const runStartLine = (runId: string, startedAt: Date): string =>
  JSON.stringify({ run_id: runId, started_at: startedAt.toISOString() }) + "\n";

/**
 * The run ids with a start line, no finish line, that the pointer does not name. None when the
 * pointer cannot be read: which run it meant is unknown, so no run is taken for a leftover.
 */
export function unfinishedRuns(log: RunLog, pointer: PointerState): Set<string> {
  if (pointer.state === "bad") return new Set();
  const current = pointer.state === "ok" ? pointer.runId : undefined;
  return new Set([...log.started].filter((id) => id !== current && !log.finished.has(id)));
}

/**
 * The finish line a writer killed after its pointer and before its log line did not write, with its
 * manifest's modification time (written just before the pointer). Call with the write lock held.
 * Returns whether a line was added.
 */
export function logCurrentRun(profileDir: string, log: RunLog, current: string | undefined): boolean {
  if (!current || log.finished.has(current)) return false;
  let t: number;
  try { t = statSync(manifestPath(profileDir, current)).mtimeMs; } catch { return false; /* no manifest: verify reports it */ }
  const finishedAt = new Date(t).toISOString();
  appendRunLog(profileDir, JSON.stringify({ run_id: current, finished_at: finishedAt, recovered: true }) + "\n");
  log.finished.set(current, finishedAt);
  return true;
}

/** Where runs.log ended before an append: its size, or -1 when the append made it. */
export type LogMark = number;

/**
 * Appends lines to runs.log, made if missing. Only to a regular file: a FIFO or a device put there
 * fails at once (a FIFO without a reader would block the writer for ever), as does a symbolic link.
 * Returns where the log ended before (`undoAppend` puts it back).
 */
export function appendRunLog(profileDir: string, text: string): LogMark {
  const p = runLogPath(profileDir);
  const made = !existsSync(p); // under the write lock: nothing else makes it meanwhile
  const fd = openSync(p, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOFOLLOW, 0o644);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${p} is not a regular file`), { code: "EINVAL" });
    const mark = made ? -1 : st.size;
    const bytes = Buffer.from(text);
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
    return mark;
  } finally { closeSync(fd); }
}

/** Puts runs.log back as it was at `mark` (a write that failed and was undone). */
export function undoAppend(profileDir: string, mark: LogMark): void {
  const p = runLogPath(profileDir);
  if (mark < 0) rmSync(p, { force: true });
  else truncateSync(p, mark);
}
