/**
 * Channels over HTTP (ours; GitHub has no such thing): read where a channel points, promote a
 * release onto it with a rollout percentage, change the rollout, roll back. What the
 * `release-server channel` commands do, for release tooling that only has a token
 * (`bun run release:publish --channel NAME --rollout N`). Promotion needs the `promote` action on
 * the app (and the channel, for a channel-scoped token); the promotion gate answers 409.
 */
import * as v from "valibot";
import type { App, Channel } from "../../domain/model.ts";
import { readJsonAs } from "../body.ts";
import type { Ctx } from "../context.ts";
import { HttpError, json } from "../respond.ts";
import type { Router } from "../router.ts";
import type { Handler } from "./shared.ts";

const PromoteBody = v.looseObject({
  release_id: v.pipe(v.number("release_id must be a number"), v.integer("release_id must be an integer"), v.minValue(1, "release_id must be positive")),
  rollout_percent: v.optional(v.number("rollout_percent must be a number")),
});
const RolloutBody = v.looseObject({ rollout_percent: v.number("rollout_percent must be a number") });

const MAX_JSON_BYTES = 64 * 1024;

/** A channel as JSON: its pointers with their tags, so a client need not look them up. */
async function channelJson(c: Ctx, app: App, ch: Channel) {
  const tag = async (id: number | null) => (id === null ? null : (await c.service.getRelease(id)).tag);
  return {
    name: ch.name,
    app: `${app.owner}/${app.slug}`,
    current_release_id: ch.current_release_id,
    current_tag: await tag(ch.current_release_id),
    previous_release_id: ch.previous_release_id,
    previous_tag: await tag(ch.previous_release_id),
    rollout_percent: ch.rollout_percent,
    policy: ch.policy,
    updated_at: ch.updated_at,
  };
}

async function channelOf(c: Ctx, app: App): Promise<Channel> {
  const ch = (await c.service.listChannels(app)).find((x) => x.name === c.params.channel);
  if (!ch) throw new HttpError(404, "Not Found");
  return ch;
}

const list: Handler = async (c) => {
  const app = await c.app();
  return json(await Promise.all((await c.service.listChannels(app)).map((ch) => channelJson(c, app, ch))));
};

const get: Handler = async (c) => {
  const app = await c.app();
  return json(await channelJson(c, app, await channelOf(c, app)));
};

const promote: Handler = async (c) => {
  const app = await c.app();
  const by = await c.require("promote", { app, channel: c.params.channel! });
  const b = await readJsonAs(c, PromoteBody, "Channel", MAX_JSON_BYTES);
  const ch = await c.service.promote(app, c.params.channel!, b.release_id, { rolloutPercent: b.rollout_percent }, by);
  return json(await channelJson(c, app, ch));
};

const rollout: Handler = async (c) => {
  const app = await c.app();
  const by = await c.require("promote", { app, channel: c.params.channel! });
  const b = await readJsonAs(c, RolloutBody, "Channel", MAX_JSON_BYTES);
  return json(await channelJson(c, app, await c.service.setRollout(app, c.params.channel!, b.rollout_percent, by)));
};

const rollback: Handler = async (c) => {
  const app = await c.app();
  const by = await c.require("promote", { app, channel: c.params.channel! });
  return json(await channelJson(c, app, await c.service.rollback(app, c.params.channel!, by)));
};

export function channelRoutes(r: Router<Handler>): void {
  const base = "/api/v3/repos/:owner/:app/channels";
  r.add("GET", base, list)
    .add("GET", `${base}/:channel`, get)
    .add("PUT", `${base}/:channel`, promote)
    .add("PATCH", `${base}/:channel`, rollout)
    .add("POST", `${base}/:channel/rollback`, rollback);
}
