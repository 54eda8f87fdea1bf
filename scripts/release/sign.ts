#!/usr/bin/env bun
/**
 * `bun scripts/release/sign.ts DIR [--public-key FILE]`: signs an unsigned build's SHA256SUMS after
 * the fact, giving the directory `bun run build` would have written with the key set: the same
 * `SHA256SUMS.minisig` (Ed25519 is deterministic and the trusted comment carries the commit time)
 * and release.json listing it. The release workflow builds without the key on two runners, compares
 * them, and only then signs in a job that runs nothing else, so the secret never meets the build's
 * downloads.
 *
 * The key comes from AUDITGRAPH_MINISIGN_SECRET_KEY (and AUDITGRAPH_MINISIGN_PASSWORD for an
 * encrypted one) and must be the key of --public-key (default config/minisign.pub): a release the
 * README's key cannot verify is refused. Running it again on a signed build checks the signature is
 * the same and changes nothing. Exit 2 for every refusal, 1 for anything unexpected.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as v from "valibot";
import { ReleaseManifestSchema, type ReleaseManifest } from "../../src/schema/release.ts";
import { AgError, ExitCode, describeError, usageError } from "../../src/shared/errors.ts";
import { atomicWriteFile, fsyncDir } from "../../src/shared/fs.ts";
import { sha256Hex } from "../../src/shared/hash.ts";
import { canonicalJson } from "../../src/shared/json.ts";
import { keyIdHex, parseSecretKey, publicKeyId, signMinisign } from "./minisign.ts";

const USAGE = "usage: bun scripts/release/sign.ts DIR [--public-key FILE]";

/** The trusted comment scripts/release/build.ts signs with. */
export const trustedComment = (epoch: number) => `timestamp:${epoch}\tfile:SHA256SUMS\thashed`;

export function signBuild(dirArg: string, opts: { secretKey?: string; password?: string; publicKeyFile: string }): { changed: boolean; keyId: string } {
  const dir = resolve(dirArg);
  const manifestPath = join(dir, "release.json");
  const sumsPath = join(dir, "SHA256SUMS");
  if (!existsSync(manifestPath) || !existsSync(sumsPath)) throw usageError(`${dir}: no release.json or SHA256SUMS (not the output directory of bun run build)`);
  if (!opts.secretKey) throw usageError("AUDITGRAPH_MINISIGN_SECRET_KEY is not set");
  const key = parseSecretKey(opts.secretKey, opts.password);
  const keyId = keyIdHex(key.keyId);
  if (!existsSync(opts.publicKeyFile)) throw usageError(`${opts.publicKeyFile}: no such file`);
  const expected = publicKeyId(readFileSync(opts.publicKeyFile, "utf8"), opts.publicKeyFile);
  if (expected !== keyId) throw usageError(`the secret key is key ${keyId}, ${opts.publicKeyFile} is key ${expected}: users of that public key could not verify this release`);

  const parsed = v.safeParse(ReleaseManifestSchema, JSON.parse(readFileSync(manifestPath, "utf8")));
  if (!parsed.success) throw usageError(`${manifestPath}: ${v.getDotPath(parsed.issues[0]) ?? "(root)"}: ${parsed.issues[0].message}`);
  const manifest: ReleaseManifest = parsed.output;
  const sums = new Uint8Array(readFileSync(sumsPath));
  const listed = manifest.assets.find((a) => a.name === "SHA256SUMS");
  if (!listed || listed.sha256 !== sha256Hex(sums)) throw usageError(`${sumsPath}: does not match its entry in release.json`);

  const sig = signMinisign(key, sums, trustedComment(manifest.source_date_epoch));
  const sigBytes = new TextEncoder().encode(sig);
  const entry = { name: "SHA256SUMS.minisig", sha256: sha256Hex(sigBytes), target: null, os: null, arch: null, libc: null, size: sigBytes.length };
  const existing = manifest.assets.find((a) => a.name === entry.name);
  if (existing) {
    const onDisk = join(dir, entry.name);
    if (existing.sha256 === entry.sha256 && existsSync(onDisk) && sha256Hex(new Uint8Array(readFileSync(onDisk))) === entry.sha256) return { changed: false, keyId };
    throw usageError(`${dir}: already signed, and not with this key and these sums`);
  }
  const next: ReleaseManifest = { ...manifest, assets: [...manifest.assets, entry].sort((a, b) => (a.name < b.name ? -1 : 1)) };
  const valid = v.safeParse(ReleaseManifestSchema, next);
  if (!valid.success) throw new AgError(`release.json does not match its schema: ${v.getDotPath(valid.issues[0]) ?? ""} ${valid.issues[0].message}`);
  atomicWriteFile(join(dir, entry.name), sigBytes);
  atomicWriteFile(manifestPath, canonicalJson(next, 2) + "\n");
  fsyncDir(dir);
  return { changed: true, keyId };
}

function main(argv: string[]): number {
  const root = join(import.meta.dir, "..", "..");
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { "public-key": { type: "string", default: join(root, "config", "minisign.pub") }, help: { type: "boolean", short: "h", default: false } } }));
  } catch (err) {
    process.stderr.write(`error: ${describeError(err)}\n${USAGE}\n`);
    return ExitCode.usage;
  }
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return ExitCode.ok;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`error: one build directory expected\n${USAGE}\n`);
    return ExitCode.usage;
  }
  try {
    const r = signBuild(positionals[0]!, { secretKey: process.env.AUDITGRAPH_MINISIGN_SECRET_KEY, password: process.env.AUDITGRAPH_MINISIGN_PASSWORD, publicKeyFile: values["public-key"]! });
    process.stdout.write(r.changed ? `signed SHA256SUMS with key ${r.keyId}\n` : `already signed with key ${r.keyId}; nothing changed\n`);
    return ExitCode.ok;
  } catch (err) {
    process.stderr.write(`error: ${describeError(err)}\n`);
    if (err instanceof AgError && err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return err instanceof AgError ? err.exitCode : ExitCode.internal;
  }
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
