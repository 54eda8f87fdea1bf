// Uploads over loopback against a spawned server, both ways a body arrives: with a Content-Length
// (written by Bun natively, hashed from the staged file on a hash worker) and chunked (counted as
// it streams). The cap, the declared digest, interrupted uploads, de-duplication and the digest of
// a body that arrives slowly (the hash worker reads the staged file while it is still growing).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { bytes, gate, heldBody, OP, rawRequest, seed, startServer, storedFiles, tempData, until, type Running } from "./server.ts";

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

/** A raw upload request (`rawRequest`) as the admin, raw bytes unless `headers` say otherwise. */
const exchange = (path: string, headers: Record<string, string>, opts: { chunked?: boolean } = {}) =>
  rawRequest(srv.url, { path, headers: { authorization: `Bearer ${srv.admin}`, "content-type": "application/octet-stream", ...headers }, chunked: opts.chunked });

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
    const held = gate();
    const N = 6;
    const bodies = Array.from({ length: N }, (_, i) => bytes(64 * 1024, 100 + i));
    const answers = bodies.map((b) =>
      fetch(`${srv.url}/api/uploads/repos/acme/tool/releases/${release.id}/assets?name=same.bin`, {
        method: "POST",
        headers: { authorization: `Bearer ${srv.admin}`, "content-type": "application/octet-stream" },
        body: heldBody(b, 1024, held.opened) as unknown as NonNullable<RequestInit["body"]>,
      }),
    );
    await until("all six uploads to be staged", () => storedFiles(srv.data).staging === N, 20_000);
    held.open();
    const statuses = await Promise.all(answers.map(async (a) => (await a).status));
    expect(statuses.sort()).toEqual([201, 422, 422, 422, 422, 422]);
    // The one added blob, nothing else: a refused upload stores nothing.
    expect(storedFiles(srv.data)).toEqual({ blobs: before.blobs + 1, staging: 0 });
    const listed = (await (await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/${release.id}/assets`)).json()) as Array<{ name: string; digest: string }>;
    expect(listed).toHaveLength(1);
    expect(bodies.map((b) => `sha256:${sha256Hex(b)}`)).toContain(listed[0]!.digest);
  }, 30_000);
});

describe("a refused upload racing one of the same bytes", () => {
  test("the other is added (the blob it stored again is kept) or refused with 409 and can be sent again; no orphan blob, no asset without its blob", async () => {
    const made = await fetch(`${srv.url}/api/v3/repos/acme/tool/releases`, { method: "POST", headers: { authorization: `Bearer ${srv.admin}` }, body: JSON.stringify({ tag_name: "v7.0.0" }) });
    const release = (await made.json()) as { id: number };
    const assets = `${srv.url}/api/uploads/repos/acme/tool/releases/${release.id}/assets`;
    const before = storedFiles(srv.data);
    // Per round: W and A race for one name (one is refused once its bytes are stored and removes
    // the blob it stored), while B sends A's bytes under a name of its own.
    const ROUNDS = 4;
    const held = gate();
    const post = (name: string, body: Uint8Array, wait?: Promise<void>) =>
      fetch(`${assets}?name=${name}`, {
        method: "POST",
        headers: { authorization: `Bearer ${srv.admin}`, "content-type": "application/octet-stream" },
        body: (wait ? heldBody(body, 1024, wait) : body) as unknown as NonNullable<RequestInit["body"]>,
      });
    const rounds = Array.from({ length: ROUNDS }, (_, i) => {
      const w = bytes(64 * 1024, 200 + i);
      const x = bytes(64 * 1024, 300 + i);
      return { x, w: post(`n${i}.bin`, w, held.opened), a: post(`n${i}.bin`, x, held.opened), b: post(`m${i}.bin`, x, held.opened) };
    });
    await until("every upload to be staged", () => storedFiles(srv.data).staging === 3 * ROUNDS, 20_000);
    held.open();
    for (const [i, r] of rounds.entries()) {
      expect([(await r.w).status, (await r.a).status].sort()).toEqual([201, 422]);
      const b = await r.b;
      expect([201, 409]).toContain(b.status);
      if (b.status === 409) {
        expect(((await b.json()) as { message: string }).message).toMatch(/is not stored: a refused upload of the same bytes removed it meanwhile; upload the file again/);
        expect((await post(`m${i}.bin`, r.x)).status).toBe(201);
      }
    }
    const listed = (await (await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/${release.id}/assets`)).json()) as Array<{ name: string; digest: string; browser_download_url: string }>;
    expect(listed).toHaveLength(2 * ROUNDS);
    for (const a of listed) expect(`sha256:${sha256Hex(new Uint8Array(await (await fetch(a.browser_download_url)).arrayBuffer()))}`).toBe(a.digest);
    // Exactly the blobs the assets reference: none of a refused upload, none missing.
    const digests = new Set(listed.map((a) => a.digest.slice("sha256:".length)));
    expect(storedFiles(srv.data)).toEqual({ blobs: before.blobs + digests.size, staging: 0 });
    for (const hex of digests) expect(readFileSync(blobPath(hex)).length).toBe(64 * 1024);
  }, 60_000);
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
