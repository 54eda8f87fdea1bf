/**
 * The HTTP side of `auditgraph ui`: one Bun.serve on loopback serving the page (bundled from
 * app/index.html by Bun's HTML import, at build time under `bun build --compile`, so the executable
 * carries it) and the read-only JSON API of data.ts.
 *
 * Safe by default:
 * - every /api/ request must carry the session token (header `X-Auditgraph-Token`), a random value
 *   printed once in the start URL; the page moves it from the URL into localStorage. A custom
 *   header cannot be sent cross-site without a CORS preflight, which is never granted;
 * - the Host header must name this server (its bound host, or an IP literal / `localhost` with its
 *   port): a DNS-rebinding page's Host is its own domain name and is refused (421);
 * - a request whose Origin is not this server's, or whose Sec-Fetch-Site is cross-site or
 *   same-site (another port of the same host), is refused (403);
 * - GET and HEAD only (405 otherwise): nothing is ever written;
 * - a Content-Security-Policy without inline scripts or styles, nosniff, no referrer, no framing.
 *   The page builds its DOM with text nodes only; see app/.
 */
import type { Server } from "bun";
import page from "./app/index.html";
import { AgError, clip, ExitCode, usageError } from "../shared/errors.ts";
import type { UiData, Json } from "./data.ts";

/**
 * Each API's query parameters: `once` at most once each, `many` repeatable (their values are joined
 * as a comma-separated list, as `--type` given twice adds to the first), `need` required and not
 * empty. A parameter the API does not take is a usage error (400), as an unknown flag is for the CLI
 * and an unknown argument for the MCP tools; an empty optional one is as if left out (a form's empty field).
 */
type ParamSpec = { once?: string[]; many?: string[]; need?: string[] };
/** A request's parameters as an API reads them: one value, or every value of a repeatable one joined by commas (empty ones left out). */
type Params = { one(k: string): string | undefined; all(k: string): string | undefined };

function checkParams(path: string, spec: ParamSpec, q: URLSearchParams): void {
  const takes = [...(spec.once ?? []), ...(spec.many ?? [])];
  for (const k of new Set(q.keys())) {
    if (!takes.includes(k)) throw usageError(`${path} takes ${takes.length ? `only ${takes.join(", ")}` : "no parameters"}, not '${clip(k, 40)}'`);
    if (spec.once?.includes(k) && q.getAll(k).length > 1) throw usageError(`${path}: '${k}' is given ${q.getAll(k).length} times; give it once`);
  }
  for (const k of spec.need ?? []) if (!q.get(k)) throw usageError(`${path} needs '${k}'`);
}

export const TOKEN_HEADER = "x-auditgraph-token";

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** Above this resident size, the index's caches are dropped after a request, at most every 0.5 s (the target is 150 MB at peak). */
const SOFT_RSS = 110 * 1024 * 1024;

type Asset = { body: Uint8Array; type: string; etag: string };

/**
 * The page and its assets, as Bun bundles the HTML import: served once by a throwaway loopback
 * server and kept in memory, so that every response goes through the checks and headers below
 * (Bun's own HTML routes cannot carry them). From source Bun bundles here (a few hundred ms); in a
 * compiled executable the bundle is already built and embedded.
 */
async function loadAssets(): Promise<Map<string, Asset>> {
  const inner = Bun.serve({ hostname: "127.0.0.1", port: 0, development: false, routes: { "/": page }, fetch: () => new Response("", { status: 404 }) });
  const assets = new Map<string, Asset>();
  try {
    const queue = ["/"];
    while (queue.length) {
      const path = queue.shift()!;
      if (assets.has(path)) continue;
      const r = await fetch(new URL(path, inner.url));
      if (!r.ok) throw new Error(`the page's asset ${path} is missing (${r.status})`);
      const body = new Uint8Array(await r.arrayBuffer());
      const type = r.headers.get("content-type") ?? "application/octet-stream";
      assets.set(path, { body, type, etag: `"${new Bun.CryptoHasher("sha256").update(body).digest("hex").slice(0, 20)}"` });
      if (/html|css|javascript/.test(type)) {
        const text = new TextDecoder().decode(body);
        for (const m of text.matchAll(/(?:src|href)="(\/[^"/][^"]*)"|url\((?:["']?)(\/[^"')]+)|["'](\/chunk-[a-z0-9]+\.[a-z0-9]+)["']/g)) {
          const p = (m[1] ?? m[2] ?? m[3])!.split(/[?#]/)[0]!;
          if (!assets.has(p)) queue.push(p);
        }
      }
    }
  } finally {
    inner.stop(true);
  }
  return assets;
}

const isLoopback = (h: string) => h === "localhost" || h === "::1" || h === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(h);
export { isLoopback };
const isIpLiteral = (h: string) => /^\d+\.\d+\.\d+\.\d+$/.test(h) || /^\[[0-9a-f:.]+\]$/i.test(h);

export type UiServer = { url: string; token: string; server: Server<undefined>; stop(): Promise<void> };

/** Starts the server; `port` 0 takes a free port. */
export async function startUi(opts: { data: UiData; host: string; port: number; token?: string }): Promise<UiServer> {
  const { data } = opts;
  const token = opts.token ?? Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
  const tokenBytes = Buffer.from(token);
  const assets = await loadAssets();
  let port = 0;
  const hostName = opts.host.includes(":") && !opts.host.startsWith("[") ? `[${opts.host}]` : opts.host;
  const unspecified = opts.host === "0.0.0.0" || opts.host === "::";
  /** Host headers this server answers to: its bound address, and IP literals or localhost with its port (never a DNS name: DNS rebinding). */
  const hostOk = (h: string | null) => {
    if (!h) return false;
    // A browser leaves the port out of Host when it is HTTP's default (80).
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h.toLowerCase());
    if (!m || Number(m[2] ?? 80) !== port) return false;
    const name = m[1]!;
    if (name === hostName.toLowerCase()) return true;
    if (name === "localhost" || name === "127.0.0.1" || name === "[::1]") return isLoopback(opts.host) || unspecified;
    return unspecified && isIpLiteral(name);
  };
  const tokenOk = (req: Request) => {
    const t = req.headers.get(TOKEN_HEADER);
    if (!t) return false;
    const b = Buffer.from(t);
    return b.length === tokenBytes.length && crypto.timingSafeEqual(b, tokenBytes);
  };

  const respond = (body: string | Uint8Array | null, status: number, headers: Record<string, string>) =>
    new Response(body, { status, headers: { ...SECURITY_HEADERS, ...headers } });
  const json = (value: unknown, status = 200) =>
    respond(JSON.stringify(value), status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  const refuse = (status: number, code: string, message: string, extra: Record<string, string> = {}) =>
    respond(JSON.stringify({ status: "error", code, message }), status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...extra });

  /** Each API: its parameters (see ParamSpec) and its answer. */
  const apis: Record<string, ParamSpec & { run: (p: Params) => Json }> = {
    "/api/status": { run: () => data.status() },
    "/api/query": { once: ["q", "limit"], many: ["type", "path", "tag"], run: (p) => data.query(p.one("q") ?? "", { type: p.all("type"), path: p.all("path"), tag: p.all("tag"), limit: p.one("limit") }) },
    "/api/node": { once: ["id"], need: ["id"], run: (p) => data.node(p.one("id")!) },
    "/api/neighbors": { once: ["id", "depth", "max"], many: ["edge_type"], need: ["id"], run: (p) => data.neighbors(p.one("id")!, { depth: p.one("depth"), edge_type: p.all("edge_type"), max: p.one("max") }) },
    "/api/overview": { run: () => data.overview() },
    "/api/runs": { run: () => data.runs() },
    "/api/diff": { once: ["a", "b"], need: ["a", "b"], run: (p) => data.diff(p.one("a")!, p.one("b")!) },
  };
  const api = (path: string, q: URLSearchParams): Json => {
    const a = Object.hasOwn(apis, path) ? apis[path] : undefined;
    if (!a) throw new AgError(`no such API: ${clip(path)}`, { exitCode: ExitCode.usage, code: "not_found" });
    checkParams(path, a, q);
    // A repeatable one as the CLI's repeated flags: every value (comma-separated lists are split
    // later); an empty one is as if left out (an empty form field), also among several (`type=&type=`).
    return a.run({ one: (k) => q.get(k) ?? undefined, all: (k) => q.getAll(k).filter((v) => v !== "").join(",") || undefined });
  };

  const handle = (req: Request): Response => {
    if (!hostOk(req.headers.get("host"))) return refuse(421, "bad_host", "this server answers only to its own address (Host header refused)");
    if (req.method !== "GET" && req.method !== "HEAD") return refuse(405, "method_not_allowed", "read-only: GET and HEAD only", { allow: "GET, HEAD" });
    const origin = req.headers.get("origin");
    if (origin !== null && origin !== `http://${req.headers.get("host")}`) return refuse(403, "cross_origin", "requests from another origin are refused");
    const site = req.headers.get("sec-fetch-site");
    if (site !== null && site !== "same-origin" && site !== "none") return refuse(403, "cross_site", "cross-site requests are refused");
    const url = new URL(req.url);
    if (url.pathname.startsWith("/api/")) {
      if (!tokenOk(req)) return refuse(401, "unauthorized", "missing or wrong session token: open the URL that 'auditgraph ui' printed");
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      let res: Response;
      try {
        res = json(api(url.pathname, url.searchParams));
      } catch (e) {
        res = errorResponse(e, json);
      }
      // The server's own time for the answer (what the benchmark reports), then keep memory in check.
      const cpu = process.cpuUsage(c0);
      res.headers.set("server-timing", `app;dur=${(performance.now() - t0).toFixed(2)}, cpu;dur=${((cpu.user + cpu.system) / 1000).toFixed(2)}`);
      // after the answer is sent: reload the small tables every search needs
      if (data.trim(SOFT_RSS)) setTimeout(() => data.warm(), 0);
      return res;
    }
    const a = assets.get(url.pathname === "/index.html" ? "/" : url.pathname);
    if (!a) return refuse(404, "not_found", `no such page: ${url.pathname}`);
    if (req.headers.get("if-none-match") === a.etag) return respond(null, 304, { etag: a.etag });
    return respond(a.body, 200, { "content-type": a.type, etag: a.etag, "cache-control": "no-cache" });
  };

  // reusePort: false, said outright: with SO_REUSEPORT a second `ui` on the same port binds too, and
  // the kernel hands each connection to either server (each with its own session token).
  const server = Bun.serve({ hostname: opts.host, port: opts.port, reusePort: false, development: false, fetch: handle, error: () => new Response("internal error", { status: 500 }) });
  port = server.port!;
  setTimeout(() => data.warm({ search: true }), 0);
  const url = `http://${hostName}:${port}/?token=${token}`;
  return {
    url, token, server,
    async stop() { await server.stop(true); data.close(); },
  };
}

/** An error as the CLI's --json prints it, with an HTTP status for its exit code. */
function errorResponse(e: unknown, json: (v: unknown, status: number) => Response): Response {
  if (e instanceof AgError) {
    const status = e.code === "not_found" ? 404 : e.exitCode === ExitCode.usage ? (e.code === "no_run" ? 409 : 400) : e.exitCode === ExitCode.rebuild ? 409 : 500;
    return json({ status: "error", code: e.code, exit_code: e.exitCode, message: e.message, ...(e.hint ? { hint: e.hint } : {}), ...(e.details ?? {}) }, status);
  }
  return json({ status: "error", code: "internal", exit_code: ExitCode.internal, message: `internal error: ${e instanceof Error ? e.message : String(e)}` }, 500);
}
