/**
 * Several replicas on one database: two ReleaseService instances share the repositories' database
 * (memory: one store; SQLite: one data directory, two connections; PostgreSQL: one database on a
 * real server, two data directories) and must agree: batched download counts and token last-use
 * times merge without losing increments, only one retention run deletes at a time, the same
 * version published through both gives one release and one conflict, and every change has its
 * audit event while a refused one has neither.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { defaultConfig, type ServerConfig } from "../../../src/release-server/config.ts";
import { DiskBlobStore } from "../../../src/release-server/blobs/store.ts";
import { ServiceError } from "../../../src/release-server/domain/errors.ts";
import { generateToken } from "../../../src/release-server/domain/tokens.ts";
import { isoSeconds, type App } from "../../../src/release-server/domain/model.ts";
import { openService, ReleaseService } from "../../../src/release-server/service.ts";
import { memoryRepositories } from "../../../src/release-server/storage/memory.ts";
import { usePostgres } from "../support/postgres.ts";
import { chunks, tempDir } from "./fixtures.ts";

const pg = usePostgres();

const op = ReleaseService.operator("cli:test");

interface Replicas {
  a: ReleaseService;
  b: ReleaseService;
  clock: { now: number };
  done(): Promise<void>;
}

function config(): ServerConfig {
  const c = defaultConfig();
  c.retention.default = { keep_last: 1 };
  c.retention.channels = {};
  c.tokens.flush_seconds = 3600; // flushed by the tests only
  return c;
}

const backends: Record<string, () => Promise<Replicas>> = {
  async memory() {
    const tmp = tempDir();
    const clock = { now: Date.parse("2026-01-01T00:00:00Z") };
    const repos = memoryRepositories();
    const mk = (name: string) => new ReleaseService({ repos, blobs: new DiskBlobStore(join(tmp.dir, name)), config: config(), clock: () => new Date(clock.now) });
    const [a, b] = [mk("a"), mk("b")];
    return { a, b, clock, done: async () => (await a.close(), await b.flush(), tmp[Symbol.dispose]()) };
  },
  async sqlite() {
    const tmp = tempDir();
    const clock = { now: Date.parse("2026-01-01T00:00:00Z") };
    const data = join(tmp.dir, "data");
    const a = await openService(data, config(), () => new Date(clock.now));
    const b = await openService(data, config(), () => new Date(clock.now));
    return { a, b, clock, done: async () => (await a.close(), await b.close(), tmp[Symbol.dispose]()) };
  },
  async postgres() {
    const tmp = tempDir();
    const clock = { now: Date.parse("2026-01-01T00:00:00Z") };
    const c = config();
    c.storage.database = await pg().createDatabase();
    const a = await openService(join(tmp.dir, "a"), c, () => new Date(clock.now));
    const b = await openService(join(tmp.dir, "b"), c, () => new Date(clock.now));
    return { a, b, clock, done: async () => (await a.close(), await b.close(), tmp[Symbol.dispose]()) };
  },
};

async function publish(s: ReleaseService, app: App, version: string, extra: { channel?: string | null } = {}) {
  const blob = await s.putBlob(chunks(`bytes of ${version}`));
  return s.publishRelease(app, { version, channel: extra.channel ?? null }, [{ filename: `tool-${version}.txt`, blob }], op);
}

const kind = (r: PromiseSettledResult<unknown>) => (r.status === "fulfilled" ? "ok" : r.reason instanceof ServiceError ? r.reason.kind : String(r.reason));

for (const [name, open] of Object.entries(backends)) {
  describe(`two replicas on ${name}`, () => {
    test("download counts and token last-use batched on each replica merge without losing increments", async () => {
      const { a, b, clock, done } = await open();
      try {
        const app = await a.createApp({ owner: "acme", slug: "tool" }, op);
        const { artifacts } = await publish(a, app, "1.0.0");
        const id = artifacts[0]!.id;
        const { raw, token } = await a.createToken({ name: "ci", actions: ["read"] }, op);
        for (let i = 0; i < 3; i++) a.countDownload(id);
        for (let i = 0; i < 4; i++) b.countDownload(id);
        await b.authenticate(raw); // at T0
        clock.now += 60_000;
        await a.authenticate(raw); // a minute later
        // Each replica sees its own pending counts before a flush.
        expect((await a.getArtifact(id)).download_count).toBe(3);
        expect((await b.getArtifact(id)).download_count).toBe(4);
        await Promise.all([a.flush(), b.flush()]);
        expect((await a.getArtifact(id)).download_count).toBe(7);
        expect((await b.getArtifact(id)).download_count).toBe(7);
        // A later batch adds to what is stored; an older last-use written later does not move it back.
        for (let i = 0; i < 2; i++) b.countDownload(id);
        await b.flush();
        await b.authenticate(raw);
        clock.now -= 30_000;
        await a.authenticate(raw);
        await b.flush();
        await a.flush();
        expect((await a.getArtifact(id)).download_count).toBe(9);
        expect((await b.listTokens()).find((t) => t.id === token.id)?.last_used_at).toBe(isoSeconds(new Date(Date.parse("2026-01-01T00:01:00Z"))));
      } finally {
        await done();
      }
    });

    test("only one replica deletes at a time: a run while another holds the lock is a conflict and deletes nothing", async () => {
      const { a, b, done } = await open();
      try {
        const app = await a.createApp({ owner: "acme", slug: "tool" }, op);
        for (const v of ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]) await publish(a, app, v);
        let during: PromiseSettledResult<unknown> | undefined;
        const held = await a.repos.exclusive("retention", async () => {
          during = (await Promise.allSettled([b.runRetention({ dryRun: false }, op)]))[0];
          return (await b.listReleases(app, { page: 1, perPage: 100 })).total;
        });
        expect(held).toEqual({ locked: true, value: 4 });
        expect(kind(during!)).toBe("conflict");
        expect((during as PromiseRejectedResult).reason.message).toContain("retention run is in progress");
        // A dry run takes no lock; then both replicas at once: the releases go once, in total.
        expect((await b.runRetention({ dryRun: true }, op)).releases).toHaveLength(3);
        const runs = await Promise.allSettled([a.runRetention({ dryRun: false }, op), b.runRetention({ dryRun: false }, op)]);
        const deleted = runs.flatMap((r) => (r.status === "fulfilled" ? r.value.releases : []));
        expect(runs.every((r) => kind(r) === "ok" || kind(r) === "conflict")).toBe(true);
        expect(deleted.map((d) => d.version).sort()).toEqual(["1.0.0", "1.1.0", "1.2.0"]);
        expect((await a.listReleases(app, { page: 1, perPage: 100 })).items.map((r) => r.version)).toEqual(["1.3.0"]);
        expect(await a.listAudit({ action: "release.delete" })).toHaveLength(3);
        // The lock was released: a later run on either replica runs (and finds nothing to delete).
        expect((await b.runRetention({ dryRun: false }, op)).releases).toEqual([]);
      } finally {
        await done();
      }
    });

    test("the same version published through both at once: one release, one conflict, one audit event", async () => {
      const { a, b, done } = await open();
      try {
        const app = await a.createApp({ owner: "acme", slug: "tool" }, op);
        const runs = await Promise.allSettled([publish(a, app, "2.0.0"), publish(b, app, "2.0.0")]);
        expect(runs.map(kind).sort()).toEqual(["conflict", "ok"]);
        expect((await b.listReleases(app, { page: 1, perPage: 10 })).total).toBe(1);
        expect(await a.listAudit({ action: "release.publish" })).toHaveLength(1);
      } finally {
        await done();
      }
    });

    test("the admin token bootstrap from both replicas at once registers one token, and both start", async () => {
      const { a, b, done } = await open();
      try {
        const raw = generateToken();
        const [ta, tb] = await Promise.all([a.ensureBootstrapToken(raw, "bootstrap"), b.ensureBootstrapToken(raw, "bootstrap")]);
        expect(ta.id).toBe(tb.id);
        expect((await a.listTokens()).filter((t) => t.name === "bootstrap")).toHaveLength(1);
        expect(await b.listAudit({ action: "token.create" })).toHaveLength(1);
      } finally {
        await done();
      }
    });

    test("promotions through both replicas stay consistent; a refused one leaves neither change nor event", async () => {
      const { a, b, done } = await open();
      try {
        const app = await a.createApp({ owner: "acme", slug: "tool" }, op);
        const r1 = (await publish(a, app, "1.0.0", { channel: "stable" })).release;
        const r2 = (await publish(b, app, "1.1.0", { channel: "stable" })).release;
        const empty = await a.createRelease(app, { version: "1.2.0", channel: "stable" }, op); // no artifacts: the gate refuses it
        await a.promote(app, "stable", r1.id, {}, op);
        await Promise.all([a.promote(app, "stable", r2.id, { rolloutPercent: 50 }, op), b.setRollout(app, "stable", 20, op)]);
        const ch = await b.getChannel(app, "stable");
        expect([ch.current_release_id, ch.previous_release_id]).toEqual([r2.id, r1.id]);
        const events = await a.listAudit({ target_type: "channel" });
        expect(events.map((e) => e.action).sort()).toEqual(["channel.promote", "channel.promote", "channel.rollout"]);
        const refused = await Promise.allSettled([b.promote(app, "stable", empty.id, {}, op)]);
        expect(kind(refused[0]!)).toBe("conflict");
        expect(await a.getChannel(app, "stable")).toEqual(ch);
        expect(await a.listAudit({ target_type: "channel" })).toHaveLength(3);
      } finally {
        await done();
      }
    });
  });
}
