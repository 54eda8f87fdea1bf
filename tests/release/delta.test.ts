// Delta patches (src/shared/delta.ts) and `bun scripts/build.ts --previous DIR`: the shared pair of
// one-target releases (tests/helpers/release-pair.ts: the second with the next version, a one-line
// TypeScript change and `--previous`); their executables are then patched, tampered with,
// truncated and re-made.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readTarGzEntry } from "../../scripts/release/archive.ts";
import { buildRelease } from "../../scripts/release/build.ts";
import { readSource } from "../../scripts/release/source.ts";
import { ReleaseManifestSchema, type ReleaseManifest } from "../../src/schema/release.ts";
import { applyPatch, makePatch, PatchError, readPatchHeader, type PatchErrorCode } from "../../src/shared/delta.ts";
import { sha256Hex } from "../../src/shared/hash.ts";
import * as v from "valibot";
import { PAIR_TARGET as TARGET, releasePair, V1, V2 } from "../helpers/release-pair.ts";
import { removeTempDirs, run, tempDir } from "./support.ts";

// Each patch reads two ~110 MB executables; seconds each on a busy 2-core machine.
setDefaultTimeout(60_000);

const PATCH = `auditgraph-${TARGET}.from-${V1}.patch`;
const ARCHIVE = `auditgraph-${TARGET}.tar.gz`;

let outA: string;
let outB: string;
let buildLog: string;
let oldExe: Uint8Array;
let newExe: Uint8Array;
let patch: Uint8Array;
let manifest: ReleaseManifest;

const exeOf = (out: string) => readTarGzEntry(readFileSync(join(out, ARCHIVE)), "auditgraph")!;

beforeAll(async () => {
  const pair = await releasePair();
  outA = pair.out1;
  outB = pair.out2;
  buildLog = pair.log2; // `bun scripts/build.ts --previous outA`'s stderr
  oldExe = exeOf(outA);
  newExe = exeOf(outB);
  patch = new Uint8Array(readFileSync(join(outB, PATCH)));
  manifest = JSON.parse(readFileSync(join(outB, "release.json"), "utf8"));
}, 600_000); // the shared pair, the first time for a source state
afterAll(removeTempDirs);

/** Runs `f`, expecting a PatchError with `code`; returns its message. */
function patchError(f: () => unknown, code: PatchErrorCode): string {
  let produced: unknown;
  try {
    produced = f();
  } catch (err) {
    expect(err).toBeInstanceOf(PatchError);
    expect((err as PatchError).code).toBe(code);
    expect((err as Error).message).not.toContain("\n");
    return (err as Error).message;
  }
  throw new Error(`expected ${code}, got a result of ${(produced as Uint8Array).length} bytes`);
}

const flip = (bytes: Uint8Array, at: number) => {
  const copy = bytes.slice();
  copy[at] ^= 0x01;
  return copy;
};
/** `bytes` with its trailing sha256 recomputed: damage the patch's own checksum does not catch. */
const resum = (bytes: Uint8Array) => {
  const out = bytes.slice();
  out.set(new Uint8Array(new Bun.CryptoHasher("sha256").update(out.subarray(0, out.length - 32)).digest().buffer), out.length - 32);
  return out;
};

describe("bun run build --previous", () => {
  test("writes the patch, lists it in SHA256SUMS and release.json with the source and result sha256", () => {
    expect(manifest.version).toBe(V2);
    expect(v.safeParse(ReleaseManifestSchema, manifest).success).toBe(true);
    const sums = readFileSync(join(outB, "SHA256SUMS"), "utf8");
    expect(sums).toContain(`${sha256Hex(patch)}  ${PATCH}\n`);
    const asset = manifest.assets.find((x) => x.name === PATCH)!;
    expect(asset).toEqual({
      name: PATCH,
      program: "auditgraph",
      target: TARGET,
      os: "linux",
      arch: "x64",
      libc: "glibc",
      size: patch.length,
      sha256: sha256Hex(patch),
      patch: {
        from_version: V1,
        source_sha256: sha256Hex(oldExe),
        source_size: oldExe.length,
        result_sha256: sha256Hex(newExe),
        result_size: newExe.length,
      },
    });
    // the header says the same
    expect(readPatchHeader(patch)).toMatchObject({
      program: "auditgraph", target: TARGET, from: V1, to: V2,
      source: { size: oldExe.length, sha256: sha256Hex(oldExe) },
      result: { size: newExe.length, sha256: sha256Hex(newExe) },
    });
    // the previous release's archive is not an asset of this one, and no other file was added
    expect(manifest.assets.map((x) => x.name)).toEqual(["SHA256SUMS", "SHA256SUMS.minisig", PATCH, ARCHIVE, "auditgraph.rb", "install.sh"]);
    // the target: at most 5% of the archive (it is far less)
    const archive = manifest.assets.find((x) => x.name === ARCHIVE)!;
    expect(patch.length).toBeLessThanOrEqual(archive.size * 0.05);
    expect(buildLog).toContain(`${PATCH}: ${patch.length} bytes, `);
  });

  test("the patch turns the previous executable into this one, which runs and reports the new version", () => {
    const out = applyPatch(oldExe, patch);
    expect(out.length).toBe(newExe.length);
    expect(sha256Hex(out)).toBe(sha256Hex(newExe));
    const exe = join(tempDir(), "auditgraph");
    writeFileSync(exe, out);
    chmodSync(exe, 0o755);
    const r = run([exe, "version", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: V2, target: TARGET });
  });

  test("makePatch is deterministic: the same inputs give the build's bytes again", () => {
    const again = makePatch(oldExe, newExe, { program: "auditgraph", target: TARGET, from: V1, to: V2 });
    expect(sha256Hex(again)).toBe(sha256Hex(patch));
  });

  test("bad --previous directories fail before anything is written", async () => {
    const out = join(tempDir(), "dist");
    const root = join(import.meta.dir, "..", "..");
    const attempt = (previous: string) =>
      buildRelease({ root, targets: [TARGET], outDir: out, check: false, env: {}, log: () => {}, previous }).then(
        () => "built",
        (e: Error) => e.message,
      );
    expect(await attempt(join(out, "missing"))).toMatch(/--previous .*missing: not a directory/);
    expect(await attempt(tempDir())).toMatch(/no release\.json/);
    // the same version as the one being built (the checkout's own, "+dirty" included)
    const same = tempDir();
    const sameManifest = { ...manifest, version: readSource(root).version };
    writeFileSync(join(same, "release.json"), JSON.stringify(sameManifest));
    writeFileSync(join(same, "SHA256SUMS"), readFileSync(join(outB, "SHA256SUMS")));
    expect(await attempt(same)).toMatch(/is version .*, the version being built/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("applyPatch refuses, producing nothing", () => {
  test("an executable other than the one the patch was made from", () => {
    let msg = patchError(() => applyPatch(newExe, patch), "patch_source_mismatch"); // already upgraded
    expect(msg).toContain(`applies to auditgraph ${V1} (${TARGET}) with sha256 ${sha256Hex(oldExe)}`);
    // Two builds of one tree can differ in size (the version string can move a section by a page):
    // then the size is what differs, else the digest.
    expect(msg).toContain(newExe.length === oldExe.length ? `not to this executable (sha256 ${sha256Hex(newExe)})` : `not to this executable (${newExe.length} bytes, expected ${oldExe.length})`);
    msg = patchError(() => applyPatch(flip(oldExe, oldExe.length >> 1), patch), "patch_source_mismatch"); // one byte differs
    expect(msg).toContain("not to this executable");
    msg = patchError(() => applyPatch(oldExe.subarray(0, oldExe.length - 1), patch), "patch_source_mismatch");
    expect(msg).toContain(`${oldExe.length - 1} bytes, expected ${oldExe.length}`);
  });

  test("a patch with one bit flipped anywhere", () => {
    const headerEnd = 16 + new DataView(patch.buffer, patch.byteOffset).getUint32(12, true);
    for (const at of [0, 9, 13, 20, headerEnd - 2, headerEnd + 5, (headerEnd + patch.length) >> 1, patch.length - 40, patch.length - 1]) {
      patchError(() => applyPatch(oldExe, flip(patch, at)), "patch_corrupt");
    }
    expect(patchError(() => applyPatch(oldExe, flip(patch, 0)), "patch_corrupt")).toContain("not an auditgraph patch");
    expect(patchError(() => applyPatch(oldExe, flip(patch, headerEnd + 5)), "patch_corrupt")).toContain("checksum does not match");
  });

  test("a patch damaged behind its own checksum: the zstd checksum or the result's sha256 catches it", () => {
    const text = new TextDecoder().decode(patch);
    const headerEnd = 16 + new DataView(patch.buffer, patch.byteOffset).getUint32(12, true);
    // compressed data changed
    patchError(() => applyPatch(oldExe, resum(flip(patch, (headerEnd + patch.length) >> 1))), "patch_corrupt");
    // the result's sha256 in the header changed: everything applies, the final check refuses
    const at = text.indexOf(sha256Hex(newExe));
    expect(at).toBeGreaterThan(0);
    const wrongResult = resum(patch.slice());
    wrongResult[at] = wrongResult[at] === 0x30 ? 0x31 : 0x30;
    expect(patchError(() => applyPatch(oldExe, resum(wrongResult)), "patch_result_mismatch")).toContain(`expected ${new TextDecoder().decode(resum(wrongResult).subarray(at, at + 64))}`);
    // a copy op pointed elsewhere: the same size, other bytes
    const ops = /"ops":\[\["copy",0,(\d+)\]/.exec(text)!;
    const n = ops[1]!;
    const moved = `${Number(n) - 1}`.padStart(n.length, "0");
    const edited = new TextEncoder().encode(text.slice(0, ops.index) + ops[0].replace(`,0,${n}]`, `,0,${moved}]`) + text.slice(ops.index + ops[0].length));
    if (edited.length === patch.length) patchError(() => applyPatch(oldExe, resum(edited)), "patch_corrupt");
  });

  test("a truncated patch", () => {
    for (const n of [0, 8, 15, 100, patch.length >> 1, patch.length - 33, patch.length - 1]) {
      expect(patchError(() => applyPatch(oldExe, patch.subarray(0, n)), "patch_corrupt")).toMatch(/damaged or truncated|not an auditgraph patch/);
    }
    // and one with bytes added
    patchError(() => applyPatch(oldExe, new Uint8Array([...patch, 0])), "patch_corrupt");
  });
});

describe("makePatch on synthetic executables", () => {
  // A "runtime" identical in both, a "module graph" that changes length, and a trailer.
  const random = (n: number, seed: number) => {
    const out = new Uint8Array(n);
    let x = seed;
    for (let i = 0; i < n; i++) out[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
    return out;
  };
  const join3 = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));
  const runtime = random(300_000, 1);
  const graph = random(50_000, 2);
  const trailer = new TextEncoder().encode("\n---- Bun! ----\n");
  const meta = { program: "auditgraph", target: "test", from: "1", to: "2" };
  const cases: Record<string, [Uint8Array, Uint8Array]> = {
    "identical": [join3(runtime, graph, trailer), join3(runtime, graph, trailer)],
    "a header byte and the graph change": [join3(runtime, graph, trailer), join3(flip(runtime, 100), flip(graph, 7), trailer)],
    "the graph grows": [join3(runtime, graph, trailer), join3(runtime, graph.subarray(0, 20_000), random(3_000, 3), graph.subarray(20_000), trailer)],
    "the graph shrinks": [join3(runtime, graph, trailer), join3(runtime, graph.subarray(0, 40_000), trailer)],
    "an appended tail": [join3(runtime, graph), join3(runtime, graph, trailer)],
    "everything differs": [random(10_000, 4), random(12_000, 5)],
    "empty to something": [new Uint8Array(0), random(1000, 6)],
    "something to empty": [random(1000, 7), new Uint8Array(0)],
  };
  for (const [name, [a, b]] of Object.entries(cases)) {
    test(name, () => {
      const p = makePatch(a, b, meta);
      expect(Buffer.compare(applyPatch(a, p), b)).toBe(0);
      expect(Buffer.compare(makePatch(a, b, meta), p)).toBe(0);
      if (a.length > 0 && b.length > 0 && name !== "everything differs") expect(p.length).toBeLessThan(5_000);
    });
  }
});
