/**
 * Binary patches between two releases' executables (`auditgraph-<target>.from-<version>.patch`).
 *
 * Every release is compiled by the same Bun, so two consecutive executables share the runtime byte
 * for byte at the same offsets (the first ~86-109 MB) and differ only in the appended module graph
 * (ELF: after the runtime, before the "---- Bun! ----" trailer; Mach-O: the __BUN section, the
 * load command that gives its size and the code signature's page hashes). The patch therefore
 * says which ranges of the new executable are copied from the old one at the same offset (and the
 * common tail from the old one's end), and stores only the rest ("data"), compressed with zstd using
 * the old executable's bytes at those same places as the dictionary (what `zstd --patch-from`
 * does, but over a few MB instead of the whole 100 MB file): moved or slightly changed module
 * code compresses to references into the old version.
 *
 * Layout (integers little-endian):
 *   "AGPATCH\0"  magic (8 bytes)
 *   u32          format version (1)
 *   u32          header length H
 *   H bytes      header: canonical JSON (see PatchHeader): sizes and sha256 of the executable the
 *                patch applies to and of the result, the copy/data ops, the dictionary ranges
 *   Z bytes      one zstd frame (with content checksum) of the data bytes; Z = header.data.zstd_size
 *   32 bytes     sha256 of everything before it (a truncated or damaged patch is told apart from a
 *                patch for another executable)
 * The zstd dictionary is one 0x00 byte (so zstd never takes the bytes for a structured dictionary)
 * followed by the old executable's bytes in header.dictionary's ranges, in order.
 *
 * makePatch is deterministic: the same inputs give the same bytes (single-threaded zstd, parameters
 * chosen from the input sizes only). applyPatch checks the patch's own checksum, then the source's
 * size and sha256, then the result's, and throws a PatchError before returning anything otherwise.
 */
import { AgError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import { canonicalJson } from "./json.ts";
// node:zlib when a patch is made or applied (Bun's own zstd takes no dictionary).
import { zlib } from "./zlib.ts";

export const PATCH_MAGIC = "AGPATCH\0";
export const PATCH_FORMAT = 1;

/** What a patch is for; recorded in its header. */
export interface PatchMeta {
  /** The program ("auditgraph", "release-server"). */
  program: string;
  /** The target name, e.g. "linux-x64". */
  target: string;
  /** Version of the executable the patch applies to. */
  from: string;
  /** Version of the executable it produces. */
  to: string;
}

export type PatchOp = ["copy", number, number] | ["data", number];

export interface PatchHeader extends PatchMeta {
  format: number;
  source: { size: number; sha256: string };
  result: { size: number; sha256: string };
  /** ["copy", oldOffset, length]: bytes from the old executable; ["data", length]: the next data bytes. */
  ops: PatchOp[];
  /** [oldOffset, length] ranges of the old executable that make up the zstd dictionary. */
  dictionary: [number, number][];
  data: { size: number; zstd_size: number };
}

export type PatchErrorCode = "patch_corrupt" | "patch_source_mismatch" | "patch_result_mismatch";

export class PatchError extends AgError {
  constructor(message: string, code: PatchErrorCode, hint?: string) {
    super(message, { code, hint });
    this.name = "PatchError";
  }
}

/** Equal bytes shorter than this between two differing ones are stored as data (zstd finds them in the dictionary). */
const GAP = 64 * 1024;
const FIXED = PATCH_MAGIC.length + 4 + 4;
const CHECKSUM = 32;

const le32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sha256Bytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(new Bun.CryptoHasher("sha256").update(data).digest().buffer);
}

function dictionaryOf(old: Uint8Array, ranges: [number, number][]): Uint8Array {
  return concat([new Uint8Array(1), ...ranges.map(([off, len]) => old.subarray(off, off + len))]);
}

/** zstd parameters, from the sizes only: the best level while that stays fast, a window reaching the whole dictionary. */
function zstdParams(dictSize: number, dataSize: number): Record<number, number> {
  const span = dictSize + dataSize;
  const { constants } = zlib();
  const windowLog = Math.min(30, Math.max(20, Math.ceil(Math.log2(span + 1))));
  return {
    [constants.ZSTD_c_compressionLevel]: span <= 64 * 1024 * 1024 ? 19 : 9,
    [constants.ZSTD_c_windowLog]: windowLog,
    [constants.ZSTD_c_checksumFlag]: 1,
    [constants.ZSTD_c_nbWorkers]: 0,
  };
}

/** Ranges of `b` that differ from `a` at the same offset in [0, end), joined across gaps shorter than GAP. */
function differingRanges(a: Uint8Array, b: Uint8Array, end: number): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  let last = -1;
  for (let i = 0; i < end; i++) {
    if (a[i] === b[i]) continue;
    if (start >= 0 && i - last <= GAP) {
      last = i;
      continue;
    }
    if (start >= 0) out.push([start, last + 1]);
    start = last = i;
  }
  if (start >= 0) out.push([start, last + 1]);
  return out;
}

/** A patch turning `oldExe` into `newExe`. */
export function makePatch(oldExe: Uint8Array, newExe: Uint8Array, meta: PatchMeta): Uint8Array {
  const min = Math.min(oldExe.length, newExe.length);
  let suffix = 0;
  while (suffix < min && oldExe[oldExe.length - 1 - suffix] === newExe[newExe.length - 1 - suffix]) suffix++;
  const head = newExe.length - suffix; // new bytes before the common tail
  const oldHead = oldExe.length - suffix;
  const same = Math.min(head, oldHead); // compared at equal offsets below this

  // Each range: new [start, newEnd) replaces old [start, oldEnd).
  const ranges = differingRanges(oldExe, newExe, same).map(([s, e]) => ({ start: s, newEnd: e, oldEnd: e }));
  if (head !== oldHead) {
    // The lengths differ: everything from the last differing range (or from `same`) to the tail is replaced.
    const lastRange = ranges.at(-1);
    if (lastRange && same - lastRange.newEnd <= GAP) {
      lastRange.newEnd = head;
      lastRange.oldEnd = oldHead;
    } else {
      ranges.push({ start: same, newEnd: head, oldEnd: oldHead });
    }
  }

  const ops: PatchOp[] = [];
  const dictionary: [number, number][] = [];
  const data: Uint8Array[] = [];
  let pos = 0;
  for (const r of ranges) {
    if (r.start > pos) ops.push(["copy", pos, r.start - pos]);
    if (r.newEnd > r.start) {
      ops.push(["data", r.newEnd - r.start]);
      data.push(newExe.subarray(r.start, r.newEnd));
    }
    if (r.oldEnd > r.start) dictionary.push([r.start, r.oldEnd - r.start]);
    pos = r.newEnd;
  }
  if (head > pos) ops.push(["copy", pos, head - pos]);
  if (suffix > 0) ops.push(["copy", oldHead, suffix]);

  const dataBytes = concat(data);
  const dict = dictionaryOf(oldExe, dictionary);
  const z = new Uint8Array(zlib().zstdCompressSync(dataBytes, { dictionary: dict, params: zstdParams(dict.length, dataBytes.length) } as never));
  const header: PatchHeader = {
    format: PATCH_FORMAT,
    program: meta.program,
    target: meta.target,
    from: meta.from,
    to: meta.to,
    source: { size: oldExe.length, sha256: sha256Hex(oldExe) },
    result: { size: newExe.length, sha256: sha256Hex(newExe) },
    ops,
    dictionary,
    data: { size: dataBytes.length, zstd_size: z.length },
  };
  const headerBytes = new TextEncoder().encode(canonicalJson(header));
  const body = concat([new TextEncoder().encode(PATCH_MAGIC), le32(PATCH_FORMAT), le32(headerBytes.length), headerBytes, z]);
  return concat([body, sha256Bytes(body)]);
}

const corrupt = (why: string) =>
  new PatchError(`the patch is damaged or truncated (${why})`, "patch_corrupt", "download it again, or upgrade from the full archive");

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
const isHex = (s: unknown): s is string => typeof s === "string" && /^[0-9a-f]{64}$/.test(s);

function parse(patch: Uint8Array): { header: PatchHeader; zstd: Uint8Array } {
  if (patch.length < FIXED + CHECKSUM) throw corrupt(`${patch.length} bytes is shorter than any patch`);
  if (new TextDecoder().decode(patch.subarray(0, PATCH_MAGIC.length)) !== PATCH_MAGIC) {
    throw new PatchError("not an auditgraph patch (bad magic bytes)", "patch_corrupt");
  }
  const view = new DataView(patch.buffer, patch.byteOffset, patch.byteLength);
  const format = view.getUint32(PATCH_MAGIC.length, true);
  const body = patch.subarray(0, patch.length - CHECKSUM);
  const sum = sha256Bytes(body);
  if (!sum.every((b, i) => b === patch[body.length + i])) throw corrupt("its checksum does not match");
  if (format !== PATCH_FORMAT) {
    throw new PatchError(`unsupported patch format ${format} (this auditgraph reads format ${PATCH_FORMAT})`, "patch_corrupt", "upgrade from the full archive");
  }
  const headerLength = view.getUint32(PATCH_MAGIC.length + 4, true);
  if (FIXED + headerLength > body.length) throw corrupt("header runs past the end");
  let header: PatchHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(patch.subarray(FIXED, FIXED + headerLength))) as PatchHeader;
  } catch {
    throw corrupt("header is not JSON");
  }
  const h = header as Partial<PatchHeader> | null;
  if (
    !h || typeof h !== "object" || h.format !== format ||
    typeof h.program !== "string" || typeof h.target !== "string" || typeof h.from !== "string" || typeof h.to !== "string" ||
    !isCount(h.source?.size) || !isHex(h.source?.sha256) || !isCount(h.result?.size) || !isHex(h.result?.sha256) ||
    !Array.isArray(h.ops) || !Array.isArray(h.dictionary) || !isCount(h.data?.size) || !isCount(h.data?.zstd_size)
  ) {
    throw corrupt("header fields missing or malformed");
  }
  if (FIXED + headerLength + h.data.zstd_size !== body.length) throw corrupt("length does not match its header");
  return { header, zstd: body.subarray(FIXED + headerLength) };
}

/** The header of a patch (after checking the patch's own checksum); throws PatchError when damaged. */
export function readPatchHeader(patch: Uint8Array): PatchHeader {
  return parse(patch).header;
}

/** The executable `patch` makes from `oldExe`; throws PatchError, returning nothing, on any mismatch. */
export function applyPatch(oldExe: Uint8Array, patch: Uint8Array): Uint8Array {
  const { header, zstd } = parse(patch);
  const { source, result } = header;
  const label = `${header.program} ${header.from} (${header.target})`;
  const actual = oldExe.length === source.size ? sha256Hex(oldExe) : undefined;
  if (actual !== source.sha256) {
    throw new PatchError(
      `the patch to ${header.to} applies to ${label} with sha256 ${source.sha256}, not to this executable (${actual ? `sha256 ${actual}` : `${oldExe.length} bytes, expected ${source.size}`})`,
      "patch_source_mismatch",
      "upgrade from the full archive",
    );
  }

  // Validate the ops against the sizes before touching any bytes.
  let outSize = 0;
  let dataSize = 0;
  for (const op of header.ops as unknown[]) {
    if (!Array.isArray(op)) throw corrupt("malformed op");
    if (op[0] === "copy" && op.length === 3 && isCount(op[1]) && isCount(op[2]) && op[1] + op[2] <= oldExe.length) {
      outSize += op[2];
    } else if (op[0] === "data" && op.length === 2 && isCount(op[1])) {
      outSize += op[1];
      dataSize += op[1];
    } else {
      throw corrupt(`bad op ${JSON.stringify(op).slice(0, 80)}`);
    }
  }
  if (outSize !== result.size || dataSize !== header.data.size) throw corrupt("ops do not add up to the result's size");
  for (const r of header.dictionary as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2 || !isCount(r[0]) || !isCount(r[1]) || r[0] + r[1] > oldExe.length) throw corrupt("bad dictionary range");
  }

  let data: Uint8Array;
  try {
    data = new Uint8Array(zlib().zstdDecompressSync(zstd, {
      dictionary: dictionaryOf(oldExe, header.dictionary),
      maxOutputLength: Math.max(1, header.data.size),
      params: { [zlib().constants.ZSTD_d_windowLogMax]: 31 },
    } as never));
  } catch (err) {
    throw corrupt(`zstd: ${(err as Error).message}`);
  }
  if (data.length !== header.data.size) throw corrupt(`data is ${data.length} bytes, expected ${header.data.size}`);

  const out = new Uint8Array(result.size);
  let at = 0;
  let d = 0;
  for (const op of header.ops) {
    if (op[0] === "copy") {
      out.set(oldExe.subarray(op[1], op[1] + op[2]), at);
      at += op[2];
    } else {
      out.set(data.subarray(d, d + op[1]), at);
      d += op[1];
      at += op[1];
    }
  }
  const got = sha256Hex(out);
  if (got !== result.sha256) {
    throw new PatchError(`patching ${label} to ${header.to} gave sha256 ${got}, expected ${result.sha256}`, "patch_result_mismatch", "upgrade from the full archive");
  }
  return out;
}
