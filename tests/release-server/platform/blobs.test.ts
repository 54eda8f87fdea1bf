import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DiskBlobStore, INLINE_HASH_MAX, sized } from "../../../src/release-server/blobs/store.ts";
import { ServiceError } from "../../../src/release-server/domain/errors.ts";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { blobStoreContract } from "./blobs.contract.ts";
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

  describe("bodies of declared length (written natively) and large streams (hashed on the worker)", () => {
    const big = (n: number, seed: number) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 12)) & 255;
      return b;
    };

    test("a sized Blob is stored byte-exact under its digest, small (hashed inline) and large (worker)", async () => {
      using tmp = tempDir();
      const store = new DiskBlobStore(tmp.dir);
      for (const n of [0, 5, INLINE_HASH_MAX, INLINE_HASH_MAX + 1, 3 * INLINE_HASH_MAX + 12345]) {
        const bytes = big(n, 1);
        const got = await store.put(sized(new Blob([bytes]), n), { maxBytes: 1e9 });
        expect(got).toEqual({ sha256: sha256Hex(bytes), size: n, existed: false });
        expect(sha256Hex(readFileSync(store.path(got.sha256)))).toBe(got.sha256);
      }
      // A file on disk (Bun.write copies it in the kernel) is hashed from the staged copy all the same.
      const src = join(tmp.dir, "src.bin");
      const bytes = big(2 * INLINE_HASH_MAX + 1, 2);
      writeFileSync(src, bytes);
      expect((await store.put(sized(Bun.file(src), bytes.length), { maxBytes: 1e9 })).sha256).toBe(sha256Hex(bytes));
      expect(readdirSync(store.stagingDir)).toEqual([]);
    });

    test("a request whose whole body is already in memory (Bun sizes the staged file before filling it) gets the right digest", async () => {
      using tmp = tempDir();
      const store = new DiskBlobStore(tmp.dir);
      for (let i = 0; i < 5; i++) {
        const bytes = big(2 * INLINE_HASH_MAX + i, 10 + i);
        const req = new Request("http://localhost/upload", { method: "POST", body: bytes });
        expect((await store.put(sized(req, bytes.length), { maxBytes: 1e9 })).sha256).toBe(sha256Hex(bytes));
      }
    });

    test("a declared length over the cap is refused before anything is staged", async () => {
      using tmp = tempDir();
      const store = new DiskBlobStore(tmp.dir);
      expect(await kindOf(store.put(sized(new Blob(["x".repeat(11)]), 11), { maxBytes: 10 }))).toBe("too_large");
      expect(await kindOf(store.put(sized(new Blob(["x"]), -1), { maxBytes: 10 }))).toBe("invalid");
      expect(readdirSync(store.stagingDir)).toEqual([]);
      expect([...store.list()]).toEqual([]);
    });

    test("a body whose length differs from the declared one is Aborted; nothing stored", async () => {
      using tmp = tempDir();
      const store = new DiskBlobStore(tmp.dir);
      expect(await kindOf(store.put(sized(new Blob(["short"]), 10), { maxBytes: 100 }))).toBe("aborted");
      expect(await kindOf(store.put(sized(new Blob(["longer than said"]), 5), { maxBytes: 100 }))).toBe("aborted");
      expect(readdirSync(store.stagingDir)).toEqual([]);
      expect([...store.list()]).toEqual([]);
    });

    test("a large stream in odd chunks gets the right digest; a declared digest that differs stores nothing", async () => {
      using tmp = tempDir();
      const store = new DiskBlobStore(tmp.dir);
      const bytes = big(3 * INLINE_HASH_MAX + 777, 3);
      const pieces = (function* () {
        for (let off = 0; off < bytes.length; off += 65_537) yield bytes.subarray(off, off + 65_537);
      })();
      const wrong = sha256Hex(bytes.subarray(1));
      expect(await kindOf(store.put(chunks(...pieces), { maxBytes: 1e9, expectedSha256: wrong }))).toBe("digest_mismatch");
      expect([...store.list()]).toEqual([]);
      const got = await store.put(chunks(bytes.subarray(0, 1000), bytes.subarray(1000)), { maxBytes: 1e9, expectedSha256: sha256Hex(bytes) });
      expect(got).toEqual({ sha256: sha256Hex(bytes), size: bytes.length, existed: false });
      const again = await store.put(sized(new Blob([bytes]), bytes.length), { maxBytes: 1e9 });
      expect(again).toEqual({ ...got, existed: true });
      expect([...store.list()]).toHaveLength(1);
      expect(readdirSync(store.stagingDir)).toEqual([]);
    });

    test("a large stream cut off by the cap or failing after the hash worker started leaves nothing behind", async () => {
      using tmp = tempDir();
      const store = new DiskBlobStore(tmp.dir);
      async function* endless() {
        for (;;) yield new Uint8Array(1 << 20).fill(7);
      }
      expect(await kindOf(store.put(endless(), { maxBytes: 3 * INLINE_HASH_MAX }))).toBe("too_large");
      async function* dropping() {
        for (let i = 0; i < 2 * (INLINE_HASH_MAX >> 20); i++) yield new Uint8Array(1 << 20).fill(i);
        throw new DOMException("The connection was closed.", "AbortError");
      }
      expect(await kindOf(store.put(dropping(), { maxBytes: 1e9 }))).toBe("aborted");
      expect(readdirSync(store.stagingDir)).toEqual([]);
      expect([...store.list()]).toEqual([]);
    });
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

{
  let tmp: { dir: string; [Symbol.dispose](): void } | undefined;
  let store: DiskBlobStore | undefined;
  const disk = () => store!;
  afterAll(() => tmp?.[Symbol.dispose]());
  blobStoreContract("disk", {
    store: disk,
    reset: async () => {
      tmp?.[Symbol.dispose]();
      tmp = tempDir();
      store = new DiskBlobStore(tmp.dir);
    },
    leftovers: async () => readdirSync(disk().stagingDir),
    crashLeftover: async () => {
      const dead = Bun.spawnSync(["true"]).pid;
      writeFileSync(join(disk().stagingDir, `${dead}-crashed`), "partial");
    },
    largeSize: 3 * INLINE_HASH_MAX + 777,
  });
}
