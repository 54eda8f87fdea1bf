/**
 * Unsigned LEB128 varints for postings: a growable writer and a reader over a byte array.
 * Values are non-negative integers below 2^53.
 */
export class VarintWriter {
  private buf: Uint8Array;
  length = 0;
  constructor(capacity = 256) { this.buf = new Uint8Array(capacity); }

  push(v: number): void {
    if (this.length + 8 > this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  /** Appends bytes already encoded: `from[start..end)`. */
  append(from: Uint8Array, start = 0, end = from.length): void {
    const n = end - start;
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n + 8));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    // Most runs are a few bytes: a loop costs less than a view to copy them from.
    if (n < 64) for (let i = start; i < end; i++) this.buf[this.length++] = from[i]!;
    else { this.buf.set(from.subarray(start, end), this.length); this.length += n; }
  }

  bytes(): Uint8Array { return this.buf.slice(0, this.length); }
}

/** The weight of a varint's eighth byte: a value below 2^53 needs no more (7 bits a byte). */
const MAX_MUL = 0x80 ** 7;

export class VarintReader {
  at = 0;
  constructor(private readonly buf: Uint8Array) {}
  get done(): boolean { return this.at >= this.buf.length; }
  next(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.at >= this.buf.length) throw new RangeError("truncated varint");
      const b = this.buf[this.at++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) throw new RangeError("varint too large");
        return v;
      }
      // A ninth byte is past any value below 2^53 (and some 150 of them made NaN, which no
      // comparison refuses).
      if ((mul *= 0x80) > MAX_MUL) throw new RangeError("varint too long");
    }
  }
}
