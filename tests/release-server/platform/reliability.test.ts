/**
 * Crash and concurrency behaviour with real processes on a real SQLite file: SIGKILL in the middle
 * of a publish, and two publishers racing for the same version.
 */
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { LATEST_SCHEMA } from "../../../src/release-server/storage/migrations.ts";
import { DB_FILE } from "../../../src/release-server/service.ts";
import { CLI, serviceIn, tempDir } from "./fixtures.ts";

const PUBLISHER = join(import.meta.dir, "publisher.ts");

function cli(args: string[], dataDir: string) {
  return Bun.spawn(["bun", CLI, ...args, "--data", dataDir], { stdout: "pipe", stderr: "pipe" });
}

/** Starts a process and SIGKILLs it once it prints `marker`. */
async function killAt(cmd: string[], marker: string): Promise<void> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit" });
  const reader = p.stdout.getReader();
  let seen = "";
  while (!seen.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`publisher exited (${await p.exited}) before printing ${marker}`);
    seen += new TextDecoder().decode(value);
  }
  p.kill("SIGKILL");
  expect(await p.exited).not.toBe(0);
}

/** The invariants: every artifact row has its complete blob; every release has all its artifacts. */
function checkConsistent(dataDir: string, expectedArtifacts: number) {
  const db = new Database(join(dataDir, DB_FILE), { readonly: true });
  try {
    const arts = db.query("SELECT release_id, sha256, size_bytes, storage_key FROM artifacts").all() as Array<{ release_id: number; sha256: string; size_bytes: number; storage_key: string }>;
    for (const a of arts) {
      const bytes = readFileSync(join(dataDir, "blobs", a.storage_key));
      expect(bytes.length).toBe(a.size_bytes);
      expect(sha256Hex(bytes)).toBe(a.sha256);
    }
    const rels = db.query("SELECT id, (SELECT count(*) FROM artifacts WHERE release_id = releases.id) AS n FROM releases").all() as Array<{ id: number; n: number }>;
    for (const r of rels) expect(r.n).toBe(expectedArtifacts);
    return { releases: rels.length, artifacts: arts.length };
  } finally {
    db.close();
  }
}

function versions(dataDir: string): string[] {
  const db = new Database(join(dataDir, DB_FILE), { readonly: true });
  try {
    return (db.query("SELECT version FROM releases").all() as Array<{ version: string }>).map((r) => r.version);
  } finally {
    db.close();
  }
}

async function setup(dir: string) {
  const { service, op } = await serviceIn(dir, undefined, Date.now());
  await service.createApp({ owner: "acme", slug: "tool" }, op);
  await service.close();
  return join(dir, "data");
}

describe("SIGKILL in the middle of a publish", () => {
  test("killed while streaming: no release, no artifact; the staged file is swept at the next start", async () => {
    using tmp = tempDir();
    const data = await setup(tmp.dir);
    await killAt(["bun", PUBLISHER, data, "1.0.0", "hang-upload"], "uploading");
    expect(readdirSync(join(data, "staging")).length).toBe(1); // the interrupted upload
    expect(checkConsistent(data, 3)).toEqual({ releases: 0, artifacts: 0 });
    const list = cli(["release", "list", "acme/tool"], data); // any start sweeps staging
    expect(await list.exited).toBe(0);
    expect(readdirSync(join(data, "staging"))).toEqual([]);
  });

  test("killed after the blobs were stored, before the transaction: nothing published; retention reclaims the blobs", async () => {
    using tmp = tempDir();
    const data = await setup(tmp.dir);
    await killAt(["bun", PUBLISHER, data, "1.0.0", "hang-stored"], "stored");
    expect(checkConsistent(data, 3)).toEqual({ releases: 0, artifacts: 0 });
    writeFileSync(join(tmp.dir, "rs.yaml"), "retention:\n  blob_grace_hours: 0\n");
    const r = cli(["retention", "run", "--json", "--config", join(tmp.dir, "rs.yaml")], data);
    expect(await r.exited).toBe(0);
    expect(JSON.parse(await new Response(r.stdout).text()).blobs).toHaveLength(3);
  });

  test("the real CLI killed at several moments of a multi-file publish always leaves a consistent store", async () => {
    using tmp = tempDir();
    const data = await setup(tmp.dir);
    const blobCount = () => Bun.spawnSync(["find", join(data, "blobs"), "-type", "f"]).stdout.toString().split("\n").filter(Boolean).length;
    const staged = () => readdirSync(join(data, "staging")).length;
    const outcomes: string[] = [];
    // Kill while the n-th file is streaming (n = 0..3), then once every blob is stored.
    for (const [round, n] of [0, 1, 2, 3, 4].entries()) {
      const files = [0, 1, 2, 3].map((i) => {
        const p = join(tmp.dir, `r${round}-part-${i}.bin`);
        writeFileSync(p, new Uint8Array(16 * 1024 * 1024).fill(round * 4 + i + 1));
        return p;
      });
      const base = blobCount();
      const p = cli(["release", "publish", "acme/tool", `1.0.${round}`, ...files], data);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && p.exitCode === null) {
        const stored = blobCount() - base;
        if (n < 4 ? stored === n && staged() > 0 : stored === 4) break;
        await Bun.sleep(1);
      }
      const midUpload = staged() > 0;
      p.kill("SIGKILL");
      const killed = (await p.exited) !== 0;
      outcomes.push(killed ? (midUpload ? "killed mid-upload" : "killed") : "finished");
      checkConsistent(data, 4);
      // Killed while a file was still streaming: the release transaction cannot have run.
      if (killed && midUpload) expect(versions(data)).not.toContain(`1.0.${round}`);
    }
    expect(outcomes.filter((o) => o === "killed mid-upload").length).toBeGreaterThan(0);
    const done = cli(["release", "publish", "acme/tool", "2.0.0", join(tmp.dir, "r0-part-0.bin")], data);
    expect(await done.exited).toBe(0);
    expect(readdirSync(join(data, "staging"))).toEqual([]);
    console.log(`kill outcomes: ${outcomes.join(", ")}`);
  }, 60_000);
});

describe("concurrent processes", () => {
  test("several processes opening a fresh data directory at once all migrate it safely", async () => {
    // (Switching a fresh file to WAL could answer "database is locked" at once, past the busy timeout; rare, so rounds.)
    using tmp = tempDir();
    for (let round = 0; round < 8; round++) {
      const data = join(tmp.dir, `data-${round}`);
      const procs = [0, 1, 2, 3, 4].map(() => cli(["migrate"], data));
      const codes = await Promise.all(procs.map((p) => p.exited));
      const errs = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
      expect({ codes, errs: errs.filter(Boolean) }).toEqual({ codes: [0, 0, 0, 0, 0], errs: [] });
      const db = new Database(join(data, DB_FILE), { readonly: true });
      expect((db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(LATEST_SCHEMA);
      expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
      db.close();
    }
  }, 60_000);

  test("two processes publishing the same version: one wins, the other gets a clear conflict", async () => {
    using tmp = tempDir();
    const data = await setup(tmp.dir);
    for (const round of [0, 1, 2]) {
      const version = `3.0.${round}`;
      const files = ["a", "b"].map((who) => {
        const p = join(tmp.dir, `${who}-${round}`, "tool.bin");
        Bun.spawnSync(["mkdir", "-p", join(tmp.dir, `${who}-${round}`)]);
        writeFileSync(p, `${who} ${round} `.repeat(200_000));
        return p;
      });
      const procs = files.map((f) => cli(["release", "publish", "acme/tool", version, f], data));
      const codes = await Promise.all(procs.map((p) => p.exited));
      const errs = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
      expect(codes.sort()).toEqual([0, 7]);
      expect(errs.join("")).toContain(`error: acme/tool already has tag v${version}`);
      checkConsistent(data, 1);
    }
  }, 60_000);
});
