/**
 * Releases and artifacts: publish (a release and all its files in one transaction), edit, list,
 * delete; store blobs and add, rename, delete and count artifacts. Part of ReleaseService
 * (service.ts); the conventions are core.ts's.
 */
import type { BlobBody, BlobInfo, StoredBlob } from "../blobs/types.ts";
import { detectArtifact, validateForPlatform } from "../domain/detect.ts";
import { clip, Conflict, Invalid, NotFound, ServiceError } from "../domain/errors.ts";
import { storageKeyFor, type App, type Artifact, type Principal, type Release } from "../domain/model.ts";
import { draftVisible } from "../domain/tokens.ts";
import { isPrereleaseVersion, tagForVersion, versionForTag } from "../domain/versions.ts";
import {
  ArtifactInputSchema,
  ArtifactPatchSchema,
  parseInput,
  ReleaseInputSchema,
  ReleasePatchSchema,
  NullableChannelSchema,
  GitTagSchema,
  VersionSchema,
  type ArtifactInput,
  type ArtifactPatch,
  type ReleaseInput,
  type ReleasePatch,
} from "../domain/validate.ts";
import type { Served, ServiceCore } from "./core.ts";
import type { PublishFile } from "./types.ts";
import type { Apps } from "./apps.ts";

export class Releases {
  constructor(private readonly core: ServiceCore, private readonly apps: Apps) {}

  /** Whether the principal may see this release (published, or a draft it could publish). */
  async canSee(by: Principal | null, release: Release): Promise<boolean> {
    if (!release.draft) return true;
    return draftVisible(this.core.draftScope(by, await this.apps.getApp(release.app_id)), release);
  }

  /** Creates a release without artifacts (GitHub's create-then-upload flow); published unless draft. */
  async createRelease(app: App, input: ReleaseInput, by: Principal): Promise<Release> {
    return (await this.publishRelease(app, input, [], by)).release;
  }

  /**
   * Creates a release and all its artifacts in ONE transaction: either everything is visible or
   * nothing is. Blobs must already be stored (`putBlob`). The tag is the release's identity:
   * Conflict when the app has it. Without a tag, a semantic version is tagged `v<version>` and any
   * other version is its own tag; without a version, the tag's is taken (domain/versions.ts).
   */
  async publishRelease(app: App, input: ReleaseInput, files: PublishFile[], by: Principal): Promise<{ release: Release; artifacts: Artifact[] }> {
    return this.discardingOnRefusal(files.map((f) => f.blob), by, (seen) => this.insertRelease(app, input, files, by, seen));
  }

  /**
   * Runs an insert of stored blobs; when it is refused (a ServiceError), the blobs it stored (`seen`)
   * are removed again (discardRefused). A failure of the store or the database is no refusal: the
   * blobs stay for retention, since an upload of the same bytes at the same moment may be using
   * them (S3 times are whole seconds, so `seen` cannot tell), and removing one failed every such
   * upload with it.
   */
  private async discardingOnRefusal<T>(blobs: StoredBlob[], by: Principal, insert: (seen: Map<string, number>) => Promise<T>): Promise<T> {
    const seen = new Map<string, number>();
    try {
      return await insert(seen);
    } catch (err) {
      if (err instanceof ServiceError) await this.discardRefused(blobs, by, seen);
      throw err;
    }
  }

  /**
   * The seed's `POST /upload?version=`: publishes the release with one file, or, when an upload of
   * the same version created it meanwhile (the tag conflict), adds the file to that release, in
   * one refusal scope so that the blob stored for the first attempt stays for the second. Two files
   * of a CI matrix uploaded at the same moment were one 201 and one 422 "already has tag". A release
   * the principal may not see (`canSee`) is not added to: the conflict stands, as GitHub's 422
   * already_exists, which tells nothing the tag itself does not.
   */
  async publishOrAdd(app: App, input: ReleaseInput & { version: string }, file: PublishFile, by: Principal): Promise<{ release: Release; artifact: Artifact }> {
    const { blob, ...meta } = file;
    return this.discardingOnRefusal([blob], by, async (seen) => {
      try {
        const { release, artifacts } = await this.insertRelease(app, input, [file], by, seen);
        return { release, artifact: artifacts[0]! };
      } catch (err) {
        if (!(err instanceof Conflict && err.details?.field === "tag_name")) throw err;
        const release = await this.findReleaseByVersion(app, input.version);
        // A release `by` may not see (a draft of a channel outside its scope) is only the tag conflict.
        if (!release || !(await this.canSee(by, release))) throw err;
        return { release, artifact: await this.insertArtifact(release, meta, blob, by, seen) };
      }
    });
  }

  private async insertRelease(app: App, input: ReleaseInput, files: PublishFile[], by: Principal, seen: Map<string, number>): Promise<{ release: Release; artifacts: Artifact[] }> {
    const p = parseInput(ReleaseInputSchema, input, "release");
    if (p.version === undefined && p.tag == null) throw new Invalid("invalid release: a tag or a version is required", { field: "tag", reason: "is required", input: "release" });
    const version = p.version ?? versionForTag(p.tag!);
    this.core.authorize(by, "publish", { app, channel: p.channel ?? null });
    const prepared: Awaited<ReturnType<Releases["prepareArtifact"]>>[] = [];
    for (const { blob, ...meta } of files) prepared.push(await this.prepareArtifact(app, meta, blob, seen));
    const names = new Set<string>();
    for (const f of prepared) {
      if (names.has(f.filename)) throw new Conflict(`duplicate artifact name ${f.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
      names.add(f.filename);
    }
    const now = this.core.now();
    return this.core.repos.transaction(() => this.core.keepingOthersServed(by, app, async () => {
      const tag = p.tag ?? tagForVersion(version);
      if (await this.core.repos.releases.byTag(app.id, tag)) throw new Conflict(`${app.owner}/${app.slug} already has tag ${tag}`, { resource: "Release", code: "already_exists", field: "tag_name" });
      const release = await this.core.repos.releases.create({
        app_id: app.id,
        version,
        build: p.build ?? null,
        tag,
        name: p.name ?? null,
        notes: p.notes ?? null,
        channel: p.channel ?? null,
        draft: p.draft,
        prerelease: p.prerelease ?? isPrereleaseVersion(version),
        created_by: by.actor,
        created_at: now,
        published_at: p.draft ? null : now,
      });
      const artifacts: Artifact[] = [];
      for (const a of prepared) {
        await this.storedBlob(a.sha256);
        artifacts.push(await this.core.repos.artifacts.create({ ...a, release_id: release.id, created_at: now, updated_at: now }));
      }
      await this.core.audit(by, p.draft ? "release.create" : "release.publish", "release", release.id, {
        app: `${app.owner}/${app.slug}`,
        version: release.version,
        tag,
        artifacts: artifacts.map((a) => ({ id: a.id, filename: a.filename, sha256: a.sha256 })),
      });
      return { release, artifacts };
    }));
  }

  /**
   * Edits a release (GitHub PATCH). Turning `draft` off publishes it (sets `published_at`); turning
   * it back on unpublishes it. A new tag (Conflict when the app has it) renames the release's
   * version too when the version came from the old tag (as a create over HTTP makes it). Moving a
   * release to another channel needs publish rights on both channels.
   */
  async updateRelease(release: Release, patch: ReleasePatch, by: Principal): Promise<Release> {
    const p = parseInput(ReleasePatchSchema, patch, "release");
    const app = await this.apps.getApp(release.app_id);
    this.core.authorize(by, "publish", { app, channel: release.channel });
    if (p.channel !== undefined && p.channel !== release.channel) this.core.authorize(by, "publish", { app, channel: p.channel });
    return this.core.repos.transaction(() => this.core.keepingOthersServed(by, app, async () => {
      const cur = await this.getRelease(release.id);
      const served = await this.core.servedReleases(app.id);
      await this.core.authorizeServed(by, app, cur, served);
      const changes: Partial<Release> = {};
      if (p.tag !== undefined && p.tag !== cur.tag) {
        // Every file's URL (releases/download/<tag>/…) moves with the tag.
        await this.refuseIfServed(cur, "its tag cannot change (its files' URLs would move)", served);
        if (await this.core.repos.releases.byTag(cur.app_id, p.tag)) {
          throw new Conflict(`${app.owner}/${app.slug} already has tag ${p.tag}`, { resource: "Release", code: "already_exists", field: "tag_name" });
        }
        changes.tag = p.tag;
        const version = versionForTag(p.tag);
        if (cur.version === versionForTag(cur.tag) && version !== cur.version) changes.version = version;
      }
      if (p.name !== undefined) changes.name = p.name;
      if (p.notes !== undefined) changes.notes = p.notes;
      if (p.prerelease !== undefined) changes.prerelease = p.prerelease;
      if (p.channel !== undefined) changes.channel = p.channel;
      const publishing = p.draft === false && cur.draft;
      const unpublishing = p.draft === true && !cur.draft;
      if (p.draft !== undefined) changes.draft = p.draft;
      if (publishing) changes.published_at = this.core.now();
      if (unpublishing) {
        await this.refuseIfServed(cur, "it cannot become a draft", served);
        changes.published_at = null;
      }
      if (Object.keys(changes).length === 0) return cur; // nothing changed: no write, no event
      const updated = await this.core.repos.releases.update(cur.id, changes);
      await this.core.audit(by, publishing ? "release.publish" : "release.update", "release", cur.id, {
        app: `${app.owner}/${app.slug}`,
        version: updated.version,
        tag: updated.tag,
        changes: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, k === "notes" && typeof v === "string" ? `(${v.length} characters)` : v])),
      });
      return updated;
    }));
  }

  async getRelease(id: number): Promise<Release> {
    const r = await this.core.repos.releases.get(id);
    if (!r) throw new NotFound(`no release with id ${id}`);
    return r;
  }

  async getReleaseByTag(app: App, tag: string): Promise<Release> {
    // Any tag git accepts: a release tagged before TagSchema's later checks is still found.
    const r = await this.core.repos.releases.byTag(app.id, parseInput(GitTagSchema, tag, "tag"));
    if (!r) throw new NotFound(`no release tagged ${clip(tag)} in ${app.owner}/${app.slug}`);
    return r;
  }

  /**
   * The release the seed's `?version=` names, or undefined: the release with exactly this tag;
   * else, for a semantic version, the one tagged `v<version>` as publishing it would tag it ("v1.2.3",
   * "1.2.3" and "1.2.3+build" find v1.2.3); else the first created release of that version (a
   * version is not unique: "1.2.3" and "v1.2.3" may both be tags). Invalid when it is neither a
   * semantic version nor a tag.
   */
  async findReleaseByVersion(app: App, given: string): Promise<Release | undefined> {
    const version = parseInput(VersionSchema, given, "release version");
    const repo = this.core.repos.releases;
    const exact = await repo.byTag(app.id, given);
    if (exact) return exact;
    // A semantic version's tag (the version itself is not one: byVersion finds it), unless that was `given`.
    const tag = tagForVersion(version);
    if (tag !== version && tag !== given) {
      const tagged = await repo.byTag(app.id, tag);
      if (tagged) return tagged;
    }
    return await repo.byVersion(app.id, version);
  }

  /** Releases from any place of the list (newest first), for cursors that may start anywhere. */
  async releaseWindow(app: App, opts: { offset: number; limit: number; drafts?: boolean | string[] }): Promise<{ items: Release[]; total: number }> {
    return await this.core.repos.releases.list(app.id, { offset: Math.max(0, Math.floor(opts.offset)), limit: Math.max(1, Math.min(1000, Math.floor(opts.limit))), drafts: opts.drafts ?? true });
  }

  /**
   * Newest first. `page` starts at 1; `perPage` is capped at 100; drafts are included unless
   * `drafts: false` (with channel names: only drafts of those channels, see `draftScope`).
   */
  async listReleases(app: App, opts: { page: number; perPage: number; drafts?: boolean | string[] }): Promise<{ items: Release[]; total: number }> {
    const perPage = Math.max(1, Math.min(100, Math.floor(opts.perPage)));
    const page = Math.max(1, Math.floor(opts.page));
    return await this.core.repos.releases.list(app.id, { offset: (page - 1) * perPage, limit: perPage, drafts: opts.drafts ?? true });
  }

  /** Deletes a release and its artifact rows (blobs go at the next retention run). Conflict if a channel points at it. */
  async deleteRelease(release: Release, by: Principal): Promise<void> {
    const app = await this.apps.getApp(release.app_id);
    this.core.authorize(by, "delete", { app, channel: release.channel });
    await this.core.repos.transaction(async () => {
      if (!await this.core.repos.releases.get(release.id)) throw new NotFound(`no release with id ${release.id}`);
      await this.refuseIfServed(release, "promote or roll back first");
      await this.deleteReleaseRows(app, release, by, {});
    });
  }

  async deleteReleaseRows(app: App, release: Release, by: Principal, extra: Record<string, unknown>): Promise<void> {
    const artifacts = await this.core.repos.artifacts.listByRelease(release.id);
    await this.core.repos.releases.delete(release.id);
    await this.core.audit(by, "release.delete", "release", release.id, {
      app: `${app.owner}/${app.slug}`,
      version: release.version,
      tag: release.tag,
      artifacts: artifacts.map((a) => ({ id: a.id, filename: a.filename, sha256: a.sha256 })),
      ...extra,
    });
  }

  /**
   * Streams an upload into the blob store (see blobs/store.ts for the commit protocol), at most the
   * configured `uploads.max_bytes`.
   */
  putBlob(body: BlobBody, opts: { expectedSha256?: string } = {}): Promise<StoredBlob> {
    return this.core.blobs.put(body, { maxBytes: this.core.config.uploads.max_bytes, expectedSha256: opts.expectedSha256 });
  }

  /**
   * After a refused publish or add: removes the blobs the refused upload stored itself (not those
   * it found already stored) once no artifact references them, so a refused upload stores nothing
   * (`ServiceCore.deleteBlobIfUnreferenced`, as retention removes blobs). `seen` holds each blob's
   * time as this upload read it after storing it: a blob modified since was stored again by an
   * upload of the same bytes, which may still be on its way to its add, and is kept. One that
   * stored it again before that read finds it gone and is refused with a Conflict (`storedBlob`,
   * under the write lock too) rather than pointing at nothing. A blob that cannot be removed now is
   * retention's, after its grace period.
   */
  private async discardRefused(blobs: StoredBlob[], by: Principal, seen: ReadonlyMap<string, number>): Promise<void> {
    for (const sha256 of new Set(blobs.filter((b) => !b.existed).map((b) => b.sha256))) {
      try {
        await this.core.deleteBlobIfUnreferenced(sha256, by, { olderThanMs: seen.get(sha256), metadata: { refused_upload: true } });
      } catch {
        // Left for retention; the refusal itself is what the caller reports.
      }
    }
  }

  /**
   * The blob as stored now, or a Conflict: it was removed since the upload stored it (a refused
   * upload of the same bytes, see `discardRefused`). Checked before an artifact is prepared and
   * again inside the write transaction, before a row references the blob.
   */
  private async storedBlob(sha256: string): Promise<BlobInfo> {
    const st = await this.core.blobs.stat(sha256);
    if (!st) throw new Conflict(`blob sha256:${sha256} is not stored: a refused upload of the same bytes removed it meanwhile; upload the file again`);
    return st;
  }

  /** Adds one stored blob to a release as an artifact. Conflict on a duplicate file name. A refused add removes the blob it stored. */
  async addArtifact(release: Release, input: ArtifactInput, blob: StoredBlob, by: Principal): Promise<Artifact> {
    return this.discardingOnRefusal([blob], by, (seen) => this.insertArtifact(release, input, blob, by, seen));
  }

  private async insertArtifact(release: Release, input: ArtifactInput, blob: StoredBlob, by: Principal, seen: Map<string, number>): Promise<Artifact> {
    const app = await this.apps.getApp(release.app_id);
    this.core.authorize(by, "publish", { app, channel: release.channel });
    const a = await this.prepareArtifact(app, input, blob, seen);
    const now = this.core.now();
    return this.core.repos.transaction(async () => {
      if (!await this.core.repos.releases.get(release.id)) throw new NotFound(`no release with id ${release.id}`);
      await this.core.authorizeServed(by, app, release);
      if (await this.core.repos.artifacts.byName(release.id, a.filename)) {
        throw new Conflict(`release ${release.tag} already has an artifact named ${a.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
      }
      if (a.validation_status === "invalid") await this.refuseInvalidIfGated(app, release, a.filename, a.validation_reason);
      await this.storedBlob(a.sha256);
      const created = await this.core.repos.artifacts.create({ ...a, release_id: release.id, created_at: now, updated_at: now });
      await this.core.audit(by, "artifact.create", "artifact", created.id, { release_id: release.id, filename: a.filename, sha256: a.sha256, size: a.size_bytes });
      return created;
    });
  }

  /**
   * Everything about an upload that does not depend on its bytes: scope, file name, label,
   * content type, the channel of a release it would create, and a duplicate name. Callers run it
   * BEFORE reading the body, so a refused upload stores nothing; `addArtifact`/`publishRelease`
   * check the same again under the write lock.
   */
  async checkUpload(app: App, target: { release: Release } | { channel: string | null }, input: ArtifactInput, by: Principal): Promise<void> {
    const channel = "release" in target ? target.release.channel : parseInput(NullableChannelSchema, target.channel, "channel");
    this.core.authorize(by, "publish", { app, channel });
    if ("release" in target) await this.core.authorizeServed(by, app, target.release);
    const p = parseInput(ArtifactInputSchema, input, "artifact");
    if ("release" in target && await this.core.repos.artifacts.byName(target.release.id, p.filename)) {
      throw new Conflict(`release ${target.release.tag} already has an artifact named ${p.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
    }
  }

  /**
   * Conflict when a channel serves the release (its current or previous release, or the release
   * the clients outside a first rollout get: ServiceCore.servedReleases): it is what installs on
   * that channel get, so it may not go, become a draft, change its tag (every file's URL
 * holds it), or lose or rename a file until
   * the channel has moved on (promote another release, or roll back). `consequence` ends the
   * message. Run inside the write transaction.
   */
  private async refuseIfServed(release: Release, consequence: string, all?: Served): Promise<void> {
    const served = (all ?? await this.core.servedReleases(release.app_id)).get(release.id);
    if (!served) return;
    const pinned = served.find((x) => x.as !== "fallback");
    throw new Conflict(pinned
      ? `release ${release.tag} is the current or previous release of a channel; ${consequence}`
      : `release ${release.tag} is what channel ${served[0]!.channel} serves to the clients outside its first rollout; ${consequence}`);
  }

  /**
   * Conflict when a channel whose gate requires valid files (`require_valid`, the default) serves
   * the release (current or previous): an invalid file added afterwards would reach its installs
   * without passing the gate that a promotion runs. Run inside the write transaction.
   */
  private async refuseInvalidIfGated(app: App, release: Release, filename: string, reason: string | null): Promise<void> {
    const gated = (await this.core.repos.channels.list(app.id))
      .filter((ch) => (ch.current_release_id === release.id || ch.previous_release_id === release.id) && ch.policy.require_valid !== false)
      .map((ch) => ch.name);
    if (gated.length > 0) {
      throw new Conflict(`${filename} is invalid (${reason ?? "unknown reason"}) and release ${release.tag} is served by channel ${gated.join(", ")}, whose promotion gate requires valid files`, { gate: [`${filename} is invalid: ${reason ?? "unknown reason"}`] });
    }
  }

  /**
   * Renames an artifact or changes its label (GitHub's asset PATCH). Conflict when the name is
   * taken, or for a rename when a channel serves the release (a label may still change).
   */
  async updateArtifact(id: number, patch: ArtifactPatch, by: Principal): Promise<Artifact> {
    const p = parseInput(ArtifactPatchSchema, patch, "asset");
    const a = await this.getArtifact(id);
    const release = await this.getRelease(a.release_id);
    const app = await this.apps.getApp(a.app_id);
    this.core.authorize(by, "publish", { app, channel: release.channel });
    return this.core.repos.transaction(async () => {
      const served = await this.core.servedReleases(app.id);
      await this.core.authorizeServed(by, app, release, served);
      const renaming = p.filename !== undefined && p.filename !== a.filename;
      if (renaming) await this.refuseIfServed(release, "its assets cannot be renamed: promote another release or roll back first", served);
      if (renaming && await this.core.repos.artifacts.byName(a.release_id, p.filename!)) {
        throw new Conflict(`release ${release.tag} already has an artifact named ${p.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
      }
      const changes = { ...(p.filename !== undefined ? { filename: p.filename } : {}), ...(p.label !== undefined ? { label: p.label } : {}) };
      if (Object.keys(changes).length === 0) return a;
      const updated = await this.core.repos.artifacts.update(id, { ...changes, updated_at: this.core.now() });
      await this.core.audit(by, "artifact.update", "artifact", id, { release_id: a.release_id, from: { filename: a.filename, label: a.label }, changes });
      return this.core.withPendingDownloads(updated);
    });
  }

  /**
   * The artifact row for a stored blob: its size, and what detection reads in it. Records the
   * blob's time in `seen` (see `discardRefused`).
   */
  private async prepareArtifact(app: App, input: ArtifactInput, blob: StoredBlob, seen: Map<string, number>) {
    const p = parseInput(ArtifactInputSchema, input, "artifact");
    const { size, mtimeMs } = await this.storedBlob(blob.sha256);
    if (!seen.has(blob.sha256)) seen.set(blob.sha256, mtimeMs);
    let metadata: ReturnType<typeof detectArtifact>;
    try {
      metadata = await this.core.blobs.inspect(blob.sha256, detectArtifact, size);
    } catch (err) {
      await this.storedBlob(blob.sha256); // removed since the line above: the same Conflict
      throw err;
    }
    const v = validateForPlatform(metadata, p.platform ?? null);
    return {
      app_id: app.id,
      platform: v.platform,
      filename: p.filename,
      label: p.label ?? null,
      content_type: p.content_type,
      size_bytes: size,
      sha256: blob.sha256,
      storage_key: storageKeyFor(blob.sha256),
      metadata,
      validation_status: v.status,
      validation_reason: v.reason,
      state: "uploaded" as const,
      download_count: 0,
    };
  }

  async getArtifact(id: number): Promise<Artifact> {
    const a = await this.core.repos.artifacts.get(id);
    if (!a) throw new NotFound(`no artifact with id ${id}`);
    return this.core.withPendingDownloads(a);
  }

  async listArtifacts(release: Release): Promise<Artifact[]> {
    return (await this.core.repos.artifacts.listByRelease(release.id)).map((a) => this.core.withPendingDownloads(a));
  }

  async findArtifactByName(release: Release, filename: string): Promise<Artifact> {
    const a = await this.core.repos.artifacts.byName(release.id, filename);
    if (!a) throw new NotFound(`release ${release.tag} has no artifact named ${clip(filename)}`);
    return this.core.withPendingDownloads(a);
  }

  /** Deletes an artifact row (its blob goes at the next retention run). Conflict when a channel serves its release. */
  async deleteArtifact(id: number, by: Principal): Promise<void> {
    const a = await this.getArtifact(id);
    const release = await this.getRelease(a.release_id);
    const app = await this.apps.getApp(a.app_id);
    this.core.authorize(by, "delete", { app, channel: release.channel });
    await this.core.repos.transaction(async () => {
      if (!await this.core.repos.artifacts.get(id)) throw new NotFound(`no artifact with id ${id}`);
      const served = await this.core.servedReleases(app.id);
      await this.core.authorizeServed(by, app, release, served);
      await this.refuseIfServed(release, "its assets cannot be deleted: promote another release or roll back first", served);
      await this.core.repos.artifacts.delete(id);
      await this.core.audit(by, "artifact.delete", "artifact", id, { release_id: a.release_id, filename: a.filename, sha256: a.sha256 });
    });
  }

  /** Counts one download (in memory; written with the next flush). */
  countDownload(artifactId: number): void {
    this.core.pendingDownloads.set(artifactId, (this.core.pendingDownloads.get(artifactId) ?? 0) + 1);
    this.core.maybeFlush();
  }
}
