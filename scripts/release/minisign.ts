/**
 * minisign-compatible signing (https://jedisct1.github.io/minisign/ file formats), so users can
 * check SHA256SUMS with the standard `minisign -V`. Signatures are "ED": Ed25519 over the
 * BLAKE2b-512 of the file. Ed25519 is deterministic and the trusted comment carries the commit
 * time, so the same key and file give the same .minisig.
 *
 * Secret key files are read unencrypted (`minisign -G -W`) or scrypt-encrypted with a password.
 */
import { createPrivateKey, createPublicKey, scryptSync, sign } from "node:crypto";
import { configError } from "../../src/shared/errors.ts";

export interface SecretKey {
  keyId: Uint8Array; // 8 bytes, as stored
  seed: Uint8Array; // 32 bytes
  publicKey: Uint8Array; // 32 bytes
}

const te = new TextEncoder();
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
const bytesEqual = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const blake2b = (alg: "blake2b256" | "blake2b512", ...parts: Uint8Array[]) => {
  const h = new Bun.CryptoHasher(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** minisign shows key ids as a little-endian 64-bit number in upper-case hex. */
export const keyIdHex = (keyId: Uint8Array) => Buffer.from(keyId).reverse().toString("hex").toUpperCase();
/** The key id as minisign writes it in comments (`%" PRIX64`: no leading zeros). */
const keyIdComment = (keyId: Uint8Array) => keyIdHex(keyId).replace(/^0+(?=.)/, "");

/** The base64 line of a minisign file (the one after "untrusted comment:"). */
function keyLine(text: string, what: string): Uint8Array {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  const line = lines[0]?.startsWith("untrusted comment:") ? lines[1] : lines[0];
  if (!line || !/^[A-Za-z0-9+/]+={0,2}$/.test(line)) throw configError(`${what}: not a minisign key (no base64 key line)`);
  return new Uint8Array(Buffer.from(line, "base64"));
}

/** libsodium's crypto_pwhash_scryptsalsa208sha256 parameter choice, which minisign relies on. */
function scryptParams(opslimit: number, memlimit: number): { N: number; r: number; p: number } {
  const ops = Math.max(opslimit, 32768);
  const r = 8;
  const log2For = (maxN: number) => {
    let n = 1;
    while (n < 63 && 2 ** n <= maxN / 2) n++;
    return n;
  };
  if (ops < memlimit / 32) {
    return { N: 2 ** log2For(Math.floor(ops / (r * 4))), r, p: 1 };
  }
  const nLog2 = log2For(Math.floor(memlimit / (r * 128)));
  const maxrp = Math.min(Math.floor(ops / 4 / 2 ** nLog2), 0x3fffffff);
  return { N: 2 ** nLog2, r, p: Math.max(1, Math.floor(maxrp / r)) };
}

/** Parses the contents of a minisign secret key file; `password` is needed for encrypted keys. */
export function parseSecretKey(text: string, password?: string, what = "AUDITGRAPH_MINISIGN_SECRET_KEY"): SecretKey {
  const raw = keyLine(text, what);
  if (raw.length !== 158) throw configError(`${what}: not a minisign secret key (${raw.length} bytes, expected 158)`);
  const sigAlg = raw.subarray(0, 2);
  const kdfAlg = Buffer.from(raw.subarray(2, 4)).toString("latin1");
  if (Buffer.from(sigAlg).toString("latin1") !== "Ed") throw configError(`${what}: unsupported signature algorithm`);
  if (Buffer.from(raw.subarray(4, 6)).toString("latin1") !== "B2") throw configError(`${what}: unsupported checksum algorithm`);
  const keynum = raw.slice(54, 158);
  if (kdfAlg === "Sc") {
    if (password === undefined) {
      throw configError(`${what}: the key is encrypted and AUDITGRAPH_MINISIGN_PASSWORD is not set`);
    }
    const view = new DataView(raw.buffer, raw.byteOffset);
    const opslimit = Number(view.getBigUint64(38, true));
    const memlimit = Number(view.getBigUint64(46, true));
    const { N, r, p } = scryptParams(opslimit, memlimit);
    const stream = scryptSync(password, raw.subarray(6, 38), keynum.length, { N, r, p, maxmem: 128 * N * r + 64 * 1024 * 1024 });
    for (let i = 0; i < keynum.length; i++) keynum[i] ^= stream[i];
  } else if (kdfAlg !== "\0\0") {
    throw configError(`${what}: unsupported key derivation "${kdfAlg}"`);
  }
  const keyId = keynum.slice(0, 8);
  const sk = keynum.slice(8, 72);
  const chk = keynum.subarray(72, 104);
  const unchecked = kdfAlg !== "Sc" && chk.every((b) => b === 0); // `minisign -G -W` leaves it blank
  if (!unchecked && !bytesEqual(blake2b("blake2b256", sigAlg, keyId, sk), chk)) {
    throw configError(kdfAlg === "Sc" ? `${what}: wrong password (AUDITGRAPH_MINISIGN_PASSWORD)` : `${what}: corrupt key (checksum mismatch)`);
  }
  const key: SecretKey = { keyId, seed: sk.slice(0, 32), publicKey: sk.slice(32, 64) };
  const derived = createPublicKey(privateKeyObject(key)).export({ format: "jwk" }).x;
  if (derived !== b64url(key.publicKey)) throw configError(`${what}: corrupt key (public half does not match)`);
  return key;
}

function privateKeyObject(key: SecretKey) {
  return createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: b64url(key.seed), x: b64url(key.publicKey) }, format: "jwk" });
}

/** The public key file minisign -G would have written for this key. */
export function publicKeyFile(key: SecretKey): string {
  const body = new Uint8Array([...te.encode("Ed"), ...key.keyId, ...key.publicKey]);
  return `untrusted comment: minisign public key ${keyIdComment(key.keyId)}\n${b64(body)}\n`;
}

/** Reads the key id out of a public key file (`config/minisign.pub`). */
export function publicKeyId(text: string, what: string): string {
  const raw = keyLine(text, what);
  if (raw.length !== 42) throw configError(`${what}: not a minisign public key`);
  return keyIdHex(raw.subarray(2, 10));
}

/** A `.minisig` for `data`: prehashed Ed25519 plus the global signature over the trusted comment. */
export function signMinisign(key: SecretKey, data: Uint8Array, trustedComment: string): string {
  if (/[\r\n]/.test(trustedComment)) throw new Error("minisign: the trusted comment must be one line");
  const pk = privateKeyObject(key);
  const signature = new Uint8Array(sign(null, blake2b("blake2b512", data), pk));
  const global = new Uint8Array(sign(null, new Uint8Array([...signature, ...te.encode(trustedComment)]), pk));
  return [
    `untrusted comment: signature from minisign secret key ${keyIdComment(key.keyId)}`,
    b64(new Uint8Array([...te.encode("ED"), ...key.keyId, ...signature])),
    `trusted comment: ${trustedComment}`,
    b64(global),
    "",
  ].join("\n");
}
