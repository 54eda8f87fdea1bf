/**
 * The BlobStore contract (src/release-server/blobs/types.ts), run against every implementation:
 * blobs.test.ts (disk) and blobs-s3.test.ts (S3 on a real radosgw). What an implementation must
 * supply besides the store: `leftovers()` (everything an upload in flight or a refused one could
 * have left: staged files, staging objects, open multipart uploads), `crashLeftover()` (what a
 * killed process leaves), and `largeSize` (a body size past the store's special paths: the hash
 * worker on disk, several multipart parts on S3).
 */
import { describe, expect, test } from "bun:test";
import { sized, type BlobInfo, type BlobStore } from "../../../src/release-server/blobs/types.ts";
import { detectArtifact } from "../../../src/release-server/domain/detect.ts";
import { ServiceError } from "../../../src/release-server/domain/errors.ts";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { chunks } from "./fixtures.ts";

export interface ContractSubject {
  store: () => BlobStore;
  /** Leftovers of uploads (names), which must be empty after every refused or finished upload. */
  leftovers: () => Promise<string[]>;
  /** Leaves what a process killed mid-upload would leave; the sweep must remove it. */
  crashLeftover: () => Promise<void>;
  /** A size that takes the store's large-body path (and should stay small for the test server). */
  largeSize: number;
  /** Removes every blob, so that each test starts empty. */
  reset: () => Promise<void>;
}

export const kindOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return err instanceof ServiceError ? err.kind : `untyped: ${String(err)}`;
  }
  return "no error";
};

export const bytesOf = (n: number, seed: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 12)) & 255;
  return b;
};

const all = async (store: BlobStore): Promise<BlobInfo[]> => {
  const out: BlobInfo[] = [];
  for await (const b of store.entries()) out.push(b);
  return out;
};

const read = async (body: Blob | ReadableStream<Uint8Array>) => new Uint8Array(await new Response(body).arrayBuffer());

function* pieces(bytes: Uint8Array, size: number) {
  for (let off = 0; off < bytes.length; off += size) yield bytes.subarray(off, off + size);
}

export function blobStoreContract(name: string, subject: ContractSubject) {
  describe(`BlobStore contract: ${name}`, () => {
    const fresh = async () => {
      await subject.reset();
      return subject.store();
    };
    const nothingLeft = async (store: BlobStore) => {
      expect(await all(store)).toEqual([]);
      expect(await subject.leftovers()).toEqual([]);
    };

    test("a small stream is stored under its digest, byte-exact; stat, entries, body and ranges agree", async () => {
      const store = await fresh();
      const got = await store.put(chunks("hello ", "world"), { maxBytes: 100 });
      expect(got).toEqual({ sha256: sha256Hex("hello world"), size: 11, existed: false });
      expect(new TextDecoder().decode(await read(store.body(got.sha256)))).toBe("hello world");
      expect(new TextDecoder().decode(await read(store.body(got.sha256, { start: 6, end: 10 })))).toBe("world");
      const st = await store.stat(got.sha256);
      expect(st?.size).toBe(11);
      expect(Math.abs(st!.mtimeMs - Date.now())).toBeLessThan(120_000);
      expect((await all(store)).map((b) => [b.sha256, b.size])).toEqual([[got.sha256, 11]]);
      expect(await subject.leftovers()).toEqual([]);
      expect(await store.check()).toBeUndefined();
    });

    test("a large stream in odd chunks (past the store's large-body path) is byte-exact", async () => {
      const store = await fresh();
      const bytes = bytesOf(subject.largeSize, 3);
      const got = await store.put(chunks(...pieces(bytes, 65_537)), { maxBytes: 10 * subject.largeSize });
      expect(got).toEqual({ sha256: sha256Hex(bytes), size: bytes.length, existed: false });
      expect(sha256Hex(await read(store.body(got.sha256)))).toBe(got.sha256);
      expect(await read(store.body(got.sha256, { start: bytes.length - 10, end: bytes.length - 1 }))).toEqual(bytes.subarray(bytes.length - 10));
      expect(await subject.leftovers()).toEqual([]);
    });

    test("sized bodies (a Blob, a Request) and a ReadableStream, small and large", async () => {
      const store = await fresh();
      for (const n of [0, 5, subject.largeSize + 1]) {
        const bytes = bytesOf(n, 1);
        expect(await store.put(sized(new Blob([bytes]), n), { maxBytes: 1e9 })).toEqual({ sha256: sha256Hex(bytes), size: n, existed: false });
      }
      const bytes = bytesOf(1000, 9);
      const req = new Request("http://localhost/upload", { method: "POST", body: bytes });
      expect((await store.put(sized(req, bytes.length), { maxBytes: 1e9 })).sha256).toBe(sha256Hex(bytes));
      expect((await store.put(new Blob(["abc"]).stream(), { maxBytes: 3 })).sha256).toBe(sha256Hex("abc"));
      expect(await all(store)).toHaveLength(5);
      expect(await subject.leftovers()).toEqual([]);
    });

    test("identical bytes are stored once, whatever the chunking or the declared digest; the grace period restarts", async () => {
      const store = await fresh();
      const a = await store.put(chunks("hello ", "world"), { maxBytes: 100 });
      const before = (await store.stat(a.sha256))!.mtimeMs;
      await Bun.sleep(1100); // S3 times have one-second resolution
      const b = await store.put(chunks("hel", "lo wor", "ld"), { maxBytes: 100 });
      expect(b).toEqual({ ...a, existed: true });
      const c = await store.put(sized(new Blob(["hello world"]), 11), { maxBytes: 100, expectedSha256: a.sha256 });
      expect(c).toEqual({ ...a, existed: true });
      expect((await store.stat(a.sha256))!.mtimeMs).toBeGreaterThan(before);
      expect(await all(store)).toHaveLength(1);
      const bytes = bytesOf(subject.largeSize, 4);
      const big = await store.put(chunks(...pieces(bytes, 100_000)), { maxBytes: 1e9 });
      expect(await store.put(chunks(...pieces(bytes, 77_777)), { maxBytes: 1e9, expectedSha256: big.sha256 })).toEqual({ ...big, existed: true });
      expect(await all(store)).toHaveLength(2);
      expect(await subject.leftovers()).toEqual([]);
    });

    test("the cap: a sized body over it is refused before anything is written; a stream is cut off at the chunk that crosses it", async () => {
      const store = await fresh();
      expect(await kindOf(store.put(sized(new Blob(["x".repeat(11)]), 11), { maxBytes: 10 }))).toBe("too_large");
      expect(await kindOf(store.put(sized(new Blob(["x"]), -1), { maxBytes: 10 }))).toBe("invalid");
      let pulled = 0;
      async function* endless() {
        for (;;) {
          pulled++;
          yield new Uint8Array(1024);
        }
      }
      expect(await kindOf(store.put(endless(), { maxBytes: 10_000 }))).toBe("too_large");
      expect(pulled).toBe(10);
      await nothingLeft(store);
    });

    test("the cap crossed after several large-body parts were written: too_large, and nothing of it stays (no open multipart upload)", async () => {
      const store = await fresh();
      async function* endless() {
        for (let i = 0; ; i++) yield new Uint8Array(1 << 20).fill(i & 255);
      }
      expect(await kindOf(store.put(endless(), { maxBytes: 2 * subject.largeSize }))).toBe("too_large");
      await nothingLeft(store);
    });

    test("a declared digest that does not match is refused, small and large; nothing visible, nothing left open", async () => {
      const store = await fresh();
      expect(await kindOf(store.put(chunks("abc"), { maxBytes: 100, expectedSha256: sha256Hex("abd") }))).toBe("digest_mismatch");
      expect(await kindOf(store.put(chunks("abc"), { maxBytes: 100, expectedSha256: "nothex" }))).toBe("invalid");
      const bytes = bytesOf(subject.largeSize, 5);
      const wrong = sha256Hex(bytes.subarray(1));
      expect(await kindOf(store.put(chunks(...pieces(bytes, 65_537)), { maxBytes: 1e9, expectedSha256: wrong }))).toBe("digest_mismatch");
      expect(await kindOf(store.put(sized(new Blob([bytes]), bytes.length), { maxBytes: 1e9, expectedSha256: wrong }))).toBe("digest_mismatch");
      await nothingLeft(store);
      expect(await store.stat(wrong)).toBeUndefined();
      const ok = await store.put(chunks("abc"), { maxBytes: 100, expectedSha256: sha256Hex("abc") });
      expect(ok).toEqual({ sha256: sha256Hex("abc"), size: 3, existed: false });
      // A mismatch against a digest that is already stored leaves the stored blob as it was.
      expect(await kindOf(store.put(chunks("abd"), { maxBytes: 100, expectedSha256: ok.sha256 }))).toBe("digest_mismatch");
      expect(new TextDecoder().decode(await read(store.body(ok.sha256)))).toBe("abc");
    });

    test("a stream that fails (small, and after large-body parts were sent) or a body shorter or longer than declared is Aborted; nothing stays", async () => {
      const store = await fresh();
      async function* dropping(n: number) {
        for (let i = 0; i < n; i++) yield new Uint8Array(1 << 20).fill(i);
        yield new Uint8Array(5000);
        throw new DOMException("The connection was closed.", "AbortError");
      }
      expect(await kindOf(store.put(dropping(0), { maxBytes: 1e9 }))).toBe("aborted");
      expect(await kindOf(store.put(dropping(Math.ceil(subject.largeSize / (1 << 20))), { maxBytes: 1e9 }))).toBe("aborted");
      expect(await kindOf(store.put(sized(new Blob(["short"]), 10), { maxBytes: 100 }))).toBe("aborted");
      expect(await kindOf(store.put(sized(new Blob(["longer than said"]), 5), { maxBytes: 100 }))).toBe("aborted");
      await nothingLeft(store);
    });

    test("inspect gives artifact detection the same bytes as a local read", async () => {
      const store = await fresh();
      // An ELF header at the front and a zip end-of-central-directory record at the back.
      const bytes = bytesOf(700_000, 6);
      bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
      bytes.set([0x3e, 0x00], 0x12);
      const { sha256 } = await store.put(sized(new Blob([bytes]), bytes.length), { maxBytes: 1e9 });
      const local = detectArtifact({ size: bytes.length, read: (o, l) => bytes.subarray(o, Math.min(bytes.length, o + l)) });
      expect(await store.inspect(sha256, detectArtifact)).toEqual(local);
      expect(local).toMatchObject({ kind: "elf", arch: "x86_64" });
      // Reads anywhere, in several rounds, see the stored bytes.
      const probe = (src: { size: number; read(o: number, l: number): Uint8Array }) => {
        const first = src.read(300_000, 4);
        const second = src.read(first[0]! * 1000, 3);
        return [Array.from(first), Array.from(second), src.size];
      };
      const expected = [Array.from(bytes.subarray(300_000, 300_004)), Array.from(bytes.subarray(bytes[300_000]! * 1000, bytes[300_000]! * 1000 + 3)), bytes.length];
      expect(await store.inspect(sha256, probe)).toEqual(expected);
    });

    test("remove: true once, then false; the blob is gone; a key that is not a sha256 is refused", async () => {
      const store = await fresh();
      const { sha256 } = await store.put(chunks("xyz"), { maxBytes: 10 });
      expect(await store.remove(sha256)).toBe(true);
      expect(await store.remove(sha256)).toBe(false);
      expect(await store.stat(sha256)).toBeUndefined();
      expect(await all(store)).toEqual([]);
      await expect(store.stat("../../etc/passwd")).rejects.toThrow("invalid sha256");
      expect(() => store.body("../x")).toThrow("invalid sha256");
    });

    test("the sweep removes what a crashed upload left, once it is older than the limit, and reports it", async () => {
      const store = await fresh();
      await subject.crashLeftover();
      expect((await subject.leftovers()).length).toBeGreaterThan(0);
      const later = Date.now() + 48 * 3600_000;
      const stale = await store.staleUploads(later, 24 * 3600_000);
      expect(stale.length).toBeGreaterThan(0);
      expect((await subject.leftovers()).length).toBeGreaterThan(0); // listing deletes nothing
      expect((await store.sweepUploads(later, 24 * 3600_000)).map((s) => s.name).sort()).toEqual(stale.map((s) => s.name).sort());
      expect(await subject.leftovers()).toEqual([]);
    });
  });
}
