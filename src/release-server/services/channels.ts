/**
 * Channels and rollout: what `latest` serves (a channel's current release inside its rollout, else
 * its previous one), promote behind the promotion gate, roll back, set the rollout and the policy.
 * Part of ReleaseService (service.ts); the conventions are core.ts's.
 */
import { Conflict, NotFound } from "../domain/errors.ts";
import type { Action, App, Channel, ChannelPolicy, Principal } from "../domain/model.ts";
import { inRollout, rolloutBucket } from "../domain/rollout.ts";
import { ChannelNameSchema, ChannelPolicySchema, parseInput, RolloutPercentSchema } from "../domain/validate.ts";
import type { ServiceCore } from "./core.ts";
import type { LatestResult } from "./types.ts";
import type { Releases } from "./releases.ts";

export class Channels {
  constructor(private readonly core: ServiceCore, private readonly releases: Releases) {}

  /**
   * The release a client should get. Without a channel: the newest published, non-draft,
   * non-prerelease release. With a channel: its current release when the rollout is complete or
   * the client's bucket (from `installId`) is inside it; otherwise the channel's previous release,
   * else the current one is withheld (NotFound only when the channel has nothing else to serve).
   */
  async latestRelease(app: App, opts: { channel?: string; installId?: string } = {}): Promise<LatestResult> {
    if (opts.channel === undefined) {
      const r = await this.core.repos.releases.latestPublished(app.id);
      if (!r) throw new NotFound(`${app.owner}/${app.slug} has no published release`);
      return { release: r, source: "latest" };
    }
    const ch = await this.getChannel(app, opts.channel);
    if (ch.current_release_id === null) throw new NotFound(`channel ${opts.channel} of ${app.owner}/${app.slug} has no release`);
    const inside = ch.rollout_percent >= 100 ||
      (opts.installId !== undefined && inRollout(ch.rollout_percent, rolloutBucket(app.id, ch.name, ch.current_release_id, opts.installId)));
    const current = await this.releases.getRelease(ch.current_release_id);
    if (inside) return { release: current, source: "current" };
    if (ch.previous_release_id !== null) return { release: await this.releases.getRelease(ch.previous_release_id), source: "previous" };
    // A first rollout has no previous channel release: hold the client on the app's newest published
    // release older than the candidate; when there is none, the candidate is all there is to serve
    // (a client must never read "no releases" while the channel has one).
    const older = await this.core.firstRolloutFallback(app.id, ch, current);
    return older ? { release: older, source: "previous" } : { release: current, source: "current" };
  }

  async getChannel(app: App, name: string): Promise<Channel> {
    return this.existing(app, name, await this.core.repos.channels.get(app.id, parseInput(ChannelNameSchema, name, "channel")));
  }

  async listChannels(app: App): Promise<Channel[]> {
    return await this.core.repos.channels.list(app.id);
  }

  /**
   * Points a channel (created on first use) at a release, with a rollout percentage (default 100).
   * The promotion gate runs inside the transaction after the pointer moved; when it fails the
   * whole change rolls back and Conflict explains why. A release the principal may not see
   * (`Releases.canSee`) is NotFound, as an unknown id is.
   */
  async promote(app: App, channelName: string, releaseId: number, opts: { rolloutPercent?: number }, by: Principal): Promise<Channel> {
    const rollout = parseInput(RolloutPercentSchema, opts.rolloutPercent ?? 100, "rollout percent");
    return await this.changeChannel(app, channelName, "promote", by, async (cur, name) => {
      const release = await this.core.repos.releases.get(releaseId);
      // A release the principal may not see (a draft it could not publish) is answered as one that
      // does not exist: the gate's 409 named its tag, its channel's state and its files.
      if (!release || release.app_id !== app.id || !(await this.releases.canSee(by, release))) {
        throw new NotFound(`${app.owner}/${app.slug} has no release with id ${releaseId}`);
      }
      const same = cur?.current_release_id === release.id;
      return {
        next: {
          current_release_id: release.id,
          previous_release_id: same ? cur!.previous_release_id : (cur?.current_release_id ?? null),
          rollout_percent: rollout,
          policy: cur?.policy ?? {},
        },
        event: "channel.promote",
        metadata: { release_id: release.id, version: release.version, from_release_id: cur?.current_release_id ?? null, rollout_percent: rollout },
        gate: async (ch) => {
          const failures = await this.gateFailures(ch);
          if (failures.length > 0) throw new Conflict(`promotion gate failed for ${release.tag} on ${name}: ${failures.join("; ")}`, { gate: failures });
        },
      };
    });
  }

  /** Checks the state a promotion produced (read back from the repository). */
  private async gateFailures(ch: Channel): Promise<string[]> {
    const release = ch.current_release_id === null ? undefined : await this.core.repos.releases.get(ch.current_release_id);
    if (!release) return ["the release does not exist"];
    const out: string[] = [];
    if (release.draft || release.published_at === null) out.push("the release is a draft");
    const artifacts = await this.core.repos.artifacts.listByRelease(release.id);
    if (artifacts.length === 0) out.push("the release has no artifacts");
    if (ch.policy.require_valid !== false) {
      for (const a of artifacts) if (a.validation_status === "invalid") out.push(`${a.filename} is invalid: ${a.validation_reason}`);
    }
    return out;
  }

  /** Puts the channel back on its previous release (at 100%). Conflict when there is none. */
  async rollback(app: App, channelName: string, by: Principal): Promise<Channel> {
    return await this.changeChannel(app, channelName, "promote", by, async (cur, name) => {
      const ch = this.existing(app, name, cur);
      if (ch.previous_release_id === null) throw new Conflict(`channel ${name} of ${app.owner}/${app.slug} has no previous release to roll back to`);
      return {
        next: { ...ch, current_release_id: ch.previous_release_id, previous_release_id: null, rollout_percent: 100 },
        event: "channel.rollback",
        metadata: { from_release_id: ch.current_release_id, to_release_id: ch.previous_release_id },
      };
    });
  }

  /** Changes the share of clients that get the channel's current release (0 halts it). */
  async setRollout(app: App, channelName: string, percent: number, by: Principal): Promise<Channel> {
    const rollout = parseInput(RolloutPercentSchema, percent, "rollout percent");
    return await this.changeChannel(app, channelName, "promote", by, async (cur, name) => {
      const ch = this.existing(app, name, cur);
      return { next: { ...ch, rollout_percent: rollout }, event: "channel.rollout", metadata: { from: ch.rollout_percent, to: rollout } };
    });
  }

  /**
   * Replaces a channel's policy (retention `keep_last`/`keep_days`, gate `require_valid`); creates
   * the channel, pointing nowhere, if it does not exist yet.
   */
  async setChannelPolicy(app: App, channelName: string, policy: ChannelPolicy, by: Principal): Promise<Channel> {
    const p = parseInput(ChannelPolicySchema, policy, "channel policy");
    return await this.changeChannel(app, channelName, "admin", by, async (cur) => ({
      next: {
        current_release_id: cur?.current_release_id ?? null,
        previous_release_id: cur?.previous_release_id ?? null,
        rollout_percent: cur?.rollout_percent ?? 100,
        policy: p,
      },
      event: "channel.policy",
      metadata: { from: cur?.policy ?? null, to: p },
    }));
  }

  /**
   * The shape of every channel change: validate the name, authorize, then in one transaction
   * compute the new state from the current one, store it, run the optional gate on what was
   * stored (a throw rolls everything back) and write the audit event.
   */
  private async changeChannel(
    app: App,
    channelName: string,
    action: Action,
    by: Principal,
    change: (
      cur: Channel | undefined,
      name: string,
    ) => Promise<{ next: Pick<Channel, "current_release_id" | "previous_release_id" | "rollout_percent" | "policy">; event: string; metadata: Record<string, unknown>; gate?: (ch: Channel) => Promise<void> }>,
  ): Promise<Channel> {
    const name = parseInput(ChannelNameSchema, channelName, "channel");
    this.core.authorize(by, action, { app, channel: name });
    return this.core.repos.transaction(async () => {
      const { next, event, metadata, gate } = await change(await this.core.repos.channels.get(app.id, name), name);
      const { current_release_id, previous_release_id, rollout_percent, policy } = next;
      const ch = await this.core.repos.channels.put({ app_id: app.id, name, current_release_id, previous_release_id, rollout_percent, policy, updated_at: this.core.now() });
      await gate?.(ch);
      await this.core.audit(by, event, "channel", `${app.id}/${name}`, { app: `${app.owner}/${app.slug}`, ...metadata });
      return ch;
    });
  }

  private existing(app: App, name: string, ch: Channel | undefined): Channel {
    if (!ch) throw new NotFound(`${app.owner}/${app.slug} has no channel ${name}`);
    return ch;
  }
}
