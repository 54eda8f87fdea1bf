import { defineCommand } from "citty";
import { ReleaseService } from "../service.ts";
import type { App } from "../domain/model.ts";
import { commonArgs, output, splitAppRef, withService } from "./_shared.ts";

const line = (a: App) => `${a.owner}/${a.slug}\t${a.visibility}\t${a.display_name}`;

const create = defineCommand({
  meta: { name: "create", description: "Register an app" },
  args: {
    ...commonArgs,
    app: { type: "positional", required: true, description: "OWNER/SLUG" },
    name: { type: "string", description: "Display name (default: the slug)" },
    private: { type: "boolean", description: "Only tokens with read access see it" },
    "bundle-id": { type: "string", description: "Bundle identifiers, e.g. ios=com.example.app,android_apk=com.example", valueHint: "PLATFORM=ID,..." },
  },
  run: ({ args }) =>
    withService(args, async (s) => {
      const { owner, slug } = splitAppRef(args.app);
      const bundle_ids = Object.fromEntries((args["bundle-id"] ?? "").split(",").filter(Boolean).map((kv) => kv.split("=", 2)));
      const app = await s.createApp(
        { owner, slug, display_name: args.name, bundle_ids, visibility: args.private ? "private" : "public" },
        ReleaseService.operator(),
      );
      output(args.json, app, () => [`created app ${app.owner}/${app.slug} (id ${app.id})`]);
    }),
});

const list = defineCommand({
  meta: { name: "list", description: "List apps" },
  args: { ...commonArgs },
  run: ({ args }) => withService(args, async (s) => { const apps = await s.listApps(); output(args.json, apps, () => apps.map(line)); }),
});

export default defineCommand({ meta: { name: "app", description: "Manage apps" }, subCommands: { create, list } });
