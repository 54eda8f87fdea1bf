// Mach-O signature checks on the real cross-compiled darwin executables and on corrupted copies.
// darwin-arm64 is the shared release build's (tests/helpers/release-build.ts): the build leaves
// Bun's output as it is when its signature verifies, which the first test checks. darwin-x64 is
// compiled here: the build re-signs it, and these tests need Bun's own output.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readTarGzEntry } from "../../scripts/release/archive.ts";
import { darwinSignature } from "../../scripts/release/build.ts";
import { compile } from "../../scripts/release/compile.ts";
import { adhocSign, verifySignature } from "../../scripts/release/macho/codesign.ts";
import { CPU_TYPE, parseMachO, segment } from "../../scripts/release/macho/macho.ts";
import { smokeCheck } from "../../scripts/release/smoke.ts";
import { readSource, type SourceInfo } from "../../scripts/release/source.ts";
import { loadTargets } from "../../scripts/release/targets.ts";
import type { Target } from "../../src/schema/release.ts";
import { releaseBuild } from "../helpers/release-build.ts";

// Each test hashes or re-signs ~100 MB executables: seconds each, more on a busy 2-core machine.
setDefaultTimeout(60_000);
import { REPO_ROOT, removeTempDirs, SHARED_TARGETS as RELEASE_TARGETS, tempDir } from "./support.ts";

/** A code directory flag: signed by the linker (Bun's own signature), not by the build's ad hoc re-signing. */
const LINKER_SIGNED = 0x20000;
const bin: Record<string, Uint8Array> = {};
let targets: Record<string, Target>;
let source: SourceInfo;

beforeAll(async () => {
  targets = Object.fromEntries(loadTargets(join(REPO_ROOT, "dist-targets")).map((t) => [t.name, t]));
  const x64 = join(tempDir(), "darwin-x64", "auditgraph");
  await compile(REPO_ROOT, "auditgraph", targets["darwin-x64"], readSource(REPO_ROOT), x64);
  bin["darwin-x64"] = new Uint8Array(readFileSync(x64));
  const out = await releaseBuild(RELEASE_TARGETS);
  const manifest = JSON.parse(readFileSync(join(out, "release.json"), "utf8"));
  // what the build read (HEAD may have moved on since, in a busy checkout)
  source = { ...readSource(REPO_ROOT), version: manifest.version, commit: manifest.commit, epoch: manifest.source_date_epoch };
  bin["darwin-arm64"] = readTarGzEntry(readFileSync(join(out, "auditgraph-darwin-arm64.tar.gz")), "auditgraph")!;
}, 600_000); // the shared release build, the first time for a source state
afterAll(removeTempDirs);

const flip = (bytes: Uint8Array, at: number) => {
  const copy = bytes.slice();
  copy[at] ^= 0xff;
  return copy;
};

test("Bun's darwin-arm64 output is a signed arm64 Mach-O whose page hashes all match", () => {
  const m = parseMachO(bin["darwin-arm64"]);
  expect(m.cpuType).toBe(CPU_TYPE.arm64);
  const r = verifySignature(bin["darwin-arm64"]);
  expect(r.problems).toEqual([]);
  expect(r.codeDirectories[0].nCodeSlots).toBe(Math.ceil(m.codeSignature!.dataoff / 4096));
  // the linker's signature, as Bun wrote it: the build did not re-sign it (that would be ad hoc only, 0x2)
  expect(r.codeDirectories[0].flags).toBe(LINKER_SIGNED | 0x2);
  expect(r.codeDirectories[0].identifier).not.toBe("auditgraph");
});

test("Bun 1.4.5's darwin-x64 output keeps a stale signature; ad-hoc re-signing makes it valid", () => {
  const original = bin["darwin-x64"];
  expect(parseMachO(original).cpuType).toBe(CPU_TYPE.x64);
  const before = verifySignature(original);
  expect(before.valid).toBe(false);
  expect(before.problems.join("\n")).toMatch(/page hashes do not match|codeLimit/);

  const signed = adhocSign(original, "auditgraph");
  const after = verifySignature(signed);
  expect(after.problems).toEqual([]);
  const cd = after.codeDirectories[0];
  expect(cd.identifier).toBe("auditgraph");
  expect(cd.flags).toBe(0x2); // ad hoc, no hardened runtime
  expect(cd.hashType).toBe(2);

  const m = parseMachO(signed);
  const linkedit = segment(m, "__LINKEDIT");
  expect(linkedit.fileoff + linkedit.filesize).toBe(signed.length);
  expect(m.codeSignature!.dataoff + m.codeSignature!.datasize).toBe(signed.length);
  // everything before the load commands' end is the original code, page for page, but the header
  expect(Buffer.from(signed.subarray(8192, m.codeSignature!.dataoff)).equals(Buffer.from(original.subarray(8192, m.codeSignature!.dataoff)))).toBe(true);
  expect(Buffer.from(adhocSign(original, "auditgraph")).equals(Buffer.from(signed))).toBe(true); // deterministic
  expect(verifySignature(adhocSign(signed, "auditgraph")).valid).toBe(true); // re-signing a signed file
});

test("a corrupted copy fails verification, naming the page; re-signing repairs it", () => {
  const good = bin["darwin-arm64"];
  const page = 1000;
  const bad = flip(good, page * 4096 + 17);
  const r = verifySignature(bad);
  expect(r.valid).toBe(false);
  expect(r.codeDirectories[0].badPages).toEqual([page]);
  expect(r.problems[0]).toContain(`1 of ${r.codeDirectories[0].nCodeSlots} page hashes do not match (pages ${page})`);
  expect(verifySignature(adhocSign(bad, "auditgraph")).valid).toBe(true);
});

test("damage to the signature itself is reported, not thrown", () => {
  const signed = adhocSign(bin["darwin-arm64"], "auditgraph");
  const sig = parseMachO(signed).codeSignature!;
  // the last byte of the last page hash
  const cdEnd = sig.dataoff + 36 + new DataView(signed.buffer, sig.dataoff + 36 + 4).getUint32(0);
  expect(verifySignature(flip(signed, cdEnd - 1)).problems[0]).toMatch(/page hashes do not match/);
  // the requirements blob (index entry 1 of the SuperBlob) that special slot 2 covers: its count field
  const requirements = sig.dataoff + new DataView(signed.buffer, sig.dataoff + 12 + 8 + 4).getUint32(0);
  expect(new DataView(signed.buffer, requirements).getUint32(0)).toBe(0xfade0c01);
  expect(verifySignature(flip(signed, requirements + 8)).problems[0]).toContain("special slot hashes do not match (slots 2)");
  expect(verifySignature(flip(signed, sig.dataoff)).problems[0]).toContain("not an embedded-signature SuperBlob");
  expect(verifySignature(signed.subarray(0, 20)).problems[0]).toContain("not a Mach-O file");
  expect(verifySignature(new Uint8Array(4096)).valid).toBe(false);
});

test("the smoke check of darwin outputs checks CPU type and signature", () => {
  const dir = tempDir();
  expect(smokeCheck(join(dir, "x"), "auditgraph", targets["darwin-arm64"], source, bin["darwin-arm64"]).join("; ")).toContain("signature valid");
  expect(() => smokeCheck(join(dir, "x"), "auditgraph", targets["darwin-x64"], source, bin["darwin-arm64"])).toThrow("Mach-O CPU type 0x100000c, expected x64");
  expect(() => smokeCheck(join(dir, "x"), "auditgraph", targets["darwin-x64"], source, bin["darwin-x64"])).toThrow("invalid code signature");
});

test("the build re-signs a darwin output only when it does not verify, and fails when it cannot", () => {
  const said: string[] = [];
  const log = (l: string) => said.push(l);
  expect(darwinSignature(bin["darwin-arm64"], "auditgraph-darwin-arm64", "auditgraph", log)).toBe(bin["darwin-arm64"]);
  expect(said).toEqual([]);
  expect(verifySignature(darwinSignature(bin["darwin-x64"], "auditgraph-darwin-x64", "auditgraph", log)).valid).toBe(true);
  expect(said[0]).toStartWith("auditgraph-darwin-x64: code signature invalid (");
  // no LC_CODE_SIGNATURE (its load command turned into an unknown one): nothing to re-sign in place
  const unsigned = bin["darwin-arm64"].slice();
  const cmd = parseMachO(unsigned).codeSignature!.cmdOffset;
  new DataView(unsigned.buffer).setUint32(cmd, 0x7fffffff, true);
  expect(() => darwinSignature(unsigned, "auditgraph-darwin-arm64", "auditgraph", log)).toThrow(
    "auditgraph-darwin-arm64: code signature invalid (no code signature (LC_CODE_SIGNATURE missing)) and cannot be re-signed: no LC_CODE_SIGNATURE",
  );
});
