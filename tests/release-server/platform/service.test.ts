import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ServiceError } from "../../../src/release-server/domain/errors.ts";
import { TOKEN_PATTERN, generateToken, hashToken, wellFormed } from "../../../src/release-server/domain/tokens.ts";
import type { App } from "../../../src/release-server/domain/model.ts";
import { DiskBlobStore } from "../../../src/release-server/blobs/store.ts";
import { defaultConfig } from "../../../src/release-server/config.ts";
import { DB_FILE, ReleaseService } from "../../../src/release-server/service.ts";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { memoryRepositories } from "../../../src/release-server/storage/memory.ts";
import { openSqlite } from "../../../src/release-server/storage/sqlite.ts";
import { LATEST_SCHEMA, MIGRATIONS } from "../../../src/release-server/storage/migrations.ts";
import { versionKey } from "../../../src/release-server/domain/versions.ts";
import { chunks, machO, serviceIn, tempDir } from "./fixtures.ts";

const DAY = 86_400_000;

async function kindOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return err instanceof ServiceError ? err.kind : `untyped: ${String(err)}`;
  }
  return "no error";
}

/** Publishes `version` with one small artifact whose bytes are `content`. */
async function publish(s: ReleaseService, app: App, version: string, content: string | Uint8Array, extra: Record<string, unknown> = {}) {
  const blob = await s.putBlob(chunks(content));
  return await s.publishRelease(app, { version, channel: "stable", ...extra }, [{ filename: `tool-${version}.bin`, blob }], { actor: "cli:test", token: null });
}

describe("tokens", () => {
  test("format: prefix, 256-bit body, checksum; only the hash is stored; shown once", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const { token, raw } = await s.createToken({ name: "ci", actions: ["publish"] }, op);
    expect(raw).toMatch(TOKEN_PATTERN);
    expect(raw).toHaveLength(53);
    expect(wellFormed(raw)).toBe(true);
    const typo = raw.slice(0, 10) + (raw[10] === "a" ? "b" : "a") + raw.slice(11);
    expect(wellFormed(typo)).toBe(false);
    expect(token.token_hash).toBe(hashToken(raw));
    await s.close();
    const db = new Database(join(tmp.dir, "data", DB_FILE), { readonly: true });
    const dump = JSON.stringify(db.query("SELECT * FROM tokens").all()) + JSON.stringify(db.query("SELECT * FROM audit_events").all());
    db.close();
    expect(dump).not.toContain(raw.slice(10));
  });

  test("revoked, expired, unknown and malformed tokens are refused", async () => {
    using tmp = tempDir();
    const { service: s, op, clock } = await serviceIn(tmp.dir);
    const a = await s.createToken({ name: "a", actions: ["read"], expires_in_days: 1 }, op);
    const b = await s.createToken({ name: "b", actions: ["read"] }, op);
    expect((await s.authenticate(a.raw)).token?.id).toBe(a.token.id);
    await s.revokeToken(b.token.id, op);
    expect(await kindOf(async () => await s.authenticate(b.raw))).toBe("unauthorized");
    clock.now += DAY + 1000;
    expect(await kindOf(async () => await s.authenticate(a.raw))).toBe("unauthorized");
    expect(await kindOf(async () => await s.authenticate("rls_" + "0".repeat(49)))).toBe("unauthorized");
    expect(await kindOf(async () => await s.authenticate("ghp_nothing"))).toBe("unauthorized");
    const forged = (await s.createToken({ name: "c", actions: ["read"] }, op)).raw;
    await s.close();
    const again = (await serviceIn(tmp.dir)).service;
    expect((await again.authenticate(forged)).actor).toMatch(/^token:\d+:c$/);
    await again.close();
  });

  test("expiry is bounded by config; admin needed to create tokens", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir, (c) => (c.tokens.max_days = 30));
    expect(await kindOf(async () => await s.createToken({ name: "x", actions: ["read"], expires_in_days: 31 }, op))).toBe("invalid");
    expect(await kindOf(async () => await s.createToken({ name: "x", actions: ["read"], expires_in_days: null }, op))).toBe("invalid");
    expect(await kindOf(async () => await s.createToken({ name: "x", actions: ["fly" as never] }, op))).toBe("invalid");
    const pub = await s.authenticate((await s.createToken({ name: "p", actions: ["publish"] }, op)).raw);
    expect(await kindOf(async () => await s.createToken({ name: "y", actions: ["admin"] }, pub))).toBe("forbidden");
    await s.close();
  });

  test("a token scoped to app A and channel beta cannot touch app B or channel stable", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const appA = await s.createApp({ owner: "acme", slug: "a" }, op);
    const appB = await s.createApp({ owner: "acme", slug: "b" }, op);
    const ci = await s.authenticate((await s.createToken({ name: "ci-a", apps: ["acme/a"], channels: ["beta"], actions: ["publish"] }, op)).raw);
    const blob = await s.putBlob(chunks("bytes"));
    const file = { filename: "a.bin", blob };
    expect((await s.publishRelease(appA, { version: "1.0.0", channel: "beta" }, [file], ci)).release.created_by).toBe(ci.actor);
    expect(await kindOf(async () => await s.publishRelease(appB, { version: "1.0.0", channel: "beta" }, [file], ci))).toBe("forbidden");
    expect(await kindOf(async () => await s.publishRelease(appA, { version: "1.0.1", channel: "stable" }, [file], ci))).toBe("forbidden");
    expect(await kindOf(async () => await s.publishRelease(appA, { version: "1.0.2" }, [file], ci))).toBe("forbidden");
    const r = await s.getReleaseByTag(appA, "v1.0.0");
    expect(await kindOf(async () => await s.promote(appA, "beta", r.id, {}, ci))).toBe("forbidden");
    expect(await kindOf(async () => await s.deleteRelease(r, ci))).toBe("forbidden");
    expect(await kindOf(() => s.authorize(ci, "read", { app: appB }))).toBe("forbidden");
    expect(await kindOf(() => s.authorize(ci, "read", { app: appA }))).toBe("no error");
    expect((await s.listReleases(appB, { page: 1, perPage: 10 })).total).toBe(0);
    await s.close();
  });

  test("a channel-scoped token cannot change a release another channel serves", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    const beta = await s.authenticate((await s.createToken({ name: "beta", apps: ["acme/tool"], channels: ["beta"], actions: ["publish", "delete"] }, op)).raw);
    const blob = await s.putBlob(chunks("bytes"));
    // Published to beta, then promoted to prod as well: beta's token may no longer touch it.
    const { release, artifacts } = await s.publishRelease(app, { version: "5.0.0", channel: "beta" }, [{ filename: "tool.bin", blob }], op);
    await s.promote(app, "beta", release.id, {}, op);
    expect(await kindOf(async () => await s.updateRelease(release, { notes: "changed" }, beta))).toBe("no error");
    await s.promote(app, "prod", release.id, {}, op);
    const extra = await s.putBlob(chunks("more"));
    for (const act of [
      () => s.updateRelease(release, { notes: "changed by beta", prerelease: true }, beta),
      () => s.addArtifact(release, { filename: "install.sh" }, extra, beta),
      () => s.checkUpload(app, { release }, { filename: "install.sh" }, beta),
      () => s.updateArtifact(artifacts[0]!.id, { label: "x" }, beta),
      () => s.deleteArtifact(artifacts[0]!.id, beta),
    ]) expect(await kindOf(async () => await act())).toBe("forbidden");
    expect((await s.getRelease(release.id)).notes).toBe("changed");
    expect((await s.listArtifacts(release)).map((a) => [a.filename, a.label])).toEqual([["tool.bin", null]]);
    // Clients outside prod's first rollout get the app's newest older release: beta may not change that one either.
    const older = (await s.publishRelease(app, { version: "4.0.0", channel: "beta" }, [{ filename: "tool.bin", blob }], op)).release;
    await s.promote(app, "canary", release.id, { rolloutPercent: 10 }, op);
    expect(await s.latestRelease(app, { channel: "canary", installId: "outside" })).toMatchObject({ release: { id: older.id }, source: "previous" });
    expect(await kindOf(async () => await s.updateRelease(older, { notes: "x" }, beta))).toBe("forbidden");
    expect(await kindOf(async () => await s.deleteRelease(older, op))).toBe("conflict");
    await s.close();
  });

  test("a channel-scoped token cannot move what another channel's clients outside a first rollout get", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    const beta = await s.authenticate((await s.createToken({ name: "beta", apps: ["acme/tool"], channels: ["beta"], actions: ["publish"] }, op)).raw);
    const file = async (n: string) => [{ filename: "tool.bin", blob: await s.putBlob(chunks(n)) }];
    await s.publishRelease(app, { version: "1.5.0", channel: "prod" }, await file("1.5"), op);
    const candidate = (await s.publishRelease(app, { version: "2.0.0", channel: "prod" }, await file("2.0"), op)).release;
    await s.promote(app, "prod", candidate.id, { rolloutPercent: 10 }, op);
    const outside = async () => (await s.latestRelease(app, { channel: "prod", installId: "outside" })).release.version;
    expect(await outside()).toBe("1.5.0");
    // 1.9.0 would be the newest release older than the candidate: refused, and nothing is kept.
    expect(await kindOf(async () => await s.publishRelease(app, { version: "1.9.0", channel: "beta" }, await file("1.9"), beta))).toBe("forbidden");
    expect(await s.findReleaseByVersion(app, "1.9.0")).toBeUndefined();
    // A draft changes nothing; publishing it would.
    const draft = (await s.publishRelease(app, { version: "1.9.1", channel: "beta", draft: true }, await file("1.9.1"), beta)).release;
    expect(await kindOf(async () => await s.updateRelease(draft, { draft: false }, beta))).toBe("forbidden");
    // A release newer than the candidate moves nothing there.
    expect(await kindOf(async () => await s.publishRelease(app, { version: "2.1.0", channel: "beta" }, await file("2.1"), beta))).toBe("no error");
    expect(await outside()).toBe("1.5.0");
    await s.close();
  });

  test("last-used times are batched: written at flush, not per request", async () => {
    using tmp = tempDir();
    const { service: s, op, clock } = await serviceIn(tmp.dir, (c) => (c.tokens.flush_seconds = 60));
    const { token, raw } = await s.createToken({ name: "t", actions: ["read"] }, op);
    await s.authenticate(raw);
    expect((await s.repos.tokens.get(token.id))?.last_used_at).toBeNull();
    expect((await s.listTokens())[0].last_used_at).toBe("2026-01-01T00:00:00Z");
    clock.now += 61_000;
    await s.authenticate(raw);
    expect((await s.repos.tokens.get(token.id))?.last_used_at).toBe("2026-01-01T00:01:01Z");
    await s.close();
  });

  test("a bootstrap token is registered once as an unexpiring admin token", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const raw = generateToken();
    expect(await kindOf(async () => await s.ensureBootstrapToken("nope", "admin"))).toBe("invalid");
    const t = await s.ensureBootstrapToken(raw, "env-admin");
    expect((await s.ensureBootstrapToken(raw, "env-admin")).id).toBe(t.id);
    expect(t).toMatchObject({ created_by: "bootstrap", expires_at: null, scopes: { apps: null, channels: null, actions: ["admin"] } });
    expect(t.token_hash).toBe(sha256Hex(raw));
    const admin = await s.authenticate(raw);
    expect(await kindOf(async () => await s.createApp({ owner: "acme", slug: "x" }, admin))).toBe("no error");
    expect(await s.listAudit({ action: "token.create" })).toHaveLength(1);
    expect(await s.listAudit({ action: "token.create" })).toMatchObject([{ actor: "bootstrap", target_id: String(t.id), metadata: { name: "env-admin" } }]);
    await s.close();
  });
});

describe("releases and artifacts", () => {
  test("publish is one transaction: a duplicate name or version publishes nothing", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    const blob = await s.putBlob(chunks("x"));
    expect(await kindOf(async () => await s.publishRelease(app, { version: "1.0.0" }, [{ filename: "a", blob }, { filename: "a", blob }], op))).toBe("conflict");
    const again = await s.putBlob(chunks("x")); // the refused publish removed the blob it stored
    expect(await kindOf(async () => await s.publishRelease(app, { version: "1.0.0" }, [{ filename: "a", blob: again }, { filename: "../etc/passwd", blob: again }], op))).toBe("invalid");
    expect((await s.listReleases(app, { page: 1, perPage: 10 })).total).toBe(0);
    await publish(s, app, "1.0.0", "x");
    expect(await kindOf(async () => await s.publishRelease(app, { version: "v1.0.0" }, [], op))).toBe("conflict");
    expect(await kindOf(async () => await s.publishRelease(app, { version: "1.0 beta" }, [], op))).toBe("invalid");
    await s.close();
  });

  test("validation at the boundary names the field", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const msg = async (fn: () => unknown) => {
      try {
        await fn();
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(await msg(async () => await s.createApp({ owner: "Acme", slug: "tool" }, op))).toStartWith("invalid app owner: must be 1-64 lowercase");
    expect(await msg(async () => await s.createApp({ owner: "acme", slug: "a..b" }, op))).toBe("invalid app slug: must not contain '..'");
    expect(await msg(async () => await s.createApp({ owner: "acme", slug: "t", bundle_ids: { symbian: "x" } as never }, op))).toStartWith("invalid app bundle_ids");
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    expect(await msg(async () => await s.createRelease(app, { version: "1.0.0", channel: "Beta!" }, op))).toStartWith("invalid release channel");
    expect(await msg(async () => await s.createRelease(app, { version: "1.0.0", build: 1.5 }, op))).toStartWith("invalid release build");
    const rel = await s.createRelease(app, { version: "1.0.0" }, op);
    for (const bad of ["a/b", "a\\b", "..", "x\u0007y", "", " lead"]) {
      expect(await kindOf(async () => await s.addArtifact(rel, { filename: bad }, { sha256: "0".repeat(64), size: 0, existed: true }, op))).toBe("invalid");
    }
    expect(await msg(async () => await s.addArtifact(rel, { filename: "ok.bin", content_type: "not a type" }, { sha256: "0".repeat(64), size: 0, existed: true }, op))).toStartWith("invalid artifact content_type");
    expect(await msg(async () => await s.addArtifact(rel, { filename: "ok.bin" }, { sha256: "0".repeat(64), size: 0, existed: true }, op))).toBe(`blob sha256:${"0".repeat(64)} is not stored: a refused upload of the same bytes removed it meanwhile; upload the file again`);
    await s.close();
  });

  test("GitHub flow: draft, upload assets one by one (duplicate name → conflict with details), publish", async () => {
    using tmp = tempDir();
    const { service: s, op, clock } = await serviceIn(tmp.dir);
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    const draft = await s.createRelease(app, { version: "2.0.0", draft: true, notes: "n" }, op);
    expect(draft.published_at).toBeNull();
    expect(await kindOf(async () => await s.latestRelease(app))).toBe("not_found");
    const blob = await s.putBlob(chunks(machO("arm64", true)));
    const a = await s.addArtifact(draft, { filename: "tool-darwin-arm64", content_type: "application/octet-stream" }, blob, op);
    expect(a).toMatchObject({ platform: "macos", validation_status: "valid", metadata: { kind: "macho", arch: "arm64", signed: true }, size_bytes: 4096 });
    try {
      await s.addArtifact(draft, { filename: "tool-darwin-arm64" }, blob, op);
      throw new Error("expected conflict");
    } catch (err) {
      expect((err as ServiceError).details).toEqual({ resource: "ReleaseAsset", code: "already_exists", field: "name" });
    }
    clock.now += 5000;
    const published = await s.updateRelease(draft, { draft: false }, op);
    expect(published.published_at).toBe("2026-01-01T00:00:05Z");
    expect(await s.latestRelease(app)).toEqual({ release: published, source: "latest" });
    expect((await s.findArtifactByName(published, "tool-darwin-arm64")).id).toBe(a.id);
    expect((await s.blobs.stat(a.sha256))?.size).toBe(a.size_bytes);
    s.countDownload(a.id);
    s.countDownload(a.id);
    expect((await s.getArtifact(a.id)).download_count).toBe(2);
    await s.flush();
    expect((await s.repos.artifacts.get(a.id))?.download_count).toBe(2);
    await s.deleteArtifact(a.id, op);
    expect(await kindOf(async () => await s.getArtifact(a.id))).toBe("not_found");
    await s.close();
  });

  test("latest: newest published non-draft non-prerelease; list pages newest first", async () => {
    using tmp = tempDir();
    const { service: s, op, clock } = await serviceIn(tmp.dir);
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    for (const [v, pre] of [["1.0.0", false], ["1.1.0", false], ["1.2.0-rc.1", true]] as const) {
      await publish(s, app, v, v, { prerelease: pre });
      clock.now += 1000;
    }
    expect((await s.latestRelease(app)).release.version).toBe("1.1.0");
    const page = await s.listReleases(app, { page: 2, perPage: 2 });
    expect(page).toMatchObject({ total: 3 });
    expect(page.items.map((r) => r.version)).toEqual(["1.0.0"]);
    expect((await s.getReleaseByTag(app, "v1.2.0-rc.1")).prerelease).toBe(true);
    await s.close();
  });
});

describe("channels", () => {
  test("promotion gate: a release with an invalid artifact is refused and the channel is unchanged", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    const good = (await publish(s, app, "1.0.0", machO("arm64", true))).release;
    await s.promote(app, "stable", good.id, {}, op);
    const unsignedBlob = await s.putBlob(chunks(machO("arm64", false)));
    const bad = await s.publishRelease(app, { version: "1.1.0" }, [{ filename: "tool", platform: "macos", blob: unsignedBlob }], op);
    expect(bad.artifacts[0]).toMatchObject({ validation_status: "invalid", validation_reason: expect.stringContaining("without a code signature") });
    const empty = await s.createRelease(app, { version: "1.2.0" }, op);
    const draft = await s.createRelease(app, { version: "1.3.0", draft: true }, op);
    for (const r of [bad.release, empty, draft]) {
      expect(await kindOf(async () => await s.promote(app, "stable", r.id, {}, op))).toBe("conflict");
      expect(await s.getChannel(app, "stable")).toMatchObject({ current_release_id: good.id, previous_release_id: null, rollout_percent: 100 });
    }
    expect(await s.listAudit({ action: "channel.promote" })).toHaveLength(1);
    // A channel whose policy allows invalid artifacts lets the same release through.
    await s.setChannelPolicy(app, "internal", { require_valid: false }, op);
    expect((await s.promote(app, "internal", bad.release.id, {}, op)).current_release_id).toBe(bad.release.id);
    // An invalid file added to a release a gated channel serves is refused as the promotion would
    // have been (its blob is not kept); a valid one, or one for an ungated channel, is added.
    const before = (await s.listArtifacts(good)).length;
    const late = await s.putBlob(chunks(machO("arm64", false)));
    const refused = await kindOf(async () => await s.addArtifact(good, { filename: "tool-late", platform: "macos" }, late, op));
    expect(refused).toBe("conflict");
    expect(await s.listArtifacts(good)).toHaveLength(before);
    expect((await s.addArtifact(good, { filename: "tool-late", platform: "macos" }, await s.putBlob(chunks(machO("arm64", true))), op)).validation_status).toBe("valid");
    expect((await s.addArtifact(bad.release, { filename: "tool-late", platform: "macos" }, await s.putBlob(chunks(machO("arm64", false))), op)).validation_status).toBe("invalid");
    await s.close();
  });

  test("promote, staged rollout with deterministic buckets, halt, rollback", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    const v1 = (await publish(s, app, "1.0.0", "one")).release;
    const v2 = (await publish(s, app, "2.0.0", "two")).release;
    expect(await kindOf(async () => await s.latestRelease(app, { channel: "stable" }))).toBe("not_found");
    await s.promote(app, "stable", v1.id, {}, op);
    await s.promote(app, "stable", v2.id, { rolloutPercent: 25 }, op);
    const ids = Array.from({ length: 2000 }, (_, i) => `install-${i}`);
    const served = async (p: number) => {
      await s.setRollout(app, "stable", p, op);
      const inside: string[] = [];
      for (const id of ids) if ((await s.latestRelease(app, { channel: "stable", installId: id })).release.id === v2.id) inside.push(id);
      return inside;
    };
    const at25 = await served(25);
    expect(at25.length).toBeGreaterThan(400);
    expect(at25.length).toBeLessThan(600);
    const at50 = await served(50);
    expect(at25.every((id) => at50.includes(id))).toBe(true); // raising only adds clients
    expect(await served(25)).toEqual(at25); // deterministic
    expect(await s.latestRelease(app, { channel: "stable" })).toMatchObject({ release: { id: v1.id }, source: "previous" });
    expect(await served(0)).toEqual([]);
    expect(await served(100)).toHaveLength(2000);
    expect(await kindOf(async () => await s.setRollout(app, "stable", 101, op))).toBe("invalid");
    expect(await kindOf(async () => await s.setRollout(app, "stable", 10.555, op))).toBe("invalid");
    const back = await s.rollback(app, "stable", op);
    expect(back).toMatchObject({ current_release_id: v1.id, previous_release_id: null, rollout_percent: 100 });
    expect(await kindOf(async () => await s.rollback(app, "stable", op))).toBe("conflict");
    expect((await s.listAudit()).map((e) => e.action).slice(0, 2)).toEqual(["channel.rollback", "channel.rollout"]);
    await s.close();
  });
  test("a client outside a first rollout is held on an older published release, or gets the only one there is", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir);
    const app = await s.createApp({ owner: "acme", slug: "first" }, op);
    const v1 = (await publish(s, app, "1.0.0", "one")).release;
    await s.promote(app, "beta", v1.id, { rolloutPercent: 0 }, op);
    expect(await s.latestRelease(app, { channel: "beta", installId: "x" })).toMatchObject({ release: { id: v1.id }, source: "current" });
    const v2 = (await publish(s, app, "2.0.0", "two")).release;
    await s.promote(app, "stable", v2.id, { rolloutPercent: 0 }, op);
    expect(await s.latestRelease(app, { channel: "stable", installId: "x" })).toMatchObject({ release: { id: v1.id }, source: "previous" });
    expect(await s.latestRelease(app, { channel: "stable" })).toMatchObject({ release: { id: v1.id }, source: "previous" });
    await s.close();
  });
});

describe("non-semver tags", () => {
  test("nightly builds: published, promoted, rolled out, kept by retention's newest-first count, found by version", async () => {
    using tmp = tempDir();
    const h = await serviceIn(tmp.dir, (c) => {
      c.retention.channels = { nightly: { keep_last: 2 } };
      c.retention.default = {};
    }, Date.now());
    const { service: s, op, clock } = h;
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    const builds = [];
    for (const tag of ["2026-11-26", "2026-11-27", "2026-11-28"]) {
      builds.push((await publish(s, app, tag, `build ${tag}`, { channel: "nightly" })).release);
      clock.now += DAY;
    }
    expect(builds.map((r) => [r.version, r.tag])).toEqual([["2026-11-26", "2026-11-26"], ["2026-11-27", "2026-11-27"], ["2026-11-28", "2026-11-28"]]);
    expect((await s.findReleaseByVersion(app, "2026-11-27"))?.id).toBe(builds[1]!.id);
    expect((await s.latestRelease(app)).release.id).toBe(builds[2]!.id); // no semver release: the newest
    await s.promote(app, "nightly", builds[1]!.id, {}, op);
    await s.promote(app, "nightly", builds[2]!.id, { rolloutPercent: 0 }, op);
    expect(await s.latestRelease(app, { channel: "nightly", installId: "i" })).toMatchObject({ release: { id: builds[1]!.id }, source: "previous" });
    const stable = (await publish(s, app, "v1.0.0", "one")).release;
    expect((await s.latestRelease(app)).release.id).toBe(stable.id); // a semver release ranks above every non-semver one
    const report = await s.runRetention({ dryRun: true }, op);
    expect(report.releases).toMatchObject([{ version: "2026-11-26", channel: "nightly", reason: "not among the newest 2" }]);
  });
});

describe("retention", () => {
  async function seeded(dir: string) {
    const h = await serviceIn(
      dir,
      (c) => {
        c.retention.channels = { stable: { keep_last: 3 }, beta: { keep_last: 1, keep_days: 10 } };
        c.retention.default = {};
      },
      Date.now(),
    );
    const { service: s, op, clock } = h;
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    const stable = [];
    for (let i = 0; i < 6; i++) {
      stable.push((await publish(s, app, `1.${i}.0`, `stable-${i}`)).release);
      clock.now += DAY;
    }
    const beta = [];
    for (let i = 0; i < 3; i++) {
      beta.push((await publish(s, app, `2.0.0-beta.${i}`, i === 0 ? "stable-5" : `beta-${i}`, { channel: "beta", prerelease: true })).release);
      clock.now += DAY;
    }
    return { ...h, app, stable, beta };
  }

  test("dry run lists what would go and changes nothing", async () => {
    using tmp = tempDir();
    const { service: s, op, clock, app, stable } = await seeded(tmp.dir);
    await s.promote(app, "stable", stable[0].id, {}, op); // the oldest is pinned by the channel
    clock.now += 2 * 3600_000;
    const before = (await s.listReleases(app, { page: 1, perPage: 100 })).total;
    const r = await s.runRetention({ dryRun: true }, op);
    expect(r.releases.map((x) => x.version)).toEqual(["1.2.0", "1.1.0"]);
    expect(r.releases[0].reason).toBe("not among the newest 3");
    expect(r.blobs).toHaveLength(2);
    expect((await s.listReleases(app, { page: 1, perPage: 100 })).total).toBe(before);
    expect(await s.listAudit({ action: "release.delete" })).toHaveLength(0);
    await s.close();
  });

  test("never removes a channel's current or previous release; deletes blobs only when unreferenced; audits every deletion", async () => {
    using tmp = tempDir();
    const { service: s, op, clock, app, stable, beta } = await seeded(tmp.dir);
    await s.promote(app, "stable", stable[0].id, {}, op);
    await s.promote(app, "stable", stable[1].id, { rolloutPercent: 50 }, op);
    await s.promote(app, "beta", beta[0].id, {}, op);
    // beta-0 shares its bytes with stable 1.5.0: that blob must survive.
    clock.now += 2 * 3600_000;
    writeFileSync(join(tmp.dir, "data", "staging", "999999999-interrupted"), "partial");
    const r = await s.runRetention({ dryRun: false }, op);
    expect(r.releases.map((x) => x.version).sort()).toEqual(["1.2.0"]);
    const left = (await s.listReleases(app, { page: 1, perPage: 100 })).items.map((x) => x.version);
    for (const v of ["1.0.0", "1.1.0", "1.3.0", "1.4.0", "1.5.0", "2.0.0-beta.0", "2.0.0-beta.1", "2.0.0-beta.2"]) expect(left).toContain(v);
    expect(r.blobs).toHaveLength(1);
    expect(await s.blobs.stat(r.blobs[0].sha256)).toBeUndefined();
    expect(r.staging.map((f) => f.name)).toEqual(["999999999-interrupted"]);
    expect(readdirSync(join(tmp.dir, "data", "staging"))).toEqual([]);
    const actions = (await s.listAudit()).map((e) => e.action);
    expect(actions.filter((a) => a === "release.delete")).toHaveLength(1);
    expect(actions.filter((a) => a === "blob.delete")).toHaveLength(1);
    expect(actions.filter((a) => a === "staging.delete")).toHaveLength(1);
    expect(actions[0]).toBe("retention.run");
    // Every artifact still has its blob.
    for (const rel of (await s.listReleases(app, { page: 1, perPage: 100 })).items) for (const a of await s.listArtifacts(rel)) expect(await s.blobs.stat(a.sha256)).toBeDefined();
    // beta keeps only the newest or younger than 10 days: all three are younger.
    expect(await kindOf(async () => await s.deleteRelease(stable[0], op))).toBe("conflict");
    await s.close();
  });

  test("keeps what the clients outside a first rollout get, and neither deletes nor counts drafts", async () => {
    using tmp = tempDir();
    const { service: s, op, clock, app, stable } = await seeded(tmp.dir);
    // A first rollout of 1.2.0 (no previous release on the channel): the clients outside it get 1.1.0.
    await s.promote(app, "canary", stable[2].id, { rolloutPercent: 10 }, op);
    const outside = await s.latestRelease(app, { channel: "canary", installId: "a client outside" });
    expect(outside).toMatchObject({ release: { version: "1.1.0" }, source: "previous" });
    // Two newer drafts on stable: they do not push published releases out of keep_last (3) and are not deleted.
    for (const v of ["1.6.0", "1.7.0"]) await publish(s, app, v, `draft ${v}`, { draft: true });
    clock.now += 2 * 3600_000;
    const r = await s.runRetention({ dryRun: false }, op);
    expect(r.releases.map((x) => x.version)).toEqual(["1.0.0"]);
    const left = (await s.listReleases(app, { page: 1, perPage: 100 })).items.map((x) => x.version);
    for (const v of ["1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0", "1.6.0", "1.7.0"]) expect(left).toContain(v);
    expect(await s.latestRelease(app, { channel: "canary", installId: "a client outside" })).toMatchObject({ release: { version: "1.1.0" } });
    await s.close();
  });

  test("a dry run predicts exactly what the real run deletes, including blobs shared by doomed releases", async () => {
    using tmp = tempDir();
    const { service: s, op, clock, app } = await seeded(tmp.dir);
    // Two older stable releases sharing one blob, both beyond keep_last.
    const shared = await s.putBlob(chunks("shared bytes"));
    const now = clock.now;
    clock.now -= 30 * DAY;
    for (const v of ["0.9.0", "0.9.1"]) await s.publishRelease(app, { version: v, channel: "stable" }, [{ filename: "x", blob: shared }], op);
    clock.now = now + 2 * 3600_000;
    const dry = await s.runRetention({ dryRun: true }, op);
    const real = await s.runRetention({ dryRun: false }, op);
    expect(real.releases).toEqual(dry.releases);
    expect(real.blobs.map((b) => b.sha256).sort()).toEqual(dry.blobs.map((b) => b.sha256).sort());
    expect(dry.blobs.map((b) => b.sha256)).toContain(shared.sha256);
    await s.close();
  });

  test("a channel's own policy overrides the config for its releases", async () => {
    using tmp = tempDir();
    const { service: s, op, clock, app } = await seeded(tmp.dir);
    await s.setChannelPolicy(app, "stable", { keep_last: 5 }, op);
    clock.now += 2 * 3600_000;
    expect((await s.runRetention({ dryRun: true }, op)).releases.map((r) => r.version)).toEqual(["1.0.0"]);
    const ci = await s.authenticate((await s.createToken({ name: "p", actions: ["promote"] }, op)).raw);
    expect(await kindOf(async () => await s.setChannelPolicy(app, "stable", {}, ci))).toBe("forbidden");
    await s.close();
  });

  test("blobs younger than the grace period survive (an upload may be about to use them)", async () => {
    using tmp = tempDir();
    const { service: s, op } = await serviceIn(tmp.dir, undefined, Date.now());
    const b = await s.putBlob(chunks("orphan"));
    expect((await s.runRetention({ dryRun: false }, op)).blobs).toEqual([]);
    expect(await s.blobs.stat(b.sha256)).toBeDefined();
    await s.close();
  });
});

describe("database versions", () => {
  test("a database newer than the binary is refused with a clear message and left untouched", async () => {
    using tmp = tempDir();
    const file = join(tmp.dir, "x.db");
    await openSqlite(file).close();
    const db = new Database(file);
    db.run("PRAGMA user_version = 99");
    db.close();
    try {
      openSqlite(file);
      throw new Error("expected refusal");
    } catch (err) {
      expect((err as Error).message).toBe(`database ${file} has schema version 99, newer than this release-server supports (${LATEST_SCHEMA})`);
      expect((err as { exitCode: number }).exitCode).toBe(9);
    }
    const check = new Database(file, { readonly: true });
    expect((check.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(99);
    check.close();
  });

  test("migration 2 orders releases of a version-1 database: latest is the highest version, not the newest", async () => {
    using tmp = tempDir();
    const file = join(tmp.dir, "v1.db");
    const db = new Database(file);
    db.run(MIGRATIONS[0]!.sql);
    db.run("PRAGMA user_version = 1");
    db.run("INSERT INTO apps VALUES (1, 'acme', 'tool', 'Tool', '{}', 'public', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')");
    const row = (id: number, version: string, at: string) =>
      db.run(`INSERT INTO releases VALUES (${id}, 1, '${version}', NULL, 'v${version}', NULL, NULL, NULL, 0, 0, 't', '${at}', '${at}')`);
    row(1, "1.10.0", "2026-01-01T00:00:00Z");
    row(2, "1.9.0", "2026-01-02T00:00:00Z");
    db.close();
    const repos = openSqlite(file);
    expect((await repos.releases.latestPublished(1))?.version).toBe("1.10.0");
    expect(await repos.releases.get(1)).not.toHaveProperty("version_key");
    await repos.close();
  });

  test("a database of schema 3 (releases unique by version) opens with its rows; then tags of one version coexist", async () => {
    using tmp = tempDir();
    const data = join(tmp.dir, "data");
    mkdirSync(data, { recursive: true });
    const file = join(data, DB_FILE);
    const db = new Database(file);
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) db.run(m.sql);
    db.run("PRAGMA user_version = 3");
    db.run("INSERT INTO apps VALUES (1, 'acme', 'tool', 'Tool', '{}', 'public', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')");
    db.run(`INSERT INTO releases VALUES (1, 1, '1.0.0', NULL, 'v1.0.0', NULL, NULL, NULL, 0, 0, 't', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '${versionKey("1.0.0")}')`);
    expect(() => db.run(`INSERT INTO releases VALUES (2, 1, '1.0.0', NULL, '1.0.0', NULL, NULL, NULL, 0, 0, 't', '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z', '')`)).toThrow(/UNIQUE/);
    db.close();
    const { service: s, op } = await serviceIn(tmp.dir);
    const app = await s.getAppBySlug("acme", "tool");
    expect((await s.getReleaseByTag(app, "v1.0.0")).id).toBe(1);
    const plain = await s.createRelease(app, { tag: "1.0.0" }, op);
    const build = await s.createRelease(app, { tag: "v1.0.0+build.7" }, op);
    expect([plain.version, build.version]).toEqual(["1.0.0", "1.0.0"]);
    expect(await kindOf(() => s.createRelease(app, { tag: "v1.0.0" }, op))).toBe("conflict");
    expect((await s.findReleaseByVersion(app, "1.0.0"))?.id).toBe(plain.id); // the exact tag first
    expect((await s.findReleaseByVersion(app, "1.0.0+other"))?.id).toBe(1); // then v<version>
    await s.close();
    const after = new Database(file);
    expect((after.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(LATEST_SCHEMA);
    after.close();
  });

  test("migration 6 on a database of schema 5: ids go on past the largest one it had or its audit log names, and a deleted newest id is not given again", async () => {
    using tmp = tempDir();
    const file = join(tmp.dir, "v5.db");
    const db = new Database(file);
    for (const m of MIGRATIONS.filter((m) => m.version <= 5)) db.run(m.sql);
    db.run("PRAGMA user_version = 5");
    db.run("INSERT INTO apps VALUES (1, 'acme', 'tool', 'Tool', '{}', 'public', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')");
    for (const id of [1, 7]) db.run(`INSERT INTO releases VALUES (${id}, 1, '1.0.${id}', NULL, 'v1.0.${id}', NULL, NULL, NULL, 0, 0, 't', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '${versionKey(`1.0.${id}`)}')`);
    // Release 9 was made and deleted before the upgrade: the audit log names it, and its id is not given again.
    db.run(`INSERT INTO audit_events (actor, action, target_type, target_id, metadata, created_at) VALUES ('t', 'release.delete', 'release', '9', '{"artifacts":[{"id":4},{"id":12}]}', '2026-01-01T00:00:00Z')`);
    // Asset 5 was deleted on its own; asset 12 went with release 9 (named only in that entry's metadata).
    db.run(`INSERT INTO audit_events (actor, action, target_type, target_id, metadata, created_at) VALUES ('t', 'artifact.delete', 'artifact', '5', '{}', '2026-01-01T00:00:00Z')`);
    db.close();
    const repos = openSqlite(file);
    const r = (version: string) => repos.releases.create({ app_id: 1, version, build: null, tag: `v${version}`, name: null, notes: null, channel: null, draft: false, prerelease: false, created_by: "t", created_at: "2026-01-02T00:00:00Z", published_at: null });
    const a = await r("2.0.0");
    await repos.releases.delete(a.id);
    const b = await r("2.0.1");
    expect([a.id, b.id]).toEqual([10, 11]);
    const asset = (name: string) => repos.artifacts.create({ app_id: 1, release_id: b.id, platform: null, filename: name, label: null, content_type: "application/octet-stream", size_bytes: 1, sha256: "a".repeat(64), storage_key: "k", metadata: { kind: "elf", arch: "x86_64" }, validation_status: "unchecked", validation_reason: null, state: "uploaded", download_count: 0, created_at: "2026-01-02T00:00:00Z", updated_at: "2026-01-02T00:00:00Z" });
    expect((await asset("x.bin")).id).toBe(13);
    await repos.close();
  });

  test("WAL and foreign keys are on", async () => {
    using tmp = tempDir();
    const { service: s } = await serviceIn(tmp.dir);
    await s.close();
    const db = new Database(join(tmp.dir, "data", DB_FILE));
    expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    const idx = (db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name);
    expect(idx).toEqual(expect.arrayContaining(["apps_by_slug", "releases_by_app", "artifacts_by_digest", "tokens_by_hash"]));
    db.close();
  });
});

describe("on in-memory repositories", () => {
  test("the service runs the whole flow without SQLite", async () => {
    using tmp = tempDir();
    const s = new ReleaseService({ repos: memoryRepositories(), blobs: new DiskBlobStore(tmp.dir), config: defaultConfig() });
    const op = ReleaseService.operator("cli:test");
    const app = await s.createApp({ owner: "acme", slug: "tool" }, op);
    const v1 = (await publish(s, app, "1.0.0", "one")).release;
    const v2 = (await publish(s, app, "1.1.0", "two")).release;
    await s.promote(app, "stable", v1.id, {}, op);
    await s.promote(app, "stable", v2.id, { rolloutPercent: 0 }, op);
    expect((await s.latestRelease(app, { channel: "stable", installId: "x" })).release.id).toBe(v1.id);
    expect(await kindOf(async () => await s.publishRelease(app, { version: "1.1.0" }, [], op))).toBe("conflict");
    const ci = await s.authenticate((await s.createToken({ name: "ci", actions: ["publish"], apps: ["acme/tool"] }, op)).raw);
    expect(await kindOf(async () => await s.promote(app, "stable", v1.id, {}, ci))).toBe("forbidden");
    expect((await s.runRetention({ dryRun: true }, op)).releases).toEqual([]);
    expect((await s.listAudit()).length).toBeGreaterThan(4);
    await s.close();
  });
});
