/** services/channels.ts: channels and rollout */
import { describe, expect, test } from "bun:test";
import { chunks } from "../fixtures.ts";
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

  test("a release the token may not see (a draft it could not publish) is not found, as an unknown id is; not a 409 naming it", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const blob = await p.releases.putBlob(chunks("draft bytes"));
    const { release: draft } = await p.releases.publishRelease(app, { version: "1.1.0-draftstable", channel: "stable", draft: true }, [{ filename: "secret-name.bin", blob }], op);
    const token = async (scopes: object) => p.tokens.authenticate((await p.tokens.createToken({ name: `t${Math.random()}`, ...scopes } as never, op)).raw);
    const betaPromoter = await token({ actions: ["promote"], apps: ["acme/tool"], channels: ["beta"] });
    const promoter = await token({ actions: ["promote"], apps: ["acme/tool"] });
    const message = async (promise: Promise<unknown>) => promise.then(() => "ok", (err: Error & { kind?: string }) => `${err.kind}: ${err.message}`);
    const unknown = await message(p.channels.promote(app, "beta", 999_999, {}, betaPromoter));
    expect(unknown).toBe("not_found: acme/tool has no release with id 999999");
    for (const by of [betaPromoter, promoter]) {
      expect(await message(p.channels.promote(app, "beta", draft.id, {}, by))).toBe(`not_found: acme/tool has no release with id ${draft.id}`);
    }
    // Whoever may see the draft still learns why the gate refuses it.
    const stablePublisher = await token({ actions: ["publish", "promote"], apps: ["acme/tool"], channels: ["stable"] });
    for (const by of [op, stablePublisher]) {
      expect(await message(p.channels.promote(app, "stable", draft.id, {}, by))).toStartWith("conflict: promotion gate failed for v1.1.0-draftstable on stable: the release is a draft");
    }
    expect(await p.core.repos.channels.list(app.id)).toEqual([]);
  });
});
