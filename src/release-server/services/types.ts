/** Result and input shapes the parts of the service share (re-exported by service.ts). */
import type { StoredBlob } from "../blobs/types.ts";
import type { Release } from "../domain/model.ts";
import type { ArtifactInput } from "../domain/validate.ts";

/** A release's files, already stored with `putBlob`, for `publishRelease`. */
export type PublishFile = ArtifactInput & { blob: StoredBlob };

export interface RetentionReport {
  dry_run: boolean;
  releases: Array<{ app: string; release_id: number; version: string; channel: string | null; reason: string }>;
  blobs: Array<{ sha256: string; size: number }>;
  staging: Array<{ name: string; size: number }>;
}

/** What `latestRelease` served and why (the HTTP layer folds `source` into caching decisions). */
export interface LatestResult {
  release: Release;
  /** "latest": no channel asked; "current": the channel's release; "previous": outside the rollout. */
  source: "latest" | "current" | "previous";
}
