/** services/releases.ts: releases and artifacts */
import { describe, expect, test } from "bun:test";
import { chunks } from "../fixtures.ts";
import { kindOf, op, parts } from "./harness.ts";

describe("releases and artifacts", () => {
  test("a release and its files are published together, with one audit event; a duplicate version is a conflict", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const { release, artifacts } = await p.publish(app, "1.0.0");
    expect(release.tag).toBe("v1.0.0");
    expect((await p.releases.listArtifacts(release)).map((a) => a.id)).toEqual(artifacts.map((a) => a.id));
    expect(await kindOf(p.publish(app, "1.0.0"))).toBe("conflict");
    expect(await p.core.repos.audit.list({ limit: 10, action: "release.publish" })).toHaveLength(1);
    expect((await p.releases.listReleases(app, { page: 1, perPage: 10 })).total).toBe(1);
  });

  test("a failed publish stores no rows (the blob stays for retention's grace period)", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const blob = await p.releases.putBlob(chunks("x"));
    const files = [{ filename: "a", blob }, { filename: "a", blob }];
    expect(await kindOf(p.releases.publishRelease(app, { version: "1.0.0" }, files, op))).toBe("conflict");
    expect((await p.releases.listReleases(app, { page: 1, perPage: 10 })).total).toBe(0);
  });

  test("downloads are counted in memory and shown at once; artifacts rename, refuse a taken name, delete", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const { release, artifacts } = await p.publish(app, "1.0.0");
    const a = artifacts[0]!;
    p.releases.countDownload(a.id);
    expect((await p.releases.getArtifact(a.id)).download_count).toBe(1);
    expect((await p.core.repos.artifacts.get(a.id))?.download_count).toBe(0);
    const second = await p.releases.addArtifact(release, { filename: "b.txt" }, await p.releases.putBlob(chunks("b")), op);
    expect(await kindOf(p.releases.updateArtifact(second.id, { filename: a.filename }, op))).toBe("conflict");
    await p.releases.deleteArtifact(second.id, op);
    expect(await kindOf(p.releases.getArtifact(second.id))).toBe("not_found");
  });

  test("a release a channel points at cannot be deleted or made a draft", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const { release } = await p.publish(app, "1.0.0", { channel: "stable" });
    await p.channels.promote(app, "stable", release.id, {}, op);
    expect(await kindOf(p.releases.deleteRelease(release, op))).toBe("conflict");
    expect(await kindOf(p.releases.updateRelease(release, { draft: true }, op))).toBe("conflict");
    const [file] = await p.releases.listArtifacts(release);
    expect(await kindOf(p.releases.deleteArtifact(file!.id, op))).toBe("conflict");
    expect(await kindOf(p.releases.updateArtifact(file!.id, { filename: "other.txt" }, op))).toBe("conflict");
    expect((await p.releases.updateArtifact(file!.id, { label: "a label" }, op)).label).toBe("a label");
    // Once the channel has moved on (twice: the previous release is served too), the file may go.
    const two = (await p.publish(app, "2.0.0", { channel: "stable" })).release;
    await p.channels.promote(app, "stable", two.id, {}, op);
    expect(await kindOf(p.releases.deleteArtifact(file!.id, op))).toBe("conflict");
    await p.channels.promote(app, "stable", (await p.publish(app, "3.0.0", { channel: "stable" })).release.id, {}, op);
    await p.releases.deleteArtifact(file!.id, op);
    expect(await p.releases.listArtifacts(release)).toEqual([]);
  });
});
