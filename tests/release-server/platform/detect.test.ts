import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { detectArtifact, validateForPlatform } from "../../../src/release-server/domain/detect.ts";
import { bytesSource, machO, makeZip, pe, tempDir } from "./fixtures.ts";

const detectFile = (p: string) => detectArtifact(bytesSource(new Uint8Array(readFileSync(p))));
const ARM64_ELF = "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"; // libc6-arm64-cross (.ci/packages.txt)

describe("platform detection from bytes", () => {
  test("ELF: class, machine, type, from real binaries", () => {
    expect(detectFile(process.execPath)).toMatchObject({ kind: "elf", bits: 64, endian: "little" });
    expect(String(detectFile(process.execPath).arch)).toMatch(/^(x86_64|arm64)$/);
    if (!existsSync(ARM64_ELF)) throw new Error(`${ARM64_ELF} missing: install libc6-arm64-cross (.ci/run does)`);
    expect(detectFile(ARM64_ELF)).toMatchObject({ kind: "elf", arch: "arm64", type: "shared" });
    expect(validateForPlatform(detectFile(ARM64_ELF), "linux")).toEqual({ platform: "linux", status: "valid", reason: null });
  });

  test("Mach-O: CPU type and code signature; unsigned arm64 is invalid for macOS", () => {
    expect(detectArtifact(bytesSource(machO("arm64", true)))).toMatchObject({ kind: "macho", arch: "arm64", signed: true });
    const unsigned = detectArtifact(bytesSource(machO("arm64", false)));
    expect(unsigned).toMatchObject({ kind: "macho", arch: "arm64", signed: false });
    expect(validateForPlatform(unsigned, "macos").status).toBe("invalid");
    expect(validateForPlatform(detectArtifact(bytesSource(machO("x86_64", false))), null)).toEqual({ platform: "macos", status: "valid", reason: null });
  });

  test("fat Mach-O lists its slices; Java class files are not mistaken for it", () => {
    const slice = machO("arm64", true);
    const fat = new Uint8Array(8192 + slice.length);
    const dv = new DataView(fat.buffer);
    dv.setUint32(0, 0xcafebabe, false);
    dv.setUint32(4, 1, false);
    dv.setUint32(8 + 8, 8192, false); // fat_arch[0].offset
    fat.set(slice, 8192);
    expect(detectArtifact(bytesSource(fat))).toMatchObject({ kind: "macho", arch: "arm64", signed: true });
    const javaClass = new Uint8Array([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 61, ...new Array(64).fill(0)]);
    expect(detectArtifact(bytesSource(javaClass)).kind).toBe("unknown");
  });

  test("PE: machine and signature directory", () => {
    expect(detectArtifact(bytesSource(pe(0xaa64)))).toMatchObject({ kind: "pe", arch: "arm64", signed: false, dll: false });
    expect(validateForPlatform(detectArtifact(bytesSource(pe())), "linux")).toEqual({
      platform: "linux",
      status: "invalid",
      reason: "linux artifact is a pe file (expected elf, tar.gz, tar, xz, zstd, deb, rpm, zip, gzip)",
    });
  });

  test("zip family: APK by AndroidManifest.xml, IPA by Payload/*.app/Info.plist, plain zip", () => {
    using tmp = tempDir();
    const apk = makeZip(tmp.dir, "app.apk", { "AndroidManifest.xml": "<manifest/>", "classes.dex": "dex\n035" });
    const ipa = makeZip(tmp.dir, "app.ipa", { "Payload/Tool.app/Info.plist": "<plist/>", "Payload/Tool.app/Tool": "bin" });
    const plain = makeZip(tmp.dir, "docs.zip", { "README.md": "hi" });
    expect(detectFile(apk)).toMatchObject({ kind: "apk", dex: true, entries: 2 });
    expect(detectFile(ipa)).toMatchObject({ kind: "ipa", app_bundle: "Payload/Tool.app" });
    expect(detectFile(plain)).toMatchObject({ kind: "zip", entries: 1 });
    expect(validateForPlatform(detectFile(apk), null).platform).toBe("android_apk");
    expect(validateForPlatform(detectFile(plain), "ios")).toMatchObject({ status: "invalid", reason: "ios artifact is a zip file (expected ipa)" });
    expect(validateForPlatform(detectFile(ipa), "android_apk").status).toBe("invalid");
    expect(validateForPlatform(detectFile(plain), null)).toEqual({ platform: null, status: "unchecked", reason: null });
  });

  test("tar.gz is told apart from plain gzip; unknown bytes stay unknown", () => {
    using tmp = tempDir();
    const tgz = join(tmp.dir, "a.tar.gz");
    const r = Bun.spawnSync(["tar", "czf", tgz, "-C", import.meta.dir, "fixtures.ts"]);
    expect(r.exitCode).toBe(0);
    expect(detectFile(tgz)).toEqual({ kind: "tar.gz" });
    expect(detectArtifact(bytesSource(Bun.gzipSync(new TextEncoder().encode("just text"))))).toEqual({ kind: "gzip" });
    expect(detectArtifact(bytesSource(new TextEncoder().encode("#!/bin/sh\necho hi\n")))).toEqual({ kind: "unknown" });
    expect(validateForPlatform({ kind: "unknown" }, "windows").reason).toBe("windows artifact is of an unrecognised format (expected pe, msi, zip)");
  });

  test("truncated headers do not throw", () => {
    for (const b of [new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), new Uint8Array([0x4d, 0x5a, 1]), new Uint8Array([0x50, 0x4b, 3, 4]), new Uint8Array(0)]) {
      expect(() => detectArtifact(bytesSource(b))).not.toThrow();
    }
  });
});
