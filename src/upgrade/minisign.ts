/**
 * minisign signature verification (https://jedisct1.github.io/minisign/ file formats) in
 * TypeScript: Ed25519 through WebCrypto, BLAKE2b-512 through Bun.CryptoHasher for prehashed ("ED")
 * signatures. Fails closed: anything that is not a well-formed signature by the expected key over
 * these exact bytes, with a valid global signature over the trusted comment, throws.
 */
import projectKeyFile from "../../config/minisign.pub" with { type: "text" };

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignatureError";
  }
}

export interface PublicKey {
  keyId: Uint8Array; // 8 bytes, as stored
  key: Uint8Array; // 32 bytes
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64"));
/** minisign shows key ids as a little-endian 64-bit number in upper-case hex. */
export const keyIdHex = (keyId: Uint8Array): string => Buffer.from(keyId).reverse().toString("hex").toUpperCase();
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * A public key: the base64 line (what `minisign -P` takes), or the text of a `.pub` file (an
 * "untrusted comment:" line, then the key line).
 */
export function parsePublicKey(text: string): PublicKey {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("untrusted comment:"));
  const line = lines[0] ?? "";
  if (lines.length !== 1 || !BASE64.test(line)) throw new SignatureError("not a minisign public key (expected one base64 key line)");
  const raw = b64(line);
  if (raw.length !== 42 || raw[0] !== 0x45 || raw[1] !== 0x64) throw new SignatureError("not a minisign Ed25519 public key");
  return { keyId: raw.slice(2, 10), key: raw.slice(10, 42) };
}

/** The key compiled into this binary: config/minisign.pub. */
export const projectKey = (): PublicKey => parsePublicKey(projectKeyFile);

export interface VerifiedSignature {
  keyId: string;
  trustedComment: string;
  prehashed: boolean;
}

async function ed25519Verify(key: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  const own = (b: Uint8Array) => new Uint8Array(b) as Uint8Array<ArrayBuffer>;
  const k = await crypto.subtle.importKey("raw", own(key), { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, k, own(signature), own(message));
}

/** Verifies `sigText` (a .minisig file) over `data` with `key`; throws SignatureError on any doubt. */
export async function verifyMinisign(data: Uint8Array, sigText: string, key: PublicKey): Promise<VerifiedSignature> {
  const lines = sigText.split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines.length < 4 || !lines[0]!.startsWith("untrusted comment:") || !lines[2]!.startsWith("trusted comment: ")) {
    throw new SignatureError("malformed minisign signature file");
  }
  if (!BASE64.test(lines[1]!) || !BASE64.test(lines[3]!)) throw new SignatureError("malformed minisign signature file (bad base64)");
  const sig = b64(lines[1]!);
  const global = b64(lines[3]!);
  if (sig.length !== 74 || global.length !== 64) throw new SignatureError("malformed minisign signature (wrong length)");
  const alg = String.fromCharCode(sig[0]!, sig[1]!);
  if (alg !== "ED" && alg !== "Ed") throw new SignatureError(`unsupported minisign signature algorithm '${alg}'`);
  const keyId = sig.subarray(2, 10);
  if (!equal(keyId, key.keyId)) {
    throw new SignatureError(`signed with key ${keyIdHex(keyId)}, expected key ${keyIdHex(key.keyId)}`);
  }
  const signature = sig.slice(10, 74);
  const prehashed = alg === "ED";
  const message = prehashed ? new Uint8Array(new Bun.CryptoHasher("blake2b512").update(data).digest()) : data;
  if (!(await ed25519Verify(key.key, signature, message))) throw new SignatureError("signature verification failed");
  const trustedComment = lines[2]!.slice("trusted comment: ".length);
  const signed = new Uint8Array(signature.length + Buffer.byteLength(trustedComment));
  signed.set(signature, 0);
  signed.set(new TextEncoder().encode(trustedComment), signature.length);
  if (!(await ed25519Verify(key.key, global, signed))) throw new SignatureError("the trusted comment's signature does not verify");
  return { keyId: keyIdHex(keyId), trustedComment, prehashed };
}
