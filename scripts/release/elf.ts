/** Just enough ELF reading to tell which CPU and which dynamic loader (glibc or musl) an executable needs. */
export interface ElfInfo {
  machine: "x64" | "arm64" | `machine ${number}`;
  /** PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2 or /lib/ld-musl-aarch64.so.1; absent when static. */
  interpreter?: string;
}

const MACHINES: Record<number, ElfInfo["machine"]> = { 62: "x64", 183: "arm64" };
const PT_INTERP = 3;

export function readElf(bytes: Uint8Array): ElfInfo {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new Error("not an ELF file");
  }
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error("not a 64-bit little-endian ELF file");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const e = v.getUint16(18, true);
  const info: ElfInfo = { machine: MACHINES[e] ?? `machine ${e}` };
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, true) !== PT_INTERP) continue;
    const off = Number(v.getBigUint64(ph + 8, true));
    const size = Number(v.getBigUint64(ph + 32, true));
    info.interpreter = new TextDecoder().decode(bytes.subarray(off, off + size)).replace(/\0+$/, "");
  }
  return info;
}
