import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzip, tar, tarGz } from "../../scripts/release/archive.ts";
import { checksum, renderSums } from "../../scripts/release/checksums.ts";
import { removeTempDirs, requireTool, run, tempDir } from "./support.ts";

afterAll(removeTempDirs);

const enc = (s: string) => new TextEncoder().encode(s);
const entries = [
  { name: "auditgraph", data: enc("#!/bin/sh\necho hi\n"), mode: 0o755 },
  { name: "README.md", data: enc("# readme\n".repeat(100)), mode: 0o644 },
  { name: "LICENSE", data: enc("MIT\n"), mode: 0o644 },
];

test("tar.gz archives are byte-identical for the same input and read back with the system tar", () => {
  const a = tarGz(entries, 1700000000);
  const b = tarGz([...entries].reverse(), 1700000000);
  expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  expect(Buffer.from(tarGz(entries, 1700000001)).equals(Buffer.from(a))).toBe(false);

  const dir = tempDir();
  const file = join(dir, "x.tar.gz");
  writeFileSync(file, a);
  const list = run(["tar", "--numeric-owner", "--full-time", "-tvzf", file]);
  expect(list.code).toBe(0);
  const rows = list.stdout.trim().split("\n").map((l) => l.split(/\s+/));
  // sorted entries, uid/gid 0, mtime from the given epoch, modes kept
  expect(rows.map((r) => r[5])).toEqual(["LICENSE", "README.md", "auditgraph"]);
  expect(rows.map((r) => r[1])).toEqual(["0/0", "0/0", "0/0"]);
  expect(rows.map((r) => r[0])).toEqual(["-rw-r--r--", "-rw-r--r--", "-rwxr-xr-x"]);
  expect(new Set(rows.map((r) => `${r[3]} ${r[4]}`))).toEqual(new Set(["2023-11-14 22:13:20"]));
  expect(run(["tar", "-xzf", file, "-C", dir]).code).toBe(0);
  expect(run(["cat", join(dir, "auditgraph")]).stdout).toBe("#!/bin/sh\necho hi\n");
});

test("the gzip header carries no name and no time, and a fixed OS byte", () => {
  const z = gzip(tar(entries, 0));
  expect([...z.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0]); // deflate, no FNAME/FCOMMENT flags
  expect([...z.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
  expect(z[9]).toBe(3);
  expect(Buffer.from(Bun.gunzipSync(z)).equals(Buffer.from(tar(entries, 0)))).toBe(true);
});

test("SHA256SUMS is sorted and accepted by sha256sum -c and shasum -a 256 -c", () => {
  requireTool("shasum", "perl");
  const dir = tempDir();
  const files = { "b.tar.gz": "bee", "a.tar.gz": "ay", "install.sh": "#!/bin/sh\n" };
  for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c);
  const sums = renderSums(Object.entries(files).map(([n, c]) => checksum(n, enc(c))));
  expect(sums.split("\n").filter(Boolean).map((l) => l.split("  ")[1])).toEqual(["a.tar.gz", "b.tar.gz", "install.sh"]);
  writeFileSync(join(dir, "SHA256SUMS"), sums);
  expect(run(["sha256sum", "-c", "SHA256SUMS"], { cwd: dir }).code).toBe(0);
  expect(run(["shasum", "-a", "256", "-c", "SHA256SUMS"], { cwd: dir }).code).toBe(0);
  writeFileSync(join(dir, "b.tar.gz"), "tampered");
  expect(run(["sha256sum", "-c", "SHA256SUMS"], { cwd: dir }).code).not.toBe(0);
  expect(() => renderSums([checksum("a", enc("1")), checksum("a", enc("2"))])).toThrow("listed twice");
});
