/**
 * The update notice: "auditgraph X is available". Loaded by src/cli/main.ts only for a compiled
 * binary writing to a terminal without AUDITGRAPH_NO_UPDATE_CHECK, after the command has finished.
 * It reads one small cached file and never waits for the network: when the cache is a day old it
 * starts a detached `auditgraph upgrade --check` (AUDITGRAPH_UPDATE_REFRESH=1) that rewrites the
 * cache for the next command, and returns. At most one notice and one check a day; never in CI,
 * nor with {"update_notice": false} in the config directory's config.json.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "../shared/build-info.ts";
import { cacheDir, readSettings } from "./paths.ts";

type Env = Record<string, string | undefined>;
export const DAY_MS = 24 * 60 * 60 * 1000;

export interface NoticeCache {
  /** When a check last finished (ms since the epoch). */
  checked_at?: number;
  /** When a background check was last started. */
  started_at?: number;
  /** When the notice was last shown. */
  notified_at?: number;
  /** The version that checked. */
  current?: string;
  /** A newer release, when the check found one. */
  available?: string | null;
  /** The command that upgrades this install (auditgraph upgrade, or what a refusal names). */
  command?: string;
}

const CI_VARS = ["CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "RUN_ID", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "TF_BUILD", "JENKINS_URL", "TEAMCITY_VERSION", "CIRCLECI", "TRAVIS"];

/** The rules that do not need the cache: CI, the environment switch, the config key. */
export function noticeAllowed(env: Env = process.env): boolean {
  if (env.AUDITGRAPH_NO_UPDATE_CHECK && env.AUDITGRAPH_NO_UPDATE_CHECK !== "0") return false;
  if (CI_VARS.some((k) => env[k] && env[k] !== "false" && env[k] !== "0")) return false;
  return readSettings(env).update_notice !== false;
}

export const cachePath = (env: Env = process.env) => {
  const d = cacheDir(env);
  return d ? join(d, "update-check.json") : undefined;
};

export function readCache(env: Env = process.env): NoticeCache {
  const p = cachePath(env);
  if (!p) return {};
  try {
    const c = JSON.parse(readFileSync(p, "utf8"));
    return c && typeof c === "object" && !Array.isArray(c) ? c : {};
  } catch {
    return {};
  }
}

export function writeCache(c: NoticeCache, env: Env = process.env): void {
  const p = cachePath(env);
  if (!p) return;
  try {
    mkdirSync(join(p, ".."), { recursive: true });
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(c) + "\n");
    renameSync(tmp, p);
  } catch {}
}

/** Prints the notice when one is due and starts a background check when the cache is stale. Never throws. */
export function updateNotice(write: (line: string) => void, env: Env = process.env, now = Date.now()): void {
  try {
    if (!noticeAllowed(env)) return;
    const cache = readCache(env);
    let changed = false;
    if (cache.available && cache.current === VERSION && now - (cache.notified_at ?? 0) >= DAY_MS) {
      write(`auditgraph ${cache.available} is available (this is ${VERSION}); to upgrade run: ${cache.command || "auditgraph upgrade"}\n`);
      cache.notified_at = now;
      changed = true;
    }
    const last = Math.max(cache.current === VERSION ? cache.checked_at ?? 0 : 0, cache.started_at ?? 0);
    const check = now - last >= DAY_MS;
    if (check) { cache.started_at = now; changed = true; }
    // Written before the check starts: written after, it could land after the check's own record
    // (recordCheck) and erase it, and the newer release would not be known for a day (a busy
    // machine delays this process more than the check; CI saw it once).
    if (changed) writeCache(cache, env);
    if (check) {
      const child = Bun.spawn([process.execPath, "upgrade", "--check", "--json"], {
        env: { ...env, AUDITGRAPH_UPDATE_REFRESH: "1", AUDITGRAPH_NO_UPDATE_CHECK: "1" },
        stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true,
      });
      child.unref();
    }
  } catch {}
}

/** What the background check records (called by `upgrade --check` under AUDITGRAPH_UPDATE_REFRESH=1). */
export function recordCheck(result: { available: string | null; command: string }, env: Env = process.env, now = Date.now()): void {
  const cache = readCache(env);
  writeCache({ ...cache, checked_at: now, current: VERSION, available: result.available, command: result.command }, env);
}
