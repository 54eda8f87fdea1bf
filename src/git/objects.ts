/**
 * A fast path for reading git objects: loose objects and version-2 pack indexes read with node:fs
 * positioned reads and Bun's native zlib, deltas applied here, and every object checked against
 * its id (sha1 of "type size\0content") before it is returned. Anything this does not handle (a
 * version-1 index, a damaged or mismatching object) returns undefined, and Repo falls back to
 * isomorphic-git, which reads it or reports why it cannot. Measured on this repository's history:
 * isomorphic-git alone spends most of a walk in per-read stat/readFile calls and pure-JS inflate.
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { join, resolve } from "node:path";
import { escapedName, nameBytes } from "../shared/printable.ts";
import { countAtOrBelow } from "../shared/sorted.ts";

/**
 * A tree entry's name: UTF-8, or when its bytes are not, escapedName's form (`caf\xe9.md`, as the
 * scan records such a file), which findInTree reads back to the same bytes. Decoded lossily, a
 * name could be neither asked for nor told from another.
 */
function entryName(b: Buffer, start: number, end: number): string {
  const t = b.toString("utf8", start, end);
  return t.includes("\ufffd") ? escapedName(b.subarray(start, end)) : t;
}

export type RawObject = { type: "commit" | "tree" | "blob" | "tag"; data: Uint8Array };

const TYPES = ["", "commit", "tree", "blob", "tag"] as const;
const latin1 = new TextDecoder("latin1");

type Pack = {
  fd: number;
  /** The whole pack, when it is small enough to hold. */
  bytes?: Buffer;
  size: number;
  count: number;
  fanout: Uint32Array;
  shas: Uint8Array;
  offsets: Float64Array;
  /** Offsets sorted, to know where an entry's compressed bytes end (the next entry). */
  sorted: Float64Array;
};

const hexToBytes = (hex: string): Uint8Array => Buffer.from(hex, "hex");
/** Packs up to this size are read into memory once (one read instead of one per object). */
const WHOLE_PACK = 256 << 20;

function loadIndex(idxPath: string, packPath: string): Pack | undefined {
  const b = readFileSync(idxPath);
  if (b.length < 8 + 1024 || b.readUInt32BE(0) !== 0xff744f63 || b.readUInt32BE(4) !== 2) return undefined;
  const fanout = new Uint32Array(256);
  for (let i = 0; i < 256; i++) fanout[i] = b.readUInt32BE(8 + 4 * i);
  const count = fanout[255]!;
  const shaStart = 8 + 1024;
  const offStart = shaStart + 20 * count + 4 * count;
  const largeStart = offStart + 4 * count;
  if (b.length < largeStart + 40) return undefined;
  const offsets = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const o = b.readUInt32BE(offStart + 4 * i);
    if (o & 0x80000000) {
      const at = largeStart + 8 * (o & 0x7fffffff);
      if (at + 8 > b.length) return undefined;
      offsets[i] = b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);
    } else offsets[i] = o;
  }
  const fd = openSync(packPath, "r");
  const size = fstatSync(fd).size;
  return { fd, size, count, fanout, shas: new Uint8Array(b.buffer, b.byteOffset + shaStart, 20 * count), offsets, sorted: Float64Array.from(offsets).sort() };
}

function compare(shas: Uint8Array, i: number, want: Uint8Array): number {
  const base = 20 * i;
  for (let k = 0; k < 20; k++) {
    const d = shas[base + k]! - want[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

function find(p: Pack, want: Uint8Array): number {
  let lo = want[0] === 0 ? 0 : p.fanout[want[0]! - 1]!;
  let hi = p.fanout[want[0]!]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compare(p.shas, mid, want);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

/** Where the entry at `offset` ends: the next entry's offset, or the pack's trailing checksum. */
function entryEnd(p: Pack, offset: number): number {
  const next = countAtOrBelow(p.sorted, offset);
  return next < p.sorted.length ? p.sorted[next]! : p.size - 20;
}

function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array {
  let i = 0;
  const varint = () => { let v = 0, s = 0, c: number; do { c = delta[i++]!; v += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80); return v; };
  if (varint() !== base.length) throw new Error("delta base size mismatch");
  const out = new Uint8Array(varint());
  let o = 0;
  while (i < delta.length) {
    const op = delta[i++]!;
    if (op & 0x80) {
      let off = 0, len = 0;
      if (op & 1) off |= delta[i++]!;
      if (op & 2) off |= delta[i++]! << 8;
      if (op & 4) off |= delta[i++]! << 16;
      if (op & 8) off = (off | (delta[i++]! << 24)) >>> 0;
      if (op & 16) len |= delta[i++]!;
      if (op & 32) len |= delta[i++]! << 8;
      if (op & 64) len |= delta[i++]! << 16;
      if (len === 0) len = 0x10000;
      if (off + len > base.length || o + len > out.length) throw new Error("delta copy out of range");
      out.set(base.subarray(off, off + len), o);
      o += len;
    } else if (op > 0) {
      if (i + op > delta.length || o + op > out.length) throw new Error("delta insert out of range");
      out.set(delta.subarray(i, i + op), o);
      i += op;
      o += op;
    } else throw new Error("delta opcode 0");
  }
  if (o !== out.length) throw new Error("delta result size mismatch");
  return out;
}

export class ObjectReader {
  private packs?: Pack[];
  /** Loose objects: id → the objects directory holding it. */
  private loose?: Map<string, string>;
  private dirs?: string[];
  /** Decoded pack entries by pack and offset (delta bases are shared by many objects). */
  private readonly byOffset = new Map<string, RawObject>();
  private cachedBytes = 0;
  /** Pack indexes that could not be read (path and why): what an unreadable object's message names. */
  readonly damaged: string[] = [];

  constructor(private readonly gitdir: string) {}

  close(): void {
    for (const p of this.packs ?? []) try { closeSync(p.fd); } catch {}
    this.packs = [];
  }

  /**
   * The objects directories: the repository's own, then those `objects/info/alternates` names (a
   * `git clone --shared` or `--reference` borrows its objects from another repository), each
   * line an absolute path or one relative to the directory that lists it, followed 5 deep as git does.
   */
  private objectDirs(): string[] {
    if (this.dirs) return this.dirs;
    const out: string[] = [];
    const add = (dir: string, depth: number) => {
      if (out.includes(dir)) return;
      out.push(dir);
      if (depth >= 5) return;
      let text = "";
      try { text = readFileSync(join(dir, "info", "alternates"), "utf8"); } catch { return; }
      for (const line of text.split("\n")) {
        const l = line.trim();
        if (l && !l.startsWith("#")) add(resolve(dir, l), depth + 1);
      }
    };
    add(join(this.gitdir, "objects"), 0);
    return (this.dirs = out);
  }

  private loadPacks(): Pack[] {
    if (this.packs) return this.packs;
    const packs: Pack[] = [];
    for (const objects of this.objectDirs()) {
      const dir = join(objects, "pack");
      let names: string[] = [];
      try { names = readdirSync(dir).filter((n) => n.endsWith(".idx")).sort(); } catch {}
      for (const n of names) {
        const idx = join(dir, n);
        try {
          const p = loadIndex(idx, join(dir, n.slice(0, -4) + ".pack"));
          if (p) packs.push(p); else this.damaged.push(`${idx} is truncated or not a version 2 pack index`);
        } catch (err) { this.damaged.push(`${idx} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`); }
      }
    }
    return (this.packs = packs);
  }

  private looseMap(): Map<string, string> {
    if (this.loose) return this.loose;
    const map = new Map<string, string>();
    for (const dir of this.objectDirs()) {
      let subs: string[] = [];
      try { subs = readdirSync(dir).filter((n) => /^[0-9a-f]{2}$/.test(n)); } catch {}
      for (const s of subs) { try { for (const n of readdirSync(join(dir, s))) if (n.length === 38 && !map.has(s + n)) map.set(s + n, dir); } catch {} }
    }
    return (this.loose = map);
  }

  /** The object with this id, checked against the id; undefined when not found or not readable here. */
  read(oid: string): RawObject | undefined {
    try {
      const dir = this.looseMap().get(oid);
      const obj = dir !== undefined ? this.readLoose(dir, oid) : this.readPacked(oid);
      return obj && verify(oid, obj) ? obj : undefined;
    } catch { return undefined; }
  }

  private readLoose(dir: string, oid: string): RawObject | undefined {
    const raw = inflate(readFileSync(join(dir, oid.slice(0, 2), oid.slice(2))));
    const nul = raw.indexOf(0);
    const [type, len] = latin1.decode(raw.subarray(0, nul)).split(" ");
    const data = new Uint8Array(raw.buffer, raw.byteOffset + nul + 1, raw.length - nul - 1);
    if (!TYPES.includes(type as never) || Number(len) !== data.length) return undefined;
    return { type: type as RawObject["type"], data };
  }

  private readPacked(oid: string): RawObject | undefined {
    const want = hexToBytes(oid);
    for (const p of this.loadPacks()) {
      const i = find(p, want);
      if (i >= 0) return this.entry(p, p.offsets[i]!, 0);
    }
    return undefined;
  }

  private entry(p: Pack, offset: number, depth: number): RawObject | undefined {
    if (depth > 64) return undefined;
    const key = `${p.fd}:${offset}`;
    const hit = this.byOffset.get(key);
    if (hit) return hit;
    const end = entryEnd(p, offset);
    if (!p.bytes && p.size <= WHOLE_PACK) {
      const all = Buffer.allocUnsafe(p.size);
      if (readSync(p.fd, all, 0, p.size, 0) === p.size) p.bytes = all;
    }
    let buf: Uint8Array;
    if (p.bytes) buf = p.bytes.subarray(offset, end);
    else {
      buf = new Uint8Array(end - offset);
      if (readSync(p.fd, buf, 0, buf.length, offset) !== buf.length) return undefined;
    }
    let i = 0;
    let c = buf[i++]!;
    const type = (c >> 4) & 7;
    while (c & 0x80) c = buf[i++]!;
    let obj: RawObject | undefined;
    if (type >= 1 && type <= 4) {
      obj = { type: TYPES[type] as RawObject["type"], data: inflate(buf.subarray(i)) };
    } else if (type === 6) {
      c = buf[i++]!;
      let rel = c & 0x7f;
      while (c & 0x80) { c = buf[i++]!; rel = (rel + 1) * 128 + (c & 0x7f); }
      const base = this.entry(p, offset - rel, depth + 1);
      if (!base) return undefined;
      obj = { type: base.type, data: applyDelta(base.data, inflate(buf.subarray(i))) };
    } else if (type === 7) {
      const baseOid = Array.from(buf.subarray(i, i + 20), (x) => x.toString(16).padStart(2, "0")).join("");
      const base = this.read(baseOid);
      if (!base) return undefined;
      obj = { type: base.type, data: applyDelta(base.data, inflate(buf.subarray(i + 20))) };
    }
    if (obj && obj.type !== "blob") {
      // Trees and commits are what walks read again and again; blobs are read once.
      if (this.cachedBytes > 64 << 20) { this.byOffset.clear(); this.cachedBytes = 0; }
      this.byOffset.set(key, obj);
      this.cachedBytes += obj.data.length;
    }
    return obj;
  }
}

/**
 * zlib-wrapped DEFLATE, as git stores objects (data after the stream's end is ignored). Bun's own
 * inflate rather than node:zlib: a static node:zlib import loads node:stream at every start of the
 * executable (about 10 ms), whatever the command.
 */
const inflate = (bytes: Uint8Array): Uint8Array => Bun.inflateSync(bytes as Uint8Array<ArrayBuffer>, { windowBits: 15 });

function verify(oid: string, o: RawObject): boolean {
  const h = new Bun.CryptoHasher("sha1");
  h.update(`${o.type} ${o.data.length}\0`);
  h.update(o.data);
  return h.digest("hex") === oid;
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
/** decoderOf's decoders by the label as written (a decode without `stream` keeps no state between calls). */
const decoders = new Map<string, TextDecoder>();
const MAX_DECODERS = 64;

/**
 * The decoder of a commit's `encoding` header (a WHATWG label: ISO-8859-1, Shift_JIS, KOI8-R…);
 * UTF-8 without one, and for a label TextDecoder does not know or a UTF-16 one (a commit's headers
 * are ASCII, so it cannot be UTF-16 whatever it says).
 */
function decoderOf(label: string | undefined): TextDecoder {
  if (!label) return utf8;
  let d = decoders.get(label);
  if (d) return d;
  try { d = new TextDecoder(label.trim() as ConstructorParameters<typeof TextDecoder>[0], { ignoreBOM: true }); } catch { d = utf8; }
  if (d.encoding.startsWith("utf-16")) d = utf8;
  // A repository uses a label or two; the bound only keeps one with many made-up labels from growing it.
  if (decoders.size < MAX_DECODERS) decoders.set(label, d);
  return d;
}

/**
 * An author or committer line, read as leniently as `git log` reads it: `Name <email> TIME ZONE`,
 * where a missing date is time 0 and a missing `<email>` is an empty e-mail (the name is then the
 * text before the date). Never undefined.
 */
function parsePerson(v: string): { name: string; email: string; timestamp: number } {
  const lt = v.indexOf("<");
  let name: string, email: string, rest: string;
  if (lt >= 0) {
    const gt = v.indexOf(">", lt);
    name = v.slice(0, lt).trim();
    email = gt >= 0 ? v.slice(lt + 1, gt) : v.slice(lt + 1).trim();
    rest = gt >= 0 ? v.slice(gt + 1) : "";
  } else {
    const m = /^(.*?)\s*((?:\d+)(?:\s+[+-]\d{4})?)?\s*$/s.exec(v)!;
    name = m[1]!.trim();
    email = "";
    rest = m[2] ?? "";
  }
  const t = /^\s*(\d+)/.exec(rest);
  // Past what a number holds exactly, the latest time there is (shown as the nearest date, isoTime), not 1970.
  const timestamp = t ? Number(t[1]) : 0;
  return { name, email, timestamp: Number.isSafeInteger(timestamp) ? timestamp : Number.MAX_SAFE_INTEGER };
}

/**
 * A commit object's fields (headers until the blank line; continuation lines of gpgsig and the like
 * skipped). Author, committer and message are decoded with the commit's `encoding` header, as git
 * log re-encodes them (UTF-8 without one). Lenient like git: a person line without a date or an
 * e-mail still reads (parsePerson); only a commit without a tree id is unreadable (undefined).
 */
export type ParsedCommit = { tree: string; parent: string[]; author: { name: string; email: string; timestamp: number }; committer: { timestamp: number }; message: string };
export function parseCommit(data: Uint8Array): ParsedCommit | undefined {
  const b = Buffer.from(data.buffer, data.byteOffset, data.length);
  const cut = b.indexOf("\n\n");
  const head = cut < 0 ? b : b.subarray(0, cut);
  // Header lines as bytes: their keys are ASCII, their values decoded once the encoding is known.
  const lines: [string, Buffer][] = [];
  for (let at = 0; at < head.length; ) {
    let nl = head.indexOf(0x0a, at);
    if (nl < 0) nl = head.length;
    const line = head.subarray(at, nl);
    at = nl + 1;
    if (line[0] === 0x20) continue;
    const sp = line.indexOf(0x20);
    lines.push(sp < 0 ? [line.toString("latin1"), Buffer.alloc(0)] : [line.toString("latin1", 0, sp), line.subarray(sp + 1)]);
  }
  const dec = decoderOf(lines.find(([k]) => k === "encoding")?.[1].toString("latin1"));
  let tree = "";
  const parents: string[] = [];
  let author: ParsedCommit["author"] | undefined;
  let committer: ParsedCommit["author"] | undefined;
  for (const [k, v] of lines) {
    if (k === "tree") tree = v.toString("latin1").trim();
    else if (k === "parent") parents.push(v.toString("latin1").trim());
    else if (k === "author") author ??= parsePerson(dec.decode(v));
    else if (k === "committer") committer ??= parsePerson(dec.decode(v));
  }
  if (!/^[0-9a-f]{40}$/.test(tree) || !parents.every((p) => /^[0-9a-f]{40}$/.test(p))) return undefined;
  const message = cut < 0 ? "" : dec.decode(b.subarray(cut + 2));
  const who = author ?? committer ?? { name: "", email: "", timestamp: 0 };
  return { tree, parent: parents, author: who, committer: { timestamp: (committer ?? who).timestamp }, message };
}

/** A tree object's entries (mode, name, id, type); Buffer's native decoding, no copies per entry. */
export function parseTree(data: Uint8Array): { mode: string; path: string; oid: string; type: "blob" | "tree" | "commit" }[] | undefined {
  const b = Buffer.from(data.buffer, data.byteOffset, data.length);
  const out: { mode: string; path: string; oid: string; type: "blob" | "tree" | "commit" }[] = [];
  let i = 0;
  while (i < b.length) {
    const sp = b.indexOf(0x20, i);
    const nul = sp < 0 ? -1 : b.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > b.length) return undefined;
    const mode = b.toString("latin1", i, sp);
    const type = mode === "40000" ? "tree" : mode === "160000" ? "commit" : "blob";
    out.push({ mode: mode.padStart(6, "0"), path: entryName(b, sp + 1, nul), oid: b.toString("hex", nul + 1, nul + 21), type });
    i = nul + 21;
  }
  return out;
}

/** One name's entry in a tree object, found without decoding the others (undefined: absent; null: not a tree object). */
export function findInTree(data: Uint8Array, name: string): { oid: string; type: "blob" | "tree" | "commit" } | undefined | null {
  const b = Buffer.from(data.buffer, data.byteOffset, data.length);
  const want = nameBytes(name);
  let i = 0;
  while (i < b.length) {
    const sp = b.indexOf(0x20, i);
    const nul = sp < 0 ? -1 : b.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > b.length) return null;
    if (nul - sp - 1 === want.length && b.compare(want, 0, want.length, sp + 1, nul) === 0) {
      const mode = b.toString("latin1", i, sp);
      return { oid: b.toString("hex", nul + 1, nul + 21), type: mode === "40000" ? "tree" : mode === "160000" ? "commit" : "blob" };
    }
    i = nul + 21;
  }
  return undefined;
}

type Side = { oid: string; type: "blob" | "tree" | "commit" };

/** Entry positions of a tree object: [entry start, space, NUL] per entry, or null when it is not a tree object. */
function spans(b: Buffer): Int32Array | null {
  const out: number[] = [];
  let i = 0;
  while (i < b.length) {
    const sp = b.indexOf(0x20, i);
    const nul = sp < 0 ? -1 : b.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > b.length) return null;
    out.push(i, sp, nul);
    i = nul + 21;
  }
  return Int32Array.from(out);
}

const isTreeMode = (b: Buffer, start: number, sp: number) => sp - start === 5 && b[start] === 0x34 && b[start + 1] === 0x30;

/** Git's tree order: names compared bytewise, a tree's name as if followed by "/". */
function order(a: Buffer, as: number, ae: number, aTree: boolean, b: Buffer, bs: number, be: number, bTree: boolean): number {
  const la = ae - as, lb = be - bs, n = Math.min(la, lb);
  const c = a.compare(b, bs, bs + n, as, as + n);
  if (c !== 0) return c;
  const ca = la > n ? a[as + n]! : aTree ? 0x2f : 0;
  const cb = lb > n ? b[bs + n]! : bTree ? 0x2f : 0;
  return ca - cb;
}

/**
 * The entries of two tree objects that differ (by name, id or mode), in tree order, decoding only
 * those: a merge walk over both (identical entries, the usual case, are compared as bytes). Null
 * when either is not a well-formed tree object (the caller then parses them the slow way).
 */
export function diffTrees(x: Uint8Array, y: Uint8Array): { name: string; before?: Side; after?: Side }[] | null {
  const a = Buffer.from(x.buffer, x.byteOffset, x.length), b = Buffer.from(y.buffer, y.byteOffset, y.length);
  const sa = spans(a), sb = spans(b);
  if (!sa || !sb) return null;
  const side = (buf: Buffer, s: number, sp: number, nul: number): Side => {
    const tree = isTreeMode(buf, s, sp);
    const commit = !tree && sp - s === 6 && buf.toString("latin1", s, sp) === "160000";
    return { oid: buf.toString("hex", nul + 1, nul + 21), type: tree ? "tree" : commit ? "commit" : "blob" };
  };
  const out: { name: string; before?: Side; after?: Side }[] = [];
  let i = 0, j = 0;
  while (i < sa.length || j < sb.length) {
    if (i < sa.length && j < sb.length) {
      const [as, asp, anul] = [sa[i]!, sa[i + 1]!, sa[i + 2]!];
      const [bs, bsp, bnul] = [sb[j]!, sb[j + 1]!, sb[j + 2]!];
      const alen = anul + 21 - as;
      if (alen === bnul + 21 - bs && a.compare(b, bs, bnul + 21, as, anul + 21) === 0) { i += 3; j += 3; continue; }
      const c = order(a, asp + 1, anul, isTreeMode(a, as, asp), b, bsp + 1, bnul, isTreeMode(b, bs, bsp));
      if (c === 0) { out.push({ name: entryName(a, asp + 1, anul), before: side(a, as, asp, anul), after: side(b, bs, bsp, bnul) }); i += 3; j += 3; }
      else if (c < 0) { out.push({ name: entryName(a, asp + 1, anul), before: side(a, as, asp, anul) }); i += 3; }
      else { out.push({ name: entryName(b, bsp + 1, bnul), after: side(b, bs, bsp, bnul) }); j += 3; }
    } else if (i < sa.length) {
      out.push({ name: entryName(a, sa[i + 1]! + 1, sa[i + 2]!), before: side(a, sa[i]!, sa[i + 1]!, sa[i + 2]!) }); i += 3;
    } else {
      out.push({ name: entryName(b, sb[j + 1]! + 1, sb[j + 2]!), after: side(b, sb[j]!, sb[j + 1]!, sb[j + 2]!) }); j += 3;
    }
  }
  return out;
}
