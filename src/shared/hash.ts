/** SHA-256 as 64 lowercase hex digits (the one-shot form: no hasher object, about 7x faster on short strings such as paths). */
export function sha256Hex(data: string | Uint8Array | ArrayBuffer): string {
  return Bun.CryptoHasher.hash("sha256", data, "hex") as string;
}
