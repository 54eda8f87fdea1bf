/**
 * The database `storage.database` (or $RELEASE_SERVER_DATABASE_URL) names: SQLite in the data
 * directory, or a PostgreSQL server. Either is migrated on open; one newer than this binary is
 * refused (exit 9). Nothing above this module knows which one it got.
 */
import { join } from "node:path";
import { databaseOf, type ServerConfig } from "../config.ts";
import type { Repositories } from "../domain/repository.ts";
import { openPostgres, redactUrl } from "./postgres.ts";
import { openSqlite } from "./sqlite.ts";

export const DB_FILE = "release-server.db";

export interface DatabaseInfo {
  kind: "sqlite" | "postgres";
  /** The file, or the URL without its password. */
  label: string;
  /** Migrations this open applied (empty when the schema was current, or another replica applied them). */
  applied: number[];
}

export async function openRepositories(dataDir: string, config: ServerConfig): Promise<{ repos: Repositories; info: DatabaseInfo }> {
  const database = databaseOf(config);
  const applied: number[] = [];
  if (database === "sqlite") {
    const file = join(dataDir, DB_FILE);
    return { repos: openSqlite(file, { applied }), info: { kind: "sqlite", label: file, applied } };
  }
  return { repos: await openPostgres(database, { applied, timeoutMs: config.storage.timeout_seconds * 1000 }), info: { kind: "postgres", label: redactUrl(database), applied } };
}
