/** SHA256SUMS: `<hex>  <name>` lines sorted by name, as `sha256sum -c` and `shasum -a 256 -c` read them. */
import { sha256Hex } from "../../src/shared/hash.ts";

export interface Checksummed {
  name: string;
  sha256: string;
}

export const checksum = (name: string, data: Uint8Array): Checksummed => ({ name, sha256: sha256Hex(data) });

export function renderSums(files: Checksummed[]): string {
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.name)) throw new Error(`SHA256SUMS: ${f.name} listed twice`);
    if (/[\s\\]/.test(f.name)) throw new Error(`SHA256SUMS: unsupported file name ${JSON.stringify(f.name)}`);
    names.add(f.name);
  }
  return [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.name}\n`)
    .join("");
}
