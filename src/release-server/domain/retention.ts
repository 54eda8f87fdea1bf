/**
 * Which releases retention removes (pure). Within one app and channel, a release is kept when it is
 * among the newest `keep_last`, or younger than `keep_days`; a policy with neither keeps
 * everything. A release a channel serves (`pinned`: current, previous, or what the clients outside
 * a first rollout get) is never removed. Drafts are neither removed nor counted: a draft is work in
 * progress that nobody installs, and a few newer drafts must not push published releases out of
 * `keep_last`.
 */
import type { Release } from "./model.ts";

export interface Policy {
  keep_last?: number;
  keep_days?: number;
}

export interface Doomed {
  release: Release;
  reason: string;
}

/** `releases`: one app's releases of one channel, newest first. */
export function planRetention(releases: Release[], policy: Policy, pinned: Set<number>, nowMs: number): Doomed[] {
  const { keep_last, keep_days } = policy;
  if (keep_last === undefined && keep_days === undefined) return [];
  const out: Doomed[] = [];
  releases.filter((r) => !r.draft).forEach((r, i) => {
    if (pinned.has(r.id)) return;
    if (keep_last !== undefined && i < keep_last) return;
    const ageDays = (nowMs - Date.parse(r.created_at)) / 86_400_000;
    if (keep_days !== undefined && ageDays < keep_days) return;
    const why = [
      keep_last !== undefined ? `not among the newest ${keep_last}` : undefined,
      keep_days !== undefined ? `older than ${keep_days} days` : undefined,
    ].filter(Boolean);
    out.push({ release: r, reason: why.join(" and ") });
  });
  return out;
}
