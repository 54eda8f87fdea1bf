// The shared setup of the installer's end-to-end tests (installer.test.ts and
// installer-receipt.test.ts, two files so that bun test --parallel runs them side by side): one
// release build per source state (shared by every test process), its tags served over loopback, and a
// fresh HOME and PATH per run.
import { afterAll, beforeAll } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeReleases, tempDir, serveReleases, type Releases } from "./fixture.ts";
import { makeBin, type Fake } from "./shells.ts";

/** What the hooks set up: the releases, their server, a work directory, the build's version. */
export const I = {
  rel: undefined as unknown as Releases,
  server: undefined as unknown as ReturnType<typeof serveReleases>,
  work: "",
  CURRENT: "",
};

/** Registers the file's hooks: build (or reuse) the releases and serve them; clean up after. */
export function useReleases(): void {
  beforeAll(async () => {
    I.rel = await makeReleases();
    I.CURRENT = I.rel.manifest.version;
    I.server = serveReleases(I.rel);
    I.work = tempDir("work");
  }, 600_000); // the first release build of a source state takes a minute or two

  afterAll(() => {
    I.server?.stop();
    if (I.rel) rmSync(I.rel.root, { recursive: true, force: true });
    if (I.work) rmSync(I.work, { recursive: true, force: true });
  });
}

let n = 0;
/** A fresh HOME and PATH for one run. */
export function sandbox(opts: { omit?: string[]; fake?: Fake; scripts?: Record<string, string> } = {}) {
  const dir = join(I.work, String(++n));
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  const bin = makeBin(join(dir, "bin"), opts);
  const env: Record<string, string> = {
    PATH: bin, HOME: home, SHELL: "/bin/sh",
    AUDITGRAPH_DOWNLOAD_URL: I.server.url.origin,
    AUDITGRAPH_MINISIGN_KEY: I.rel.key.publicKey,
  };
  return { dir, home, bin, env };
}

export function installedVersion(dir: string): string {
  const r = Bun.spawnSync([join(dir, "auditgraph"), "version"], { stdout: "pipe" });
  return r.stdout.toString().trim().split(" ")[1] ?? "";
}

/** Tests that download and unpack a whole release. */
export const HEAVY = 60_000;
export const IS_ROOT = process.getuid?.() === 0;
/** Root writes anywhere and installs into /usr/local/bin: root's tests run these cases as nobody. */
export const AS_USER = IS_ROOT ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];

export const leftovers = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(".auditgraph-install")) : []);

export const NO_TOOL = /warning: THE SIGNATURE OF SHA256SUMS IS NOT VERIFIED: neither minisign nor an openssl that does Ed25519 and BLAKE2b-512/;
export const receipt = (home: string) => JSON.parse(readFileSync(join(home, ".config/auditgraph/install.json"), "utf8"));
export const COMPLETIONS = [".local/share/bash-completion/completions/auditgraph", ".local/share/zsh/site-functions/_auditgraph", ".config/fish/completions/auditgraph.fish"];
