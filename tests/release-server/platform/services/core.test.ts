/** services/core.ts: scope checks, draft visibility, and the batched counters' flush. */
import { describe, expect, test } from "bun:test";
import type { Principal } from "../../../../src/release-server/domain/model.ts";
import { op, parts } from "./harness.ts";

const token = (scopes: { apps: number[] | null; channels: string[] | null; actions: string[] }): Principal =>
  ({ actor: "token:1:t", token: { id: 1, scopes } }) as unknown as Principal;

describe("service core", () => {
  test("authorize: the operator may do anything; a token only within its scopes", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    expect(() => p.core.authorize(op, "admin")).not.toThrow();
    const beta = token({ apps: [app.id], channels: ["beta"], actions: ["publish"] });
    expect(() => p.core.authorize(beta, "publish", { app, channel: "beta" })).not.toThrow();
    expect(() => p.core.authorize(beta, "publish", { app, channel: "stable" })).toThrow();
    expect(p.core.draftScope(beta, app)).toEqual(["beta"]);
    expect(p.core.draftScope(null, app)).toBe(false);
    expect(p.core.draftScope(op, app)).toBe(true);
  });

  test("flush writes pending counts as increments; a failed write is merged back and written next time", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const { artifacts } = await p.publish(app, "1.0.0");
    const id = artifacts[0]!.id;
    p.releases.countDownload(id);
    p.releases.countDownload(id);
    const real = p.core.repos.transaction.bind(p.core.repos);
    p.core.repos.transaction = async () => Promise.reject(new Error("database unreachable"));
    await expect(p.core.flush()).rejects.toThrow("database unreachable");
    p.releases.countDownload(id);
    expect(p.core.pendingDownloads.get(id)).toBe(3);
    p.core.repos.transaction = real;
    await p.core.flush();
    expect(p.core.pendingDownloads.size).toBe(0);
    expect((await p.core.repos.artifacts.get(id))?.download_count).toBe(3);
  });
});
