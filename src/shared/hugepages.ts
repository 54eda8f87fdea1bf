/**
 * Transparent huge pages for the runtime's heap (Linux only), asked for by short commands.
 *
 * A read command is a fresh process, and much of its cost is memory it touches for the first time:
 * its JavaScript heap grows by tens of MiB, and every 4 KiB page of that is a page fault. Where
 * faults are expensive they dominate: on a virtual machine with shadow page tables one fault took
 * 20 µs, so a query's 5,000 faults were most of its time, while a 2 MiB huge page cost about 0.3 µs
 * per 4 KiB. With `transparent_hugepage` set to `madvise` (a common default) the kernel maps huge
 * pages only in regions that ask, so a command asks with madvise(MADV_HUGEPAGE) for the large
 * anonymous regions the runtime reserves for its heap (found in /proc/self/maps). Faults there
 * then map 2 MiB at once; nothing else changes, and when the kernel has no huge page at hand it
 * maps ordinary pages as before.
 *
 * It is for short lives and large heaps only. A huge page holds memory the heap does not use (a
 * read's peak RSS grows by 10-30 MiB), and a run that allocates and frees a lot (a fresh ingest)
 * got slower with it: the allocator hands memory back in small pieces, which splits huge pages.
 * So the CLI asks for them in its read commands over runs of many files, and in an ingest with a
 * previous run; an ingest that turns out to build many shards asks for ordinary pages again
 * (setHugePages(false)) before it builds them.
 *
 * `AUDITGRAPH_HUGEPAGES=0` turns this off; `=1` asks in every read command, whatever the run's
 * size (but a whole export and a walk of two edges or more, see withIndex). With
 * `AUDITGRAPH_DEBUG=1` the advice given is reported on stderr. Any failure (no C library to call,
 * another platform) is silent: this is only ever a speed-up.
 */
import { readFileSync, writeSync } from "node:fs";

const MADV_HUGEPAGE = 14;
const MADV_NOHUGEPAGE = 15;
/**
 * The runtime's heap reservation: an anonymous read-write mapping of 1 GiB here. The 4 GiB one
 * beside it is left alone: advised too, it changed neither the faults nor the time of a query.
 */
const MIN_REGION = 256n << 20n;
const MAX_REGION = 2n << 30n;
const REGION = /^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0\s*$/;
/** The C library's file name, glibc then musl. */
const LIBC = ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`];

type Madvise = (addr: bigint, length: bigint, advice: number) => number;
let madvise: Madvise | null | undefined;

function load(): Madvise | null {
  const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
  for (const name of LIBC) {
    try {
      const lib = dlopen(name, { madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 } });
      return lib.symbols.madvise as unknown as Madvise;
    } catch {}
  }
  return null;
}

/** The heap regions: large anonymous read-write mappings. */
function regions(): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const m = REGION.exec(line);
    if (!m) continue;
    const start = BigInt(`0x${m[1]}`), length = BigInt(`0x${m[2]}`) - start;
    if (length >= MIN_REGION && length <= MAX_REGION) out.push([start, length]);
  }
  return out;
}

/** `AUDITGRAPH_HUGEPAGES`: "off" (0), "always" (1: whatever the run's size), else "auto". */
export function hugePagesSetting(): "off" | "always" | "auto" {
  const env = process.env.AUDITGRAPH_HUGEPAGES;
  return env === "0" ? "off" : env === "1" ? "always" : "auto";
}

/** Whether this process may ask: Linux, THP in `madvise` mode. */
function applies(): boolean {
  if (process.platform !== "linux") return false;
  try { return readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8").includes("[madvise]"); } catch { return false; }
}

/**
 * Asks for huge pages in the heap's regions (on), or for ordinary pages again (off: only after an
 * earlier on). Returns whether the advice was given.
 */
export function setHugePages(on: boolean): boolean {
  if (hugePagesSetting() === "off" || (!on && !madvise)) return false;
  let given = 0;
  try {
    if (madvise === undefined) madvise = applies() ? load() : null;
    if (madvise) for (const [start, length] of regions()) if (madvise(start, length, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) === 0) given++;
  } catch {}
  if (process.env.AUDITGRAPH_DEBUG === "1") {
    try { writeSync(2, `auditgraph: ${on ? "huge" : "ordinary"} pages asked for in ${given} heap region(s)\n`); } catch {}
  }
  return given > 0;
}
