import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSecretKey, publicKeyFile, publicKeyId, signMinisign } from "../../scripts/release/minisign.ts";
import { makeKey, removeTempDirs, run, tempDir } from "./support.ts";

afterAll(removeTempDirs);

function signAndVerify(dir: string, key: ReturnType<typeof parseSecretKey>, pub: string) {
  const file = join(dir, "SHA256SUMS");
  const data = new TextEncoder().encode(`${"ab".repeat(32)}  auditgraph-linux-x64.tar.gz\n`);
  writeFileSync(file, data);
  const sig = signMinisign(key, data, "timestamp:1700000000\tfile:SHA256SUMS\thashed");
  expect(sig).toBe(signMinisign(key, data, "timestamp:1700000000\tfile:SHA256SUMS\thashed")); // deterministic
  writeFileSync(`${file}.minisig`, sig);
  const ok = run(["minisign", "-Vm", file, "-p", pub]);
  expect(ok.stderr + ok.stdout).toContain("Signature and comment signature verified");
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain("timestamp:1700000000\tfile:SHA256SUMS\thashed");
  writeFileSync(file, new TextEncoder().encode(`${"cd".repeat(32)}  auditgraph-linux-x64.tar.gz\n`));
  expect(run(["minisign", "-Vm", file, "-p", pub]).code).not.toBe(0);
}

test("an unencrypted minisign key signs what minisign -V accepts", () => {
  const dir = tempDir();
  const { pub, secret } = makeKey(dir);
  const key = parseSecretKey(secret);
  expect(publicKeyFile(key)).toBe(readFileSync(pub, "utf8").replace(/\n*$/, "\n"));
  expect(publicKeyId(readFileSync(pub, "utf8"), "key.pub")).toMatch(/^[0-9A-F]{16}$/);
  signAndVerify(dir, key, pub);
});

test("a password-encrypted key is decrypted with scrypt; a wrong or missing password is one clear error", () => {
  const dir = tempDir();
  const { pub, secret } = makeKey(dir, "correct horse");
  expect(() => parseSecretKey(secret)).toThrow("the key is encrypted and AUDITGRAPH_MINISIGN_PASSWORD is not set");
  expect(() => parseSecretKey(secret, "wrong")).toThrow("wrong password");
  signAndVerify(dir, parseSecretKey(secret, "correct horse"), pub);
}, 60_000);

test("garbage in AUDITGRAPH_MINISIGN_SECRET_KEY is rejected with one line", () => {
  expect(() => parseSecretKey("not a key")).toThrow("AUDITGRAPH_MINISIGN_SECRET_KEY: not a minisign key");
  expect(() => parseSecretKey("untrusted comment: x\nRWQAAEIy\n")).toThrow("not a minisign secret key");
});

test("the committed public key is a minisign public key", () => {
  const text = readFileSync(join(import.meta.dir, "../../config/minisign.pub"), "utf8");
  expect(publicKeyId(text, "config/minisign.pub")).toBe(text.split("\n")[0].split(" ").pop()!);
});
