/**
 * Test helpers: temp data directories, a service on a real SQLite file, stream helpers, and
 * byte-level fixtures for platform detection (Mach-O and PE headers laid out per their specs;
 * zips made with the real `zip` tool).
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig, type ServerConfig } from "../../../src/release-server/config.ts";
import { openService, ReleaseService } from "../../../src/release-server/service.ts";

export const REPO = join(import.meta.dir, "..", "..", "..");
export const CLI = join(REPO, "src", "release-server", "main.ts");

export function tempDir(prefix = "rs-platform-"): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

export const T0 = Date.parse("2026-01-01T00:00:00Z");

/**
 * A service on `<dir>/data` with an adjustable clock (`clock.now` in ms, starting at `start`).
 * Tests that compare with file times (blob grace periods) start at the real time.
 */
export async function serviceIn(dir: string, tweak: (c: ServerConfig) => void = () => {}, start = T0) {
  const config = defaultConfig();
  tweak(config);
  const clock = { now: start };
  const service = await openService(join(dir, "data"), config, () => new Date(clock.now));
  return { service, clock, op: ReleaseService.operator("cli:test") };
}

export async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === "string" ? new TextEncoder().encode(p) : p;
}

export const bytesSource = (b: Uint8Array) => ({
  size: b.length,
  read: (o: number, l: number) => b.subarray(Math.min(o, b.length), Math.min(o + l, b.length)),
});

/** A 64-bit little-endian Mach-O header with one load command (LC_CODE_SIGNATURE when signed). */
export function machO(cpu: "arm64" | "x86_64", signed: boolean): Uint8Array {
  const b = new Uint8Array(4096);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0xfeedfacf, true);
  dv.setUint32(4, cpu === "arm64" ? 0x0100000c : 0x01000007, true);
  dv.setUint32(12, 2, true); // MH_EXECUTE
  dv.setUint32(16, 1, true); // ncmds
  dv.setUint32(20, 16, true); // sizeofcmds
  dv.setUint32(32, signed ? 0x1d : 0x26, true); // LC_CODE_SIGNATURE, else LC_FUNCTION_STARTS
  dv.setUint32(36, 16, true);
  return b;
}

/** A minimal PE32+ image header for the given machine. */
export function pe(machine = 0x8664): Uint8Array {
  const b = new Uint8Array(1024);
  const dv = new DataView(b.buffer);
  b.set([0x4d, 0x5a]);
  dv.setUint32(0x3c, 0x80, true);
  b.set([0x50, 0x45, 0, 0], 0x80);
  dv.setUint16(0x84, machine, true);
  dv.setUint16(0x80 + 24, 0x20b, true);
  return b;
}

/** Builds a zip with the real `zip` tool from {path: content}; returns the archive path. */
export function makeZip(dir: string, name: string, files: Record<string, string>): string {
  const root = join(dir, `${name}.d`);
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(root, p, ".."), { recursive: true });
    writeFileSync(join(root, p), content);
  }
  const out = join(dir, name);
  const r = Bun.spawnSync(["zip", "-q", "-r", "-X", out, ...Object.keys(files)], { cwd: root });
  if (r.exitCode !== 0) throw new Error(`zip failed (is the 'zip' package installed? .ci/run installs it): ${r.stderr.toString()}`);
  return out;
}
