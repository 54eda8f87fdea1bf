/**
 * Read helpers the HTTP layer needs and ReleaseService does not offer. They only read, through
 * the service's repositories and blob store; every write still goes through the service.
 */
import type { App, Artifact, Release } from "../domain/model.ts";
import { draftVisible } from "../domain/tokens.ts";
import type { ReleaseService } from "../service.ts";

export async function assetNamed(s: ReleaseService, release: Release, filename: string): Promise<Artifact | undefined> {
  return await s.repos.artifacts.byName(release.id, filename);
}

/**
 * The newest release that has an artifact named `filename`, among the published ones and the
 * drafts `drafts` lets the caller see (ReleaseService.draftScope: all, none, or its channels').
 */
export async function newestWithAsset(s: ReleaseService, app: App, filename: string, drafts: boolean | string[]): Promise<{ release: Release; artifact: Artifact } | undefined> {
  for (const release of await s.repos.releases.all(app.id)) {
    if (!draftVisible(drafts, release)) continue;
    const artifact = await s.repos.artifacts.byName(release.id, filename);
    if (artifact) return { release, artifact };
  }
  return undefined;
}

/** Why the server cannot serve (database or blob store unusable), or undefined when it can. */
export async function notReady(s: ReleaseService): Promise<string | undefined> {
  try {
    await s.listApps();
  } catch (err) {
    return `database: ${err instanceof Error ? err.message : String(err)}`;
  }
  try {
    return await s.blobs.check();
  } catch (err) {
    return `blob store: ${err instanceof Error ? err.message : String(err)}`;
  }
}
