/** services/releases.ts: releases and artifacts */
import { describe, expect, test } from "bun:test";
import type { DiskBlobStore, StoredBlob } from "../../../../src/release-server/blobs/store.ts";
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

  test("a failed publish stores no rows and removes the blob it stored", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const blob = await p.releases.putBlob(chunks("x"));
    const files = [{ filename: "a", blob }, { filename: "a", blob }];
    expect(await kindOf(p.releases.publishRelease(app, { version: "1.0.0" }, files, op))).toBe("conflict");
    expect((await p.releases.listReleases(app, { page: 1, perPage: 10 })).total).toBe(0);
    expect(await p.core.blobs.stat(blob.sha256)).toBeUndefined();
    // A taken tag too.
    await p.publish(app, "2.0.0");
    const other = await p.releases.putBlob(chunks("y"));
    expect(await kindOf(p.releases.publishRelease(app, { version: "2.0.0" }, [{ filename: "b", blob: other }], op))).toBe("conflict");
    expect(await p.core.blobs.stat(other.sha256)).toBeUndefined();
  });

  test("a refused add removes only a blob no artifact references, and only one this upload stored", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const { release, artifacts } = await p.publish(app, "1.0.0", { content: "shared" });
    const taken = artifacts[0]!.filename;
    // The same bytes as an added artifact: found stored, so never removed by a refusal.
    const same = await p.releases.putBlob(chunks("shared"));
    expect(same.existed).toBe(true);
    expect(await kindOf(p.releases.addArtifact(release, { filename: taken }, same, op))).toBe("conflict");
    expect(await p.core.blobs.stat(same.sha256)).toBeDefined();
    // Stored by this upload, then added under another name by a concurrent one of the same bytes
    // before this one was refused: the reference keeps it (counted under the write lock).
    const mine = await p.releases.putBlob(chunks("raced"));
    const theirs = await p.releases.putBlob(chunks("raced"));
    expect([mine.existed, theirs.existed]).toEqual([false, true]);
    await p.releases.addArtifact(release, { filename: "theirs.txt" }, theirs, op);
    expect(await kindOf(p.releases.addArtifact(release, { filename: taken }, mine, op))).toBe("conflict");
    expect(await p.core.blobs.stat(mine.sha256)).toBeDefined();
    // Stored again by a concurrent upload of the same bytes after this one read it, before this one
    // was refused: the refresh (its time moves forward) keeps it for the other upload's add.
    const first = await p.releases.putBlob(chunks("fresh"));
    const blobs = p.core.blobs as DiskBlobStore;
    const prepared = blobs.stat.bind(blobs);
    let refreshed: StoredBlob | undefined;
    blobs.stat = async (sha) => {
      const st = await prepared(sha);
      if (sha === first.sha256 && !refreshed) refreshed = await p.releases.putBlob(chunks("fresh")); // right after the add's first read
      return st;
    };
    expect(await kindOf(p.releases.addArtifact(release, { filename: taken }, first, op))).toBe("conflict");
    blobs.stat = prepared;
    expect(refreshed?.existed).toBe(true);
    expect(await p.core.blobs.stat(first.sha256)).toBeDefined();
    expect((await p.releases.addArtifact(release, { filename: "fresh.txt" }, refreshed!, op)).sha256).toBe(first.sha256);
    // Stored again before this one read it (the refresh looks like its own store): the blob goes, and
    // the other add is refused with a conflict rather than pointing at nothing (it can be uploaded
    // again); in its transaction too when the blob goes between its checks and its transaction.
    const before = await p.releases.putBlob(chunks("late"));
    const second = await p.releases.putBlob(chunks("late"));
    expect(await kindOf(p.releases.addArtifact(release, { filename: taken }, before, op))).toBe("conflict");
    expect(await p.core.blobs.stat(before.sha256)).toBeUndefined();
    expect((await p.core.repos.audit.list({ action: "blob.delete", limit: 100 })).map((e) => e.target_id)).toContain(before.sha256);
    expect(await p.releases.addArtifact(release, { filename: "late.txt" }, second, op).catch((e) => `${e.kind}: ${e.message}`)).toMatch(/^conflict: blob sha256:[0-9a-f]{64} is not stored: a refused upload of the same bytes removed it meanwhile; upload the file again$/);
    expect((await p.releases.listArtifacts(release)).map((a) => a.filename).sort()).toEqual([taken, "theirs.txt", "fresh.txt"].sort());
    const again = await p.releases.putBlob(chunks("late"));
    expect(again.existed).toBe(false);
    expect((await p.releases.addArtifact(release, { filename: "late.txt" }, again, op)).sha256).toBe(again.sha256);
    // The blob removed after the add's checks read it, before its transaction: a conflict, no row.
    const gone = await p.releases.putBlob(chunks("gone"));
    const inspect = blobs.inspect.bind(blobs);
    blobs.inspect = async (sha, fn) => {
      const out = await inspect(sha, fn);
      blobs.delete(sha);
      return out;
    };
    expect(await kindOf(p.releases.addArtifact(release, { filename: "gone.txt" }, gone, op))).toBe("conflict");
    expect(await kindOf(p.releases.publishRelease(app, { version: "9.0.0" }, [{ filename: "gone.txt", blob: await p.releases.putBlob(chunks("gone")) }], op))).toBe("conflict");
    expect((await p.releases.listArtifacts(release)).map((a) => a.filename)).not.toContain("gone.txt");
    expect(await kindOf(p.releases.getReleaseByTag(app, "v9.0.0"))).toBe("not_found");
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

  test("the seed's publishOrAdd of a version whose release the token may not see: the tag conflict, not a 403 naming the draft's channel", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const hiddenBlob = await p.releases.putBlob(chunks("stable draft"));
    const { release: draft } = await p.releases.publishRelease(app, { version: "1.1.0", channel: "stable", draft: true }, [{ filename: "s.bin", blob: hiddenBlob }], op);
    const beta = await p.tokens.authenticate((await p.tokens.createToken({ name: "ci-beta", actions: ["publish"], apps: ["acme/tool"], channels: ["beta"] }, op)).raw);
    const blob = await p.releases.putBlob(chunks("beta upload"));
    const err = await p.releases.publishOrAdd(app, { version: "1.1.0", channel: "beta" }, { filename: "b.bin", blob }, beta).then(() => undefined, (e: Error & { kind: string; details?: unknown }) => e);
    expect(err?.kind).toBe("conflict");
    expect(err?.message).toBe("acme/tool already has tag v1.1.0");
    expect(err?.details).toEqual({ resource: "Release", code: "already_exists", field: "tag_name" });
    expect((await p.releases.listArtifacts(draft)).map((a) => a.filename)).toEqual(["s.bin"]);
    expect(await p.core.blobs.stat(blob.sha256)).toBeUndefined(); // the refused upload's blob is gone
    // Whoever may see the draft still has the file added to it (a CI matrix's second upload).
    const again = await p.releases.putBlob(chunks("admin upload"));
    expect((await p.releases.publishOrAdd(app, { version: "1.1.0", channel: "beta" }, { filename: "c.bin", blob: again }, op)).release.id).toBe(draft.id);
  });

  test("a release tagged before bidirectional and zero-width characters were refused is still found by its tag", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const { release } = await p.publish(app, "1.0.0");
    for (const tag of ["v1\u202egpj.exe", "v1.0.0\u200b"]) {
      expect(await kindOf(p.releases.createRelease(app, { tag }, op))).toBe("invalid");
      await p.core.repos.releases.update(release.id, { tag });
      expect((await p.releases.getReleaseByTag(app, tag)).id).toBe(release.id);
    }
  });

  test("messages quote at most 255 characters of a refused or unknown value", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const { release } = await p.publish(app, "1.0.0");
    const message = async (promise: Promise<unknown>) => promise.then(() => "ok", (err: Error) => err.message);
    // valibot's own message quotes the value it refused.
    const refused = await message(p.releases.createRelease(app, { version: "2.0.0", draft: "x".repeat(5000) as never }, op));
    expect(refused).toStartWith('invalid release draft: Invalid type: Expected boolean but received "xxx');
    expect(refused).toEndWith("…");
    expect(refused.length).toBeLessThan(300);
    expect(await message(p.releases.findArtifactByName(release, "y".repeat(5000)))).toBe(`release v1.0.0 has no artifact named ${"y".repeat(254)}…`);
  });
});
