import { defineCommand } from "citty";
import { LATEST_SCHEMA } from "../storage/migrations.ts";
import { commonArgs, output, withService } from "./_shared.ts";

export default defineCommand({
  meta: { name: "migrate", description: "Create or upgrade the database (the data directory's, or storage.database's; refuses one newer than this binary)" },
  args: { ...commonArgs },
  run: ({ args }) =>
    // Opening the service applies pending migrations and sweeps interrupted uploads.
    withService(args, (s) => {
      const label = s.database?.label ?? "database";
      const applied = s.database?.applied ?? [];
      output(args.json, { database: label, schema_version: LATEST_SCHEMA, applied }, () => [`database ${label} is at schema version ${LATEST_SCHEMA}`]);
    }),
});
