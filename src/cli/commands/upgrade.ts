import { defineCommand } from "../define.ts";
import { givenValue, jsonArgs, workspaceArgs } from "./_args.ts";
import { isTTY, printable, printJson, printLine, warn, writeStderr } from "../output.ts";
import { AgError, ExitCode, usageError } from "../../shared/errors.ts";
import { TARGET, VERSION } from "../../shared/build-info.ts";

/** Versions, asset names and paths come from a release server and the disk: printed printable. */
const say = (line: string) => printLine(printable(line));

/** The workspace's store against the new release's artifact schema (undefined when there is nothing to say). */
async function workspaceCompat(args: { root?: string; config?: string; profile?: string }, schema: string | undefined) {
  if (!schema) return undefined;
  const { loadWorkspace } = await import("../../config/load.ts");
  const { readCurrentManifest } = await import("../../store/manifest.ts");
  const { decideCompat } = await import("../../policy/compat.ts");
  let found;
  try {
    const ws = loadWorkspace({ root: args.root, config: args.config, profile: args.profile });
    found = { root: ws.root, cur: readCurrentManifest(ws.profileDir, { lazyFiles: true }) };
  } catch {
    return undefined; // not a workspace here, or an unreadable one: nothing to say
  }
  const { root, cur } = found;
  if (cur.state === "empty" || cur.fact.kind !== "version") return undefined;
  // Pure but for loading semver (an entry point of its own): a build without it says so, outside the try.
  const d = decideCompat(cur.fact, schema);
  return { root, store_schema: cur.fact.version, new_schema: schema, rebuild_needed: !d.compatible };
}

const failed = (e: unknown, changed: boolean): never => {
  if (e instanceof Error && e.name === "UpgradeError") {
    const u = e as Error & { code: string; hint?: string };
    const usage = u.code === "usage";
    throw new AgError(usage || changed ? u.message : `${u.message}; nothing was changed`, {
      exitCode: usage ? ExitCode.usage : ExitCode.internal, code: usage ? "usage" : u.code, hint: u.hint,
    });
  }
  throw e;
};

export default defineCommand({
  meta: {
    name: "upgrade",
    description: "Replace this auditgraph with a newer release: signature-checked, by delta when one applies, with --rollback",
  },
  args: {
    check: { type: "boolean", description: "Only say whether a newer release exists (changes nothing)" },
    version: { type: "string", description: "Upgrade (or downgrade) to this release instead of the latest", valueHint: "X" },
    channel: { type: "string", description: "Release channel (default: $AUDITGRAPH_CHANNEL, else the installer's)", valueHint: "NAME" },
    "no-delta": { type: "boolean", description: "Always download the full archive, even when a delta patch applies" },
    "dry-run": { type: "boolean", description: "Find, verify and say what would be downloaded; change nothing" },
    rollback: { type: "boolean", description: "Put back the version the last upgrade replaced" },
    "minisign-key": { type: "string", description: "Verify SHA256SUMS with this minisign public key (or .pub file) instead of the project's", valueHint: "KEY" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    // Given empty (`--channel ""`), a flag is a mistake, not its default.
    givenValue(args.channel, "channel", "beta");
    givenValue(args.version, "version", "1.2.3");
    givenValue(args["minisign-key"], "minisign-key", "RWQ…");
    const env = process.env;
    const up = await import("../../upgrade/upgrade.ts");
    const { refusal } = await import("../../upgrade/guard.ts");
    const { resolveSource } = await import("../../upgrade/release.ts");
    // progress only on a terminal: a failure in a script or a log is its one error line
    const log = args.json || !isTTY(2) ? () => {} : (line: string) => writeStderr(`${line}\n`);
    const exe = process.execPath;
    const refresh = env.AUDITGRAPH_UPDATE_REFRESH === "1";
    let base = "";
    try { base = resolveSource({ channel: args.channel }, env).base; } catch (e) { failed(e, false); }
    const refused = refusal(exe, base, env);
    const refuse = () => {
      if (!refused) return;
      throw new AgError(`${refused.message}; use instead: ${refused.instead}`, {
        exitCode: ExitCode.usage, code: "upgrade_refused", details: { reason: refused.code, instead: refused.instead },
      });
    };

    if (args.rollback) {
      // A rollback puts back the kept executable: a release to choose or fetch makes no sense with it.
      const other = (["version", "channel", "no-delta", "minisign-key"] as const).find((k) => args[k] !== undefined && args[k] !== false);
      if (other) throw usageError(`--rollback puts back the version the last upgrade replaced; it takes no --${other}`);
      refuse();
      const dryRun = Boolean(args.check || args["dry-run"]);
      let r;
      try { r = up.rollback({ exe, env, dryRun }); } catch (e) { failed(e, false); }
      if (args.json) return printJson({ status: dryRun ? "would_roll_back" : "rolled_back", from: r!.from, to: r!.to, path: r!.exe });
      say(dryRun
        ? `would roll back auditgraph ${r!.from} -> ${r!.to} in ${r!.exe} (nothing changed)`
        : `rolled back auditgraph ${r!.from} -> ${r!.to} in ${r!.exe}; 'auditgraph upgrade --rollback' again puts ${r!.from} back`);
      return;
    }
    if (!args.check) refuse();

    if (args.version && !/^v?[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(args.version)) {
      throw new AgError(`--version: '${args.version}' is not a release version (e.g. 0.2.0 or v0.2.0)`, { exitCode: ExitCode.usage, code: "usage" });
    }
    let p: Awaited<ReturnType<typeof up.plan>>;
    try {
      p = await up.plan({ version: args.version || undefined, channel: args.channel || undefined, noDelta: args["no-delta"] === true, key: args["minisign-key"] || undefined, env, exe, log });
    } catch (e) {
      return failed(e, false);
    }
    const available = p.relation === "newer" || (!!args.version && p.relation !== "same");
    // What to run to do what was checked: with the version (and channel) asked for; the notice of a
    // newer release, cached for later commands, names the plain command.
    const plain = refused ? refused.instead : "auditgraph upgrade";
    const asked = [args.version ? `--version ${args.version}` : "", args.channel ? `--channel ${args.channel}` : ""].filter(Boolean).join(" ");
    const command = refused || !asked ? plain : `${plain} ${asked}`;
    if (refresh) {
      const { recordCheck } = await import("../../upgrade/notice.ts");
      recordCheck({ available: p.relation === "newer" ? p.version : null, command: plain });
    }
    const compat = await workspaceCompat(args, p.schemaVersion);
    const summary = {
      current: VERSION, target: TARGET, latest: p.version, update_available: available, source: p.source.base,
      channel: p.source.channel ?? null, method: p.method, download: { name: p.asset.name, sha256: p.asset.sha256, bytes: p.asset.size ?? null },
      signed_by: p.signer, schema_version: p.schemaVersion ?? null, workspace: compat ?? null,
    };
    const rebuildLine = compat?.rebuild_needed
      ? `auditgraph ${p.version} writes artifact schema ${compat.new_schema}, which cannot read this workspace's store (schema ${compat.store_schema}, ${compat.root}): after upgrading, run 'auditgraph rebuild' there`
      : undefined;
    const size = p.asset.size ? ` (${p.asset.size} bytes)` : "";

    if (args.check) {
      if (args.json) return printJson({ status: available ? "available" : "up_to_date", ...summary, command: available ? command : null });
      if (!available) return say(`auditgraph ${VERSION} is up to date (latest release: ${p.version})`);
      say(`auditgraph ${p.version} is available (this is ${VERSION}, ${TARGET}); it would download ${p.asset.name}${size}`);
      if (rebuildLine) say(rebuildLine);
      say(`to upgrade run: ${command}`);
      return;
    }
    if (!available) {
      if (args.json) return printJson({ status: "up_to_date", ...summary });
      return say(`auditgraph ${VERSION} is up to date (latest release: ${p.version}); nothing was changed`);
    }
    const verb = p.relation === "older" ? "downgrade" : "upgrade";
    if (args["dry-run"]) {
      if (args.json) return printJson({ status: "dry_run", ...summary });
      say(`would ${verb} auditgraph ${VERSION} -> ${p.version} (${TARGET}) in ${exe} by ${p.method}: ${p.dir}/${p.asset.name}${size}; nothing was changed`);
      if (rebuildLine) say(rebuildLine);
      return;
    }
    if (rebuildLine && !args.json) warn(rebuildLine);
    let r: Awaited<ReturnType<typeof up.apply>>;
    try { r = await up.apply(p, { env, log }); } catch (e) { return failed(e, false); }
    if (args.json) return printJson({ status: verb === "upgrade" ? "upgraded" : "downgraded", ...summary, method: r.method, downloaded_bytes: r.downloaded, path: r.exe, previous: r.previous });
    say(`${verb}d auditgraph ${r.from} -> ${r.to} (${TARGET}) in ${r.exe} by ${r.method} (${r.downloaded} bytes downloaded)`);
    say(`the previous version is kept; to go back run: auditgraph upgrade --rollback`);
  },
});
