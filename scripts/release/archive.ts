/**
 * Deterministic .tar.gz: ustar entries sorted by name, mtime fixed to the commit time, uid/gid 0,
 * no owner names, and a gzip header without name or time (OS byte fixed to Unix).
 */
export interface ArchiveEntry {
  name: string;
  data: Uint8Array;
  mode: number;
}

const BLOCK = 512;
const RECORD = 20 * BLOCK; // what GNU tar pads to

function octal(buf: Uint8Array, offset: number, width: number, value: number): void {
  const text = value.toString(8).padStart(width - 1, "0");
  if (text.length > width - 1) throw new RangeError(`tar: ${value} does not fit in ${width - 1} octal digits`);
  buf.set(new TextEncoder().encode(text), offset); // the byte after is already NUL
}

function header(entry: ArchiveEntry, mtime: number): Uint8Array {
  const name = new TextEncoder().encode(entry.name);
  if (name.length > 100) throw new RangeError(`tar: entry name longer than 100 bytes: ${entry.name}`);
  const h = new Uint8Array(BLOCK);
  h.set(name, 0);
  octal(h, 100, 8, entry.mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, entry.data.length);
  octal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum counts as spaces while summing
  h[156] = 0x30; // regular file
  h.set(new TextEncoder().encode("ustar\u000000"), 257);
  octal(h, 329, 8, 0);
  octal(h, 337, 8, 0);
  let sum = 0;
  for (const b of h) sum += b;
  octal(h, 148, 7, sum);
  return h;
}

export function tar(entries: ArchiveEntry[], mtime: number): Uint8Array<ArrayBuffer> {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let size = 2 * BLOCK;
  for (const e of sorted) size += BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(Math.ceil(size / RECORD) * RECORD);
  let off = 0;
  for (const e of sorted) {
    out.set(header(e, mtime), off);
    out.set(e.data, off + BLOCK);
    off += BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK;
  }
  return out;
}

/**
 * libdeflate at level 6: on the linux-x64 executable (130 MB) 58.03 MB in 2.6 s, where zlib at level
 * 9 gave 58.08 MB in 5.3 s (libdeflate 9: 57.78 MB, 3.8 s; 12: 56.62 MB, 14.6 s). Plain deflate:
 * every gunzip reads it. Bun is pinned, so its libdeflate and these bytes are too.
 */
export function gzip(data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const z = Bun.gzipSync(data, { level: 6, library: "libdeflate" });
  z.fill(0, 4, 8); // MTIME
  z[9] = 3; // OS: Unix, whatever host compressed it
  return z;
}

export const tarGz = (entries: ArchiveEntry[], mtime: number): Uint8Array => gzip(tar(entries, mtime));

function readOctal(h: Uint8Array, offset: number, width: number): number {
  if (h[offset]! & 0x80) {
    // GNU base-256 (sizes of 8 GiB and more)
    let n = 0;
    for (let i = offset + 1; i < offset + width; i++) n = n * 256 + h[i]!;
    return n;
  }
  const text = new TextDecoder().decode(h.subarray(offset, offset + width)).replace(/[\0 ]+$/, "").trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`tar: bad octal field ${JSON.stringify(text)}`);
  return text ? parseInt(text, 8) : 0;
}

/**
 * One regular file's bytes from a .tar.gz (ustar with its name prefix, as tar() above and GNU or
 * BSD tar write them); undefined when it holds no such file. Used to take the executable out of
 * the previous release's archive (bun run build --previous).
 */
export function readTarGzEntry(archive: Uint8Array, name: string): Uint8Array | undefined {
  const t = Bun.gunzipSync(archive as Uint8Array<ArrayBuffer>);
  const str = (h: Uint8Array, off: number, len: number) => new TextDecoder().decode(h.subarray(off, off + len)).replace(/\0.*$/s, "");
  let longName: string | undefined;
  for (let off = 0; off + BLOCK <= t.length; ) {
    const h = t.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== readOctal(h, 148, 8)) throw new Error(`tar: bad header checksum at offset ${off}`);
    const size = readOctal(h, 124, 12);
    const type = String.fromCharCode(h[156]!);
    const data = t.subarray(off + BLOCK, off + BLOCK + size);
    if (data.length !== size) throw new Error("tar: truncated archive");
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = str(data, 0, size);
      continue;
    }
    if (type === "x") {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data));
      if (path) longName = path[1];
      continue;
    }
    const prefix = str(h, 257, 6) === "ustar" ? str(h, 345, 155) : "";
    const entry = longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    longName = undefined;
    if ((type === "0" || type === "\0") && entry.replace(/^\.\//, "") === name) return data;
  }
  return undefined;
}
