/**
 * Test fixture: a real `release-server serve` process on loopback over a temp data directory that
 * the test seeds through ReleaseService first (apps, tokens, releases), plus small HTTP helpers.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { defaultConfig, type ServerConfig } from "../../../src/release-server/config.ts";
import { openService, ReleaseService } from "../../../src/release-server/service.ts";
import { generateToken } from "../../../src/release-server/domain/tokens.ts";
import type { App } from "../../../src/release-server/domain/model.ts";
import type { ReleaseInput } from "../../../src/release-server/domain/validate.ts";

export const MAIN = join(import.meta.dir, "../../../src/release-server/main.ts");
export const OP = ReleaseService.operator("cli:test");

export interface Running {
  url: string;
  /** The bootstrap admin token (RELEASE_SERVER_ADMIN_TOKEN). */
  admin: string;
  proc: ReturnType<typeof Bun.spawn>;
  dir: string;
  data: string;
  /** Every stdout line the server printed so far (JSON log lines). */
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function tempData(): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), "rs-http-"));
  return { dir, data: join(dir, "data") };
}

/** Opens the service on `data` (the server is not running yet, or reads it concurrently), runs `fn`, closes it. */
export async function seed<T>(data: string, fn: (s: ReleaseService) => T | Promise<T>, config: ServerConfig = defaultConfig(), clock?: () => Date): Promise<T> {
  const s = await openService(data, config, clock);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** `wrap` prefixes the command (e.g. `unshare --pid --fork` to run the server as PID 1). */
export async function startServer(opts: { dir: string; data: string; args?: string[]; env?: Record<string, string>; wrap?: string[] }): Promise<Running> {
  const admin = generateToken();
  const proc = Bun.spawn([...(opts.wrap ?? []), "bun", MAIN, "serve", "--data", opts.data, "--host", "127.0.0.1", "--port", "0", ...(opts.args ?? [])], {
    env: { ...process.env, RELEASE_SERVER_ADMIN_TOKEN: admin, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    (async () => {
      let buf = "";
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          logs.push(line);
          if (line.includes('"msg":"listening"')) resolve(JSON.parse(line).url.replace(/\/$/, ""));
        }
      }
      reject(new Error(`server exited before listening: ${await new Response(proc.stderr as ReadableStream).text()}`));
    })().catch(reject);
  });
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (proc.exitCode === null) proc.kill(signal);
    return await proc.exited;
  };
  return {
    url,
    admin,
    proc,
    dir: opts.dir,
    data: opts.data,
    logs,
    stop,
    async [Symbol.asyncDispose]() {
      await stop("SIGKILL");
      rmSync(opts.dir, { recursive: true, force: true });
    },
  };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Publishes `version` of `app` with the given files (name → content) through the service. */
export async function publish(s: ReleaseService, app: App, input: ReleaseInput, files: Record<string, string | Uint8Array> = {}) {
  const stored = [];
  for (const [filename, content] of Object.entries(files)) {
    const blob = await s.putBlob(once(typeof content === "string" ? new TextEncoder().encode(content) : content));
    stored.push({ filename, blob });
  }
  return await s.publishRelease(app, input, stored, OP);
}

export const auth = (token: string, scheme = "Bearer") => ({ authorization: `${scheme} ${token}` });

/** Polls `check` until it returns a value (not undefined/false), or fails naming `what`. */
export async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/** The access-log line of the request sent with `x-request-id: id` (waits for it to arrive). */
export const logLine = (srv: Running, id: string) =>
  until(`the log line of request ${id}`, () => srv.logs.map((l) => JSON.parse(l)).find((l) => l.request_id === id));

/** Files currently in the blob store and staging area (to prove a failed upload stored nothing). */
export function storedFiles(data: string): { blobs: number; staging: number } {
  const walk = (d: string): number => {
    let n = 0;
    for (const e of readdirSync(d, { withFileTypes: true })) n += e.isDirectory() ? walk(join(d, e.name)) : 1;
    return n;
  };
  return { blobs: walk(join(data, "blobs")), staging: walk(join(data, "staging")) };
}

export { peakRss } from "../../helpers/proc.ts";

/** Deterministic bytes that differ per seed (no two tests share a blob by accident). */
export function bytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/**
 * One raw HTTP/1.1 request on its own connection, so a test controls exactly what is sent and when:
 * the head at once, then body bytes with `send` (as chunks when `chunked`), then `end()` (the last
 * chunk, when chunked) or `destroy()`. `response` resolves once the answer is complete (its
 * Content-Length), also while the body is still being sent; status 0 when the connection closed first.
 */
export async function rawRequest(url: string, opts: { method?: string; path: string; headers: Record<string, string>; chunked?: boolean }) {
  const { hostname, port } = new URL(url);
  const sock = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  sock.on("error", () => {}); // a reset after the server answered early is expected
  let raw = Buffer.alloc(0);
  let answer: RawResponse | undefined;
  const response = new Promise<RawResponse>((resolve) => {
    const settle = () => {
      const head = raw.indexOf("\r\n\r\n");
      if (head < 0) return false;
      const lines = raw.subarray(0, head).toString("latin1").split("\r\n");
      const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      const length = Number(headers["content-length"] ?? NaN);
      if (!(raw.length - head - 4 >= length)) return false;
      answer = { status: Number(lines[0]!.split(" ")[1]), headers, text: raw.subarray(head + 4, head + 4 + length).toString() };
      resolve(answer);
      return true;
    };
    sock.on("data", (d: Buffer) => {
      raw = Buffer.concat([raw, d]);
      settle();
    });
    sock.on("close", () => {
      if (!settle()) resolve({ status: 0, headers: {}, text: raw.toString("latin1") });
    });
  });
  const head = Object.entries({ host: hostname, ...opts.headers, ...(opts.chunked ? { "transfer-encoding": "chunked" } : {}) });
  sock.write(`${opts.method ?? "POST"} ${opts.path} HTTP/1.1\r\n${head.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`);
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

export interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  text: string;
}

/**
 * Sends a request with a chunked body (`rawRequest`): `chunkBytes`-sized chunks up to `totalBytes`,
 * then NO terminating chunk (the body stays open, as a slow or endless client's would). Resolves with
 * the response once the server answers, or rejects after `timeoutMs`: a server that waits for the
 * whole body before answering never does.
 */
export async function openChunkedRequest(
  url: string,
  opts: { method: string; path: string; headers: Record<string, string>; totalBytes: number; chunkBytes?: number; timeoutMs?: number },
): Promise<RawResponse> {
  const x = await rawRequest(url, { method: opts.method, path: opts.path, headers: opts.headers, chunked: true });
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const chunk = Buffer.alloc(opts.chunkBytes ?? 64 * 1024, " ");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to ${opts.method} ${opts.path} within ${timeoutMs} ms while its body was still open`)), timeoutMs);
  });
  const sending = (async () => {
    while (!x.answered() && x.sent < opts.totalBytes) await x.send(chunk);
  })();
  try {
    const r = await Promise.race([x.response, timeout]);
    if (r.status === 0) throw new Error(`the connection closed without an answer to ${opts.method} ${opts.path}`);
    return r;
  } finally {
    clearTimeout(timer);
    x.destroy();
    await sending;
  }
}

/**
 * A body that sends `head` bytes at once, then waits for `gate` before the rest: concurrent
 * uploads are all past every check made before the body is read before any of them is stored.
 */
export async function* heldBody(bytes: Uint8Array, head: number, gate: Promise<void>): AsyncGenerator<Uint8Array> {
  yield bytes.subarray(0, head);
  await gate;
  yield bytes.subarray(head);
}

/** A gate and the function that opens it. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}
