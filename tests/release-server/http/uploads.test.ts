// Uploads over loopback against a spawned server, both ways a body arrives: with a Content-Length
// (written by Bun natively, hashed from the staged file on a hash worker) and chunked (counted as
// it streams). The cap, the declared digest, interrupted uploads, de-duplication and the digest of
// a body that arrives slowly (the hash worker reads the staged file while it is still growing).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { bytes, OP, seed, startServer, storedFiles, tempData, until, type Running } from "./server.ts";

let srv: Running;
const MAX = 16 * 1024 * 1024;
const MiB = 1024 * 1024;

beforeAll(async () => {
  const t = tempData();
  await seed(t.data, async (s) => await s.createApp({ owner: "acme", slug: "tool" }, OP));
  const config = join(t.dir, "server.yaml");
  writeFileSync(config, `uploads:\n  max_bytes: ${MAX}\n`);
  srv = await startServer({ ...t, args: ["--config", config, "--default-app", "acme/tool"] });
});
afterAll(() => srv[Symbol.asyncDispose]());

/**
 * One raw HTTP/1.1 request on its own connection, so a test controls exactly what is sent and when:
 * headers first, then body bytes (as chunks when `chunked`), then `end()` or `destroy()`.
 */
async function exchange(path: string, headers: Record<string, string>, opts: { chunked?: boolean } = {}) {
  const { hostname, port } = new URL(srv.url);
  const sock = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  sock.on("error", () => {}); // a reset after the server answered early is expected
  let raw = Buffer.alloc(0);
  let answer: { status: number; text: string } | undefined;
  const response = new Promise<{ status: number; text: string }>((resolve) => {
    const settle = () => {
      const head = raw.indexOf("\r\n\r\n");
      if (head < 0) return false;
      const lines = raw.subarray(0, head).toString("latin1").split("\r\n");
      const length = Number(lines.find((l) => /^content-length:/i.test(l))?.split(":")[1] ?? NaN);
      if (!(raw.length - head - 4 >= length)) return false;
      answer = { status: Number(lines[0]!.split(" ")[1]), text: raw.subarray(head + 4, head + 4 + length).toString() };
      resolve(answer);
      return true;
    };
    sock.on("data", (d: Buffer) => {
      raw = Buffer.concat([raw, d]);
      settle();
    });
    sock.on("close", () => {
      if (!settle()) resolve({ status: 0, text: raw.toString("latin1") });
    });
  });
  const head = Object.entries({ host: hostname, authorization: `Bearer ${srv.admin}`, "content-type": "application/octet-stream", ...headers, ...(opts.chunked ? { "transfer-encoding": "chunked" } : {}) });
  sock.write(`POST ${path} HTTP/1.1\r\n${head.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`);
  let sent = 0;
  const write = (b: Uint8Array | string) =>
    new Promise<void>((resolve) => {
      if (sock.destroyed) return resolve();
      if (sock.write(b)) return resolve();
      const done = () => {
        sock.off("drain", done).off("close", done);
        resolve();
      };
      sock.on("drain", done).on("close", done);
    });
  return {
    response,
    answered: () => answer !== undefined,
    get sent() {
      return sent;
    },
    async send(b: Uint8Array) {
      sent += b.length;
      if (opts.chunked) await write(`${b.length.toString(16)}\r\n`);
      await write(b);
      if (opts.chunked) await write("\r\n");
    },
    async end() {
      if (opts.chunked) await write("0\r\n\r\n");
      return response;
    },
    destroy: () => sock.destroy(),
  };
}

/** Sends `body` in `piece`-sized writes (optionally pausing between them) and returns the answer. */
async function uploadRaw(path: string, body: Uint8Array, opts: { chunked?: boolean; piece?: number; pauseMs?: number; headers?: Record<string, string> } = {}) {
  const x = await exchange(path, { ...(opts.chunked ? {} : { "content-length": String(body.length) }), ...opts.headers }, opts);
  const piece = opts.piece ?? MiB;
  for (let off = 0; off < body.length; off += piece) {
    await x.send(body.subarray(off, off + piece));
    if (opts.pauseMs) await Bun.sleep(opts.pauseMs);
  }
  return x.end();
}

const tagStatus = (tag: string) => fetch(`${srv.url}/api/v3/repos/acme/tool/releases/tags/${tag}`).then((r) => r.status);
const blobPath = (hex: string) => join(srv.data, "blobs", "sha256", hex.slice(0, 2), hex.slice(2, 4), hex);

describe("the size cap", () => {
  test("a Content-Length over the cap is 413 before any body byte is sent; nothing staged or stored", async () => {
    const before = storedFiles(srv.data);
    const x = await exchange("/upload?name=big.bin&version=1.0.0", { "content-length": String(MAX + 1) });
    const r = await x.response; // no body byte was written
    x.destroy();
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text).message).toMatch(/exceeds the limit/);
    expect(storedFiles(srv.data)).toEqual(before);
    expect(await tagStatus("v1.0.0")).toBe(404);
  });

  test("a chunked body that runs past the cap is cut off with 413 while the client is still sending", async () => {
    const before = storedFiles(srv.data);
    const x = await exchange("/upload?name=big.bin&version=1.0.0", {}, { chunked: true });
    const piece = bytes(256 * 1024, 1);
    // The client would send 8 times the cap; the server must answer long before.
    while (!x.answered() && x.sent < 8 * MAX) await x.send(piece);
    const r = await x.response;
    x.destroy();
    expect(r.status).toBe(413);
    expect(x.sent).toBeLessThan(8 * MAX);
    expect(x.sent).toBeGreaterThan(MAX);
    await until("staging to be empty", () => storedFiles(srv.data).staging === 0);
    expect(storedFiles(srv.data)).toEqual(before);
    expect(await tagStatus("v1.0.0")).toBe(404);
  });

  test("exactly the cap is accepted, with a Content-Length and chunked", async () => {
    const body = bytes(MAX, 2);
    const sizedR = await uploadRaw("/upload?name=max.bin&version=2.0.0", body);
    expect(sizedR.status).toBe(201);
    const chunkedR = await uploadRaw("/upload?name=max2.bin&version=2.0.0", bytes(MAX, 3), { chunked: true });
    expect(chunkedR.status).toBe(201);
    expect(JSON.parse(sizedR.text).asset).toMatchObject({ size: MAX, digest: `sha256:${sha256Hex(body)}` });
  });
});

describe("the declared digest", () => {
  test("a mismatch is 422 and stores nothing, for a large body (hash worker) and a small one, either framing", async () => {
    const before = storedFiles(srv.data);
    for (const [n, chunked] of [[10 * MiB, false], [10 * MiB, true], [1000, false], [1000, true]] as const) {
      const body = bytes(n, 4);
      const r = await uploadRaw(`/upload?name=d.bin&version=3.0.0&digest=sha256:${sha256Hex(body.subarray(1))}`, body, { chunked });
      expect([n, chunked, r.status]).toEqual([n, chunked, 422]);
      expect(JSON.parse(r.text).message).toMatch(/digest mismatch/);
    }
    await until("staging to be empty", () => storedFiles(srv.data).staging === 0);
    expect(storedFiles(srv.data)).toEqual(before);
    expect(await tagStatus("v3.0.0")).toBe(404);
    const body = bytes(10 * MiB, 4);
    const ok = await uploadRaw(`/upload?name=d.bin&version=3.0.0`, body, { headers: { "x-checksum-sha256": sha256Hex(body) } });
    expect(ok.status).toBe(201);
  });
});

describe("interrupted uploads", () => {
  for (const chunked of [false, true]) {
    test(`a client that disconnects mid-body (${chunked ? "chunked" : "Content-Length"}) leaves no blob and no staged file`, async () => {
      const before = storedFiles(srv.data);
      const body = bytes(12 * MiB, chunked ? 5 : 6);
      const x = await exchange("/upload?name=cut.bin&version=4.0.0", chunked ? {} : { "content-length": String(body.length) }, { chunked });
      // Past the size from which the staged file is hashed on the worker, so that job is cut short too.
      for (let off = 0; off < 8 * MiB; off += MiB) await x.send(body.subarray(off, off + MiB));
      await until("the upload to be staged", () => storedFiles(srv.data).staging === 1);
      x.destroy();
      await until("the staged upload to be removed", () => storedFiles(srv.data).staging === 0);
      expect(storedFiles(srv.data)).toEqual(before);
      expect(await tagStatus("v4.0.0")).toBe(404);
      // The server is fine afterwards: the same upload, complete, goes through.
      const r = await uploadRaw("/upload?name=cut.bin&version=4.0.0", body, { chunked });
      expect(r.status).toBe(201);
      expect(JSON.parse(r.text).asset.digest).toBe(`sha256:${sha256Hex(body)}`);
      const del = await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/${JSON.parse(r.text).release.id}`, { method: "DELETE", headers: { authorization: `Bearer ${srv.admin}` } });
      expect(del.status).toBe(204);
    });
  }
});

describe("content addressing", () => {
  test("identical bytes uploaded twice (once with a Content-Length, once chunked) are stored once", async () => {
    const body = bytes(9 * MiB, 7);
    const hex = sha256Hex(body);
    const before = storedFiles(srv.data);
    const a = await fetch(`${srv.url}/upload?name=a.bin&version=5.0.0`, { method: "POST", body, headers: { authorization: `Bearer ${srv.admin}` } });
    expect(a.status).toBe(201);
    const b = await uploadRaw("/upload?name=b.bin&version=5.0.0", body, { chunked: true });
    expect(b.status).toBe(201);
    const small = bytes(100, 7);
    expect((await uploadRaw("/upload?name=c.bin&version=5.0.0", small)).status).toBe(201);
    expect((await uploadRaw("/upload?name=d.bin&version=5.0.0", small, { chunked: true })).status).toBe(201);
    expect(storedFiles(srv.data)).toEqual({ blobs: before.blobs + 2, staging: 0 });
    expect(((await a.json()) as any).asset.digest).toBe(`sha256:${hex}`);
    expect(JSON.parse(b.text).asset.digest).toBe(`sha256:${hex}`);
    for (const name of ["a.bin", "b.bin"]) {
      const got = new Uint8Array(await (await fetch(`${srv.url}/assets/${name}?version=5.0.0`)).arrayBuffer());
      expect(sha256Hex(got)).toBe(hex);
    }
  });

  test("concurrent uploads of one name: one is added, the refused ones leave no blob behind", async () => {
    const made = await fetch(`${srv.url}/api/v3/repos/acme/tool/releases`, { method: "POST", headers: { authorization: `Bearer ${srv.admin}` }, body: JSON.stringify({ tag_name: "v6.0.0" }) });
    const release = (await made.json()) as { id: number };
    const before = storedFiles(srv.data);
    // Each body sends its first bytes, then waits until all six are being stored (past every check
    // made before the body is read), so they all reach the add and only one can win the name.
    let release_: () => void = () => {};
    const barrier = new Promise<void>((r) => (release_ = r));
    const N = 6;
    const bodies = Array.from({ length: N }, (_, i) => bytes(64 * 1024, 100 + i));
    async function* body(b: Uint8Array) {
      yield b.subarray(0, 1024);
      await barrier;
      yield b.subarray(1024);
    }
    const answers = bodies.map((b) =>
      fetch(`${srv.url}/api/uploads/repos/acme/tool/releases/${release.id}/assets?name=same.bin`, {
        method: "POST",
        headers: { authorization: `Bearer ${srv.admin}`, "content-type": "application/octet-stream" },
        body: body(b) as unknown as NonNullable<RequestInit["body"]>,
      }),
    );
    await until("all six uploads to be staged", () => storedFiles(srv.data).staging === N, 20_000);
    release_();
    const statuses = await Promise.all(answers.map(async (a) => (await a).status));
    expect(statuses.sort()).toEqual([201, 422, 422, 422, 422, 422]);
    // The one added blob, nothing else: a refused upload stores nothing.
    expect(storedFiles(srv.data)).toEqual({ blobs: before.blobs + 1, staging: 0 });
    const listed = (await (await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/${release.id}/assets`)).json()) as Array<{ name: string; digest: string }>;
    expect(listed).toHaveLength(1);
    expect(bodies.map((b) => `sha256:${sha256Hex(b)}`)).toContain(listed[0]!.digest);
  }, 30_000);
});

describe("digests of bodies that arrive slowly", () => {
  for (const chunked of [false, true]) {
    test(`the digest is that of the bytes sent, and the blob file is named by its content (${chunked ? "chunked" : "Content-Length"})`, async () => {
      // Odd-sized pieces with pauses: the hash worker keeps catching up with a file that is still growing.
      const body = bytes(10 * MiB + 12345, chunked ? 8 : 9);
      const r = await uploadRaw(`/upload?name=slow-${chunked}.bin&version=6.0.0`, body, { chunked, piece: 700_001, pauseMs: 15 });
      expect(r.status).toBe(201);
      const hex = sha256Hex(body);
      expect(JSON.parse(r.text).asset).toMatchObject({ size: body.length, digest: `sha256:${hex}` });
      expect(sha256Hex(readFileSync(blobPath(hex)))).toBe(hex);
    });
  }

  test("an empty body (Content-Length: 0) is an empty blob", async () => {
    const r = await uploadRaw("/upload?name=empty.bin&version=6.0.0", new Uint8Array(0));
    expect(r.status).toBe(201);
    expect(JSON.parse(r.text).asset).toMatchObject({ size: 0, digest: `sha256:${sha256Hex("")}` });
  });
});
