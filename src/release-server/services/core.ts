/**
 * What every part of the service shares: the repositories, the blob store, the config and the
 * clock; the audit event written with each change; scope checks; and the batched counters (token
 * last-use times and download counts, kept in memory and written every `tokens.flush_seconds`, on
 * `flush()` and on `close()`, as increments and forward-only times so replicas' batches merge).
 *
 * Conventions of every part (apps.ts, tokens.ts, releases.ts, channels.ts, retention.ts):
 * - Every state-changing method takes the acting `Principal` (a token, or `operator()` for the
 *   CLI) and authorizes it itself, so a scoped token cannot act outside its scopes whichever layer
 *   calls. Read methods do not check: the caller decides what a principal may read (`authorize`).
 * - Each change runs in one repository transaction together with its audit event.
 * - Failures are typed (`domain/errors.ts`): NotFound, Conflict, Forbidden, Unauthorized, Invalid,
 *   TooLarge, DigestMismatch, Unsupported, Aborted.
 */
import { userInfo } from "node:os";
import type { ServerConfig } from "../config.ts";
import type { BlobStore } from "../blobs/types.ts";
import { Conflict, Forbidden, Invalid, NotFound, Unauthorized } from "../domain/errors.ts";
import { isoSeconds, type Action, type App, type Artifact, type Channel, type Principal, type Release } from "../domain/model.ts";
import type { Repositories } from "../domain/repository.ts";
import { scopeDenial } from "../domain/tokens.ts";

/** The operator running the CLI against the data directory: unrestricted. */
export function operator(name = `cli:${safeUser()}`): Principal {
  return { actor: name, token: null };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "operator";
  }
}

/** Release id → the channels serving it and how (ServiceCore.servedReleases). */
export type Served = Map<number, { channel: string; as: "current" | "previous" | "fallback" }[]>;

export class ServiceCore {
  pendingLastUsed = new Map<number, string>();
  pendingDownloads = new Map<number, number>();
  private lastFlushMs: number;

  constructor(
    readonly repos: Repositories,
    readonly blobs: BlobStore,
    readonly config: ServerConfig,
    readonly clock: () => Date,
  ) {
    this.lastFlushMs = clock().getTime();
  }

  now(): string {
    return isoSeconds(this.clock());
  }

  async audit(by: Principal, action: string, target_type: string, target_id: string | number, metadata: Record<string, unknown> = {}): Promise<void> {
    await this.repos.audit.append({ actor: by.actor, action, target_type, target_id: String(target_id), metadata, created_at: this.now() });
  }

  /** Forbidden unless the principal may do `action` on the app (and channel, when one is involved). */
  authorize(by: Principal, action: Action, target: { app?: App; channel?: string | null } = {}): void {
    if (by.token === null) return;
    const why = scopeDenial(by.token.scopes, action, { appId: target.app?.id, channel: target.channel });
    if (why) throw new Forbidden(`${why}${target.app ? ` (${target.app.owner}/${target.app.slug})` : ""}`);
  }

  /**
   * The releases the app's channels serve, each with how: a channel's current and previous
   * release, and in a first rollout (below 100 %, no previous release) the app's newest published
   * release older than the candidate, which clients outside the rollout get (Channels.latestRelease).
   * Retention keeps them all; they may not go or change in ways that move what a channel's clients
   * get (Releases.refuseIfServed), and a channel-scoped token may not change one that a channel
   * outside its scope serves (authorizeServed).
   */
  async servedReleases(appId: number): Promise<Served> {
    const out: Served = new Map();
    const add = (id: number | null | undefined, channel: string, as: "current" | "previous" | "fallback") => {
      if (id === null || id === undefined) return;
      const list = out.get(id);
      if (list) list.push({ channel, as }); else out.set(id, [{ channel, as }]);
    };
    for (const ch of await this.repos.channels.list(appId)) {
      add(ch.current_release_id, ch.name, "current");
      add(ch.previous_release_id, ch.name, "previous");
      add((await this.firstRolloutFallback(appId, ch))?.id, ch.name, "fallback");
    }
    return out;
  }

  /**
   * The release a channel in a first rollout (below 100 %, no previous release) gives the clients
   * outside it: the app's newest published release older than the candidate (`current`, read when
   * not given). Undefined for any other channel, or when there is none (they get the candidate).
   * The one rule of Channels.latestRelease, the package browser and servedReleases.
   */
  async firstRolloutFallback(appId: number, ch: Channel, current?: Release): Promise<Release | undefined> {
    if (ch.current_release_id === null || ch.previous_release_id !== null || ch.rollout_percent >= 100) return undefined;
    const candidate = current ?? await this.repos.releases.get(ch.current_release_id);
    return candidate ? await this.repos.releases.latestPublished(appId, candidate) : undefined;
  }

  /** Each channel's first-rollout fallback (firstRolloutFallback), by channel name. */
  private async firstRolloutFallbacks(appId: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const ch of await this.repos.channels.list(appId)) {
      const older = await this.firstRolloutFallback(appId, ch);
      if (older) out.set(ch.name, older.id);
    }
    return out;
  }

  /**
   * Runs a write of a channel-scoped token (inside its transaction) and refuses it (Forbidden, so
   * the transaction rolls back) when it changes what a channel outside the token's scope serves to
   * the clients outside its first rollout: that is the app's newest published release older than
   * the candidate, whichever channel it was published to, so a beta token publishing 1.9.0 (or
   * publishing a draft, clearing a prerelease flag, retagging) could move prod's clients to it.
   */
  async keepingOthersServed<T>(by: Principal, app: App, write: () => Promise<T>): Promise<T> {
    const channels = by.token?.scopes.channels;
    if (!channels) return write();
    const before = await this.firstRolloutFallbacks(app.id);
    const out = await write();
    const after = await this.firstRolloutFallbacks(app.id);
    for (const ch of new Set([...before.keys(), ...after.keys()])) {
      if (!channels.includes(ch) && before.get(ch) !== after.get(ch)) {
        throw new Forbidden(`token is not valid for channel '${ch}': this would change the release its clients outside the rollout get (${app.owner}/${app.slug})`);
      }
    }
    return out;
  }

  /**
   * Forbidden when a channel-scoped token would change a release that a channel outside its scope
   * serves (servedReleases): a token of channel beta may not add a file to, edit or delete what
   * stable's installs get, whichever channel the release was published to.
   */
  async authorizeServed(by: Principal, app: App, release: { id: number; tag: string }, served?: Served): Promise<void> {
    const channels = by.token?.scopes.channels;
    if (!channels) return;
    const outside = (served ?? await this.servedReleases(app.id)).get(release.id)?.find((s) => !channels.includes(s.channel));
    if (outside) throw new Forbidden(`token is not valid for channel '${outside.channel}', which serves release ${release.tag} (${app.owner}/${app.slug})`);
  }

  /**
   * Which drafts of `app` the principal may see (drafts are visible to whoever could publish
   * them): all (true), none (false), or those of the listed channels (a channel-scoped token).
   */
  draftScope(by: Principal | null, app: App): boolean | string[] {
    if (!by) return false;
    if (by.token === null) return true;
    const { scopes } = by.token;
    if (scopeDenial({ ...scopes, channels: null }, "publish", { appId: app.id }) !== undefined) return false;
    return scopes.channels === null ? true : [...scopes.channels];
  }

  /**
   * Deletes a blob that no artifact references, re-checked under the write lock (an upload may have
   * referenced it meanwhile), with its `blob.delete` audit event. With `olderThanMs`, a blob modified
   * after that time is kept: an upload of the same bytes stored it again (which moves its time
   * forward, see blobs/types.ts) and may be about to reference it. False when kept or already gone.
   * Retention calls it with the end of the grace period; a refused upload with the blob's time as
   * the upload saw it after storing it (releases.ts).
   */
  async deleteBlobIfUnreferenced(sha256: string, by: Principal, opts: { olderThanMs?: number; metadata: Record<string, unknown> }): Promise<boolean> {
    return this.repos.transaction(async () => {
      if ((await this.repos.artifacts.countBySha(sha256)) > 0) return false;
      const st = await this.blobs.stat(sha256);
      if (!st || (opts.olderThanMs !== undefined && st.mtimeMs > opts.olderThanMs) || !(await this.blobs.remove(sha256))) return false;
      await this.audit(by, "blob.delete", "blob", sha256, { size: st.size, ...opts.metadata });
      return true;
    });
  }

  withPendingDownloads(a: Artifact): Artifact {
    const n = this.pendingDownloads.get(a.id);
    return n ? { ...a, download_count: a.download_count + n } : a;
  }

  maybeFlush(): void {
    if (this.clock().getTime() - this.lastFlushMs >= this.config.tokens.flush_seconds * 1000) void this.flush().catch(() => {});
  }

  /**
   * Writes batched last-used times and download counts now. Counts are written as increments and
   * last-used times only move forward, so the batches of several replicas merge; a batch whose
   * write fails is merged back into the pending one and written with the next flush.
   */
  async flush(): Promise<void> {
    this.lastFlushMs = this.clock().getTime();
    if (this.pendingLastUsed.size === 0 && this.pendingDownloads.size === 0) return;
    const lastUsed = this.pendingLastUsed;
    const downloads = this.pendingDownloads;
    this.pendingLastUsed = new Map();
    this.pendingDownloads = new Map();
    try {
      await this.repos.transaction(async () => {
        await this.repos.tokens.touch(lastUsed);
        await this.repos.artifacts.addDownloads(downloads);
      });
    } catch (err) {
      for (const [id, at] of lastUsed) {
        const cur = this.pendingLastUsed.get(id);
        if (cur === undefined || cur < at) this.pendingLastUsed.set(id, at);
      }
      for (const [id, n] of downloads) this.pendingDownloads.set(id, (this.pendingDownloads.get(id) ?? 0) + n);
      throw err;
    }
  }
}
