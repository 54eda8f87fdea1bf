import { defineCommand } from "../define.ts";
import { COMMIT, TARGET, VERSION } from "../../shared/build-info.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../../schema/version.ts";
import { jsonArgs } from "./_args.ts";
import { printJson, printLine } from "../output.ts";

export default defineCommand({
  meta: { name: "version", description: "Print version, artifact schema version, build target and commit" },
  args: { ...jsonArgs },
  run({ args }) {
    const info = { version: VERSION, schema_version: ARTIFACT_SCHEMA_VERSION, target: TARGET, commit: COMMIT };
    if (args.json) return printJson(info);
    printLine(`auditgraph ${VERSION} (schema ${ARTIFACT_SCHEMA_VERSION}, ${TARGET}, commit ${COMMIT})`);
  },
});
