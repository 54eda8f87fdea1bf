/**
 * Retention: deletes what the policies no longer keep (releases, unreferenced blobs, stale staged
 * uploads), one run at a time across replicas. Part of ReleaseService (service.ts); the
 * conventions are core.ts's.
 */
import { retentionPolicyFor } from "../config.ts";
import { Conflict } from "../domain/errors.ts";
import type { Principal, Release } from "../domain/model.ts";
import type { Repositories } from "../domain/repository.ts";
import { planRetention } from "../domain/retention.ts";
import type { ServiceCore } from "./core.ts";
import type { RetentionReport } from "./types.ts";
import type { Releases } from "./releases.ts";

export class Retention {
  constructor(private readonly core: ServiceCore, private readonly releases: Releases) {}

  /**
   * Applies the retention policies: deletes releases no policy keeps (never one a channel serves,
   * never a draft), then blobs no artifact references (older than the grace period), then stale staged
   * uploads. Every deletion is an audit event. With `dryRun` nothing changes and the report lists
   * what would go.
   *
   * A real run holds the database's `retention` lock (Repositories.exclusive), so only one process
   * or replica deletes at a time; another run meanwhile is a Conflict and deletes nothing. Blobs are
   * deleted only when no row references them, and the database is shared by every replica.
   */
  async runRetention(opts: { dryRun: boolean }, by: Principal): Promise<RetentionReport> {
    this.core.authorize(by, "admin");
    if (opts.dryRun) return this.retention(opts, by);
    const run = await this.core.repos.exclusive("retention", () => this.retention(opts, by));
    if (!run.locked) throw new Conflict("a retention run is in progress on another process or replica; nothing was deleted, try again when it has finished");
    return run.value;
  }

  private async retention(opts: { dryRun: boolean }, by: Principal): Promise<RetentionReport> {
    const nowMs = this.core.clock().getTime();
    const report: RetentionReport = { dry_run: opts.dryRun, releases: [], blobs: [], staging: [] };
    await this.core.repos.transaction(async () => {
      for (const app of await this.core.repos.apps.list()) {
        const ref = `${app.owner}/${app.slug}`;
        // What a channel serves stays: its current and previous release, and what the clients
        // outside a first rollout get (ServiceCore.servedReleases).
        const pinned = new Set((await this.core.servedReleases(app.id)).keys());
        const byChannel = new Map<string | null, Release[]>();
        for (const r of await this.core.repos.releases.all(app.id)) {
          const group = byChannel.get(r.channel);
          if (group) group.push(r);
          else byChannel.set(r.channel, [r]);
        }
        for (const [channel, releases] of byChannel) {
          const rowPolicy = channel === null ? undefined : (await this.core.repos.channels.get(app.id, channel))?.policy;
          const policy = retentionPolicyFor(this.core.config, ref, channel, rowPolicy);
          for (const d of planRetention(releases, policy, pinned, nowMs)) {
            report.releases.push({ app: ref, release_id: d.release.id, version: d.release.version, channel, reason: d.reason });
            if (!opts.dryRun) await this.releases.deleteReleaseRows(app, d.release, by, { reason: d.reason, retention: true });
          }
        }
      }
    });
    const referenced = await this.core.repos.artifacts.referencedShas();
    if (opts.dryRun) {
      // Nothing was deleted: a blob whose every reference is in a release that would go, would go too.
      const doomed = new Map<string, number>();
      for (const r of report.releases) for (const a of await this.core.repos.artifacts.listByRelease(r.release_id)) doomed.set(a.sha256, (doomed.get(a.sha256) ?? 0) + 1);
      for (const [sha, n] of doomed) if (await this.core.repos.artifacts.countBySha(sha) === n) referenced.delete(sha);
    }
    const graceMs = this.core.config.retention.blob_grace_hours * 3_600_000;
    for await (const b of this.core.blobs.entries()) {
      if (referenced.has(b.sha256) || nowMs - b.mtimeMs < graceMs) continue;
      if (opts.dryRun || await this.core.deleteBlobIfUnreferenced(b.sha256, by, { olderThanMs: nowMs - graceMs, metadata: { retention: true } })) report.blobs.push({ sha256: b.sha256, size: b.size });
    }
    const maxAge = this.core.config.retention.staging_max_age_hours * 3_600_000;
    report.staging = opts.dryRun ? await this.core.blobs.staleUploads(nowMs, maxAge) : await this.core.blobs.sweepUploads(nowMs, maxAge);
    if (!opts.dryRun) {
      await this.core.repos.transaction(async () => {
        for (const f of report.staging) await this.core.audit(by, "staging.delete", "staging", f.name, { size: f.size, retention: true });
        await this.core.audit(by, "retention.run", "retention", "-", { releases: report.releases.length, blobs: report.blobs.length, staging: report.staging.length });
      });
    }
    return report;
  }
}
