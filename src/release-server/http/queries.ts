/**
 * Read helpers the HTTP layer needs and ReleaseService does not offer. They only read, through
 * the service's repositories and blob store; every write still goes through the service.
 */
import { deadline } from "../../shared/deadline.ts";
import type { App, Artifact, Release } from "../domain/model.ts";
import type { ReleaseService } from "../service.ts";

export async function assetNamed(s: ReleaseService, release: Release, filename: string): Promise<Artifact | undefined> {
  return await s.repos.artifacts.byName(release.id, filename);
}

/**
 * The newest release that has an artifact named `filename`, among the published ones and the
 * drafts `drafts` lets the caller see (ReleaseService.draftScope: all, none, or its channels'):
 * one indexed query (`ReleaseRepository.newestWithArtifact`), then the artifact by its name. It
 * read every release of the app, one query each, which anyone could make slow with a name no
 * release has.
 */
export async function newestWithAsset(s: ReleaseService, app: App, filename: string, drafts: boolean | string[]): Promise<{ release: Release; artifact: Artifact } | undefined> {
  const release = await s.repos.releases.newestWithArtifact(app.id, filename, drafts);
  const artifact = release && (await s.repos.artifacts.byName(release.id, filename));
  return release && artifact ? { release, artifact } : undefined;
}

/**
 * How long a readiness check waits for the database, then for the blob store: one that does not
 * answer (a frozen PostgreSQL or radosgw) is not ready. /readyz hung as long as they did, and a
 * probe without its own timeout with it.
 */
export const READY_TIMEOUT_MS = 2_000;

/** `p`, or a rejection naming `what` after `ms`. */
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => deadline(p, ms, () => new Error(`${what} did not answer within ${ms / 1000} s`));

/** Why the server cannot serve (database or blob store unusable or not answering), or undefined when it can. */
export async function notReady(s: ReleaseService, timeoutMs = READY_TIMEOUT_MS): Promise<string | undefined> {
  try {
    await within(s.listApps(), timeoutMs, "the database");
  } catch (err) {
    return `database: ${err instanceof Error ? err.message : String(err)}`;
  }
  try {
    return await within(s.blobs.check(), timeoutMs, "the blob store");
  } catch (err) {
    return `blob store: ${err instanceof Error ? err.message : String(err)}`;
  }
}
