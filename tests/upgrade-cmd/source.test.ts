// Where `auditgraph upgrade` downloads from and what it sends there (resolveSource): a read token
// for a private app goes to a release server's base, never to the project's own base, which the
// installer's receipt records after an ordinary install.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT } from "../../src/schema/release.ts";
import { download, resolveSource } from "../../src/upgrade/release.ts";

const dir = mkdtempSync(join(tmpdir(), "ag-source-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const withReceipt = (source: string) => {
  const cfg = join(dir, String(Math.random()).slice(2));
  mkdirSync(join(cfg, "auditgraph"), { recursive: true });
  writeFileSync(join(cfg, "auditgraph", "install.json"), JSON.stringify({ source, channel: null, install_dir: "/x", version: "0.1.0", method: "install.sh" }));
  return { XDG_CONFIG_HOME: cfg };
};

test("the token goes to a release server's base, from the receipt or AUDITGRAPH_DOWNLOAD_URL", () => {
  const server = "https://releases.example.org/acme/tool";
  expect(resolveSource({}, { ...withReceipt(server), AUDITGRAPH_TOKEN: "rls_a" })).toMatchObject({ base: server, from: "install receipt", token: "rls_a" });
  expect(resolveSource({}, { ...withReceipt(PROJECT.downloadBase), AUDITGRAPH_DOWNLOAD_URL: `${server}/`, RELEASES_TOKEN: "rls_b" })).toMatchObject({ base: server, token: "rls_b" });
});

test("never to the project's own base: not by default, not when a receipt or the environment names it", () => {
  for (const env of [
    { ...withReceipt(PROJECT.downloadBase), AUDITGRAPH_TOKEN: "rls_a" },
    { ...withReceipt(`${PROJECT.downloadBase}/`), RELEASES_TOKEN: "rls_b" },
    { XDG_CONFIG_HOME: join(dir, "none"), AUDITGRAPH_TOKEN: "rls_c" },
    { XDG_CONFIG_HOME: join(dir, "none"), AUDITGRAPH_DOWNLOAD_URL: PROJECT.downloadBase, AUDITGRAPH_TOKEN: "rls_d" },
  ]) {
    const src = resolveSource({}, env);
    expect(src.base).toBe(PROJECT.downloadBase);
    expect(src.token).toBeUndefined();
  }
});

test("a download that redirects to another origin does not carry the token there (what the installer's object-store redirects rely on)", async () => {
  const store = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response(String(req.headers.get("authorization"))) });
  const server = Bun.serve({
    hostname: "127.0.0.1", port: 0,
    fetch: (req) => (new URL(req.url).pathname === "/same" ? new Response(String(req.headers.get("authorization"))) : Response.redirect(`http://localhost:${store.port}/blob`, 302)),
  });
  try {
    const src = resolveSource({}, { XDG_CONFIG_HOME: join(dir, "none"), AUDITGRAPH_DOWNLOAD_URL: `http://127.0.0.1:${server.port}`, AUDITGRAPH_TOKEN: "rls_secret" });
    const text = async (path: string) => new TextDecoder().decode(await download(src, `${src.base}${path}`));
    expect(await text("/same")).toBe("Bearer rls_secret"); // sent to the base
    expect(await text("/redirected")).toBe("null"); // not on to another origin
  } finally {
    server.stop(true);
    store.stop(true);
  }
});
