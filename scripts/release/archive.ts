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

export function gzip(data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const z = Bun.gzipSync(data, { level: 9 });
  z.fill(0, 4, 8); // MTIME
  z[9] = 3; // OS: Unix, whatever host compressed it
  return z;
}

export const tarGz = (entries: ArchiveEntry[], mtime: number): Uint8Array => gzip(tar(entries, mtime));
