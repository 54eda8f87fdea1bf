import { defineCommand } from "citty";
import { join } from "node:path";
import { DB_FILE } from "../service.ts";
import { LATEST_SCHEMA } from "../storage/migrations.ts";
import { commonArgs, dataDirOf, output, withService } from "./_shared.ts";

export default defineCommand({
  meta: { name: "migrate", description: "Create or upgrade the database in the data directory (refuses one newer than this binary)" },
  args: { ...commonArgs },
  run: ({ args }) =>
    // Opening the service applies pending migrations and sweeps interrupted uploads.
    withService(args, () => {
      const file = join(dataDirOf(args), DB_FILE);
      output(args.json, { database: file, schema_version: LATEST_SCHEMA }, () => [`database ${file} is at schema version ${LATEST_SCHEMA}`]);
    }),
});
