/**
 * `release-server serve`: opens the data directory, puts the HTTP app on a port, and drains on
 * SIGTERM/SIGINT (stops accepting, lets in-flight requests finish, flushes batched writes, exits 0;
 * it installs its own handlers, so it also stops cleanly as PID 1 in a container).
 * `serve --check` is the container health probe: GET /readyz on the local port, exit 0 or 1.
 */
import { defineCommand } from "citty";
import { deadline } from "../../shared/deadline.ts";
import { AgError, cannotListen, describeError, usageError } from "../../shared/errors.ts";
import { loadConfig } from "../config.ts";
import { openService, ReleaseService } from "../service.ts";
import { ServerExit, ServiceError } from "../domain/errors.ts";
import { createHttpApp } from "../http/app.ts";
import { stdoutSink } from "../http/log.ts";
import { commonArgs, dataDirOf, numberArg, splitAppRef } from "./_shared.ts";

/** How long a drain may take before open connections are cut. */
const DRAIN_MS = 25_000;
/** How long closing (the last flush to the database) may take at shutdown. */
const CLOSE_MS = 10_000;
/** Idle seconds allowed on a connection that sends a body (Bun's maximum; every other request gets 60). */
const UPLOAD_IDLE_SECONDS = 255;

export default defineCommand({
  meta: { name: "serve", description: "Serve the HTTP API, downloads and the package browser" },
  args: {
    data: commonArgs.data,
    config: commonArgs.config,
    host: { type: "string", description: "Address to listen on (default: config http.host, 127.0.0.1)" },
    port: { type: "string", description: "Port; 0 picks a free one (default: config http.port, 8080)", valueHint: "N" },
    "public-url": { type: "string", description: "URL clients reach the server at (default: $RELEASE_SERVER_PUBLIC_URL, config http.public_url, else the request's origin)", valueHint: "URL" },
    "default-app": { type: "string", description: "OWNER/SLUG served by the root /upload, /latest, /assets, /packages (default: $RELEASE_SERVER_DEFAULT_APP)" },
    check: { type: "boolean", description: "Probe a running server's /readyz on --port and exit 0 (ready) or 1" },
  },
  async run({ args }) {
    const { config } = loadConfig(args.config);
    const port = args.port === undefined ? config.http.port : numberArg("port", args.port);
    // A probe's answer is its exit status (citty does not pass a subcommand's result up).
    if (args.check) process.exit(await probe(port));

    const defaultRef = args["default-app"] ?? process.env.RELEASE_SERVER_DEFAULT_APP;
    const defaultApp = defaultRef === undefined ? null : splitAppRef(defaultRef, "--default-app");
    const publicUrl = args["public-url"] ?? process.env.RELEASE_SERVER_PUBLIC_URL ?? config.http.public_url;
    if (publicUrl && !URL.canParse(publicUrl)) throw usageError(`--public-url must be an absolute URL, got ${JSON.stringify(publicUrl)}`);

    const dataDir = dataDirOf(args);
    const service = await openService(dataDir, config); // creates the data directory
    const adminToken = process.env.RELEASE_SERVER_ADMIN_TOKEN;
    if (adminToken) await service.ensureBootstrapToken(adminToken, "admin (RELEASE_SERVER_ADMIN_TOKEN)");

    const app = createHttpApp({ service, publicUrl: publicUrl || null, defaultApp, log: stdoutSink });
    const host = args.host ?? config.http.host;
    let server: ReturnType<typeof Bun.serve>;
    try {
      server = Bun.serve({
      hostname: host,
      port,
      // Said outright: with SO_REUSEPORT a second server on the same port binds too and takes half
      // the connections; replicas listen on ports (or hosts) of their own behind the balancer.
      reusePort: false,
      // Bun's own cap (default 128 MB) is only a safety net well above ours, so that ours (counted as
      // the handler reads) answers first, with a JSON 413, even when the client sends faster.
      maxRequestBodySize: config.uploads.max_bytes + 64 * 1024 * 1024,
      idleTimeout: 60,
      // Never Bun's development error page (a stack with source lines) for whatever escapes the app.
      development: false,
      error: () => new Response(JSON.stringify({ message: "Internal Server Error" }), { status: 500, headers: { "content-type": "application/json; charset=utf-8" } }),
      fetch: (req, srv) => {
        // A request with a body: the handler stops reading while the blob store catches up (an S3
        // part upload under load), and the client then has nothing to send. Bun counts that as idle
        // and cuts the upload at 60 s, so these get Bun's longest idle time instead.
        if (req.body !== null && (req.method === "POST" || req.method === "PUT" || req.method === "PATCH")) srv.timeout(req, UPLOAD_IDLE_SECONDS);
        return app.fetch(req);
      },
      });
    } catch (e) {
      await service.close().catch(() => {});
      throw cannotListen(host, port, e);
    }
    stdoutSink(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "listening", url: server.url.href, data: dataDir, pid: process.pid }));
    const db = service.database;
    if (db) stdoutSink(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "database", kind: db.kind, database: db.label, migrated: db.applied }));
    const flusher = setInterval(() => void service.flush().catch(() => {}), config.tokens.flush_seconds * 1000);
    const sweeper = retentionSweep(service, config.retention.sweep_minutes);

    // Resolves with what went wrong while closing, if anything (then exit 1 after the log line).
    const failed = await new Promise<string | undefined>((resolve) => {
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        stdoutSink(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "draining", signal, pending: server.pendingRequests }));
        const cut = setTimeout(() => server.stop(true), DRAIN_MS);
        await server.stop(false);
        clearTimeout(cut);
        clearInterval(flusher);
        await sweeper.stop();
        // Closing flushes the batched counters to the database. If it is gone (or hangs), say so and
        // exit 1 after CLOSE_MS instead of waiting forever: those increments are lost, nothing else.
        try {
          await deadline(service.close(), CLOSE_MS, () => new Error(`no answer within ${CLOSE_MS / 1000} s`));
          stdoutSink(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "stopped" }));
          resolve(undefined);
        } catch (err) {
          const error = `could not flush batched counters and close the database: ${describeError(err)}`;
          stdoutSink(JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "stopped", error }));
          resolve(error);
        }
      };
      process.on("SIGTERM", () => void stop("SIGTERM"));
      process.on("SIGINT", () => void stop("SIGINT"));
    });
    if (failed) throw new AgError(`stopped, but ${failed}; the counters batched since the last flush are lost`, { exitCode: ServerExit.internal, code: "close_failed" });
  },
});

/**
 * The background retention sweep: `runRetention` every `minutes` (0: none). It holds the database's
 * retention lock like `retention run`, so with several replicas one deletes and the others, finding
 * the lock taken (a conflict), skip this round. Each round is one log line.
 */
function retentionSweep(service: ReleaseService, minutes: number): { stop(): Promise<void> } {
  if (!(minutes > 0)) return { stop: async () => {} };
  let running: Promise<void> | undefined;
  const log = (level: string, fields: Record<string, unknown>) => stdoutSink(JSON.stringify({ time: new Date().toISOString(), level, msg: "retention", ...fields }));
  const round = async () => {
    try {
      const r = await service.runRetention({ dryRun: false }, ReleaseService.operator("retention-sweep"));
      log("info", { releases: r.releases.length, blobs: r.blobs.length, staging: r.staging.length });
    } catch (err) {
      if (err instanceof ServiceError && err.kind === "conflict") log("info", { skipped: "another process or replica is running retention" });
      else log("error", { error: err instanceof Error ? err.message : String(err) });
    }
  };
  const timer = setInterval(() => {
    if (!running) running = round().finally(() => (running = undefined));
  }, minutes * 60_000);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

async function probe(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? 0 : 1;
  } catch {
    return 1;
  }
}
