/**
 * The repository contract: every implementation of `Repositories` must pass this suite.
 * repository.test.ts runs it against the in-memory and the SQLite implementations and
 * postgres.test.ts against a PostgreSQL server it starts.
 */
import { describe, expect, test } from "bun:test";
import type { Repositories } from "../../../src/release-server/domain/repository.ts";
import type { NewRelease } from "../../../src/release-server/domain/repository.ts";
import { ServiceError } from "../../../src/release-server/domain/errors.ts";
import { storageKeyFor, type Release } from "../../../src/release-server/domain/model.ts";
import { draftVisible } from "../../../src/release-server/domain/tokens.ts";

const T0 = "2026-01-01T00:00:00Z";
const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, "0")}:00Z`;
const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);

export interface Harness {
  repos: Repositories;
  /** A second handle on the same database, as another replica (process) would have; absent for memory. */
  replica?: () => Promise<Repositories>;
  done(): Promise<void> | void;
}

export function repositoryContract(name: string, open: () => Promise<Harness>) {
  describe(`repository contract: ${name}`, () => {
    const setup = async () => {
      const h = await open();
      const app = await h.repos.apps.create({ owner: "acme", slug: "tool", display_name: "Tool", bundle_ids: { ios: "com.acme.tool" }, visibility: "public", created_at: T0, updated_at: T0 });
      const release = async (version: string, extra: Partial<NewRelease> = {}) =>
        await h.repos.releases.create({
          app_id: app.id, version, build: null, tag: `v${version}`, name: null, notes: null, channel: "stable", draft: false, prerelease: false,
          created_by: "t", created_at: T0, published_at: T0, ...extra,
        });
      const artifact = async (releaseId: number, filename: string, sha256 = SHA_A) =>
        await h.repos.artifacts.create({
          app_id: app.id, release_id: releaseId, platform: "linux", filename, label: null, content_type: "application/octet-stream",
          size_bytes: 3, sha256, storage_key: storageKeyFor(sha256), metadata: { kind: "elf", arch: "x86_64" },
          validation_status: "valid", validation_reason: null, state: "uploaded", download_count: 0, created_at: T0, updated_at: T0,
        });
      return { ...h, app, release, artifact };
    };
    const expectConflict = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ServiceError);
        expect((err as ServiceError).kind).toBe("conflict");
        return;
      }
      throw new Error("expected a conflict");
    };

    test("apps: create, lookup by slug, list, unique owner/slug", async () => {
      const { repos, app, done } = await setup();
      expect(await repos.apps.bySlug("acme", "tool")).toEqual(app);
      expect((await repos.apps.get(app.id))?.bundle_ids).toEqual({ ios: "com.acme.tool" });
      expect(await repos.apps.bySlug("acme", "nope")).toBeUndefined();
      await expectConflict(() => repos.apps.create({ ...app, id: undefined } as never));
      await repos.apps.create({ ...app, slug: "another", id: undefined } as never);
      expect((await repos.apps.list()).map((a) => a.slug)).toEqual(["another", "tool"]);
      await done();
    });

    test("releases: unique tag (a version may repeat), newest-first listing with total, latest published", async () => {
      const { repos, app, release, done } = await setup();
      const r1 = await release("1.0.0", { created_at: at(1) });
      const r11 = await release("1.1.0", { created_at: at(2) });
      await release("1.2.0-beta.1", { created_at: at(3), prerelease: true });
      const r13 = await release("1.3.0", { created_at: at(4), draft: true, published_at: null });
      await expectConflict(() => release("9.9.9", { tag: "v1.0.0" }));
      expect(await repos.releases.byTag(app.id, "v1.0.0")).toEqual(r1);
      expect((await repos.releases.byVersion(app.id, "1.1.0"))?.tag).toBe("v1.1.0");
      // Another tag of version 1.0.0 (created earlier than r1 but stored later): byVersion is the first created.
      const again = await release("1.0.0", { tag: "1.0.0", created_at: at(0), draft: true, published_at: null });
      expect((await repos.releases.byVersion(app.id, "1.0.0"))?.id).toBe(again.id);
      await repos.releases.delete(again.id);
      expect((await repos.releases.byVersion(app.id, "1.0.0"))?.id).toBe(r1.id);
      const page = await repos.releases.list(app.id, { offset: 1, limit: 2, drafts: true });
      expect(page.total).toBe(4);
      expect(page.items.map((r) => r.version)).toEqual(["1.2.0-beta.1", "1.1.0"]);
      const published = await repos.releases.list(app.id, { offset: 0, limit: 2, drafts: false });
      expect(published.total).toBe(3);
      expect(published.items.map((r) => r.version)).toEqual(["1.2.0-beta.1", "1.1.0"]);
      expect((await repos.releases.latestPublished(app.id))?.version).toBe("1.1.0");
      expect((await repos.releases.latestPublished(app.id, r13))?.version).toBe("1.1.0");
      expect((await repos.releases.latestPublished(app.id, r11))?.version).toBe("1.0.0");
      expect(await repos.releases.latestPublished(app.id, r1)).toBeUndefined();
      expect((await repos.releases.get(r1.id))?.draft).toBe(false);
      await done();
    });

    test("releases: latest orders semver versions by precedence above non-semver tags by creation; drafts by channel", async () => {
      const { repos, app, release, done } = await setup();
      const nightly = await release("nightly", { tag: "nightly", created_at: at(9) });
      expect((await repos.releases.latestPublished(app.id))?.id).toBe(nightly.id);
      const dated = await release("2026-11-28", { tag: "2026-11-28", created_at: at(10) });
      expect((await repos.releases.latestPublished(app.id))?.id).toBe(dated.id);
      expect((await repos.releases.latestPublished(app.id, dated))?.id).toBe(nightly.id);
      const rc = await release("2.0.0-rc.10", { created_at: at(1) });
      const rc2 = await release("2.0.0-rc.9", { created_at: at(2) });
      expect((await repos.releases.latestPublished(app.id))?.id).toBe(rc.id); // rc.10 > rc.9 (numeric identifiers)
      const v2 = await release("2.0.0", { created_at: at(3) });
      const hotfix = await release("1.10.1", { created_at: at(8) });
      await release("1.9.0", { created_at: at(7) });
      expect((await repos.releases.latestPublished(app.id))?.id).toBe(v2.id);
      expect((await repos.releases.latestPublished(app.id, v2))?.id).toBe(rc.id);
      expect((await repos.releases.latestPublished(app.id, rc2))?.id).toBe(hotfix.id); // 1.10.1 > 1.9.0
      expect((await repos.releases.latestPublished(app.id, hotfix))?.version).toBe("1.9.0");
      await release("3.0.0", { created_at: at(11), draft: true, published_at: null, channel: "beta" });
      await release("4.0.0", { created_at: at(12), draft: true, published_at: null, channel: "stable" });
      expect((await repos.releases.latestPublished(app.id))?.id).toBe(v2.id);
      const ids = async (drafts: boolean | string[]) => (await repos.releases.list(app.id, { offset: 0, limit: 3, drafts })).items.map((r) => r.version);
      expect(await ids(true)).toEqual(["4.0.0", "3.0.0", "2026-11-28"]);
      expect(await ids(["beta"])).toEqual(["3.0.0", "2026-11-28", "nightly"]);
      expect((await repos.releases.list(app.id, { offset: 0, limit: 1, drafts: ["beta", "x"] })).total).toBe(8);
      expect(await ids(false)).toEqual(["2026-11-28", "nightly", "1.10.1"]);
      // A changed version changes the order.
      await repos.releases.update(hotfix.id, { version: "9.0.0", tag: "v9.0.0" });
      expect((await repos.releases.latestPublished(app.id))?.id).toBe(hotfix.id);
      await expectConflict(() => repos.releases.update(hotfix.id, { version: "2.0.0", tag: "v2.0.0" }));
      // A version may repeat under another tag (2.0.0 and v2.0.0+build.1); it ranks by creation beside v2.0.0.
      expect((await repos.releases.update(hotfix.id, { version: "2.0.0", tag: "v2.0.0+build.1" })).version).toBe("2.0.0");
      expect((await repos.releases.latestPublished(app.id))?.id).toBe(hotfix.id);
      await done();
    });

    test("newestWithArtifact: the newest release with a file of that name that the draft scope admits, as reading every release did", async () => {
      const { repos, app, release, artifact, done } = await setup();
      const { id: _appId, ...newApp } = app;
      const other = await repos.apps.create({ ...newApp, slug: "other" });
      // Created out of order (and two in one second: the larger id is newer), drafts of each kind.
      const old = await release("1.0.0", { created_at: at(1) });
      const stableDraft = await release("3.0.0", { created_at: at(5), draft: true, published_at: null, channel: "stable" });
      const betaDraft = await release("2.1.0", { created_at: at(4), draft: true, published_at: null, channel: "beta" });
      const plainDraft = await release("2.2.0", { created_at: at(4), draft: true, published_at: null, channel: null });
      const twin1 = await release("2.0.0", { created_at: at(3) });
      const twin2 = await release("2.0.1", { created_at: at(3) });
      const newest = await release("1.5.0", { created_at: at(2) }); // created later, published earlier
      await artifact(old.id, "tool.bin");
      await artifact(old.id, "old-only.bin");
      await artifact(newest.id, "tool.bin");
      await artifact(twin1.id, "twin.bin");
      await artifact(twin2.id, "twin.bin");
      for (const d of [stableDraft, betaDraft, plainDraft]) await artifact(d.id, "tool.bin");
      await artifact(betaDraft.id, "beta.bin");
      await artifact(plainDraft.id, "beta.bin");
      await artifact(stableDraft.id, "draft-only.bin");
      const { id: _releaseId, ...newRelease } = old;
      const elsewhere = await repos.releases.create({ ...newRelease, app_id: other.id, created_at: at(9) });
      const { id: _artifactId, ...newArtifact } = (await repos.artifacts.byName(old.id, "tool.bin"))!;
      await repos.artifacts.create({ ...newArtifact, app_id: other.id, release_id: elsewhere.id, filename: "elsewhere.bin" });
      // What /assets/{name} did before: every release newest first, the first visible one with the file.
      const before = async (name: string, drafts: boolean | string[]): Promise<Release | undefined> => {
        for (const r of await repos.releases.all(app.id)) if (draftVisible(drafts, r) && (await repos.artifacts.byName(r.id, name))) return r;
        return undefined;
      };
      const scopes: Array<boolean | string[]> = [true, false, [], ["beta"], ["stable", "beta"], ["nightly"]];
      for (const name of ["tool.bin", "old-only.bin", "twin.bin", "beta.bin", "draft-only.bin", "missing.bin", "elsewhere.bin", "TOOL.BIN"]) {
        for (const drafts of scopes) {
          const got = await repos.releases.newestWithArtifact(app.id, name, drafts);
          expect({ name, drafts, id: got?.id }).toEqual({ name, drafts, id: (await before(name, drafts))?.id });
          if (got) expect(got).toEqual((await repos.releases.get(got.id))!);
        }
      }
      const id = async (name: string, drafts: boolean | string[]) => (await repos.releases.newestWithArtifact(app.id, name, drafts))?.id;
      expect(await id("tool.bin", false)).toBe(newest.id);
      expect(await id("tool.bin", ["beta"])).toBe(betaDraft.id);
      expect(await id("tool.bin", true)).toBe(stableDraft.id);
      expect(await id("twin.bin", false)).toBe(twin2.id);
      expect(await id("beta.bin", ["beta"])).toBe(betaDraft.id);
      expect(await id("beta.bin", true)).toBe(plainDraft.id); // the same second as the beta draft, a larger id
      expect(await id("beta.bin", false)).toBeUndefined();
      expect(await id("draft-only.bin", ["beta"])).toBeUndefined();
      expect(await id("elsewhere.bin", true)).toBeUndefined(); // another app's file
      expect((await repos.releases.newestWithArtifact(other.id, "elsewhere.bin", false))?.id).toBe(elsewhere.id);
      await done();
    });

    test("artifacts: update renames and relabels; a taken name is a conflict", async () => {
      const { repos, release, artifact, done } = await setup();
      const r = await release("1.0.0");
      const a = await artifact(r.id, "a.bin");
      await artifact(r.id, "b.bin");
      expect(await repos.artifacts.update(a.id, { filename: "c.bin", label: "C", updated_at: at(5) })).toMatchObject({ filename: "c.bin", label: "C", updated_at: at(5) });
      expect((await repos.artifacts.byName(r.id, "c.bin"))?.id).toBe(a.id);
      await expectConflict(() => repos.artifacts.update(a.id, { filename: "b.bin" }));
      await done();
    });

    test("releases: same creation second orders by id; update; delete removes artifacts", async () => {
      const { repos, app, release, artifact, done } = await setup();
      const a = await release("1.0.0");
      const b = await release("1.0.1");
      expect((await repos.releases.all(app.id)).map((r) => r.id)).toEqual([b.id, a.id]);
      expect((await repos.releases.update(a.id, { notes: "n", draft: true })).notes).toBe("n");
      expect((await repos.releases.get(a.id))?.draft).toBe(true);
      await expectConflict(() => repos.releases.update(a.id, { tag: "v1.0.1" }));
      const art = await artifact(a.id, "x.bin");
      await repos.releases.delete(a.id);
      expect(await repos.releases.get(a.id)).toBeUndefined();
      expect(await repos.artifacts.get(art.id)).toBeUndefined();
      await done();
    });

    test("ids are never reused: deleting the newest release or asset does not give its id to the next one", async () => {
      const { repos, release, artifact, done } = await setup();
      const a = await release("1.0.0");
      const b = await release("1.0.1");
      const x = await artifact(a.id, "x.bin");
      await repos.artifacts.delete(x.id);
      const y = await artifact(a.id, "y.bin");
      await repos.releases.delete(b.id);
      const c = await release("1.0.2");
      // A stale reference to the deleted ones finds nothing, never the new ones.
      expect({ release: c.id > b.id, asset: y.id > x.id }).toEqual({ release: true, asset: true });
      expect([await repos.releases.get(b.id), await repos.artifacts.get(x.id)]).toEqual([undefined, undefined]);
      await done();
    });

    test("artifacts: unique name per release, digest lookups, batched download counts", async () => {
      const { repos, release, artifact, done } = await setup();
      const r = await release("1.0.0");
      const r2 = await release("1.0.1");
      const a = await artifact(r.id, "tool.tar.gz");
      await artifact(r2.id, "tool.tar.gz");
      await artifact(r2.id, "other.zip", SHA_B);
      await expectConflict(() => artifact(r.id, "tool.tar.gz", SHA_B));
      expect(await repos.artifacts.byName(r.id, "tool.tar.gz")).toEqual(a);
      expect((await repos.artifacts.get(a.id))?.metadata).toEqual({ kind: "elf", arch: "x86_64" });
      expect(await repos.artifacts.countBySha(SHA_A)).toBe(2);
      expect([...(await repos.artifacts.referencedShas())].sort()).toEqual([SHA_A, SHA_B]);
      expect((await repos.artifacts.listByRelease(r2.id)).map((x) => x.filename)).toEqual(["tool.tar.gz", "other.zip"]);
      await repos.artifacts.addDownloads(new Map([[a.id, 3]]));
      await repos.artifacts.addDownloads(new Map([[a.id, 2]]));
      expect((await repos.artifacts.get(a.id))?.download_count).toBe(5);
      await repos.artifacts.delete(a.id);
      expect(await repos.artifacts.countBySha(SHA_A)).toBe(1);
      await done();
    });

    test("channels: put replaces, lists by name", async () => {
      const { repos, app, release, done } = await setup();
      const r1 = await release("1.0.0");
      const r2 = await release("1.1.0");
      await repos.channels.put({ app_id: app.id, name: "stable", current_release_id: r1.id, previous_release_id: null, rollout_percent: 100, policy: {}, updated_at: T0 });
      const ch = await repos.channels.put({ app_id: app.id, name: "stable", current_release_id: r2.id, previous_release_id: r1.id, rollout_percent: 12.5, policy: { keep_last: 3 }, updated_at: T0 });
      expect(ch).toEqual({ app_id: app.id, name: "stable", current_release_id: r2.id, previous_release_id: r1.id, rollout_percent: 12.5, policy: { keep_last: 3 }, updated_at: T0 });
      await repos.channels.put({ ...ch, name: "beta", current_release_id: null, previous_release_id: null });
      expect((await repos.channels.list(app.id)).map((c) => c.name)).toEqual(["beta", "stable"]);
      expect(await repos.channels.get(app.id, "nightly")).toBeUndefined();
      await done();
    });

    test("tokens: lookup by hash, update, last-used only moves forward", async () => {
      const { repos, done } = await setup();
      const t = await repos.tokens.create({
        name: "ci", token_hash: "f".repeat(64), display_prefix: "rls_abcdef", scopes: { apps: [1], channels: ["beta"], actions: ["publish"] },
        created_by: "t", created_at: T0, expires_at: null, last_used_at: null, revoked_at: null,
      });
      expect(await repos.tokens.byHash("f".repeat(64))).toEqual(t);
      await expectConflict(() => repos.tokens.create({ ...t, id: undefined } as never));
      await repos.tokens.touch(new Map([[t.id, at(5)]]));
      await repos.tokens.touch(new Map([[t.id, at(3)]]));
      expect((await repos.tokens.get(t.id))?.last_used_at).toBe(at(5));
      expect((await repos.tokens.update(t.id, { revoked_at: at(6) })).revoked_at).toBe(at(6));
      expect(await repos.tokens.list()).toHaveLength(1);
      await done();
    });

    test("audit: newest first, filters, paging", async () => {
      const { repos, done } = await setup();
      const ids: number[] = [];
      for (const [i, action] of ["a.x", "b.y", "a.x", "c.z"].entries()) {
        ids.push((await repos.audit.append({ actor: "t", action, target_type: "release", target_id: String(i), metadata: { i }, created_at: T0 })).id);
      }
      expect((await repos.audit.list({ limit: 10 })).map((e) => e.id)).toEqual([...ids].reverse());
      expect((await repos.audit.list({ limit: 10, action: "a.x" })).map((e) => e.metadata)).toEqual([{ i: 2 }, { i: 0 }]);
      expect((await repos.audit.list({ limit: 2, before: ids[3] })).map((e) => e.id)).toEqual([ids[2], ids[1]]);
      expect(await repos.audit.list({ limit: 10, target_type: "release", target_id: "1" })).toHaveLength(1);
      await done();
    });

    test("transactions: an exception rolls every write back; nested calls join the outer one", async () => {
      const { repos, app, release, done } = await setup();
      expect(
        repos.transaction(async () => {
          await release("2.0.0");
          await repos.transaction(() => release("2.0.1"));
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await repos.releases.byVersion(app.id, "2.0.0")).toBeUndefined();
      expect(await repos.releases.byVersion(app.id, "2.0.1")).toBeUndefined();
      const r = await repos.transaction(() => release("2.0.2"));
      expect((await repos.releases.get(r.id))?.version).toBe("2.0.2");
      await done();
    });

    test("transactions: a write rolled back is never seen outside, even by a read made while it was open", async () => {
      const { repos, app, release, done } = await setup();
      const written = Promise.withResolvers<void>();
      const tx = repos.transaction(async () => {
        await release("3.0.0");
        written.resolve();
        await Bun.sleep(20);
        throw new Error("rolled back");
      });
      await written.promise;
      // This read is made outside the transaction (its own async flow) while the write is pending.
      const outside = repos.releases.byVersion(app.id, "3.0.0");
      await expect(tx).rejects.toThrow("rolled back");
      expect(await outside).toBeUndefined();
      expect(await repos.releases.byVersion(app.id, "3.0.0")).toBeUndefined();
      await done();
    });

    test("exclusive: one holder at a time, from this handle and from another replica; released after", async () => {
      const h = await setup();
      const replica = h.replica ? await h.replica() : undefined;
      const held = await h.repos.exclusive("retention", async () => {
        expect(await h.repos.exclusive("retention", async () => "inner")).toEqual({ locked: false });
        if (replica) expect(await replica.exclusive("retention", async () => "replica")).toEqual({ locked: false });
        expect(await h.repos.exclusive("other", async () => "other")).toEqual({ locked: true, value: "other" });
        return "outer";
      });
      expect(held).toEqual({ locked: true, value: "outer" });
      if (replica) expect(await replica.exclusive("retention", async () => 1)).toEqual({ locked: true, value: 1 });
      await expect(h.repos.exclusive("retention", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
      expect(await h.repos.exclusive("retention", async () => 2)).toEqual({ locked: true, value: 2 });
      await h.done();
    });

    test("returned records are copies: mutating one does not change the store", async () => {
      const { repos, app, done } = await setup();
      const got = (await repos.apps.get(app.id))!;
      got.bundle_ids.ios = "changed";
      expect((await repos.apps.get(app.id))?.bundle_ids.ios).toBe("com.acme.tool");
      await done();
    });
  });
}
