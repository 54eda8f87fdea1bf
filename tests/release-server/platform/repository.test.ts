import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { memoryRepositories } from "../../../src/release-server/storage/memory.ts";
import { openSqlite } from "../../../src/release-server/storage/sqlite.ts";
import { draftFilter, newestWithArtifactSql } from "../../../src/release-server/storage/sql.ts";
import { repositoryContract } from "./repository.contract.ts";
import { tempDir } from "./fixtures.ts";

repositoryContract("memory", async () => ({ repos: memoryRepositories(), done() {} }));

repositoryContract("sqlite", async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, "db", "release-server.db");
  const repos = openSqlite(file);
  const others: Array<{ close(): Promise<void> }> = [];
  return {
    repos,
    replica: async () => {
      const r = openSqlite(file);
      others.push(r);
      return r;
    },
    done: async () => {
      for (const r of others) await r.close();
      await repos.close();
      tmp[Symbol.dispose]();
    },
  };
});

test("sqlite: the newest release with a file is one probe of artifacts_by_app_name, and a published-only list reads releases_by_app_published", async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, "db", "release-server.db");
  const repos = openSqlite(file);
  const db = new Database(file, { readonly: true });
  try {
    const plan = (sql: string, ...params: unknown[]) => (db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...(params as never[])) as { detail: string }[]).map((r) => r.detail).join("; ");
    const newest = plan(newestWithArtifactSql(draftFilter(false, "r.").sql), 1, "tool.tar.gz", 1);
    expect(newest).toContain("USING COVERING INDEX artifacts_by_app_name (app_id=? AND filename=?)");
    expect(newest).toMatch(/SEARCH r USING INTEGER PRIMARY KEY/);
    expect(plan(`SELECT * FROM releases WHERE app_id = ?${draftFilter(false, "").sql} ORDER BY created_at DESC, id DESC`, 1)).toContain("releases_by_app_published (app_id=? AND draft=?)");
  } finally {
    db.close();
    await repos.close();
    tmp[Symbol.dispose]();
  }
});
