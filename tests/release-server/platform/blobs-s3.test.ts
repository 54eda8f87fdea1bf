// The S3 blob store against a real radosgw (checks SigV4 signatures), started once for this file:
// the BlobStore contract (blobs.contract.ts) and what only S3 has: multipart uploads really used and
// really aborted, presigned download URLs, credentials only from the environment.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Server, type Socket } from "node:net";
import { S3BlobStore, type S3StoreOptions } from "../../../src/release-server/blobs/s3.ts";
import { blobDownload, serveBlob } from "../../../src/release-server/http/download.ts";
import { createMultipartUpload, credentialsFromEnv, listMultipartUploads, putObject, uploadPart } from "../../../src/release-server/blobs/s3-requests.ts";
import { sized } from "../../../src/release-server/blobs/types.ts";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { startRgw, type Rgw } from "../support/rgw.ts";
import { blobStoreContract, bytesOf, kindOf } from "./blobs.contract.ts";
import { chunks } from "./fixtures.ts";

const PART = 5 * 1024 * 1024; // S3's (and Bun's) smallest part size
let rgw: Rgw;
let saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  rgw = await startRgw();
  for (const [k, v] of Object.entries(rgw.env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
}, 180_000);

afterAll(() => {
  rgw?.stop();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

let n = 0;
const options = (prefix: string, extra: Partial<S3StoreOptions> = {}): S3StoreOptions => ({
  bucket: rgw.bucket,
  prefix,
  endpoint: rgw.endpoint,
  region: rgw.region,
  virtualHostedStyle: false,
  partSize: PART,
  queueSize: 2,
  ...extra,
});

/**
 * A TCP proxy in front of radosgw that passes every request on, except one whose request line
 * matches `hold`: that one is neither passed on nor answered, as a store that stops in the middle of
 * a part would. HTTP/1.1 keeps connections open, so the requests of a connection are told apart by
 * their Content-Length. `events` says what came, in order: each request line passed on, `held …`,
 * and `closed …` when the client gave up on the held request and closed its connection.
 */
function holdingProxy(upstream: string, hold: RegExp): Promise<{ endpoint: string; events: string[]; close(): void }> {
  const target = new URL(upstream);
  const events: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    let up: Socket | undefined;
    let head = Buffer.alloc(0);
    let body = 0; // bytes of the current request's body still to pass on
    let held: string | undefined;
    const upstreamSocket = () => {
      if (!up) {
        up = connect({ port: Number(target.port), host: target.hostname, noDelay: true });
        sockets.add(up);
        up.on("data", (d) => client.write(d));
        up.on("close", () => client.destroy());
        up.on("error", () => client.destroy());
      }
      return up;
    };
    client.on("data", (chunk: Buffer) => {
      if (held) return;
      let at = 0;
      while (at < chunk.length && !held) {
        if (body > 0) {
          const n = Math.min(body, chunk.length - at);
          upstreamSocket().write(chunk.subarray(at, at + n));
          body -= n;
          at += n;
          continue;
        }
        head = Buffer.concat([head, chunk.subarray(at)]);
        at = chunk.length;
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) break;
        const text = head.subarray(0, end).toString("latin1");
        const line = text.slice(0, text.indexOf("\r\n"));
        const rest = head.subarray(end + 4);
        head = Buffer.alloc(0);
        if (hold.test(line)) { held = line; events.push(`held ${line.split(" ")[0]}`); break; }
        events.push(line.split("?")[0]!.split(" ")[0]! + (line.includes("uploadId=") && line.startsWith("DELETE") ? " (abort)" : ""));
        upstreamSocket().write(Buffer.from(text + "\r\n\r\n", "latin1"));
        body = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
        chunk = rest;
        at = 0;
      }
    });
    client.on("close", () => { if (held) events.push("closed the held request"); up?.destroy(); });
    client.on("error", () => up?.destroy());
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as { port: number };
    resolve({ endpoint: `http://127.0.0.1:${port}`, events, close: () => { for (const s of sockets) s.destroy(); server.close(); } });
  }));
}

let current: S3BlobStore | undefined;
const s3 = () => current!;

/** Staging objects and open multipart uploads under the store's prefix. */
async function leftovers(store = s3()): Promise<string[]> {
  const staged = await store.client.list({ prefix: store.stagingPrefix });
  const uploads = await listMultipartUploads(store.endpoint, credentialsFromEnv()!, store.prefix);
  return [...(staged.contents ?? []).map((o) => o.key), ...uploads.map((u) => `multipart:${u.key}`)];
}

blobStoreContract("s3 (radosgw)", {
  store: s3,
  reset: async () => {
    current = new S3BlobStore(options(`contract-${++n}/`));
  },
  leftovers: () => leftovers(),
  crashLeftover: async () => {
    const store = s3();
    const creds = credentialsFromEnv()!;
    const key = `${store.stagingPrefix}${Date.now()}-crashed`;
    const id = await createMultipartUpload(store.endpoint, creds, key);
    await uploadPart(store.endpoint, creds, key, id, 1, new Uint8Array(1000));
    await putObject(store.endpoint, creds, `${store.stagingPrefix}${Date.now()}-completed-not-moved`, new Uint8Array(10));
  },
  largeSize: 2 * PART + 12_345,
});

describe("S3BlobStore beyond the contract", () => {
  test("a store that does not answer (radosgw frozen): calls are unavailable after timeoutMs and a download's stream fails, not a hang; served again once it answers", async () => {
    const store = new S3BlobStore(options("frozen/", { timeoutMs: 1000 }));
    const big = bytesOf(16 * 1024 * 1024, 5); // more than loopback buffers hold: the stream is mid-body when the store stops
    const { sha256 } = await store.put(chunks(big), { maxBytes: 1e9 });
    const late = async (what: string, p: Promise<unknown>) => {
      const t0 = Date.now();
      const err = await p.then(() => undefined, (e: Error) => e);
      return { what, kind: (err as { kind?: string } | undefined)?.kind, message: err?.message, prompt: Date.now() - t0 < 2_800 };
    };
    // A download started before the store stops: what it already sent arrives, then the stream fails.
    const reader = store.body(sha256).getReader();
    const first = await reader.read();
    rgw.freeze(true);
    try {
      const results = [
        await late("stat", store.stat(sha256)),
        await late("inspect", store.inspect(sha256, (src) => src.size)),
        await late("put of a known blob", store.put(chunks(big), { maxBytes: 1e9, expectedSha256: sha256 })),
        await late("put of a new blob", store.put(chunks("new bytes"), { maxBytes: 1e9 })),
        await late("download through the server", serveBlob(new Request("http://x/"), blobDownload(store, { sha256, size_bytes: big.length, filename: "big.bin", content_type: "application/octet-stream" }), { authorized: true })),
        await late("download", (async () => { let n = first.value?.byteLength ?? 0; for (;;) { const r = await reader.read(); if (r.done) return n; n += r.value.byteLength; } })()),
      ];
      expect(results.map((r) => ({ ...r, message: r.message?.replace(/ \d+ s.*$/, " N s") }))).toEqual([
        { what: "stat", kind: "unavailable", message: "the blob store did not answer within N s", prompt: true },
        { what: "inspect", kind: "unavailable", message: "the blob store did not answer within N s", prompt: true },
        { what: "put of a known blob", kind: "unavailable", message: "the blob store did not answer within N s", prompt: true },
        { what: "put of a new blob", kind: "unavailable", message: "the blob store did not answer within N s", prompt: true },
        // Its first read is not tried twice more (it was: three times the deadline).
        { what: "download through the server", kind: "unavailable", message: "the blob store sent nothing for N s", prompt: true },
        { what: "download", kind: "unavailable", message: "the blob store sent nothing for N s", prompt: true },
      ]);
      // The start-up check of the bucket has the deadline too (it waited as long as the store did).
      const t0 = Date.now();
      expect(await store.check()).toMatch(/unreachable: the blob store did not answer within 1 s/);
      expect(Date.now() - t0).toBeLessThan(2_800);
    } finally {
      rgw.freeze(false);
    }
    expect((await store.stat(sha256))?.size).toBe(big.length);
    expect(await new Response(store.body(sha256)).bytes()).toEqual(big);
  }, 60_000);

  test("a body larger than one part goes up as a multipart upload (the ETag says how many parts); a smaller one as one PUT", async () => {
    const store = new S3BlobStore(options("parts/"));
    const big = bytesOf(2 * PART + 1, 8);
    const a = await store.put(chunks(big.subarray(0, 1000), big.subarray(1000)), { maxBytes: 1e9, expectedSha256: sha256Hex(big) });
    expect((await store.client.stat(store.key(a.sha256))).etag).toMatch(/-3"?$/);
    const b = await store.put(sized(new Blob([big.subarray(0, PART - 1)]), PART - 1), { maxBytes: 1e9 });
    expect((await store.client.stat(store.key(b.sha256))).etag).not.toContain("-");
    expect(await leftovers(store)).toEqual([]);
  });

  test("a refused multipart upload is aborted: while it runs an upload is open, after the refusal none", async () => {
    const store = new S3BlobStore(options("abort/"));
    let sawOpen: string[] = [];
    async function* body() {
      for (let i = 0; i < 3; i++) yield new Uint8Array(PART).fill(i);
      sawOpen = (await leftovers(store)).filter((k) => k.startsWith("multipart:"));
      yield new Uint8Array(PART);
    }
    expect(await kindOf(store.put(body(), { maxBytes: 3 * PART + 10 }))).toBe("too_large");
    expect(sawOpen.length).toBe(1);
    expect(await leftovers(store)).toEqual([]);
    const listed = await store.client.list({ prefix: store.prefix });
    expect(listed.contents ?? []).toEqual([]);
  });

  /**
   * An upload of three parts of `part` bytes through a proxy that holds the second part: what it
   * ended with, how long it took, the proxy's events, and what stayed in the bucket.
   */
  async function withSecondPartHeld(prefix: string, part: number, extra: Partial<S3StoreOptions>, expectedSha256?: string) {
    const proxy = await holdingProxy(rgw.endpoint, /^PUT \S*partNumber=2&/);
    try {
      const store = new S3BlobStore(options(prefix, { endpoint: proxy.endpoint, ...extra }));
      const t0 = Date.now();
      async function* body() { for (let i = 0; i < 3; i++) yield new Uint8Array(part).fill(i + 1); }
      const err = await store.put(body(), { maxBytes: 4 * part, ...(expectedSha256 ? { expectedSha256 } : {}) }).then(() => undefined, (e: Error & { kind?: string }) => e);
      const ms = Date.now() - t0, events = [...proxy.events]; // before the listing below goes through the proxy too
      return { kind: err?.kind, message: err?.message, ms, events, left: await leftovers(store) };
    } finally {
      proxy.close();
    }
  }

  test("a refused upload cancels its parts still in flight before the abort: a part the store holds does not hold the refusal until the deadline, nor land after the abort", async () => {
    // The declared digest is wrong, so the upload is refused once the body is read.
    const r = await withSecondPartHeld("held/", PART, { timeoutMs: 30_000 }, "0".repeat(64));
    expect(r.kind).toBe("digest_mismatch");
    // Refused at once, not after the 30 s the held part was allowed.
    expect(r.ms).toBeLessThan(10_000);
    // Whether the blob exists (HEAD), the upload, its first part; the held part's connection closed before AbortMultipartUpload went out.
    expect(r.events).toEqual(["HEAD", "POST", "PUT", "held PUT", "closed the held request", "DELETE (abort)"]);
    expect(r.left).toEqual([]);
  }, 60_000);

  test("a part the store holds past the deadline: the upload is unavailable, the held request itself is cancelled (not left running), and nothing stays", async () => {
    // Parts of 256 KiB (S3 refuses parts under 5 MiB only when an upload completes; this one never
    // does): a part's deadline is 5 s plus a second per 256 KiB, 6 s.
    const small = 256 * 1024;
    const r = await withSecondPartHeld("held-deadline/", small, { timeoutMs: 5000, partSize: small });
    expect({ kind: r.kind, message: r.message }).toEqual({ kind: "unavailable", message: "the blob store did not answer within 6 s; try again later" });
    expect(r.ms).toBeLessThan(30_000);
    // The third part goes while the second is held (two in flight); the held one's connection is
    // closed at its deadline, before the abort.
    expect(r.events).toEqual(["POST", "PUT", "held PUT", "PUT", "closed the held request", "DELETE (abort)"]);
    expect(r.left).toEqual([]);
  }, 60_000);

  test("a copy the store holds past the deadline (an undeclared upload moved to its digest key): unavailable, the held copy cancelled, the staging object removed", async () => {
    const proxy = await holdingProxy(rgw.endpoint, /^PUT \S*\/sha256\//);
    try {
      const store = new S3BlobStore(options("held-copy/", { endpoint: proxy.endpoint, timeoutMs: 5000 }));
      const err = await store.put(chunks("bytes to move"), { maxBytes: 100 }).then(() => undefined, (e: Error & { kind?: string }) => e);
      expect({ kind: err?.kind, message: err?.message }).toEqual({ kind: "unavailable", message: "the blob store did not answer within 5 s; try again later" });
      const events = [...proxy.events];
      // The staged PUT, whether the digest key exists (HEAD), the held copy closed at its deadline, the staging object's delete.
      expect(events).toEqual(["PUT", "HEAD", "held PUT", "closed the held request", "DELETE"]);
      expect(await leftovers(store)).toEqual([]);
    } finally {
      proxy.close();
    }
  }, 60_000);

  test("entries() and the sweep follow ListObjectsV2 continuation pages", async () => {
    const store = new S3BlobStore(options("pages/", { listPageSize: 2 }));
    const stored = [];
    for (let i = 0; i < 5; i++) stored.push((await store.put(chunks(`blob ${i}`), { maxBytes: 100 })).sha256);
    const listed = [];
    for await (const b of store.entries()) listed.push(b.sha256);
    expect(listed.sort()).toEqual(stored.sort());
    for (let i = 0; i < 3; i++) await putObject(store.endpoint, credentialsFromEnv()!, `${store.stagingPrefix}${i}-left`, new Uint8Array(1));
    expect(await store.sweepUploads(Date.now() + 3600_000, 1000)).toHaveLength(3);
  });

  test("a sized body fixes a part size that keeps within 10 000 parts", async () => {
    const store = new S3BlobStore(options("sized/"));
    const bytes = bytesOf(PART + 3, 2);
    const got = await store.put(sized(new Blob([bytes]), bytes.length), { maxBytes: 100 * 1024 ** 4 });
    expect(got.sha256).toBe(sha256Hex(bytes));
  });

  test("downloadUrl: undefined unless redirects are on; then a presigned URL that fetch and curl download with our headers", async () => {
    const plain = new S3BlobStore(options("presign/"));
    const { sha256 } = await plain.put(chunks("presigned bytes"), { maxBytes: 100 });
    const how = { contentType: "application/x-test", contentDisposition: 'attachment; filename="tool.bin"' };
    expect(plain.downloadUrl(sha256, how)).toBeUndefined();
    const redirecting = new S3BlobStore(options("presign/", { redirectSeconds: 60 }));
    const url = redirecting.downloadUrl(sha256, how)!;
    expect(url).toContain("X-Amz-Expires=60");
    expect(url).not.toContain(rgw.secretAccessKey);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-test");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="tool.bin"');
    expect(await res.text()).toBe("presigned bytes");
    const curl = Bun.spawnSync(["curl", "-fsS", "-r", "0-8", url]);
    expect(curl.exitCode).toBe(0);
    expect(curl.stdout.toString()).toBe("presigned");
    // Tampering with the signed query is refused by the server (it checks signatures).
    const tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61");
    expect((await fetch(tampered)).status).toBe(403);
  });

  test("credentials come only from the environment: none → a clear error; a wrong secret → check() says S3 refused them", async () => {
    const key = process.env.S3_ACCESS_KEY_ID;
    const secret = process.env.S3_SECRET_ACCESS_KEY;
    try {
      delete process.env.S3_ACCESS_KEY_ID;
      delete process.env.S3_SECRET_ACCESS_KEY;
      const awsKey = process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_ACCESS_KEY_ID;
      expect(() => new S3BlobStore(options("creds/"))).toThrow(/no S3 credentials are set: export S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/);
      if (awsKey !== undefined) process.env.AWS_ACCESS_KEY_ID = awsKey;
      process.env.S3_ACCESS_KEY_ID = key;
      process.env.S3_SECRET_ACCESS_KEY = "not-the-secret";
      const wrong = new S3BlobStore(options("creds/"));
      expect(await wrong.check()).toMatch(/^blob store: S3 refused the credentials for bucket releases at http:\/\/127\.0\.0\.1:\d+ \(SignatureDoesNotMatch\); check S3_ACCESS_KEY_ID/);
      process.env.S3_ACCESS_KEY_ID = "UNKNOWNKEY";
      expect(await new S3BlobStore(options("creds/")).check()).toMatch(/refused the credentials .*\(InvalidAccessKeyId\)/);
    } finally {
      process.env.S3_ACCESS_KEY_ID = key;
      process.env.S3_SECRET_ACCESS_KEY = secret;
    }
    expect(await new S3BlobStore(options("creds/")).check()).toBeUndefined();
    expect(await new S3BlobStore(options("creds/", { bucket: "no-such-bucket" })).check()).toMatch(/bucket no-such-bucket .* does not exist \(NoSuchBucket\)/);
    expect(await new S3BlobStore(options("creds/", { endpoint: "http://127.0.0.1:1" })).check()).toMatch(/S3 endpoint http:\/\/127\.0\.0\.1:1 unreachable/);
  });
});
