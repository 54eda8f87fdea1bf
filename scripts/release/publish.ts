#!/usr/bin/env bun
/**
 * `bun run release:publish [DIR] --repo OWNER/NAME [--api-url URL] [--notes FILE] [--channel NAME
 * [--rollout N]] [--dry-run] [--allow-unsigned]`: puts the output directory of `bun run build`
 * (default dist/) on a GitHub-compatible release API as release `v<version>`, in this order:
 *
 *   1. check the build: release.json valid and not `+dirty`, every listed file present with its
 *      size and sha256, SHA256SUMS agreeing, SHA256SUMS.minisig present (unless --allow-unsigned);
 *   2. find the release by tag (drafts included) and compare what it already has with the build:
 *      an asset with other bytes, or one the build does not have, is a conflict and nothing is
 *      changed (exit 3);
 *   3. create the release as a draft if it is missing (notes from --notes or CHANGELOG.md);
 *   4. upload only the missing assets (an asset a broken upload left in a state other than
 *      "uploaded" is deleted and sent again) to the release's `upload_url`;
 *   5. read every asset back and compare its `digest` (or, where the API has none, its downloaded
 *      bytes' sha256) and size with the build; any difference stops here with the release still a
 *      draft (exit 5);
 *   6. publish: PATCH `draft: false`;
 *   7. with --channel, promote the release on the release-server's channel at --rollout percent.
 *
 * So a run interrupted anywhere can be run again: it uploads what is missing and carries on.
 * `--dry-run` only reads (GET) and prints what it would do. The token comes from
 * AUDITGRAPH_PUBLISH_TOKEN or GITHUB_TOKEN and is never printed. Errors are one line; exit codes in
 * PUBLISH_EXIT below and in the README.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as v from "valibot";
import { PROJECT, ReleaseManifestSchema, type ReleaseManifest } from "../../src/schema/release.ts";
import { AgError, describeError } from "../../src/shared/errors.ts";
import { changelogSection } from "./changelog.ts";
import { ApiError, ReleaseApi, type ApiAsset, type ApiRelease } from "./release-api.ts";

export const PUBLISH_EXIT = {
  ok: 0,
  internal: 1,
  /** Bad flags, no token, an incomplete or inconsistent build directory, an unsigned or dirty build, no notes. */
  usage: 2,
  /** The release on the server differs from the build (an asset with other bytes, or one the build lacks). Nothing was changed. */
  conflict: 3,
  /** The API refused a request (401, 403, 404 of the repository, 422...) or could not be reached. */
  api: 4,
  /** An uploaded asset read back with another digest or size. The release stays a draft. */
  verify: 5,
  /** The release is published, but promoting it on the channel failed. */
  promote: 6,
} as const;

const USAGE =
  "usage: bun run release:publish [DIR] [--repo OWNER/NAME] [--api-url URL] [--notes FILE] [--changelog FILE] [--channel NAME [--rollout N]] [--dry-run] [--allow-unsigned]";

const fail = (exitCode: number, message: string, hint?: string) => new AgError(message, { exitCode, hint });

/** One file of the build to put on the release. */
export interface LocalAsset {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

export interface Build {
  dir: string;
  manifest: ReleaseManifest;
  version: string;
  tag: string;
  prerelease: boolean;
  /** release.json's assets, then release.json itself. */
  assets: LocalAsset[];
  signed: boolean;
}

async function sha256File(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return h.digest("hex");
}

async function sha256Response(res: Response): Promise<{ sha256: string; size: number }> {
  const h = new Bun.CryptoHasher("sha256");
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      h.update(chunk);
      size += chunk.byteLength;
    }
  }
  return { sha256: h.digest("hex"), size };
}

/** Reads and checks the output directory of `bun run build`. Nothing is sent anywhere before this passes. */
export async function loadBuild(dirArg: string, opts: { allowUnsigned: boolean }): Promise<Build> {
  const dir = resolve(dirArg);
  const manifestPath = join(dir, "release.json");
  if (!existsSync(manifestPath)) throw fail(PUBLISH_EXIT.usage, `${dir}: no release.json (not the output directory of bun run build)`, "run bun run build first, or pass the directory it wrote");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch (err) {
    throw fail(PUBLISH_EXIT.usage, `${manifestPath}: not JSON (${describeError(err)})`);
  }
  const parsed = v.safeParse(ReleaseManifestSchema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw fail(PUBLISH_EXIT.usage, `${manifestPath}: ${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`);
  }
  const manifest = parsed.output;
  const version = manifest.version;
  if (version.includes("+dirty")) throw fail(PUBLISH_EXIT.usage, `${manifestPath}: version ${version} was built from a working tree with uncommitted changes`, "commit, then build again");
  if (!/^[0-9A-Za-z][0-9A-Za-z.+-]*$/.test(version)) throw fail(PUBLISH_EXIT.usage, `${manifestPath}: version ${JSON.stringify(version)} cannot be a tag`);

  const assets: LocalAsset[] = [];
  for (const a of manifest.assets) {
    const path = join(dir, a.name);
    if (a.name !== basename(a.name) || a.name.startsWith(".")) throw fail(PUBLISH_EXIT.usage, `${manifestPath}: asset name ${JSON.stringify(a.name)} is not a plain file name`);
    if (!existsSync(path)) throw fail(PUBLISH_EXIT.usage, `${path}: missing (listed in release.json)`);
    const size = statSync(path).size;
    if (size !== a.size) throw fail(PUBLISH_EXIT.usage, `${path}: ${size} bytes, release.json says ${a.size}`);
    const sha256 = await sha256File(path);
    if (sha256 !== a.sha256) throw fail(PUBLISH_EXIT.usage, `${path}: sha256 ${sha256} does not match release.json (${a.sha256})`);
    assets.push({ name: a.name, path, size, sha256 });
  }
  const byName = new Map(assets.map((a) => [a.name, a]));

  const sumsPath = join(dir, "SHA256SUMS");
  if (!byName.has("SHA256SUMS")) throw fail(PUBLISH_EXIT.usage, `${manifestPath}: SHA256SUMS is not among the assets`);
  const listed = new Set<string>();
  for (const [i, line] of readFileSync(sumsPath, "utf8").split("\n").entries()) {
    if (line === "") continue;
    const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line);
    if (!m) throw fail(PUBLISH_EXIT.usage, `${sumsPath}:${i + 1}: not a "<sha256>  <file>" line`);
    const a = byName.get(m[2]!);
    if (!a) throw fail(PUBLISH_EXIT.usage, `${sumsPath}:${i + 1}: ${m[2]} is not in release.json`);
    if (a.sha256 !== m[1]) throw fail(PUBLISH_EXIT.usage, `${sumsPath}:${i + 1}: ${m[2]} has sha256 ${a.sha256}, SHA256SUMS says ${m[1]}`);
    listed.add(m[2]!);
  }
  for (const a of assets) {
    if (a.name !== "SHA256SUMS" && a.name !== "SHA256SUMS.minisig" && !listed.has(a.name)) throw fail(PUBLISH_EXIT.usage, `${sumsPath}: ${a.name} is missing`);
  }
  const signed = byName.has("SHA256SUMS.minisig");
  if (!signed && !opts.allowUnsigned) {
    throw fail(PUBLISH_EXIT.usage, `${dir}: unsigned build (no SHA256SUMS.minisig)`, "build with AUDITGRAPH_MINISIGN_SECRET_KEY set, or pass --allow-unsigned for a test server");
  }
  if (byName.has("release.json")) throw fail(PUBLISH_EXIT.usage, `${manifestPath}: lists itself`);
  const stat = statSync(manifestPath);
  assets.push({ name: "release.json", path: manifestPath, size: stat.size, sha256: await sha256File(manifestPath) });

  return { dir, manifest, version, tag: `v${version}`, prerelease: /^[0-9]+\.[0-9]+\.[0-9]+-/.test(version), assets, signed };
}

/** Release notes: the --notes file, or the version's CHANGELOG.md section. */
export function releaseNotes(build: Build, notesFile: string | undefined, changelogFile: string): string {
  if (notesFile) {
    if (!existsSync(notesFile)) throw fail(PUBLISH_EXIT.usage, `--notes ${notesFile}: no such file`);
    const text = readFileSync(notesFile, "utf8");
    if (text.trim() === "") throw fail(PUBLISH_EXIT.usage, `--notes ${notesFile}: the file is empty`, "write the release notes in it, or leave --notes out to use the version's CHANGELOG.md section");
    return text;
  }
  if (!existsSync(changelogFile)) throw fail(PUBLISH_EXIT.usage, `${changelogFile}: no such file`, "pass --notes FILE");
  const section = changelogSection(readFileSync(changelogFile, "utf8"), build.version);
  if (!section) throw fail(PUBLISH_EXIT.usage, `${changelogFile}: no section for ${build.version}`, `add a "## ${build.version}" section, or pass --notes FILE`);
  return section;
}

const contentType = (name: string): string =>
  /\.(tar\.gz|tgz)$/.test(name) ? "application/gzip" : name.endsWith(".json") ? "application/json" : name.endsWith(".zip") ? "application/zip" : /(\.sh|\.rb|\.minisig|SHA256SUMS)$/.test(name) ? "text/plain" : "application/octet-stream";

const digestHex = (digest: string | null | undefined): string | undefined => (typeof digest === "string" && digest.startsWith("sha256:") ? digest.slice(7).toLowerCase() : undefined);

/** What the server's asset holds: its digest, else its downloaded bytes' sha256. */
async function remoteSha256(api: ReleaseApi, asset: ApiAsset): Promise<{ sha256: string; size: number; how: "digest" | "download" }> {
  const d = digestHex(asset.digest);
  if (d) return { sha256: d, size: asset.size, how: "digest" };
  const got = await sha256Response(await api.download(asset));
  return { ...got, how: "download" };
}

export interface Plan {
  release?: ApiRelease;
  /** Local assets the release lacks. */
  upload: LocalAsset[];
  /** Remote assets a broken upload left (state other than "uploaded"): deleted, then uploaded again. */
  replace: ApiAsset[];
  /** Local assets already there with the same bytes. */
  present: LocalAsset[];
}

/** Compares the release on the server with the build; a difference in bytes or an extra asset is a conflict. */
async function planRelease(api: ReleaseApi, build: Build, release: ApiRelease | undefined): Promise<Plan> {
  if (!release) return { upload: [...build.assets], replace: [], present: [] };
  const remote = await api.listAssets(release);
  const local = new Map(build.assets.map((a) => [a.name, a]));
  const plan: Plan = { release, upload: [], replace: [], present: [] };
  const conflicts: string[] = [];
  for (const r of remote) {
    const l = local.get(r.name);
    if (!l) {
      conflicts.push(`${r.name} is on the release but not in the build`);
      continue;
    }
    if (r.state !== undefined && r.state !== "uploaded") {
      plan.replace.push(r);
      continue;
    }
    const got = await remoteSha256(api, r);
    if (got.sha256 !== l.sha256 || got.size !== l.size) {
      conflicts.push(`${r.name} on the release has sha256 ${got.sha256} (${got.size} bytes), the build has ${l.sha256} (${l.size} bytes)`);
    } else plan.present.push(l);
  }
  if (conflicts.length > 0) {
    const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more)` : "";
    throw fail(PUBLISH_EXIT.conflict, `release ${build.tag}: ${conflicts[0]}${more}; nothing was changed`, "a published version is never replaced: bump the version, or delete the asset or draft yourself if it is yours");
  }
  const have = new Set(plan.present.map((a) => a.name));
  plan.upload = build.assets.filter((a) => !have.has(a.name));
  return plan;
}

/** Reads every asset back and checks it against the build; returns how each was checked. */
async function verifyRelease(api: ReleaseApi, build: Build, release: ApiRelease): Promise<{ digest: number; download: number }> {
  const remote = new Map((await api.listAssets(release)).map((a) => [a.name, a]));
  const counts = { digest: 0, download: 0 };
  for (const l of build.assets) {
    const r = remote.get(l.name);
    if (!r) throw fail(PUBLISH_EXIT.verify, `release ${build.tag}: ${l.name} is missing after upload; the release stays a draft`, "run release:publish again");
    const got = await remoteSha256(api, r);
    counts[got.how]++;
    if (got.sha256 !== l.sha256 || got.size !== l.size) {
      throw fail(PUBLISH_EXIT.verify, `release ${build.tag}: ${l.name} reads back as sha256 ${got.sha256} (${got.size} bytes), expected ${l.sha256} (${l.size} bytes); the release stays a draft`, "delete the asset and run release:publish again");
    }
    remote.delete(l.name);
  }
  const extra = [...remote.keys()];
  if (extra.length > 0) throw fail(PUBLISH_EXIT.verify, `release ${build.tag}: ${extra[0]} appeared on the release but is not in the build; the release stays a draft`);
  return counts;
}

export interface PublishOptions {
  dir: string;
  apiUrl: string;
  repo: string;
  token?: string;
  notesFile?: string;
  changelogFile: string;
  channel?: string;
  rollout?: number;
  dryRun: boolean;
  allowUnsigned: boolean;
  log: (line: string) => void;
  onRequest?: (method: string, url: string) => void;
}

const mib = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/**
 * Promotes the release on a release-server channel: `PUT /repos/{owner}/{app}/channels/{name}`
 * with `{"release_id", "rollout_percent"}`. GitHub has no channels; a server without the endpoint
 * answers 404 or 405, and the error names the operator command that does the same.
 */
async function promote(api: ReleaseApi, o: PublishOptions, build: Build, release: ApiRelease): Promise<void> {
  const rollout = o.rollout ?? 100;
  try {
    await api.json("PUT", `/repos/${o.repo}/channels/${encodeURIComponent(o.channel!)}`, { release_id: release.id, rollout_percent: rollout });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
      throw fail(PUBLISH_EXIT.promote, `release ${build.tag} is published, but ${err.message}: the server has no channel API`, `on the server: release-server channel promote ${o.repo} ${o.channel} ${build.tag} --rollout ${rollout}`);
    }
    if (err instanceof ApiError) throw fail(PUBLISH_EXIT.promote, `release ${build.tag} is published, but promoting it on ${o.channel} failed: ${err.message}`);
    throw err;
  }
  o.log(`promoted ${build.tag} on channel ${o.channel} at ${rollout}%`);
}

export async function publishRelease(o: PublishOptions): Promise<{ created: boolean; uploaded: string[]; published: boolean; release?: ApiRelease }> {
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(o.repo)) throw fail(PUBLISH_EXIT.usage, `--repo ${o.repo}: expected OWNER/NAME`);
  if (!/^https?:\/\/[^/]/.test(o.apiUrl)) throw fail(PUBLISH_EXIT.usage, `--api-url ${o.apiUrl}: expected an http(s) URL`);
  if (o.rollout !== undefined && o.channel === undefined) throw fail(PUBLISH_EXIT.usage, "--rollout needs --channel");
  if (o.channel !== undefined && !/^[a-z][a-z0-9-]{0,31}$/.test(o.channel)) throw fail(PUBLISH_EXIT.usage, `--channel ${o.channel}: 1-32 lowercase letters, digits or '-', starting with a letter`);
  if (o.rollout !== undefined && !(o.rollout >= 0 && o.rollout <= 100 && Math.round(o.rollout * 100) === o.rollout * 100)) {
    throw fail(PUBLISH_EXIT.usage, `--rollout ${o.rollout}: a percentage from 0 to 100 (at most two decimals)`);
  }
  if (!o.token && !o.dryRun) throw fail(PUBLISH_EXIT.usage, "no token: set AUDITGRAPH_PUBLISH_TOKEN (or GITHUB_TOKEN)");

  const build = await loadBuild(o.dir, { allowUnsigned: o.allowUnsigned });
  const notes = releaseNotes(build, o.notesFile, o.changelogFile);
  const total = build.assets.reduce((n, a) => n + a.size, 0);
  o.log(`${build.tag}: ${build.assets.length} assets (${mib(total)}) from ${build.dir}${build.signed ? "" : ", UNSIGNED"} to ${o.repo} at ${o.apiUrl}`);

  const api = new ReleaseApi({ baseUrl: o.apiUrl, token: o.token, onRequest: o.onRequest });
  const wrapApi = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError) throw fail(PUBLISH_EXIT.api, err.message, err.status === 401 ? "check AUDITGRAPH_PUBLISH_TOKEN (or GITHUB_TOKEN)" : undefined);
      throw err;
    }
  };

  let release = await wrapApi(() => api.findRelease(o.repo, build.tag));
  const plan = await wrapApi(() => planRelease(api, build, release));
  const state = !release ? "missing" : release.draft ? "a draft" : "published";

  if (o.dryRun) {
    o.log(`dry run: release ${build.tag} is ${state}${o.token ? "" : " (read without a token: drafts are not visible)"}`);
    if (!release) o.log(`would create draft release ${build.tag}${build.prerelease ? " (prerelease)" : ""} with ${notes.split("\n").length} lines of notes`);
    for (const r of plan.replace) o.log(`would delete the broken upload ${r.name} (state ${r.state})`);
    for (const a of plan.upload) o.log(`would upload ${a.name} (${mib(a.size)}, sha256 ${a.sha256})`);
    for (const a of plan.present) o.log(`${a.name}: already there, same sha256`);
    o.log(`would read back ${build.assets.length} assets by digest`);
    if (release?.draft && (release.body ?? "") !== notes) o.log(`would replace the draft's notes with this run's`);
    if (!release || release.draft) o.log(`would publish ${build.tag} (draft: false)`);
    if (o.channel) o.log(`would promote ${build.tag} on channel ${o.channel} at ${o.rollout ?? 100}%`);
    return { created: false, uploaded: [], published: false, release };
  }

  let created = false;
  if (!release) {
    release = await wrapApi(() =>
      api.json<ApiRelease>("POST", `/repos/${o.repo}/releases`, {
        tag_name: build.tag,
        target_commitish: build.manifest.commit,
        name: `auditgraph ${build.version}`,
        body: notes,
        draft: true,
        prerelease: build.prerelease,
        ...(o.channel ? { channel: o.channel } : {}),
      }),
    );
    created = true;
    o.log(`created draft release ${build.tag} (id ${release.id})`);
  } else {
    o.log(`release ${build.tag} exists (${state}, id ${release.id}); ${plan.present.length} of ${build.assets.length} assets already there`);
  }
  const rel = release;

  for (const r of plan.replace) {
    await wrapApi(() => api.send("DELETE", r.url));
    o.log(`deleted the broken upload ${r.name} (state ${r.state})`);
  }
  const uploaded: string[] = [];
  for (const a of plan.upload) {
    const started = performance.now();
    const asset = await wrapApi(() => api.upload(rel, a.name, Bun.file(a.path), contentType(a.name)));
    const d = digestHex(asset.digest);
    if ((d !== undefined && d !== a.sha256) || asset.size !== a.size) {
      throw fail(PUBLISH_EXIT.verify, `release ${build.tag}: ${a.name} was stored as ${asset.digest ?? "?"} (${asset.size} bytes), expected sha256:${a.sha256} (${a.size} bytes); the release stays a draft`, "delete the asset and run release:publish again");
    }
    uploaded.push(a.name);
    o.log(`uploaded ${a.name} (${mib(a.size)}, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }

  const counts = await wrapApi(() => verifyRelease(api, build, rel));
  o.log(`verified ${build.assets.length} assets (${counts.digest} by digest, ${counts.download} downloaded and hashed)`);

  let published = false;
  if (rel.draft) {
    // A resumed draft gets the notes of this run (CHANGELOG.md may have been edited since it was created).
    const notesChanged = !created && (rel.body ?? "") !== notes;
    const after = await wrapApi(() => api.json<ApiRelease>("PATCH", rel.url, notesChanged ? { draft: false, body: notes } : { draft: false }));
    if (notesChanged) o.log(`notes of ${build.tag} replaced with this run's`);
    if (after.draft) throw fail(PUBLISH_EXIT.api, `PATCH ${rel.url}: the release is still a draft after draft: false`);
    published = true;
    o.log(`published ${build.tag}${after.html_url ? `: ${after.html_url}` : ""}`);
    release = after;
  } else if (uploaded.length === 0 && plan.replace.length === 0) {
    o.log(`${build.tag} is already published with every asset; nothing to do`);
  }

  if (o.channel) await promote(api, o, build, release);
  return { created, uploaded, published, release };
}

async function main(argv: string[]): Promise<number> {
  const root = join(import.meta.dir, "..", "..");
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        "api-url": { type: "string", default: "https://api.github.com" },
        repo: { type: "string", default: PROJECT.repo },
        notes: { type: "string" },
        changelog: { type: "string", default: join(root, "CHANGELOG.md") },
        channel: { type: "string" },
        rollout: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        "allow-unsigned": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    // node:util says "Option '--rollout' argument is ambiguous" for `--rollout -5`: say what to write.
    const ambiguous = /^Option '(--[a-z-]+)' argument is ambiguous/.exec(describeError(err));
    const said = ambiguous ? `${ambiguous[1]} is followed by a value starting with '-': write it as ${ambiguous[1]}=VALUE` : describeError(err);
    process.stderr.write(`error: ${said}\n${USAGE}\n`);
    return PUBLISH_EXIT.usage;
  }
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return PUBLISH_EXIT.ok;
  }
  if (positionals.length > 1) {
    process.stderr.write(`error: one build directory, got ${positionals.length}\n${USAGE}\n`);
    return PUBLISH_EXIT.usage;
  }
  if (values.rollout !== undefined && !/^\s*\d+(\.\d+)?\s*$/.test(values.rollout)) {
    process.stderr.write(`error: --rollout '${values.rollout}': a percentage from 0 to 100 (at most two decimals)\n${USAGE}\n`);
    return PUBLISH_EXIT.usage;
  }
  const rollout = values.rollout === undefined ? undefined : Number(values.rollout);
  const env = process.env;
  try {
    await publishRelease({
      dir: positionals[0] ?? join(root, "dist"),
      apiUrl: values["api-url"]!,
      repo: values.repo!,
      token: env.AUDITGRAPH_PUBLISH_TOKEN || env.GITHUB_TOKEN || undefined,
      notesFile: values.notes,
      changelogFile: values.changelog!,
      channel: values.channel,
      rollout,
      dryRun: values["dry-run"]!,
      allowUnsigned: values["allow-unsigned"]!,
      log: (line) => process.stdout.write(line + "\n"),
    });
    return PUBLISH_EXIT.ok;
  } catch (err) {
    const code = err instanceof AgError ? err.exitCode : PUBLISH_EXIT.internal;
    process.stderr.write(`error: ${describeError(err)}\n`);
    if (err instanceof AgError && err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    if (!(err instanceof AgError) && env.AUDITGRAPH_DEBUG === "1" && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return code;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
