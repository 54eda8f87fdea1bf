/** services/channels.ts: channels and rollout */
import { describe, expect, test } from "bun:test";
import { kindOf, op, parts } from "./harness.ts";

describe("channels and rollout", () => {
  test("promote, a staged rollout served by install id, rollback", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const v1 = (await p.publish(app, "1.0.0", { channel: "stable" })).release;
    const v2 = (await p.publish(app, "1.1.0", { channel: "stable" })).release;
    await p.channels.promote(app, "stable", v1.id, {}, op);
    await p.channels.promote(app, "stable", v2.id, { rolloutPercent: 50 }, op);
    const served = new Set<number>();
    for (let i = 0; i < 200; i++) served.add((await p.channels.latestRelease(app, { channel: "stable", installId: `i-${i}` })).release.id);
    expect([...served].sort()).toEqual([v1.id, v2.id].sort());
    const again = await p.channels.latestRelease(app, { channel: "stable", installId: "i-7" });
    expect((await p.channels.latestRelease(app, { channel: "stable", installId: "i-7" })).release.id).toBe(again.release.id);
    const back = await p.channels.rollback(app, "stable", op);
    expect([back.current_release_id, back.previous_release_id, back.rollout_percent]).toEqual([v1.id, null, 100]);
    expect(await kindOf(p.channels.rollback(app, "stable", op))).toBe("conflict");
  });

  test("the promotion gate refuses a release without files; nothing changes and no event is written", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const empty = await p.releases.createRelease(app, { version: "1.0.0", channel: "stable" }, op);
    expect(await kindOf(p.channels.promote(app, "stable", empty.id, {}, op))).toBe("conflict");
    expect(await kindOf(p.channels.getChannel(app, "stable"))).toBe("not_found");
    expect(await p.core.repos.audit.list({ limit: 10, target_type: "channel" })).toEqual([]);
  });
});
