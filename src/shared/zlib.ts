/**
 * node:zlib, loaded where it is used: a static import would load node:stream at every start of the
 * executable (about 5-10 ms), whatever the command (docs/architecture.md, "Start-up"). Bun's own
 * inflate has no output bound and its zstd takes no dictionary, hence node:zlib for those.
 */
import type * as Zlib from "node:zlib";

export const zlib = (): typeof Zlib => process.getBuiltinModule("node:zlib");

/** What inflateRawBounded returns when the output would pass its bound. */
export const TOO_LARGE = Symbol("too large");

/**
 * Raw DEFLATE data inflated to at most `max` bytes, or TOO_LARGE as soon as the output would pass
 * it (the inflate stops there: memory stays within the bound whatever the data says). `partial`
 * takes a stream that ends early for the bytes it has (as a PDF reader does) instead of an error.
 * Data that is not DEFLATE throws zlib's error.
 */
export function inflateRawBounded(data: Uint8Array, max: number, opts: { partial?: boolean } = {}): Uint8Array | typeof TOO_LARGE {
  const z = zlib();
  let out: Uint8Array;
  try {
    // maxOutputLength needs at least 1; a one-byte output past a bound of 0 is caught below.
    out = z.inflateRawSync(data, { maxOutputLength: Math.max(1, max), ...(opts.partial ? { finishFlush: z.constants.Z_SYNC_FLUSH } : {}) });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return TOO_LARGE;
    throw err;
  }
  return out.length > max ? TOO_LARGE : out;
}
