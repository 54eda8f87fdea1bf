/**
 * What a file is, from its bytes, and whether that fits the platform an artifact claims (pure:
 * reads through a `ByteSource`, never trusts the file name).
 *
 * Recognised: ELF (class, byte order, machine), Mach-O thin and fat (CPU types, whether each slice
 * has an LC_CODE_SIGNATURE), PE (machine, Authenticode directory), zip-based APK
 * (`AndroidManifest.xml`) and IPA (`Payload/<name>.app/Info.plist`), plain zip, tar, tar.gz,
 * gzip, xz, zstd, DMG (koly trailer), MSI (OLE compound file), deb, rpm and xar (.pkg).
 */
import { gunzipSync, constants as zlib } from "node:zlib";
import type { ArtifactMetadata, Platform, ValidationStatus } from "./model.ts";

export interface ByteSource {
  size: number;
  /** Up to `length` bytes at `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Uint8Array;
}

const HEAD = 64 * 1024;
const MAX_CENTRAL_DIR = 64 * 1024 * 1024;
const MAX_LOAD_COMMANDS = 4 * 1024 * 1024;

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const ascii = (b: Uint8Array, start: number, len: number) => String.fromCharCode(...b.subarray(start, start + len));
const startsWith = (b: Uint8Array, sig: number[], at = 0) => sig.every((x, i) => b[at + i] === x);

const ELF_MACHINES: Record<number, string> = {
  0x03: "x86", 0x08: "mips", 0x14: "ppc", 0x15: "ppc64", 0x16: "s390x", 0x28: "arm", 0x3e: "x86_64", 0xb7: "arm64", 0xf3: "riscv", 0x102: "loongarch",
};
const MACHO_CPUS: Record<number, string> = { 7: "x86", 0x01000007: "x86_64", 12: "arm", 0x0100000c: "arm64", 0x0200000c: "arm64_32", 18: "ppc" };
const PE_MACHINES: Record<number, string> = { 0x14c: "x86", 0x8664: "x86_64", 0xaa64: "arm64", 0x1c4: "arm" };
const LC_CODE_SIGNATURE = 0x1d;

export function detectArtifact(src: ByteSource): ArtifactMetadata {
  const head = src.read(0, HEAD);
  try {
    if (startsWith(head, [0x7f, 0x45, 0x4c, 0x46])) return elf(head);
    const macho = machO(src, head);
    if (macho) return macho;
    if (startsWith(head, [0x4d, 0x5a])) return pe(src, head);
    if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return zip(src);
    if (startsWith(head, [0x1f, 0x8b])) return gzip(head);
    if (ascii(head, 257, 5) === "ustar") return { kind: "tar" };
    if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return { kind: "xz" };
    if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return { kind: "zstd" };
    if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return { kind: "msi" };
    if (ascii(head, 0, 21) === "!<arch>\ndebian-binary") return { kind: "deb" };
    if (startsWith(head, [0xed, 0xab, 0xee, 0xdb])) return { kind: "rpm" };
    if (ascii(head, 0, 4) === "xar!") return { kind: "pkg" };
    if (src.size >= 512 && ascii(src.read(src.size - 512, 4), 0, 4) === "koly") return { kind: "dmg" };
  } catch (err) {
    return { kind: "unknown", error: `unreadable header: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { kind: "unknown" };
}

function elf(b: Uint8Array): ArtifactMetadata {
  const little = b[5] !== 2;
  const machine = view(b).getUint16(0x12, little);
  const type = view(b).getUint16(0x10, little);
  return {
    kind: "elf",
    arch: ELF_MACHINES[machine] ?? `machine-0x${machine.toString(16)}`,
    bits: b[4] === 2 ? 64 : 32,
    endian: little ? "little" : "big",
    type: type === 2 ? "executable" : type === 3 ? "shared" : type === 1 ? "relocatable" : `type-${type}`,
    ...(ascii(b, 8, 2) === "AI" ? { appimage: true } : {}),
  };
}

/** One Mach-O image at `offset`: CPU and whether it carries a code signature. */
function machOSlice(src: ByteSource, offset: number): { arch: string; signed: boolean; filetype: number } | undefined {
  const h = src.read(offset, 32);
  if (h.length < 28) return undefined;
  const magic = view(h).getUint32(0, true);
  let little: boolean;
  let bits: number;
  if (magic === 0xfeedface || magic === 0xfeedfacf) (little = true), (bits = magic === 0xfeedfacf ? 64 : 32);
  else if (magic === 0xcefaedfe || magic === 0xcffaedfe) (little = false), (bits = magic === 0xcffaedfe ? 64 : 32);
  else return undefined;
  const dv = view(h);
  const cpu = dv.getUint32(4, little);
  const filetype = dv.getUint32(12, little);
  const ncmds = dv.getUint32(16, little);
  const sizeofcmds = Math.min(dv.getUint32(20, little), MAX_LOAD_COMMANDS);
  const cmds = src.read(offset + (bits === 64 ? 32 : 28), sizeofcmds);
  const cv = view(cmds);
  let signed = false;
  for (let i = 0, at = 0; i < ncmds && at + 8 <= cmds.length; i++) {
    const cmd = cv.getUint32(at, little);
    const size = cv.getUint32(at + 4, little);
    if (cmd === LC_CODE_SIGNATURE) signed = true;
    if (size < 8) break;
    at += size;
  }
  return { arch: MACHO_CPUS[cpu] ?? `cpu-0x${cpu.toString(16)}`, signed, filetype };
}

function machO(src: ByteSource, head: Uint8Array): ArtifactMetadata | undefined {
  const thin = machOSlice(src, 0);
  if (thin) return { kind: "macho", arch: thin.arch, signed: thin.signed, filetype: thin.filetype };
  // Fat (universal) binary: 0xcafebabe, big-endian; Java class files share the magic but have a
  // class-file version >= 45 where the slice count would be.
  if (head.length < 8 || view(head).getUint32(0, false) !== 0xcafebabe) return undefined;
  const n = view(head).getUint32(4, false);
  if (n === 0 || n >= 45) return undefined;
  const slices = [];
  for (let i = 0; i < n && 8 + i * 20 + 20 <= head.length; i++) {
    const offset = view(head).getUint32(8 + i * 20 + 8, false);
    const s = machOSlice(src, offset);
    if (s) slices.push({ arch: s.arch, signed: s.signed });
  }
  if (slices.length === 0) return undefined;
  return { kind: "macho", arch: slices.map((s) => s.arch).join("+"), signed: slices.every((s) => s.signed), slices };
}

function pe(src: ByteSource, head: Uint8Array): ArtifactMetadata {
  if (head.length < 0x40) return { kind: "unknown" };
  const off = view(head).getUint32(0x3c, true);
  const h = src.read(off, 24 + 240);
  if (h.length < 24 || ascii(h, 0, 4) !== "PE\0\0") return { kind: "unknown", note: "MZ header without a PE signature" };
  const dv = view(h);
  const machine = dv.getUint16(4, true);
  const characteristics = dv.getUint16(22, true);
  const optMagic = h.length >= 26 ? dv.getUint16(24, true) : 0;
  // Data directory 4 (certificate table) holds the Authenticode signature.
  const certDir = 24 + (optMagic === 0x20b ? 112 : 96) + 4 * 8;
  const signed = h.length >= certDir + 8 && dv.getUint32(certDir + 4, true) > 0;
  return {
    kind: "pe",
    arch: PE_MACHINES[machine] ?? `machine-0x${machine.toString(16)}`,
    dll: (characteristics & 0x2000) !== 0,
    signed,
  };
}

/** Entry names from the zip central directory (zip64 aware). */
export function zipEntries(src: ByteSource): string[] | undefined {
  const tailLen = Math.min(src.size, 65_557);
  const tail = src.read(src.size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const ev = view(tail);
  let count = ev.getUint16(eocd + 10, true);
  let cdSize = ev.getUint32(eocd + 12, true);
  let cdOffset = ev.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || cdSize === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    if (loc < 0 || ascii(tail, loc, 4) !== "PK\x06\x07") return undefined;
    const recAt = Number(ev.getBigUint64(loc + 8, true));
    const rec = src.read(recAt, 56);
    if (ascii(rec, 0, 4) !== "PK\x06\x06") return undefined;
    const rv = view(rec);
    count = Number(rv.getBigUint64(32, true));
    cdSize = Number(rv.getBigUint64(40, true));
    cdOffset = Number(rv.getBigUint64(48, true));
  }
  if (cdSize > MAX_CENTRAL_DIR) return undefined;
  const cd = src.read(cdOffset, cdSize);
  const cv = view(cd);
  const names: string[] = [];
  const decoder = new TextDecoder();
  for (let at = 0, i = 0; i < count && at + 46 <= cd.length; i++) {
    if (cv.getUint32(at, true) !== 0x02014b50) return undefined;
    const nameLen = cv.getUint16(at + 28, true);
    const extraLen = cv.getUint16(at + 30, true);
    const commentLen = cv.getUint16(at + 32, true);
    names.push(decoder.decode(cd.subarray(at + 46, at + 46 + nameLen)));
    at += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}

function zip(src: ByteSource): ArtifactMetadata {
  const names = zipEntries(src);
  if (!names) return { kind: "zip", note: "no readable central directory" };
  if (names.includes("AndroidManifest.xml")) return { kind: "apk", entries: names.length, dex: names.some((n) => /^classes\d*\.dex$/.test(n)) };
  const plist = names.find((n) => /^Payload\/[^/]+\.app\/Info\.plist$/.test(n));
  if (plist) return { kind: "ipa", entries: names.length, app_bundle: plist.slice(0, -"/Info.plist".length) };
  const macApp = names.find((n) => /^(?:[^/]+\/)?[^/]+\.app\/Contents\/Info\.plist$/.test(n));
  return { kind: "zip", entries: names.length, ...(macApp ? { app_bundle: macApp.slice(0, -"/Contents/Info.plist".length) } : {}) };
}

function gzip(head: Uint8Array): ArtifactMetadata {
  try {
    const inner = gunzipSync(head, { finishFlush: zlib.Z_SYNC_FLUSH });
    if (inner.length >= 262 && ascii(inner, 257, 5) === "ustar") return { kind: "tar.gz" };
  } catch {}
  return { kind: "gzip" };
}

const ACCEPTS: Record<Platform, string[]> = {
  ios: ["ipa"],
  android_apk: ["apk"],
  macos: ["macho", "dmg", "pkg", "zip", "tar.gz", "tar", "xz", "zstd"],
  linux: ["elf", "tar.gz", "tar", "xz", "zstd", "deb", "rpm", "zip", "gzip"],
  windows: ["pe", "msi", "zip"],
};
const INFER: Record<string, Platform> = { ipa: "ios", apk: "android_apk", macho: "macos", dmg: "macos", pkg: "macos", elf: "linux", deb: "linux", rpm: "linux", pe: "windows", msi: "windows" };

export interface Verdict {
  platform: Platform | null;
  status: ValidationStatus;
  reason: string | null;
}

/**
 * Checks detected metadata against the claimed platform. Without a claim the platform is inferred
 * when the format says it unambiguously (else the artifact stays "unchecked").
 */
export function validateForPlatform(meta: ArtifactMetadata, claimed: Platform | null): Verdict {
  const platform = claimed ?? INFER[meta.kind] ?? null;
  if (platform === null) return { platform, status: "unchecked", reason: null };
  const accepted = ACCEPTS[platform];
  if (!accepted.includes(meta.kind)) {
    return { platform, status: "invalid", reason: `${platform} artifact is ${meta.kind === "unknown" ? "of an unrecognised format" : `a ${meta.kind} file`} (expected ${accepted.join(", ")})` };
  }
  if (platform === "macos" && meta.kind === "macho" && String(meta.arch).includes("arm64") && meta.signed !== true) {
    return { platform, status: "invalid", reason: "arm64 Mach-O without a code signature (Apple Silicon refuses to run it)" };
  }
  return { platform, status: "valid", reason: null };
}
