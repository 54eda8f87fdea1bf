/**
 * The parts of a 64-bit Mach-O executable that code signing touches: the header, the segments
 * (__TEXT, __LINKEDIT) and LC_CODE_SIGNATURE. Mach-O headers are little-endian on both
 * x86_64 and arm64; the code signature blobs themselves are big-endian.
 */
export const MH_MAGIC_64 = 0xfeedfacf;
export const MH_EXECUTE = 2;
export const CPU_TYPE = { x64: 0x01000007, arm64: 0x0100000c } as const;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const HEADER_SIZE = 32;

export interface Segment {
  name: string;
  /** Offset of the load command in the file. */
  cmdOffset: number;
  vmsize: bigint;
  fileoff: number;
  filesize: number;
}

export interface MachO {
  cpuType: number;
  fileType: number;
  segments: Segment[];
  /** LC_CODE_SIGNATURE: where the signature SuperBlob lives; absent when unsigned. */
  codeSignature?: { cmdOffset: number; dataoff: number; datasize: number };
}

export class MachOError extends Error {
  override name = "MachOError";
}

export function parseMachO(bytes: Uint8Array): MachO {
  if (bytes.length < HEADER_SIZE) throw new MachOError("not a Mach-O file (too short)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic === 0xbebafeca || magic === 0xcafebabe) throw new MachOError("universal (fat) Mach-O files are not supported");
  if (magic !== MH_MAGIC_64) throw new MachOError(`not a 64-bit Mach-O file (magic 0x${magic.toString(16)})`);
  const cpuType = view.getUint32(4, true);
  const fileType = view.getUint32(12, true);
  const ncmds = view.getUint32(16, true);
  const sizeofcmds = view.getUint32(20, true);
  if (HEADER_SIZE + sizeofcmds > bytes.length) throw new MachOError("load commands run past the end of the file");
  const segments: Segment[] = [];
  let codeSignature: MachO["codeSignature"];
  let off = HEADER_SIZE;
  for (let i = 0; i < ncmds; i++) {
    if (off + 8 > HEADER_SIZE + sizeofcmds) throw new MachOError(`load command ${i} runs past sizeofcmds`);
    const cmd = view.getUint32(off, true);
    const cmdsize = view.getUint32(off + 4, true);
    if (cmdsize < 8 || off + cmdsize > HEADER_SIZE + sizeofcmds) throw new MachOError(`load command ${i} has a bad size ${cmdsize}`);
    if (cmd === LC_SEGMENT_64) {
      const name = new TextDecoder().decode(bytes.subarray(off + 8, off + 24)).replace(/\0+$/, "");
      segments.push({
        name,
        cmdOffset: off,
        vmsize: view.getBigUint64(off + 32, true),
        fileoff: Number(view.getBigUint64(off + 40, true)),
        filesize: Number(view.getBigUint64(off + 48, true)),
      });
    } else if (cmd === LC_CODE_SIGNATURE) {
      codeSignature = { cmdOffset: off, dataoff: view.getUint32(off + 8, true), datasize: view.getUint32(off + 12, true) };
      if (codeSignature.dataoff + codeSignature.datasize > bytes.length) {
        throw new MachOError("LC_CODE_SIGNATURE points past the end of the file");
      }
    }
    off += cmdsize;
  }
  return { cpuType, fileType, segments, codeSignature };
}

export function segment(m: MachO, name: string): Segment {
  const s = m.segments.find((x) => x.name === name);
  if (!s) throw new MachOError(`no ${name} segment`);
  return s;
}

/** Rewrites the load commands that describe the signature's size (LC_CODE_SIGNATURE, __LINKEDIT). */
export function setSignatureSize(bytes: Uint8Array, m: MachO, datasize: number): void {
  const sig = m.codeSignature;
  if (!sig) throw new MachOError("no LC_CODE_SIGNATURE load command to update");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(sig.cmdOffset + 12, datasize, true);
  const linkedit = segment(m, "__LINKEDIT");
  const filesize = sig.dataoff + datasize - linkedit.fileoff;
  if (filesize < 0) throw new MachOError("the signature does not lie inside __LINKEDIT");
  view.setBigUint64(linkedit.cmdOffset + 48, BigInt(filesize), true);
  const page = 0x4000n;
  const needed = ((BigInt(filesize) + page - 1n) / page) * page;
  if (linkedit.vmsize < needed) view.setBigUint64(linkedit.cmdOffset + 32, needed, true);
}
