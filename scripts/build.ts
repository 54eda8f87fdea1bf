#!/usr/bin/env bun
/**
 * `bun run build [--target NAME]... [--out DIR] [--check] [--previous DIR]`: the release assets of
 * every target in dist-targets/ (or the named ones) into dist/; with --previous (a directory holding
 * the previous release's assets), also a delta patch per executable from that release. See
 * scripts/release/build.ts for the steps.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { buildRelease } from "./release/build.ts";
import { AgError, ExitCode, describeError } from "../src/shared/errors.ts";

const USAGE = "usage: bun scripts/build.ts [--target NAME]... [--out DIR] [--check] [--base-url URL] [--previous DIR]";

async function main(argv: string[]): Promise<number> {
  const root = join(import.meta.dir, "..");
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        target: { type: "string", multiple: true, default: [] },
        out: { type: "string", default: join(root, "dist") },
        check: { type: "boolean", default: false },
        // The previous release's assets (archives, release.json, SHA256SUMS): write delta patches from it.
        previous: { type: "string" },
        // Where the release will be downloaded from (the formula's URLs): GitHub's, or <server>/<owner>/<app>.
        "base-url": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`error: ${describeError(err)}\n${USAGE}\n`);
    return ExitCode.usage;
  }
  const baseUrl = values["base-url"];
  if (baseUrl !== undefined && !/^https?:\/\/[^/?#\s"\\]+(\/[^?#\s"\\]*)?$/.test(baseUrl)) {
    process.stderr.write(`error: --base-url must be an http(s) URL without a query, e.g. https://releases.example.org/auditgraph/auditgraph; got '${baseUrl}'\n${USAGE}\n`);
    return ExitCode.usage;
  }
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return ExitCode.ok;
  }
  const started = performance.now();
  try {
    const r = await buildRelease({ root, targets: values.target, outDir: values.out, check: values.check, baseUrl, previous: values.previous });
    const n = r.manifest.assets.length;
    process.stderr.write(`${n} assets of ${r.manifest.version} in ${r.outDir} (${((performance.now() - started) / 1000).toFixed(1)} s${r.signed ? ", signed" : ", UNSIGNED"})\n`);
    return ExitCode.ok;
  } catch (err) {
    const code = err instanceof AgError ? err.exitCode : ExitCode.internal;
    process.stderr.write(`error: ${describeError(err)}\n`);
    if (err instanceof AgError && err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    if (!(err instanceof AgError) && process.env.AUDITGRAPH_DEBUG === "1" && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return code;
  }
}

process.exitCode = await main(process.argv.slice(2));
