import { join } from "node:path";
import { memoryRepositories } from "../../../src/release-server/storage/memory.ts";
import { openSqlite } from "../../../src/release-server/storage/sqlite.ts";
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
