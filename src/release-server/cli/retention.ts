import { defineCommand } from "citty";
import { ReleaseService } from "../service.ts";
import { commonArgs, output, withService } from "./_shared.ts";

const run = defineCommand({
  meta: { name: "run", description: "Delete releases, blobs and staged uploads the retention policies no longer keep" },
  args: { ...commonArgs, "dry-run": { type: "boolean", description: "Only list what would be deleted" } },
  run: ({ args }) =>
    withService(args, async (s) => {
      const dryRun = Boolean(args["dry-run"]);
      const r = await s.runRetention({ dryRun }, ReleaseService.operator());
      const verb = dryRun ? "would delete" : "deleted";
      output(args.json, r, () => [
        ...r.releases.map((x) => `${verb} release ${x.app} ${x.version} (channel ${x.channel ?? "-"}): ${x.reason}`),
        ...r.blobs.map((b) => `${verb} blob sha256:${b.sha256} (${b.size} bytes): unreferenced`),
        ...r.staging.map((f) => `${verb} staged upload ${f.name} (${f.size} bytes): interrupted`),
        `${verb} ${r.releases.length} releases, ${r.blobs.length} blobs, ${r.staging.length} staged uploads`,
      ]);
    }),
});

export default defineCommand({ meta: { name: "retention", description: "Apply retention policies" }, subCommands: { run } });
