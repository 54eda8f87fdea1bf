/**
 * Test fixture for the GitHub CLI: the release server's HTTP app (the one `serve` runs) on a
 * loopback TLS listener with a certificate for `releases.test` from a throwaway CA made here with
 * openssl, and an HTTP CONNECT proxy that sends every tunnel to that listener. `gh` runs with
 * HTTPS_PROXY pointing at the proxy and SSL_CERT_FILE at the CA (Go reads both), so it reaches
 * https://releases.test as a GitHub Enterprise host without any system file being touched.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { defaultConfig } from "../../../src/release-server/config.ts";
import { createHttpApp } from "../../../src/release-server/http/app.ts";
import { openService, type ReleaseService } from "../../../src/release-server/service.ts";
import { generateToken } from "../../../src/release-server/domain/tokens.ts";
import { tempData } from "./server.ts";

export const GH_HOST = "releases.test";

export interface GhServer {
  dir: string;
  data: string;
  service: ReleaseService;
  admin: string;
  /** https://127.0.0.1:port (the TLS listener itself, for fetch with the CA). */
  direct: string;
  env: Record<string, string>;
  /** Every request the app answered: method, path, status. */
  requests: Array<{ method: string; path: string; status: number; body?: string }>;
  gh(args: string[], opts?: { token?: string; cwd?: string; stdin?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

function sh(cmd: string[], cwd: string): void {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
}

/** A CA and a server certificate for `host`, signed by it (files in `dir`). */
export function makeCerts(dir: string, host: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=release-server test CA"], dir);
  sh(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${host}`], dir);
  Bun.write(join(dir, "ext.cnf"), `subjectAltName=DNS:${host},IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  sh(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"], dir);
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}

/** An HTTP CONNECT proxy that tunnels every CONNECT to 127.0.0.1:`port`. */
function connectProxy(port: number): Promise<Server> {
  const server = createServer((client: Socket) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      client.off("data", onData);
      if (!/^CONNECT \S+ HTTP\/1\.[01]\r\n/.test(head.toString("latin1"))) {
        client.end("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      const upstream = createConnection({ host: "127.0.0.1", port }, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        const rest = head.subarray(end + 4);
        if (rest.length) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    };
    client.on("data", onData);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

export async function startGhServer(opts: { logBodies?: boolean } = {}): Promise<GhServer> {
  const { dir, data } = tempData();
  const certs = makeCerts(join(dir, "tls"), GH_HOST);
  const service = await openService(data, defaultConfig());
  const admin = generateToken();
  await service.ensureBootstrapToken(admin, "admin");
  const requests: GhServer["requests"] = [];
  const app = createHttpApp({ service, publicUrl: `https://${GH_HOST}`, defaultApp: null, log: () => {} });
  const tls = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(certs.cert, "utf8"), key: readFileSync(certs.key, "utf8") },
    async fetch(req) {
      const url = new URL(req.url);
      let body: string | undefined;
      if (opts.logBodies && req.method === "POST" && url.pathname === "/api/graphql") {
        body = await req.clone().text();
      }
      const res = await app.fetch(req);
      requests.push({ method: req.method, path: url.pathname + url.search, status: res.status, body });
      return res;
    },
  });
  const proxy = await connectProxy(tls.port!);
  const proxyPort = (proxy.address() as { port: number }).port;
  const configDir = join(dir, "gh-config");
  mkdirSync(configDir, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    GH_HOST,
    GH_CONFIG_DIR: configDir,
    GH_PROMPT_DISABLED: "1",
    GH_NO_UPDATE_NOTIFIER: "1",
    NO_COLOR: "1",
    GH_PAGER: "cat",
    PAGER: "cat",
    HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
    https_proxy: `http://127.0.0.1:${proxyPort}`,
    NO_PROXY: "",
    no_proxy: "",
    SSL_CERT_FILE: certs.ca,
    SSL_CERT_DIR: join(dir, "tls"),
  };
  return {
    dir,
    data,
    service,
    admin,
    direct: `https://127.0.0.1:${tls.port}`,
    env,
    requests,
    async gh(args, o = {}) {
      const proc = Bun.spawn(["gh", ...args], {
        cwd: o.cwd ?? dir,
        env: { ...env, GH_ENTERPRISE_TOKEN: o.token ?? admin },
        stdin: o.stdin === undefined ? "ignore" : new TextEncoder().encode(o.stdin),
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      return { code, stdout, stderr };
    },
    async close() {
      proxy.close();
      tls.stop(true);
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
