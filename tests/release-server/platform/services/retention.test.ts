/** services/retention.ts */
import { describe, expect, test } from "bun:test";
import { kindOf, op, parts } from "./harness.ts";

describe("retention", () => {
  test("deletes what the policy no longer keeps, never a channel's release; one run at a time", async () => {
    using p = parts((c) => {
      c.retention.default = { keep_last: 1 };
      c.retention.channels = {};
    });
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const v1 = (await p.publish(app, "1.0.0", { channel: "stable" })).release;
    for (const v of ["1.1.0", "1.2.0", "1.3.0"]) await p.publish(app, v, { channel: "stable" });
    await p.channels.promote(app, "stable", v1.id, {}, op);
    const dry = await p.retention.runRetention({ dryRun: true }, op);
    expect(dry.releases.map((r) => r.version).sort()).toEqual(["1.1.0", "1.2.0"]);
    const during = await p.core.repos.exclusive("retention", () => kindOf(p.retention.runRetention({ dryRun: false }, op)));
    expect(during).toEqual({ locked: true, value: "conflict" });
    const real = await p.retention.runRetention({ dryRun: false }, op);
    expect(real.releases).toEqual(dry.releases);
    expect((await p.releases.listReleases(app, { page: 1, perPage: 10 })).items.map((r) => r.version)).toEqual(["1.3.0", "1.0.0"]);
    expect(await p.core.repos.audit.list({ limit: 10, action: "release.delete" })).toHaveLength(2);
  });
});
