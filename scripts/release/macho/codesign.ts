/**
 * Code signature checks and ad-hoc signing for Mach-O executables, the part of `codesign -v` and
 * `codesign -s -` that decides whether macOS runs a binary: every CodeDirectory's page hashes
 * must match the file's pages up to codeLimit, and its special slots must match the blobs they
 * name. Apple Silicon kills ("Killed: 9") a process whose pages do not match.
 *
 * The CMS signature blob (a Developer ID signature) is not checked: ad-hoc signatures have none.
 */
import { MachOError, MH_EXECUTE, parseMachO, segment, setSignatureSize, type MachO } from "./macho.ts";

const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSMAGIC_REQUIREMENTS = 0xfade0c01;
const CSMAGIC_BLOBWRAPPER = 0xfade0b01;
const CSSLOT_CODEDIRECTORY = 0;
const CSSLOT_REQUIREMENTS = 2;
const CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000;
const CSSLOT_SIGNATURESLOT = 0x10000;
const CS_ADHOC = 0x2;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const CS_HASHTYPE_SHA256 = 2;
const PAGE_SHIFT = 12;

const HASHES: Record<number, { alg: "sha1" | "sha256" | "sha384"; size: number }> = {
  1: { alg: "sha1", size: 20 },
  2: { alg: "sha256", size: 32 },
  3: { alg: "sha256", size: 20 }, // SHA-256 truncated to 20 bytes
  4: { alg: "sha384", size: 48 },
};

export interface CodeDirectoryReport {
  slot: number;
  identifier: string;
  flags: number;
  hashType: number;
  codeLimit: number;
  pageSize: number;
  nCodeSlots: number;
  /** Indexes of pages whose hash does not match. */
  badPages: number[];
  /** Special slots (e.g. 2 = requirements) whose hash does not match their blob. */
  badSpecialSlots: number[];
}

export interface SignatureReport {
  valid: boolean;
  /** One line per problem, empty when valid. */
  problems: string[];
  codeDirectories: CodeDirectoryReport[];
}

const be = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const hash = (alg: string, data: Uint8Array, size: number) =>
  new Uint8Array(new Bun.CryptoHasher(alg as "sha256").update(data).digest()).subarray(0, size);
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

interface Blob {
  type: number;
  bytes: Uint8Array;
}

function superBlob(bytes: Uint8Array, m: MachO): Blob[] {
  const sig = m.codeSignature!;
  const sb = bytes.subarray(sig.dataoff, sig.dataoff + sig.datasize);
  const v = be(sb);
  if (sb.length < 12 || v.getUint32(0) !== CSMAGIC_EMBEDDED_SIGNATURE) throw new MachOError("the code signature is not an embedded-signature SuperBlob");
  const length = v.getUint32(4);
  const count = v.getUint32(8);
  if (length > sb.length || 12 + count * 8 > length) throw new MachOError("the code signature SuperBlob is truncated");
  const blobs: Blob[] = [];
  for (let i = 0; i < count; i++) {
    const type = v.getUint32(12 + i * 8);
    const offset = v.getUint32(16 + i * 8);
    if (offset + 8 > length) throw new MachOError(`signature blob ${i} lies outside the SuperBlob`);
    const blobLength = v.getUint32(offset + 4);
    if (offset + blobLength > length) throw new MachOError(`signature blob ${i} is truncated`);
    blobs.push({ type, bytes: sb.subarray(offset, offset + blobLength) });
  }
  return blobs;
}

function checkCodeDirectory(file: Uint8Array, cd: Blob, blobs: Blob[]): CodeDirectoryReport {
  const v = be(cd.bytes);
  if (v.getUint32(0) !== CSMAGIC_CODEDIRECTORY) throw new MachOError(`signature slot 0x${cd.type.toString(16)} is not a CodeDirectory`);
  const hashOffset = v.getUint32(16);
  const identOffset = v.getUint32(20);
  const nSpecialSlots = v.getUint32(24);
  const nCodeSlots = v.getUint32(28);
  let codeLimit = v.getUint32(32);
  const hashSize = cd.bytes[36];
  const hashType = cd.bytes[37];
  const pageShift = cd.bytes[39];
  const version = v.getUint32(8);
  if (version >= 0x20300 && cd.bytes.length >= 64) {
    const codeLimit64 = Number(v.getBigUint64(56));
    if (codeLimit64 !== 0) codeLimit = codeLimit64;
  }
  const h = HASHES[hashType];
  if (!h || h.size !== hashSize) throw new MachOError(`unsupported CodeDirectory hash type ${hashType} (size ${hashSize})`);
  if (hashOffset + nCodeSlots * hashSize > cd.bytes.length || hashOffset < nSpecialSlots * hashSize) {
    throw new MachOError("CodeDirectory hash slots lie outside the blob");
  }
  const end = cd.bytes.indexOf(0, identOffset);
  const identifier = new TextDecoder().decode(cd.bytes.subarray(identOffset, end < 0 ? undefined : end));
  const pageSize = pageShift === 0 ? codeLimit : 2 ** pageShift;
  const report: CodeDirectoryReport = {
    slot: cd.type, identifier, flags: v.getUint32(12), hashType, codeLimit, pageSize, nCodeSlots, badPages: [], badSpecialSlots: [],
  };
  if (codeLimit > file.length) throw new MachOError(`CodeDirectory codeLimit ${codeLimit} is past the end of the file`);
  if (nCodeSlots !== Math.ceil(codeLimit / pageSize)) {
    throw new MachOError(`CodeDirectory has ${nCodeSlots} page hashes for ${Math.ceil(codeLimit / pageSize)} pages`);
  }
  for (let i = 0; i < nCodeSlots; i++) {
    const page = file.subarray(i * pageSize, Math.min((i + 1) * pageSize, codeLimit));
    const want = cd.bytes.subarray(hashOffset + i * hashSize, hashOffset + (i + 1) * hashSize);
    if (!equal(hash(h.alg, page, hashSize), want)) report.badPages.push(i);
  }
  for (let slot = 1; slot <= nSpecialSlots; slot++) {
    const want = cd.bytes.subarray(hashOffset - slot * hashSize, hashOffset - (slot - 1) * hashSize);
    const blob = blobs.find((b) => b.type === slot);
    const empty = want.every((b) => b === 0);
    // Slots for things outside the binary (Info.plist, resources) cannot be checked here.
    if (!blob) {
      if (!empty && (slot === CSSLOT_REQUIREMENTS || slot === 5 || slot === 7)) report.badSpecialSlots.push(slot);
      continue;
    }
    if (!equal(hash(h.alg, blob.bytes, hashSize), want)) report.badSpecialSlots.push(slot);
  }
  return report;
}

/** Checks every CodeDirectory of a Mach-O executable against its pages. Never throws. */
export function verifySignature(file: Uint8Array): SignatureReport {
  const problems: string[] = [];
  const codeDirectories: CodeDirectoryReport[] = [];
  try {
    const m = parseMachO(file);
    const sig = m.codeSignature;
    if (!sig) return { valid: false, problems: ["no code signature (LC_CODE_SIGNATURE missing)"], codeDirectories };
    const linkedit = segment(m, "__LINKEDIT");
    if (sig.dataoff + sig.datasize > linkedit.fileoff + linkedit.filesize) problems.push("the code signature extends past __LINKEDIT");
    const blobs = superBlob(file, m);
    const cds = blobs.filter((b) => b.type === CSSLOT_CODEDIRECTORY || (b.type >= CSSLOT_ALTERNATE_CODEDIRECTORIES && b.type < CSSLOT_ALTERNATE_CODEDIRECTORIES + 5));
    if (cds.length === 0) problems.push("the code signature has no CodeDirectory");
    for (const cd of cds) {
      const r = checkCodeDirectory(file, cd, blobs);
      codeDirectories.push(r);
      const which = `CodeDirectory slot 0x${r.slot.toString(16)} (${HASHES[r.hashType].alg})`;
      if (r.codeLimit !== sig.dataoff) problems.push(`${which}: codeLimit ${r.codeLimit} is not where the signature starts (${sig.dataoff})`);
      if (r.badPages.length) {
        const list = r.badPages.slice(0, 5).join(", ") + (r.badPages.length > 5 ? ", ..." : "");
        problems.push(`${which}: ${r.badPages.length} of ${r.nCodeSlots} page hashes do not match (pages ${list})`);
      }
      if (r.badSpecialSlots.length) problems.push(`${which}: special slot hashes do not match (slots ${r.badSpecialSlots.join(", ")})`);
    }
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  return { valid: problems.length === 0, problems, codeDirectories };
}

function blobHeader(magic: number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  be(b).setUint32(0, magic);
  be(b).setUint32(4, length);
  return b;
}

/**
 * Replaces the code signature with an ad-hoc one (what `codesign --force --sign -` writes: one
 * SHA-256 CodeDirectory, empty requirements, empty CMS wrapper; no hardened runtime, so no
 * entitlements are needed for the JIT). The signature stays where LC_CODE_SIGNATURE put it; the
 * file shrinks or grows at its end. Returns a new buffer.
 */
export function adhocSign(input: Uint8Array, identifier: string): Uint8Array {
  const m = parseMachO(input);
  const sig = m.codeSignature;
  if (!sig) throw new MachOError("no LC_CODE_SIGNATURE: adding one to an unsigned binary is not supported");
  const text = segment(m, "__TEXT");
  const codeLimit = sig.dataoff;
  const pageSize = 2 ** PAGE_SHIFT;
  const nCodeSlots = Math.ceil(codeLimit / pageSize);
  const ident = new TextEncoder().encode(identifier + "\0");
  const nSpecialSlots = CSSLOT_REQUIREMENTS;
  const hashSize = 32;
  const headerSize = 88; // CodeDirectory version 0x20400 (with exec segment fields)
  const hashOffset = headerSize + ident.length + nSpecialSlots * hashSize;
  const cdLength = hashOffset + nCodeSlots * hashSize;

  const requirements = blobHeader(CSMAGIC_REQUIREMENTS, 12); // count 0
  const cms = blobHeader(CSMAGIC_BLOBWRAPPER, 8);
  const index: [number, number][] = [[CSSLOT_CODEDIRECTORY, cdLength], [CSSLOT_REQUIREMENTS, requirements.length], [CSSLOT_SIGNATURESLOT, cms.length]];
  const sbHeader = 12 + index.length * 8;
  const sbLength = sbHeader + cdLength + requirements.length + cms.length;
  const datasize = Math.ceil(sbLength / 16) * 16;

  const out = new Uint8Array(codeLimit + datasize);
  out.set(input.subarray(0, codeLimit));
  setSignatureSize(out, m, datasize);

  const cd = blobHeader(CSMAGIC_CODEDIRECTORY, cdLength);
  const c = be(cd);
  c.setUint32(8, 0x20400);
  c.setUint32(12, CS_ADHOC);
  c.setUint32(16, hashOffset);
  c.setUint32(20, headerSize);
  c.setUint32(24, nSpecialSlots);
  c.setUint32(28, nCodeSlots);
  c.setUint32(32, codeLimit);
  cd[36] = hashSize;
  cd[37] = CS_HASHTYPE_SHA256;
  cd[38] = 0; // platform
  cd[39] = PAGE_SHIFT;
  c.setBigUint64(64, BigInt(text.fileoff)); // execSegBase
  c.setBigUint64(72, BigInt(text.filesize)); // execSegLimit
  c.setBigUint64(80, BigInt(m.fileType === MH_EXECUTE ? CS_EXECSEG_MAIN_BINARY : 0));
  cd.set(ident, headerSize);
  cd.set(hash("sha256", requirements, hashSize), hashOffset - CSSLOT_REQUIREMENTS * hashSize);
  for (let i = 0; i < nCodeSlots; i++) {
    const page = out.subarray(i * pageSize, Math.min((i + 1) * pageSize, codeLimit));
    cd.set(hash("sha256", page, hashSize), hashOffset + i * hashSize);
  }

  const sb = out.subarray(codeLimit);
  const s = be(sb);
  s.setUint32(0, CSMAGIC_EMBEDDED_SIGNATURE);
  s.setUint32(4, sbLength);
  s.setUint32(8, index.length);
  let off = sbHeader;
  index.forEach(([type, length], i) => {
    s.setUint32(12 + i * 8, type);
    s.setUint32(16 + i * 8, off);
    off += length;
  });
  sb.set(cd, sbHeader);
  sb.set(requirements, sbHeader + cdLength);
  sb.set(cms, sbHeader + cdLength + requirements.length);
  return out;
}
