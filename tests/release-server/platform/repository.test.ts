import { join } from "node:path";
import { memoryRepositories } from "../../../src/release-server/storage/memory.ts";
import { openSqlite } from "../../../src/release-server/storage/sqlite.ts";
import { repositoryContract } from "./repository.contract.ts";
import { tempDir } from "./fixtures.ts";

repositoryContract("memory", () => ({ repos: memoryRepositories(), done() {} }));

repositoryContract("sqlite", () => {
  const tmp = tempDir();
  const repos = openSqlite(join(tmp.dir, "db", "release-server.db"));
  return { repos, done: () => (repos.close(), tmp[Symbol.dispose]()) };
});
