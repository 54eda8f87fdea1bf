// The pieces of `auditgraph upgrade` that need no executable: minisign verification against the
// real minisign CLI's keys and signatures (prehashed and legacy), and the tar reader.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePublicKey, projectKey, SignatureError, verifyMinisign } from "../../src/upgrade/minisign.ts";
import { extractFile } from "../../src/upgrade/tar.ts";
import { tar } from "../../scripts/release/archive.ts";
import { parseSums } from "../../src/upgrade/release.ts";
import { compareVersions } from "../../src/upgrade/upgrade.ts";

let dir: string;
const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ag-minisign-"));
  sh(["minisign", "-G", "-W", "-f", "-p", join(dir, "k.pub"), "-s", join(dir, "k.sec")]);
  sh(["minisign", "-G", "-W", "-f", "-p", join(dir, "o.pub"), "-s", join(dir, "o.sec")]);
  writeFileSync(join(dir, "SUMS"), "0".repeat(64) + "  a.tar.gz\n");
  sh(["minisign", "-S", "-W", "-s", join(dir, "k.sec"), "-m", join(dir, "SUMS"), "-t", "timestamp:1\tfile:SUMS\thashed"]);
  writeFileSync(join(dir, "LEGACY"), "legacy bytes\n");
  sh(["minisign", "-S", "-l", "-W", "-s", join(dir, "k.sec"), "-m", join(dir, "LEGACY")]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const text = (name: string) => readFileSync(join(dir, name), "utf8");
const rejects = async (p: Promise<unknown>, message: RegExp) => {
  const e = await p.then(() => undefined, (err) => err);
  expect(e).toBeInstanceOf(SignatureError);
  expect((e as Error).message).toMatch(message);
};

test("verifies minisign's prehashed and legacy signatures, with a key file or its base64 line", async () => {
  const key = parsePublicKey(text("k.pub"));
  expect(parsePublicKey(text("k.pub").split("\n")[1]!)).toEqual(key);
  expect(await verifyMinisign(bytes("SUMS"), text("SUMS.minisig"), key)).toMatchObject({ prehashed: true, trustedComment: "timestamp:1\tfile:SUMS\thashed" });
  expect(await verifyMinisign(bytes("LEGACY"), text("LEGACY.minisig"), key)).toMatchObject({ prehashed: false });
});

test("fails closed: other bytes, another key, the project key, an edited trusted comment, a mangled file", async () => {
  const key = parsePublicKey(text("k.pub"));
  const sig = text("SUMS.minisig");
  const edited = bytes("SUMS");
  edited[0] = 0x31;
  await rejects(verifyMinisign(edited, sig, key), /^signature verification failed$/);
  await rejects(verifyMinisign(bytes("SUMS"), sig, parsePublicKey(text("o.pub"))), /^signed with key [0-9A-F]{16}, expected key [0-9A-F]{16}$/);
  await rejects(verifyMinisign(bytes("SUMS"), sig, projectKey()), /expected key 500AF302A28D4374$/);
  await rejects(verifyMinisign(bytes("SUMS"), sig.replace("timestamp:1", "timestamp:2"), key), /trusted comment's signature does not verify/);
  await rejects(verifyMinisign(bytes("SUMS"), sig.split("\n").slice(0, 2).join("\n"), key), /malformed/);
  await rejects(verifyMinisign(bytes("SUMS"), "", key), /malformed/);
  const lines = sig.split("\n");
  lines[1] = lines[1]!.slice(0, -8) + "AAAAAAA=";
  await rejects(verifyMinisign(bytes("SUMS"), lines.join("\n"), key), /signature verification failed|malformed/);
  expect(() => parsePublicKey("not a key")).toThrow(SignatureError);
});

test("the tar reader finds the executable, rejects damage, and SHA256SUMS and versions parse strictly", () => {
  const t = tar([{ name: "README.md", data: new TextEncoder().encode("r"), mode: 0o644 }, { name: "auditgraph", data: new Uint8Array([1, 2, 3]), mode: 0o755 }], 0);
  expect(extractFile(t, "auditgraph")).toEqual(new Uint8Array([1, 2, 3]));
  expect(extractFile(t, "missing")).toBeUndefined();
  const broken = new Uint8Array(t);
  broken[10] ^= 1;
  expect(() => extractFile(broken, "auditgraph")).toThrow(/checksum/);
  expect(() => extractFile(t.subarray(0, 1100), "zzz")).toThrow(/truncated/);
  expect(() => extractFile(t.subarray(0, 600), "zzz")).toThrow(/truncated/);
  expect(parseSums(`${"a".repeat(64)}  x.tar.gz\n${"b".repeat(64)} *y\n`)).toEqual(new Map([["x.tar.gz", "a".repeat(64)], ["y", "b".repeat(64)]]));
  expect(() => parseSums("zz  x\n")).toThrow(/malformed/);
  expect(() => parseSums(`${"a".repeat(64)}  x\n${"a".repeat(64)}  x\n`)).toThrow(/twice/);
  expect(compareVersions("0.2.0", "0.1.9")).toBe(1);
  expect(compareVersions("0.10.0", "0.9.0")).toBe(1);
  expect(compareVersions("1.0.0-rc.1", "1.0.0")).toBe(-1);
  expect(compareVersions("1.0.0-rc.2", "1.0.0-rc.10")).toBe(-1);
  expect(compareVersions("v1.2.3", "1.2.3")).toBe(0);
});
