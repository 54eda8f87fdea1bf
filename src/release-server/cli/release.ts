import { defineCommand } from "citty";
import { basename } from "node:path";
import { statSync } from "node:fs";
import { usageError } from "../../shared/errors.ts";
import { ReleaseService, type PublishFile } from "../service.ts";
import type { Platform, Release } from "../domain/model.ts";
import { appArg, commonArgs, numberArg, output, withService } from "./_shared.ts";

const line = (r: Release) =>
  `${r.id}\t${r.tag}\t${r.version}\t${r.channel ?? "-"}\t${r.draft ? "draft" : r.prerelease ? "prerelease" : "published"}\t${r.created_at}`;

const publish = defineCommand({
  meta: { name: "publish", description: "Publish a release with its files, atomically (all or nothing)" },
  args: {
    ...commonArgs,
    app: { type: "positional", required: true, description: "OWNER/SLUG" },
    version: { type: "positional", required: true, description: "Semantic version (e.g. 1.2.3), or any tag such as nightly" },
    files: { type: "positional", required: false, description: "Files to attach (FILE...)" },
    channel: { type: "string", description: "Channel the release is for (retention groups by it)" },
    tag: { type: "string", description: "Tag (default v<version>; a non-semver version is its own tag)" },
    name: { type: "string", description: "Release title" },
    notes: { type: "string", description: "Release notes" },
    build: { type: "string", description: "Build number", valueHint: "N" },
    platform: { type: "string", description: "Platform of every file (default: detected from the bytes)", valueHint: "PLATFORM" },
    draft: { type: "boolean", description: "Create as a draft (not published)" },
    prerelease: { type: "boolean", description: "Mark as a prerelease (default: when the version has a prerelease part, 1.2.0-rc.1; --no-prerelease to refuse)" },
  },
  run: ({ args }) =>
    withService(args, async (s) => {
      const app = await appArg(s, args.app);
      const paths = args._.slice(2).map(String);
      const files: PublishFile[] = [];
      for (const path of paths) {
        if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw usageError(`cannot read ${path}: not a file`);
        const blob = await s.putBlob(Bun.file(path).stream());
        files.push({ filename: basename(path), platform: (args.platform as Platform | undefined) ?? null, blob });
      }
      const { release, artifacts } = await s.publishRelease(
        app,
        {
          version: args.version,
          tag: args.tag,
          name: args.name,
          notes: args.notes,
          channel: args.channel,
          build: args.build === undefined ? undefined : numberArg("build", args.build),
          draft: Boolean(args.draft),
          prerelease: args.prerelease === undefined ? undefined : Boolean(args.prerelease),
        },
        files,
        ReleaseService.operator(),
      );
      output(args.json, { release, artifacts }, () => [
        `published ${args.app} ${release.tag} (release ${release.id}) with ${artifacts.length} artifacts`,
        ...artifacts.map((a) => `  ${a.filename}\t${a.size_bytes} bytes\tsha256:${a.sha256}\t${a.platform ?? "-"}\t${a.validation_status}${a.validation_reason ? ` (${a.validation_reason})` : ""}`),
      ]);
    }),
});

const list = defineCommand({
  meta: { name: "list", description: "List an app's releases, newest first" },
  args: {
    ...commonArgs,
    app: { type: "positional", required: true, description: "OWNER/SLUG" },
    page: { type: "string", description: "Page, from 1", valueHint: "N" },
    "per-page": { type: "string", description: "Releases per page (max 100, default 30)", valueHint: "N" },
  },
  run: ({ args }) =>
    withService(args, async (s) => {
      const page = await s.listReleases(await appArg(s, args.app), {
        page: args.page === undefined ? 1 : numberArg("page", args.page),
        perPage: args["per-page"] === undefined ? 30 : numberArg("per-page", args["per-page"]),
      });
      output(args.json, page, () => page.items.map(line));
    }),
});

const remove = defineCommand({
  meta: { name: "delete", description: "Delete a release and its artifacts (refused while a channel points at it; blobs go at the next retention run)" },
  args: { ...commonArgs, app: { type: "positional", required: true, description: "OWNER/SLUG" }, tag: { type: "positional", required: true, description: "The release's tag" } },
  run: ({ args }) =>
    withService(args, async (s) => {
      const release = await s.getReleaseByTag(await appArg(s, args.app), args.tag);
      await s.deleteRelease(release, ReleaseService.operator());
      output(args.json, { deleted: release }, () => [`deleted ${args.app} ${release.tag} (release ${release.id})`]);
    }),
});

export default defineCommand({ meta: { name: "release", description: "Publish, list and delete releases" }, subCommands: { publish, list, delete: remove } });
