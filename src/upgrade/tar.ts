/**
 * The one file `upgrade` needs out of a release archive: a minimal reader of (gunzipped) ustar,
 * with GNU long names and pax `path` records, enough for the archives scripts/release/archive.ts
 * writes and for ones made by GNU or BSD tar.
 */
const text = (b: Uint8Array) => new TextDecoder().decode(b).replace(/\0.*$/s, "");
const octal = (b: Uint8Array): number => {
  const s = text(b).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error("tar: malformed header (size is not octal)");
  return parseInt(s, 8);
};

export interface TarEntry {
  name: string;
  type: string;
  mode: number;
  data: Uint8Array;
}

/** Every regular file, directory and link entry of a tar stream (data views into `tar`). */
export function* tarEntries(tar: Uint8Array): Generator<TarEntry> {
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) return;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== octal(h.subarray(148, 156))) throw new Error("tar: header checksum mismatch (not a tar archive, or corrupt)");
    const size = octal(h.subarray(124, 136));
    const type = String.fromCharCode(h[156]!) || "0";
    const start = off + 512;
    const data = tar.subarray(start, start + size);
    off = start + Math.ceil(size / 512) * 512;
    if (off > tar.length) throw new Error("tar: archive is truncated");
    if (type === "L") { longName = text(data); continue; }
    if (type === "x") {
      for (const rec of new TextDecoder().decode(data).split("\n")) {
        const m = /^\d+ path=(.*)$/.exec(rec);
        if (m) longName = m[1];
      }
      continue;
    }
    if (type === "g") continue;
    const prefix = text(h.subarray(345, 500));
    const name = longName ?? (prefix ? `${prefix}/${text(h.subarray(0, 100))}` : text(h.subarray(0, 100)));
    longName = undefined;
    yield { name, type: type === "\0" ? "0" : type, mode: octal(h.subarray(100, 108)), data };
  }
  if (off < tar.length) throw new Error("tar: archive is truncated");
}

/** The regular file named `name` (or `./name`) in a tar stream, or undefined. */
export function extractFile(tar: Uint8Array, name: string): Uint8Array | undefined {
  for (const e of tarEntries(tar)) {
    if ((e.type === "0" || e.type === "7") && e.name.replace(/^\.\//, "") === name) return e.data;
  }
  return undefined;
}
