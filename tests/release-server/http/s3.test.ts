// The real server (`release-server serve`) with `storage.blobs: s3` on a real radosgw (which checks
// SigV4 signatures), started once for this file: uploads (sized, chunked, multipart-sized) stored
// under their digest in the bucket, refused uploads leaving nothing (no object, no open multipart
// upload), downloads with ETag/Range/HEAD/304 proxied, `redirect_downloads` answering 302 with a
// presigned URL that fetch and curl follow, credentials only from the environment.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { credentialsFromEnv, listMultipartUploads } from "../../../src/release-server/blobs/s3-requests.ts";
import { openBlobStore } from "../../../src/release-server/blobs/open.ts";
import { S3BlobStore } from "../../../src/release-server/blobs/s3.ts";
import { loadConfig, parseConfig } from "../../../src/release-server/config.ts";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { generateToken } from "../../../src/release-server/domain/tokens.ts";
import { SQL } from "bun";
import { usePostgres } from "../support/postgres.ts";
import { startRgw, type Rgw } from "../support/rgw.ts";
import { auth, bytes, gate, heldBody, MAIN, OP, peakRss, publish, seed, startServer, tempData, type Running } from "./server.ts";

const MiB = 1024 * 1024;
const MAX = 12 * MiB;
let rgw: Rgw;
let t: { dir: string; data: string };
let srv: Running;
let redirecting: Running;
const saved: Record<string, string | undefined> = {};

const s3Yaml = (prefix: string, extra = "", max = MAX) =>
  `uploads:\n  max_bytes: ${max}\nstorage:\n  blobs: s3\n  s3:\n    bucket: ${rgw.bucket}\n    endpoint: ${rgw.endpoint}\n    region: ${rgw.region}\n    prefix: ${prefix}\n    part_size_mib: 5\n    queue_size: 2\n${extra}`;

beforeAll(async () => {
  rgw = await startRgw();
  for (const [k, v] of Object.entries(rgw.env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  t = tempData();
  const config = join(t.dir, "s3.yaml");
  writeFileSync(config, s3Yaml("srv/"));
  await seed(t.data, async (s) => await s.createApp({ owner: "acme", slug: "tool" }, OP), loadConfig(config).config);
  srv = await startServer({ ...t, args: ["--config", config, "--default-app", "acme/tool"], env: rgw.env });
  const redirectConfig = join(t.dir, "s3-redirect.yaml");
  writeFileSync(redirectConfig, s3Yaml("srv/", "    redirect_downloads: true\n    redirect_seconds: 120\n", 256 * MiB));
  redirecting = await startServer({ dir: t.dir, data: t.data, args: ["--config", redirectConfig, "--default-app", "acme/tool"], env: rgw.env });
}, 180_000);

afterAll(async () => {
  await srv?.stop("SIGKILL");
  await redirecting?.stop("SIGKILL");
  rgw?.stop();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const store = (prefix = "srv/") => new S3BlobStore({ bucket: rgw.bucket, prefix, endpoint: rgw.endpoint, region: rgw.region, virtualHostedStyle: false, partSize: 5 * MiB, queueSize: 2 });

/** Every object key and open multipart upload under the server's prefix. */
async function bucketStateOf(prefix: string) {
  const s = store(prefix);
  const listed = await s.client.list({ prefix, maxKeys: 1000 });
  const uploads = await listMultipartUploads(s.endpoint, credentialsFromEnv()!, prefix);
  return { objects: (listed.contents ?? []).map((o) => o.key).sort(), uploads: uploads.map((u) => u.key) };
}
const bucketState = () => bucketStateOf("srv/");

const admin = () => ({ authorization: `Bearer ${srv.admin}` });

async function upload(path: string, body: Uint8Array, opts: { chunked?: boolean; headers?: Record<string, string> } = {}) {
  const payload = opts.chunked
    ? new ReadableStream<Uint8Array>({
        start(c) {
          for (let off = 0; off < body.length; off += 256 * 1024) c.enqueue(body.subarray(off, off + 256 * 1024));
          c.close();
        },
      })
    : body;
  const res = await fetch(`${srv.url}${path}`, { method: "POST", headers: { ...admin(), "content-type": "application/octet-stream", ...opts.headers }, body: payload });
  return { status: res.status, json: await res.json().catch(() => undefined) as any };
}

describe("uploads into S3 through the server", () => {
  test("a small and a multipart-sized upload (sized and chunked) land under their digest; the same bytes again are stored once", async () => {
    const small = bytes(1000, 1);
    const big = bytes(11 * MiB + 3, 2);
    const r1 = await upload("/upload?name=small.bin&version=1.0.0", small);
    expect(r1.status).toBe(201);
    const r2 = await upload(`/upload?name=big.bin&version=1.0.0&digest=sha256:${sha256Hex(big)}`, big, { chunked: true });
    expect(r2.status).toBe(201);
    expect(r2.json.asset).toMatchObject({ size: big.length, digest: `sha256:${sha256Hex(big)}` });
    const r3 = await upload("/upload?name=big-again.bin&version=1.0.0", big);
    expect(r3.status).toBe(201);
    const s = store();
    expect((await s.client.stat(s.key(sha256Hex(big)))).etag).toMatch(/-3"?$/); // three 5 MiB parts
    const state = await bucketState();
    expect(state.objects).toEqual([s.key(sha256Hex(small)), s.key(sha256Hex(big))].sort());
    expect(state.uploads).toEqual([]);
  }, 60_000);

  test("over the cap (declared length and chunked) and a digest mismatch: refused, and nothing in the bucket, no open multipart upload", async () => {
    const before = await bucketState();
    const over = bytes(MAX + 1, 3);
    expect((await upload("/upload?name=over.bin&version=2.0.0", over)).status).toBe(413);
    expect((await upload("/upload?name=over.bin&version=2.0.0", over, { chunked: true })).status).toBe(413);
    const body = bytes(6 * MiB, 4);
    const wrong = sha256Hex(body.subarray(1));
    for (const chunked of [false, true]) {
      const r = await upload(`/upload?name=d.bin&version=2.0.0&digest=sha256:${wrong}`, body, { chunked });
      expect(r.status).toBe(422);
      expect(r.json.message).toMatch(/digest mismatch/);
    }
    expect(await bucketState()).toEqual(before);
  }, 60_000);

  test("concurrent uploads of one name: one is added, the refused ones leave no object in the bucket", async () => {
    const made = await fetch(`${srv.url}/api/v3/repos/acme/tool/releases`, { method: "POST", headers: admin(), body: JSON.stringify({ tag_name: "v2.5.0" }) });
    const release = (await made.json()) as { id: number };
    const before = await bucketState();
    // Each body sends one 5 MiB part and a byte (the multipart upload opens), then waits until all
    // four are being stored (past every check made before the body is read).
    const held = gate();
    const N = 4;
    const bodies = Array.from({ length: N }, (_, i) => bytes(5 * MiB + 4096, 40 + i));
    const answers = bodies.map((b) =>
      fetch(`${srv.url}/api/uploads/repos/acme/tool/releases/${release.id}/assets?name=same.bin`, {
        method: "POST",
        headers: { ...admin(), "content-type": "application/octet-stream" },
        body: heldBody(b, 5 * MiB + 1, held.opened) as unknown as NonNullable<RequestInit["body"]>,
      }),
    );
    const deadline = Date.now() + 30_000;
    while ((await bucketState()).uploads.length < before.uploads.length + N && Date.now() < deadline) await Bun.sleep(50);
    held.open();
    const statuses = await Promise.all(answers.map(async (a) => (await a).status));
    expect(statuses.sort()).toEqual([201, 422, 422, 422]);
    const listed = (await (await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/${release.id}/assets`)).json()) as Array<{ digest: string }>;
    expect(listed).toHaveLength(1);
    const s = store();
    expect(await bucketState()).toEqual({ objects: [...before.objects, s.key(listed[0]!.digest.slice("sha256:".length))].sort(), uploads: before.uploads });
  }, 90_000);
});

describe("memory", () => {
  // 192 MiB against a bound of 128: a server that held the upload would grow by at least its size,
  // one that streams it grows by its buffers and the collector's slack (40-66 MiB seen with 64 MiB
  // uploads, which made a 64 MiB bound fail now and then).
  test("a 192 MiB chunked upload streams to S3 within bounded memory (peak RSS growth under 128 MiB)", async () => {
    const base = peakRss(redirecting.proc.pid);
    const chunk = new Uint8Array(MiB);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent++ < 192) ctl.enqueue(chunk.fill(sent));
        else ctl.close();
      },
    });
    const r = await fetch(`${redirecting.url}/upload?name=big192.bin&version=5.0.0`, { method: "POST", body, headers: { authorization: `Bearer ${redirecting.admin}` } });
    expect(r.status).toBe(201);
    expect(((await r.json()) as any).asset.size).toBe(192 * MiB);
    const grew = peakRss(redirecting.proc.pid) - base;
    console.log(`peak RSS growth during a 192 MiB upload to S3: ${(grew / MiB).toFixed(1)} MiB`);
    expect(grew).toBeLessThan(128 * MiB);
  }, 120_000);
});

describe("downloads from S3", () => {
  const content = bytes(300_000, 7);
  const sha = sha256Hex(content);
  const etag = `"sha256:${sha}"`;
  const url = (s: Running) => `${s.url}/acme/tool/releases/download/v3.0.0/dl.bin`;
  beforeAll(async () => {
    expect((await upload("/upload?name=dl.bin&version=3.0.0", content)).status).toBe(201);
  });

  test("GET streams the bytes with our ETag and length; Range → 206; HEAD → headers only; If-None-Match → 304; If-Range that differs → 200", async () => {
    const full = await fetch(url(srv));
    expect(full.status).toBe(200);
    expect(full.headers.get("etag")).toBe(etag);
    // Bun 1.4.5 sends a streamed body chunked even with a Content-Length set (oven-sh/bun#10507);
    // HEAD and Content-Range carry the size, and redirect_downloads hands out S3's own length.
    expect([String(content.length), null]).toContain(full.headers.get("content-length"));
    expect(full.headers.get("accept-ranges")).toBe("bytes");
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(content);

    const part = await fetch(url(srv), { headers: { range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100-199/${content.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(content.subarray(100, 200));
    const suffix = await fetch(url(srv), { headers: { range: "bytes=-10" } });
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(content.subarray(content.length - 10));
    expect((await fetch(url(srv), { headers: { range: `bytes=${content.length}-` } })).status).toBe(416);

    const head = await fetch(url(srv), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(content.length));
    expect(head.headers.get("etag")).toBe(etag);

    const cached = await fetch(url(srv), { headers: { "if-none-match": etag } });
    expect(cached.status).toBe(304);
    expect(await cached.text()).toBe("");

    const stale = await fetch(url(srv), { headers: { range: "bytes=0-9", "if-range": '"sha256:other"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(content.length);

    // curl agrees (raw HTTP/1.1 client).
    const curl = Bun.spawnSync(["curl", "-fsS", "-r", "5-14", url(srv)]);
    expect(new Uint8Array(curl.stdout)).toEqual(content.subarray(5, 15));
  });

  test("an object gone from the bucket: GET and a Range are answered 500 before any byte is sent, not 200 and a reset connection", async () => {
    const gone = bytes(200_000, 11);
    expect((await upload("/upload?name=gone.bin&version=3.0.1", gone)).status).toBe(201);
    const at = `${srv.url}/acme/tool/releases/download/v3.0.1/gone.bin`;
    expect((await fetch(at)).status).toBe(200);
    expect(await store().remove(sha256Hex(gone))).toBe(true);
    for (const headers of [{}, { range: "bytes=0-99" }] as Record<string, string>[]) {
      const res = await fetch(at, { headers });
      expect({ headers, status: res.status }).toEqual({ headers, status: 500 });
      expect(res.headers.get("etag")).toBeNull();
      expect(await res.json()).toMatchObject({ message: expect.any(String) });
    }
    // HEAD sends no bytes and still answers from the database, as before.
    expect((await fetch(at, { method: "HEAD" })).status).toBe(200);
  });

  test("redirect_downloads: GET → 302 to a short-lived presigned URL that fetch and curl follow to the bytes; HEAD, If-None-Match and If-Range are answered by the server", async () => {
    const res = await fetch(url(redirecting), { redirect: "manual" });
    expect(res.status).toBe(302);
    const location = res.headers.get("location")!;
    expect(location.startsWith(`${rgw.endpoint}/${rgw.bucket}/srv/sha256/`)).toBe(true);
    expect(location).toContain("X-Amz-Expires=120");
    expect(location).not.toContain(rgw.secretAccessKey);
    expect(res.headers.get("etag")).toBe(etag);

    const followed = await fetch(url(redirecting));
    expect(followed.status).toBe(200);
    expect(followed.headers.get("content-disposition")).toContain('filename="dl.bin"');
    expect(new Uint8Array(await followed.arrayBuffer())).toEqual(content);
    const curl = Bun.spawnSync(["curl", "-fsSL", "-r", "0-99", url(redirecting)]);
    expect(curl.exitCode).toBe(0);
    expect(new Uint8Array(curl.stdout)).toEqual(content.subarray(0, 100));

    const head = await fetch(url(redirecting), { method: "HEAD", redirect: "manual" });
    expect([head.status, head.headers.get("content-length")]).toEqual([200, String(content.length)]);
    expect((await fetch(url(redirecting), { headers: { "if-none-match": etag }, redirect: "manual" })).status).toBe(304);
    const ranged = await fetch(url(redirecting), { headers: { range: "bytes=0-9", "if-range": etag }, redirect: "manual" });
    expect(ranged.status).toBe(206);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(content.subarray(0, 10));
  });
});

describe("retention on S3", () => {
  test("deletes a blob no row references any more, keeps one another release still shares, and reports it", async () => {
    const config = parseConfig(`${s3Yaml("srv/")}retention:\n  blob_grace_hours: 0\n`, "retention.yaml");
    const [only, shared, other] = ["only in 1.0.0", "in both releases", "only in 1.1.0"].map((x) => sha256Hex(x));
    const report = await seed(
      t.data,
      async (s) => {
        const app = await s.createApp({ owner: "acme", slug: "ret" }, OP);
        const v1 = await publish(s, app, { version: "1.0.0" }, { "a.txt": "only in 1.0.0", "s.txt": "in both releases" });
        await publish(s, app, { version: "1.1.0" }, { "s.txt": "in both releases", "b.txt": "only in 1.1.0" });
        await s.deleteRelease(v1.release, OP);
        const dry = await s.runRetention({ dryRun: true }, OP);
        expect(dry.blobs.map((b) => b.sha256)).toEqual([only]);
        return await s.runRetention({ dryRun: false }, OP);
      },
      config,
    );
    expect(report.blobs.map((b) => b.sha256)).toEqual([only]);
    const s = store();
    expect(await s.stat(only)).toBeUndefined();
    expect(await s.stat(shared)).toBeDefined();
    expect(await s.stat(other)).toBeDefined();
    // Everything the earlier tests uploaded is still referenced, so still there.
    expect((await fetch(`${srv.url}/acme/tool/releases/download/v3.0.0/dl.bin`, { method: "HEAD" })).status).toBe(200);
  }, 60_000);
});

describe("credentials and readiness", () => {
  test("a config file with S3 keys in it is refused, naming the key and where credentials belong", () => {
    const yaml = "storage:\n  blobs: s3\n  s3:\n    bucket: b\n    secret_access_key: hunter2\n";
    expect(() => parseConfig(yaml, "server.yaml")).toThrow(
      "server.yaml:5: storage.s3.secret_access_key: S3 credentials are never read from the config file: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
    );
    expect(() => parseConfig("storage:\n  s3:\n    access_key_id: AKIA\n", "x.yaml")).toThrow(/x\.yaml:3: storage\.s3\.access_key_id: S3 credentials are never read/);
    expect(parseConfig("storage:\n  blobs: s3\n  s3:\n    bucket: b\n", "ok.yaml").storage).toMatchObject({ blobs: "s3", s3: { bucket: "b", prefix: "", redirect_downloads: false } });
    expect(parseConfig("", "empty.yaml").storage.blobs).toBe("disk");
  });

  test("uploads.max_bytes above S3's 5 GiB copy limit is refused with storage.blobs: s3", () => {
    const config = parseConfig(`${s3Yaml("srv/", "", 6 * 1024 ** 3)}`, "big.yaml");
    expect(() => openBlobStore(t.data, config)).toThrow("uploads.max_bytes is at most 5 GiB (5368709120 bytes) with storage.blobs: s3, got 6442450944");
    expect(openBlobStore(t.data, parseConfig(s3Yaml("srv/", "", 5 * 1024 ** 3), "ok.yaml")).kind).toBe("s3");
  });

  const serveOnce = async (env: Record<string, string | undefined>, yaml: string) => {
    const dir = join(t.dir, `bad-${crypto.randomUUID()}`);
    const config = `${dir}.yaml`;
    writeFileSync(config, yaml);
    const proc = Bun.spawn(["bun", MAIN, "serve", "--data", dir, "--port", "0", "--config", config], { env: { ...process.env, ...env } as Record<string, string>, stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    clearTimeout(timer);
    return { code, err };
  };

  test("serve refuses to start with a wrong secret, with no credentials, or with keys in the config: one line saying why, exit 2", async () => {
    const wrong = await serveOnce({ S3_ACCESS_KEY_ID: rgw.accessKeyId, S3_SECRET_ACCESS_KEY: "wrong-secret" }, s3Yaml("srv/"));
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/S3 refused the credentials for bucket releases at http:\/\/127\.0\.0\.1:\d+ \(SignatureDoesNotMatch\); check S3_ACCESS_KEY_ID/);
    const none = await serveOnce({ S3_ACCESS_KEY_ID: "", S3_SECRET_ACCESS_KEY: "", AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" }, s3Yaml("srv/"));
    expect(none.code).toBe(2);
    expect(none.err).toContain("no S3 credentials are set: export S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY");
    const inFile = await serveOnce(rgw.env, `${s3Yaml("srv/")}    secret_access_key: ${rgw.secretAccessKey}\n`);
    expect(inFile.code).toBe(2);
    expect(inFile.err).toContain("storage.s3.secret_access_key: S3 credentials are never read from the config file");
  }, 60_000);

  test("/readyz checks the bucket with the server's credentials", async () => {
    const ready = await fetch(`${srv.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});

// Three `serve` processes on one PostgreSQL database and one S3 bucket: the stateless replicas of
// docs/architecture.md's "backends" section, over real HTTP.
describe("three replicas on PostgreSQL and S3", () => {
  const pg = usePostgres();
  const token = generateToken(); // the same RELEASE_SERVER_ADMIN_TOKEN on every replica, as a Secret would give
  const replicas: Running[] = [];
  let dbUrl: string;
  const REPO = "acme/shared";
  const at = (r: Running, path: string, init?: RequestInit) => fetch(`${r.url}${path}`, init);
  const send = (r: Running, method: string, path: string, json: unknown) =>
    at(r, path, { method, headers: { ...auth(token), "content-type": "application/json" }, body: JSON.stringify(json) });
  const uploadTo = (url: string, body: Uint8Array | ReadableStream<Uint8Array>) => fetch(url, { method: "POST", headers: { ...auth(token), "content-type": "application/octet-stream" }, body });
  const uploadUrl = (rel: { upload_url: string }, name: string) => rel.upload_url.replace(/\{[^}]*\}$/, `?name=${name}`);

  beforeAll(async () => {
    dbUrl = await pg().createDatabase();
    const dir = tempData().dir;
    const config = join(dir, "replicas.yaml");
    writeFileSync(config, s3Yaml("rep/"));
    const env = { ...rgw.env, RELEASE_SERVER_DATABASE_URL: dbUrl, RELEASE_SERVER_ADMIN_TOKEN: token };
    // all three at once: they migrate the empty database and bootstrap the admin token together
    replicas.push(...(await Promise.all(["a", "b", "c"].map((n) => startServer({ dir, data: join(dir, `data-${n}`), args: ["--config", config], env })))));
    // the operator's `release-server apps create`, on the shared database while the replicas run
    const cfg = loadConfig(config).config;
    await seed(join(dir, "operator"), (s) => s.createApp({ owner: "acme", slug: "shared" }, OP), { ...cfg, storage: { ...cfg.storage, database: dbUrl } });
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas) await r.stop("SIGKILL");
  });

  test("the admin token bootstrapped by three replicas at once is registered once, and all three answer", async () => {
    for (const r of replicas) expect((await at(r, "/readyz")).status).toBe(200);
    const db = new SQL({ url: dbUrl, max: 1 });
    try {
      const [row] = await db`SELECT count(*)::int AS n FROM tokens`;
      expect(row.n).toBe(1);
    } finally {
      await db.close();
    }
  }, 30_000);

  test("a release created through A is listed and downloadable through B and C at once", async () => {
    const [a, b, c] = replicas as [Running, Running, Running];
    const created = await send(a, "POST", `/api/v3/repos/${REPO}/releases`, { tag_name: "v1.0.0" });
    expect(created.status).toBe(201);
    const rel = (await created.json()) as any;
    const content = bytes(7 * MiB + 11, 41); // above one 5 MiB part: a multipart upload
    const up = await uploadTo(uploadUrl(rel, "tool-linux-x64.bin"), content);
    expect(up.status).toBe(201);
    const listed = await Promise.all([b, c].map(async (r) => ((await (await at(r, `/api/v3/repos/${REPO}/releases`)).json()) as any[]).map((x) => x.tag_name)));
    expect(listed).toEqual([["v1.0.0"], ["v1.0.0"]]);
    const got = await Promise.all([b, c, b, c].map(async (r) => new Uint8Array(await (await at(r, `/acme/shared/releases/download/v1.0.0/tool-linux-x64.bin`)).arrayBuffer())));
    for (const g of got) expect(sha256Hex(g)).toBe(sha256Hex(content));
    // the download counts of both replicas merge (batched per replica; flushed on their timers or by the next read)
  }, 60_000);

  test("the same tag created at the same moment through two replicas: one 201, one 422", async () => {
    const [a, b] = replicas as [Running, Running];
    for (let i = 0; i < 5; i++) {
      const statuses = (await Promise.all([a, b].map((r) => send(r, "POST", `/api/v3/repos/${REPO}/releases`, { tag_name: `v2.0.${i}` })))).map((r) => r.status).sort();
      expect(statuses).toEqual([201, 422]);
    }
  }, 30_000);

  test("a channel promoted on B serves the same rollout buckets on A and C", async () => {
    const [a, b, c] = replicas as [Running, Running, Running];
    const tag = (r: Running) => at(r, `/api/v3/repos/${REPO}/releases/tags/v2.0.0`).then((x) => x.json() as any);
    const newer = await tag(b);
    // the promotion gate wants an asset: one small upload (through B, whose upload_url it is)
    expect((await uploadTo(uploadUrl(newer, "tool-linux-x64.bin"), bytes(1000, 7))).status).toBe(201);
    const promote = (id: number, rollout: number) =>
      send(b, "PUT", `/api/v3/repos/${REPO}/channels/stable`, { release_id: id, rollout_percent: rollout });
    expect((await promote(((await (await at(b, `/api/v3/repos/${REPO}/releases/tags/v1.0.0`)).json()) as any).id, 100)).status).toBe(200);
    expect((await promote(newer.id, 30)).status).toBe(200);
    const ids = Array.from({ length: 60 }, (_, i) => `install-${i}`);
    const served = async (r: Running) =>
      Promise.all(ids.map(async (id) => ((await (await at(r, `/api/v3/repos/${REPO}/releases/latest?channel=stable`, { headers: { "x-install-id": id } })).json()) as any).tag_name));
    const [onA, onC] = await Promise.all([served(a), served(c)]);
    expect(onA).toEqual(onC);
    expect(new Set(onA)).toEqual(new Set(["v1.0.0", "v2.0.0"])); // some of 60 in the 30%, some not
  }, 30_000);

  test("SIGKILL of a replica mid-upload: the others keep serving and nothing partial is visible", async () => {
    const [a, b, c] = replicas as [Running, Running, Running];
    const rel = (await (await at(a, `/api/v3/repos/${REPO}/releases/tags/v1.0.0`)).json()) as any;
    const before = await bucketStateOf("rep/");
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if (sent >= 11 * MiB) return ctl.close();
        ctl.enqueue(bytes(MiB, 100 + sent / MiB));
        sent += MiB;
        if (sent === 7 * MiB) { // a 5 MiB part is in S3 by now: kill the replica that is writing it
          await Bun.sleep(300);
          c.proc.kill("SIGKILL");
        }
      },
    });
    const killed = await uploadTo(uploadUrl(rel, "partial.bin").replace(a.url, c.url), body).then((r) => r.status, () => "connection lost");
    expect(killed).toBe("connection lost");
    await c.proc.exited;
    for (const r of [a, b]) {
      const assets = ((await (await at(r, `/api/v3/repos/${REPO}/releases/${rel.id}/assets`)).json()) as any[]).map((x) => x.name);
      expect(assets).toEqual(["tool-linux-x64.bin"]);
      expect((await at(r, `/acme/shared/releases/download/v1.0.0/partial.bin`)).status).toBe(404);
    }
    const after = await bucketStateOf("rep/");
    expect(after.objects).toEqual(before.objects); // no object for the cut upload
    // its multipart upload may stay open (a killed process aborts nothing); the stale-upload sweep removes it
    const swept = await store("rep/").sweepUploads(Date.now() + 3_600_000, 0);
    expect(swept.length).toBe(after.uploads.length);
    expect((await bucketStateOf("rep/")).uploads).toEqual([]);
  }, 60_000);
});
