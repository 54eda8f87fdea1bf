// Varints of postings and spans: every value below 2^53 reads back as written; a varint cut short,
// longer than eight bytes, or above 2^53 is an error (a reader turns it into exit 5), never a
// number: some 150 continuation bytes made NaN, which no check of order or range refused.
import { expect, test } from "bun:test";
import { VarintReader, VarintWriter } from "./varint.ts";

test("values below 2^53 read back, at most eight bytes each", () => {
  const values = [0, 1, 127, 128, 300, 2 ** 21, 2 ** 32 + 5, 2 ** 49, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER];
  const w = new VarintWriter(4);
  for (const v of values) w.push(v);
  const bytes = w.bytes();
  const r = new VarintReader(bytes);
  expect(values.map(() => r.next())).toEqual(values);
  expect(r.done).toBe(true);
  const one = new VarintWriter();
  one.push(Number.MAX_SAFE_INTEGER);
  expect(one.bytes().length).toBe(8);
});

test.each([
  ["cut short", [0x80, 0x80]],
  ["nine bytes", [...Array(8).fill(0x80), 0x01]],
  ["151 bytes (NaN)", [...Array(150).fill(0x80), 0x00]],
  ["eight bytes above 2^53", [...Array(7).fill(0xff), 0x7f]],
  ["of exactly 2^53", [...Array(7).fill(0x80), 0x10]],
])("a varint %s is a RangeError", (_name, bytes) => {
  expect(() => new VarintReader(new Uint8Array(bytes)).next()).toThrow(RangeError);
});
