import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DiskBlobStore } from "../../../src/release-server/blobs/store.ts";
import { ServiceError } from "../../../src/release-server/domain/errors.ts";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { chunks, tempDir } from "./fixtures.ts";

const kindOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return err instanceof ServiceError ? err.kind : `untyped: ${String(err)}`;
  }
  return "no error";
};

describe("DiskBlobStore", () => {
  test("streams into sha256/ab/cd/<hex>, byte-exact, and leaves staging empty", async () => {
    using tmp = tempDir();
    const store = new DiskBlobStore(tmp.dir);
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const got = await store.put(chunks("head:", big, ":tail"), { maxBytes: 10 * 1024 * 1024 });
    const expected = sha256Hex(Buffer.concat([Buffer.from("head:"), big, Buffer.from(":tail")]));
    expect(got).toEqual({ sha256: expected, size: big.length + 10, existed: false });
    const path = join(tmp.dir, "blobs", "sha256", expected.slice(0, 2), expected.slice(2, 4), expected);
    expect(store.path(expected)).toBe(path);
    expect(sha256Hex(readFileSync(path))).toBe(expected);
    expect(readdirSync(store.stagingDir)).toEqual([]);
    expect([...store.list()].map((b) => b.sha256)).toEqual([expected]);
  });

  test("identical bytes are stored once (dedup), whatever the chunking", async () => {
    using tmp = tempDir();
    const store = new DiskBlobStore(tmp.dir);
    const a = await store.put(chunks("hello ", "world"), { maxBytes: 100 });
    const b = await store.put(chunks("hel", "lo wor", "ld"), { maxBytes: 100 });
    expect(b).toEqual({ ...a, existed: true });
    expect([...store.list()]).toHaveLength(1);
    expect(readdirSync(store.stagingDir)).toEqual([]);
  });

  test("a ReadableStream body works too", async () => {
    using tmp = tempDir();
    const store = new DiskBlobStore(tmp.dir);
    const got = await store.put(new Blob(["abc"]).stream(), { maxBytes: 3 });
    expect(got.sha256).toBe(sha256Hex("abc"));
  });

  test("the size cap is enforced as bytes arrive; nothing is left behind", async () => {
    using tmp = tempDir();
    const store = new DiskBlobStore(tmp.dir);
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        yield new Uint8Array(1024);
      }
    }
    expect(await kindOf(store.put(endless(), { maxBytes: 10_000 }))).toBe("too_large");
    expect(pulled).toBe(10); // stopped at the chunk that crossed the limit
    expect(readdirSync(store.stagingDir)).toEqual([]);
    expect([...store.list()]).toEqual([]);
  });

  test("a declared digest that does not match is refused and nothing is stored", async () => {
    using tmp = tempDir();
    const store = new DiskBlobStore(tmp.dir);
    expect(await kindOf(store.put(chunks("abc"), { maxBytes: 100, expectedSha256: sha256Hex("abd") }))).toBe("digest_mismatch");
    expect(await kindOf(store.put(chunks("abc"), { maxBytes: 100, expectedSha256: "nothex" }))).toBe("invalid");
    expect(readdirSync(store.stagingDir)).toEqual([]);
    expect([...store.list()]).toEqual([]);
    const ok = await store.put(chunks("abc"), { maxBytes: 100, expectedSha256: sha256Hex("abc") });
    expect(ok.sha256).toBe(sha256Hex("abc"));
  });

  test("an upload whose stream fails is Aborted and leaves no staged file or blob", async () => {
    using tmp = tempDir();
    const store = new DiskBlobStore(tmp.dir);
    async function* dropping() {
      yield new Uint8Array(5000);
      throw new DOMException("The connection was closed.", "AbortError");
    }
    expect(await kindOf(store.put(dropping(), { maxBytes: 1e6 }))).toBe("aborted");
    expect(readdirSync(store.stagingDir)).toEqual([]);
    expect([...store.list()]).toEqual([]);
  });

  test("staging sweep removes files of dead processes and old files, keeps live uploads", () => {
    using tmp = tempDir();
    const store = new DiskBlobStore(tmp.dir);
    const dead = Bun.spawnSync(["true"]).pid; // exited, so its pid is (almost surely) unused
    writeFileSync(join(store.stagingDir, `${dead}-aaaa`), "partial");
    writeFileSync(join(store.stagingDir, `${process.pid}-live`), "in flight");
    writeFileSync(join(store.stagingDir, `${process.pid}-old`), "stuck");
    const old = new Date(Date.now() - 48 * 3600_000);
    utimesSync(join(store.stagingDir, `${process.pid}-old`), old, old);
    writeFileSync(join(store.stagingDir, "junk"), "not ours");
    const gone = store.sweepStaging(Date.now(), 24 * 3600_000).map((f) => f.name).sort();
    expect(gone).toEqual([`${dead}-aaaa`, `${process.pid}-old`, "junk"].sort());
    expect(readdirSync(store.stagingDir)).toEqual([`${process.pid}-live`]);
  });

  test("delete and size; paths refuse anything but a sha256", async () => {
    using tmp = tempDir();
    const store = new DiskBlobStore(tmp.dir);
    const { sha256 } = await store.put(chunks("xyz"), { maxBytes: 10 });
    expect(store.size(sha256)).toBe(3);
    expect(store.withSource(sha256, (src) => [src.size, src.read(1, 10)])).toEqual([3, new TextEncoder().encode("yz")]);
    expect(store.delete(sha256)).toBe(true);
    expect(store.delete(sha256)).toBe(false);
    expect(store.has(sha256)).toBe(false);
    expect(existsSync(store.path(sha256))).toBe(false);
    expect(() => store.path("../../etc/passwd")).toThrow("invalid sha256");
  });
});
