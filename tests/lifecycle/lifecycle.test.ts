// The release lifecycle end to end, with nothing faked: two releases built from throwaway clones of
// this checkout (the second with a bumped version and a small TypeScript change, and a delta from the
// first), signed with a throwaway minisign key that the clones compile in, published with
// `release:publish` to a real release-server on loopback and promoted on its `stable` channel; the
// first installed with install.sh from that server; then the installed executable upgrades itself:
// by the delta, back with --rollback, by the archive with --no-delta; and a client outside the 10%
// rollout of the second release stays on the first. The two releases are the pair shared with
// tests/release/delta.test.ts and tests/upgrade-cmd/ (tests/helpers/release-pair.ts), built before
// the server exists: their formula names GitHub's download URLs, which nothing here reads.
// (Tampered patches and archives, bad signatures, a wrong SHA256SUMS, a server dying mid-download
// and a full disk are driven against the same executables in tests/upgrade-cmd/upgrade.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rolloutBucket, inRollout } from "../../src/release-server/domain/rollout.ts";
import { releasePair, PAIR_TARGET as TARGET, V1, V2, V2_CHANGE } from "../helpers/release-pair.ts";
import { run } from "../release/support.ts";
import { OP, seed, startServer, tempData, type Running } from "../release-server/http/server.ts";

const OWNER = "auditgraph";
const APP = "auditgraph";
const PUBLISH = join(import.meta.dir, "../../scripts/release/publish.ts");
const INSTALLER_SHELL = "/bin/sh";

let work: string;
let srv: Running;
let token: string;
let appId: number;
let out1: string;
let out2: string;
let changelog1: string;
let changelog2: string;

const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

/** `bun run release:publish DIR` with its copy's CHANGELOG (the notes come from its version's section). */
async function publish(dir: string, changelog: string, args: string[]) {
  const p = Bun.spawn([process.execPath, PUBLISH, dir, "--repo", `${OWNER}/${APP}`, "--api-url", `${srv.url}/api/v3`, "--changelog", changelog, ...args], {
    env: { ...process.env, AUDITGRAPH_PUBLISH_TOKEN: token, GITHUB_TOKEN: "" },
    stdout: "pipe", stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

type Client = { home: string; bin: string; exe: string; env: Record<string, string> };

/** A machine of its own (HOME, config dir, PATH without auditgraph) that installs with install.sh from the server. */
async function installClient(name: string): Promise<Client> {
  const home = join(work, name);
  const bin = join(home, "bin");
  mkdirSync(bin, { recursive: true });
  const env: Record<string, string> = {
    HOME: home, XDG_CONFIG_HOME: join(home, ".config"), PATH: "/usr/local/bin:/usr/bin:/bin",
    AUDITGRAPH_NO_UPDATE_CHECK: "1", TMPDIR: join(home),
    // CI runs in a container; upgrading this copy is what the test is about (guard.ts's refusal has its own test)
    AUDITGRAPH_UPGRADE_IN_CONTAINER: "1",
  };
  const base = `${srv.url}/${OWNER}/${APP}`;
  const script = join(work, "install.sh");
  const res = await fetch(`${base}/releases/latest/download/install.sh?channel=stable`);
  if (!res.ok) throw new Error(`GET install.sh: ${res.status} ${await res.text()}`);
  writeFileSync(script, new Uint8Array(await res.arrayBuffer()));
  const r = run([INSTALLER_SHELL, script, "--base-url", base, "--channel", "stable", "--install-dir", bin, "--require-signature"], { env });
  if (r.code !== 0) throw new Error(`install.sh failed (${r.code}): ${r.stderr}`);
  return { home, bin, exe: join(bin, "auditgraph"), env };
}

const version = (c: Client) => JSON.parse(run([c.exe, "version", "--json"], { env: c.env }).stdout).version;
const upgrade = (c: Client, args: string[]) => {
  const r = run([c.exe, "upgrade", "--json", ...args], { env: c.env });
  let json: any;
  try { json = JSON.parse(r.stdout); } catch {}
  return { ...r, json };
};
/** An install id whose bucket for the second release is inside (or outside) the channel's rollout. */
function idFor(releaseId: number, percent: number, inside: boolean): string {
  for (let i = 0; ; i++) {
    const id = sha256(new TextEncoder().encode(`lifecycle-${i}`)).slice(0, 32);
    if (inRollout(percent, rolloutBucket(appId, "stable", releaseId, id)) === inside) return id;
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ag-lifecycle-"));
  const pair = await releasePair();
  ({ out1, out2, changelog1, changelog2 } = pair);

  const t = tempData();
  await seed(t.data, async (s) => {
    appId = (await s.createApp({ owner: OWNER, slug: APP }, OP)).id;
    token = (await s.createToken({ name: "ci-release", actions: ["publish", "promote"], apps: [`${OWNER}/${APP}`] }, OP)).raw;
  });
  srv = await startServer(t);
}, 600_000); // the shared pair, the first time for a source state

afterAll(async () => {
  await srv?.[Symbol.asyncDispose]();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("publish → install → upgrade (delta, rollback, archive) → staged rollout", () => {
  let alice: Client; // inside the second release's 10%
  let bob: Client; // outside it
  let v2Id: number;

  test("release:publish puts the first release on the server and promotes it on stable", async () => {
    const r = await publish(out1, changelog1, ["--channel", "stable", "--rollout", "100"]);
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`promoted v${V1} on channel stable at 100%`);
    // every asset of the build is on the server, byte for byte
    const rel = (await (await fetch(`${srv.url}/api/v3/repos/${OWNER}/${APP}/releases/tags/v${V1}`)).json()) as any;
    expect(rel.draft).toBe(false);
    const names = rel.assets.map((a: any) => a.name).sort();
    expect(names).toEqual(readdirSync(out1).filter((n) => statSync(join(out1, n)).isFile()).sort());
  }, 120_000);

  test("install.sh installs the first release from the server's stable channel, signature required", async () => {
    alice = await installClient("alice");
    bob = await installClient("bob");
    for (const c of [alice, bob]) {
      expect(version(c)).toBe(V1);
      const receipt = JSON.parse(readFileSync(join(c.home, ".config", "auditgraph", "install.json"), "utf8"));
      expect(receipt).toMatchObject({ channel: "stable", version: V1 });
    }
  }, 120_000);

  test("the second release is published with a delta and promoted to 10% of stable", async () => {
    const sums = readFileSync(join(out2, "SHA256SUMS"), "utf8");
    const patch = `auditgraph-${TARGET}.from-${V1}.patch`;
    expect(sums).toContain(patch);
    const archive = statSync(join(out2, `auditgraph-${TARGET}.tar.gz`)).size;
    expect(statSync(join(out2, patch)).size).toBeLessThan(archive * 0.05);
    const r = await publish(out2, changelog2, ["--channel", "stable", "--rollout", "10"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`promoted v${V2} on channel stable at 10%`);
    v2Id = ((await (await fetch(`${srv.url}/api/v3/repos/${OWNER}/${APP}/releases/tags/v${V2}`)).json()) as any).id;
    // the install ids: alice's bucket is inside the 10%, bob's outside
    writeFileSync(join(alice.home, ".config", "auditgraph", "install-id"), idFor(v2Id, 10, true) + "\n");
    writeFileSync(join(bob.home, ".config", "auditgraph", "install-id"), idFor(v2Id, 10, false) + "\n");
  }, 120_000);

  test("a client outside the rollout stays on the first release", async () => {
    const r = upgrade(bob, []);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ status: "up_to_date" });
    expect(version(bob)).toBe(V1);
  }, 60_000);

  test("a client inside it upgrades by the delta, verified; --rollback; then by the archive with --no-delta", async () => {
    const before = sha256(readFileSync(alice.exe));
    const up = upgrade(alice, []);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(up.json).toMatchObject({ status: "upgraded", method: "delta", latest: V2 });
    const archive = statSync(join(out2, `auditgraph-${TARGET}.tar.gz`)).size;
    expect(up.json.downloaded_bytes).toBeLessThan(archive * 0.05);
    expect(version(alice)).toBe(V2);
    // the result is the release's executable, byte for byte
    const tarDir = mkdtempSync(join(work, "x-"));
    expect(run(["tar", "-xzf", join(out2, `auditgraph-${TARGET}.tar.gz`), "-C", tarDir]).code).toBe(0);
    expect(sha256(readFileSync(alice.exe))).toBe(sha256(readFileSync(join(tarDir, "auditgraph"))));
    // the small TypeScript change is in it
    expect(run([alice.exe, "--help"], { env: alice.env }).stdout).toContain(V2_CHANGE);

    const back = upgrade(alice, ["--rollback"]);
    expect(back.code).toBe(0);
    expect(back.json).toMatchObject({ status: "rolled_back", from: V2, to: V1 });
    expect(sha256(readFileSync(alice.exe))).toBe(before);
    expect(version(alice)).toBe(V1);

    const full = upgrade(alice, ["--no-delta"]);
    expect(full.code).toBe(0);
    expect(full.json).toMatchObject({ status: "upgraded", method: "archive", latest: V2 });
    expect(full.json.downloaded_bytes).toBeGreaterThan(archive * 0.9);
    expect(version(alice)).toBe(V2);
  }, 120_000);

  test("the server's download counts and audit saw the channel's clients", async () => {
    const rel = (await (await fetch(`${srv.url}/api/v3/repos/${OWNER}/${APP}/releases/tags/v${V2}`)).json()) as any;
    const count = (n: string) => rel.assets.find((a: any) => a.name === n)?.download_count ?? 0;
    expect(count(`auditgraph-${TARGET}.from-${V1}.patch`)).toBeGreaterThanOrEqual(1);
    expect(count(`auditgraph-${TARGET}.tar.gz`)).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
