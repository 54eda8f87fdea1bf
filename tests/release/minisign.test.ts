import { afterAll, expect, test } from "bun:test";
import { scryptSync } from "node:crypto";
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

/**
 * `minisign -G -W`'s unencrypted key, encrypted the way minisign stores a password-protected one
 * (kdf "Sc", salt, opslimit and memlimit, the key id, secret key and blake2b checksum XORed with
 * scrypt's output), with limits that cost milliseconds instead of minisign's 1 GiB default. N, r and
 * p are what libsodium picks for those limits, worked out here by hand; minisign signing with the
 * key (libsodium decrypting it) is what proves them.
 */
function encryptKey(plain: string, password: string, limits: { opslimit: number; memlimit: number; N: number; p: number }): string {
  const [comment, b64] = plain.split("\n");
  const raw = Buffer.from(b64!, "base64");
  raw.write("Sc", 2, "latin1");
  const salt = raw.subarray(6, 38);
  for (let i = 0; i < salt.length; i++) salt[i] = (i * 37 + 11) & 0xff;
  raw.writeBigUInt64LE(BigInt(limits.opslimit), 38);
  raw.writeBigUInt64LE(BigInt(limits.memlimit), 46);
  const keynum = raw.subarray(54, 158);
  keynum.set(new Bun.CryptoHasher("blake2b256").update(raw.subarray(0, 2)).update(keynum.subarray(0, 72)).digest(), 72);
  const stream = scryptSync(password, salt, keynum.length, { N: limits.N, r: 8, p: limits.p });
  for (let i = 0; i < keynum.length; i++) keynum[i]! ^= stream[i]!;
  return `${comment}\n${raw.toString("base64")}\n`;
}

// Both branches of libsodium's choice: minisign's own default (opslimit 2^25, memlimit 1 GiB: N 2^20,
// p 1) takes the memlimit branch like the first; the second is limited by opslimit.
const LIMITS = [
  { opslimit: 262144, memlimit: 8 * 1024 * 1024, N: 8192, p: 1 },
  { opslimit: 32768, memlimit: 64 * 1024 * 1024, N: 1024, p: 1 },
];

test.each(LIMITS)("a password-encrypted key (opslimit $opslimit, memlimit $memlimit) is decrypted with scrypt as minisign does; a wrong or missing password is one clear error", (limits) => {
  const dir = tempDir();
  const { pub, secret: plain } = makeKey(dir);
  const secret = encryptKey(plain, "correct horse", limits);
  // minisign itself decrypts it (libsodium, the key's own limits) and signs
  const encrypted = join(dir, "encrypted.sec");
  writeFileSync(encrypted, secret);
  const file = join(dir, "data");
  writeFileSync(file, "signed by minisign\n");
  const signed = run(["minisign", "-S", "-s", encrypted, "-m", file], { stdin: "correct horse\n" });
  expect({ code: signed.code, stderr: signed.stderr.includes("Wrong password") }).toEqual({ code: 0, stderr: false });
  expect(run(["minisign", "-Vm", file, "-p", pub]).code).toBe(0);
  expect(run(["minisign", "-S", "-s", encrypted, "-m", file], { stdin: "wrong\n" }).code).not.toBe(0);
  // and so does parseSecretKey
  expect(() => parseSecretKey(secret)).toThrow("the key is encrypted and AUDITGRAPH_MINISIGN_PASSWORD is not set");
  expect(() => parseSecretKey(secret, "wrong")).toThrow("wrong password");
  signAndVerify(dir, parseSecretKey(secret, "correct horse"), pub);
});

test("garbage in AUDITGRAPH_MINISIGN_SECRET_KEY is rejected with one line", () => {
  expect(() => parseSecretKey("not a key")).toThrow("AUDITGRAPH_MINISIGN_SECRET_KEY: not a minisign key");
  expect(() => parseSecretKey("untrusted comment: x\nRWQAAEIy\n")).toThrow("not a minisign secret key");
});

test("the committed public key is a minisign public key", () => {
  const text = readFileSync(join(import.meta.dir, "../../config/minisign.pub"), "utf8");
  expect(publicKeyId(text, "config/minisign.pub")).toBe(text.split("\n")[0].split(" ").pop()!);
});
