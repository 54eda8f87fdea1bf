import { defineCommand } from "citty";
import { ReleaseService } from "../service.ts";
import type { Channel } from "../domain/model.ts";
import { appArg, commonArgs, numberArg, output, withService } from "./_shared.ts";

const target = {
  app: { type: "positional", required: true, description: "OWNER/SLUG" },
  channel: { type: "positional", required: true, description: "Channel name, e.g. stable, beta" },
} as const;

const line = (c: Channel) =>
  `${c.name}\tcurrent=${c.current_release_id ?? "-"}\tprevious=${c.previous_release_id ?? "-"}\trollout=${c.rollout_percent}%`;

const promote = defineCommand({
  meta: { name: "promote", description: "Point a channel at a release (after the promotion gate)" },
  args: {
    ...commonArgs,
    ...target,
    tag: { type: "positional", required: true, description: "The release's tag, e.g. v1.2.3" },
    rollout: { type: "string", description: "Percentage of clients that get it (default 100)", valueHint: "PERCENT" },
  },
  run: ({ args }) =>
    withService(args, async (s) => {
      const app = await appArg(s, args.app);
      const release = await s.getReleaseByTag(app, args.tag);
      const rolloutPercent = args.rollout === undefined ? undefined : numberArg("rollout", args.rollout);
      const ch = await s.promote(app, args.channel, release.id, { rolloutPercent }, ReleaseService.operator());
      output(args.json, ch, () => [`${args.app} ${ch.name} -> ${release.tag} at ${ch.rollout_percent}%`]);
    }),
});

const rollback = defineCommand({
  meta: { name: "rollback", description: "Put a channel back on its previous release" },
  args: { ...commonArgs, ...target },
  run: ({ args }) =>
    withService(args, async (s) => {
      const app = await appArg(s, args.app);
      const ch = await s.rollback(app, args.channel, ReleaseService.operator());
      const tag = (await s.getRelease(ch.current_release_id!)).tag;
      output(args.json, ch, () => [`${args.app} ${ch.name} rolled back to ${tag}`]);
    }),
});

const setRollout = defineCommand({
  meta: { name: "set-rollout", description: "Change the share of clients that get the channel's current release (0 halts it)" },
  args: { ...commonArgs, ...target, percent: { type: "positional", required: true, description: "0-100" } },
  run: ({ args }) =>
    withService(args, async (s) => {
      const ch = await s.setRollout(await appArg(s, args.app), args.channel, numberArg("percent", args.percent), ReleaseService.operator());
      output(args.json, ch, () => [`${args.app} ${ch.name} rollout ${ch.rollout_percent}%`]);
    }),
});

const policy = defineCommand({
  meta: { name: "policy", description: "Set a channel's retention and promotion-gate policy (replaces the previous one)" },
  args: {
    ...commonArgs,
    ...target,
    "keep-last": { type: "string", description: "Retention: keep the newest N releases of this channel", valueHint: "N" },
    "keep-days": { type: "string", description: "Retention: keep releases younger than D days", valueHint: "D" },
    "allow-invalid": { type: "boolean", description: "Let the promotion gate accept releases with invalid artifacts" },
  },
  run: ({ args }) =>
    withService(args, async (s) => {
      const num = (name: "keep-last" | "keep-days") => (args[name] === undefined ? undefined : numberArg(name, args[name]!));
      const p = { keep_last: num("keep-last"), keep_days: num("keep-days"), ...(args["allow-invalid"] ? { require_valid: false } : {}) };
      const ch = await s.setChannelPolicy(await appArg(s, args.app), args.channel, p, ReleaseService.operator());
      output(args.json, ch, () => [`${args.app} ${ch.name} policy ${JSON.stringify(ch.policy)}`]);
    }),
});

const list = defineCommand({
  meta: { name: "list", description: "List an app's channels" },
  args: { ...commonArgs, app: target.app },
  run: ({ args }) =>
    withService(args, async (s) => {
      const chans = await s.listChannels(await appArg(s, args.app));
      output(args.json, chans, () => chans.map(line));
    }),
});

export default defineCommand({
  meta: { name: "channel", description: "Promote, roll back and stage releases on channels" },
  subCommands: { promote, rollback, "set-rollout": setRollout, policy, list },
});
