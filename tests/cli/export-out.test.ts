// `export --out`: a path it cannot use is a usage error (exit 2) naming it and why, and the store's
// own files are never written: inside .pkg/ only the profile's exports/ directory takes an export.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, cleanup, cli, cliUnprivileged, expectOneLineError, openToAll, tempDir, treeHash, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

let root: string;
let profile: string;
beforeAll(() => {
  root = ingested();
  profile = join(root, ".pkg", "profiles", "default");
});

/** Runs the export, expects exit 2 with one line containing `what`, and the workspace unchanged. */
function refused(out: string, what: string): void {
  const before = treeHash(root);
  const r = cli(["export", "--root", root, "--out", out, "--json"]);
  expect({ out, code: r.code }).toEqual({ out, code: 2 });
  expect(expectOneLineError(r)).toContain(what);
  expect(r.json).toMatchObject({ status: "error", exit_code: 2, code: "usage" });
  expect(treeHash(root)).toEqual(before);
}

describe("the store's own files", () => {
  test("the pointer, a manifest, an object, the lock's place, .pkg/ itself: refused, and every read still works", () => {
    const run = readFileSync(join(profile, "current"), "utf8").trim();
    const sub = readdirSync(join(profile, "objects"))[0]!;
    const object = join(profile, "objects", sub, readdirSync(join(profile, "objects", sub))[0]!);
    for (const out of [join(profile, "current"), join(profile, "runs", run, "manifest.json"), object, join(profile, "runs.log"),
      join(profile, "cache", "stat.zst"), join(root, ".pkg", "lock"), join(root, ".pkg", "x.json"), join(profile, "exports"),
      join(root, ".pkg", "profiles", "other", "exports", "x.json"), join(profile, "exports", "..", "current")]) {
      refused(out, "is inside the store");
    }
    // Relative to the current directory, too.
    const r = cli(["export", "--root", root, "--out", ".pkg/profiles/default/current"], { cwd: root });
    expect(r.code).toBe(2);
    expect(cli(["query", "ledger", "--root", root]).code).toBe(0);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  });

  test("through a symbolic link (a parent outside, a link to the profile, exports/ linking back into the store): refused", () => {
    const outside = tempDir();
    symlinkSync(profile, join(outside, "store"));
    refused(join(outside, "store", "current"), `it resolves to ${join(profile, "current")}`);
    symlinkSync(join(profile, "objects"), join(outside, "objects"));
    refused(join(outside, "objects", "ab", "x"), "is inside the store");
    const other = ingested();
    const otherProfile = join(other, ".pkg", "profiles", "default");
    symlinkSync("objects", join(otherProfile, "exports"));
    const r = cli(["export", "--root", other, "--out", join(otherProfile, "exports", "x.json")]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain(`it resolves to ${join(otherProfile, "objects", "x.json")}`);
  });

  test("the profile's exports/ directory (made if missing, subdirectories too) and anywhere outside .pkg/ are fine", () => {
    for (const out of [join(profile, "exports", "graph.json"), join(profile, "exports", "dot", "graph.dot"), join(root, "graph.json"), join(tempDir(), "a", "b.json")]) {
      const r = cli(["export", "--root", root, "--out", out, "--json"]);
      expect({ out, code: r.code, stderr: r.stderr }).toEqual({ out, code: 0, stderr: "" });
      expect(JSON.parse(readFileSync(out, "utf8")).nodes.length).toBeGreaterThan(0);
    }
    expect(cli(["verify", "--root", root]).code).toBe(0);
    // A temp file's name there would be swept by the next writer.
    refused(join(profile, "exports", ".tmp-graph.json"), "temp file");
  });
});

test("an export into exports/ adds its bytes to the budget's projection, also when the root or the file is reached through a link", () => {
  const w = ingested();
  const link = join(tempDir(), "ws-link");
  symlinkSync(w, link);
  // The root as a link and the file by its real path, and the other way round: the same directory.
  for (const [rootArg, outRoot, name] of [[w, w, "direct.json"], [link, w, "linked.json"], [w, link, "linked2.json"]] as const) {
    const out = join(outRoot, ".pkg", "profiles", "default", "exports", name);
    const r = cli(["export", "--root", rootArg, "--out", out, "--json"]);
    expect({ rootArg, code: r.code, stderr: r.stderr }).toEqual({ rootArg, code: 0, stderr: "" });
    expect({ rootArg, added: r.json.budget.projected_bytes - r.json.budget.usage_bytes }).toEqual({ rootArg, added: r.json.bytes });
  }
  // Outside the profile nothing is added.
  const r = cli(["export", "--root", link, "--out", join(tempDir(), "g.json"), "--json"]);
  expect(r.json.budget.projected_bytes).toBe(r.json.budget.usage_bytes);
});

describe("paths that cannot be written", () => {
  test("a directory, a path ending in '/', a file as a parent, an empty path: exit 2 naming the path and why", () => {
    const dir = tempDir();
    refused(dir, `--out ${dir} is a directory`);
    const link = join(tempDir(), "link");
    symlinkSync(dir, link);
    refused(link, `--out ${link} is a directory`);
    refused(dir + "/", "ends with '/'");
    refused(join(dir, "new") + "/", "ends with '/'");
    writeFileSync(join(dir, "file"), "x");
    refused(join(dir, "file", "x.json"), `${join(dir, "file")} is not a directory`);
    refused(join(dir, "file", "deeper", "x.json"), `${join(dir, "file")} is not a directory`);
    refused("", "--out needs a file path");
    expect(readFileSync(join(dir, "file"), "utf8")).toBe("x");
  });

  test("a directory that cannot be written (as a user without privileges): exit 2, not an internal error", () => {
    const ws = ingested();
    const dir = tempDir();
    openToAll(ws);
    openToAll(dir);
    mkdirSync(join(dir, "ro"));
    chmodSync(join(dir, "ro"), 0o555);
    const out = join(dir, "ro", "x.json");
    const r = cliUnprivileged(["export", "--root", ws, "--out", out]);
    if (!r) return console.warn("skipped: cannot run as a user without privileges here");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain(`--out ${out} cannot be written: EACCES`);
  });
});

describe("links, pipes and devices", () => {
  test("a symbolic link is followed: the file it names is written and the link stays; a dangling one makes its file; one into the store is refused", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "real.json"), "keep");
    symlinkSync("real.json", join(dir, "link.json"));
    symlinkSync("made.json", join(dir, "dangling.json"));
    for (const [out, file] of [["link.json", "real.json"], ["dangling.json", "made.json"]]) {
      const r = cli(["export", "--root", root, "--out", join(dir, out!)]);
      expect({ out, code: r.code, stderr: r.stderr }).toEqual({ out, code: 0, stderr: "" });
      expect(lstatSync(join(dir, out!)).isSymbolicLink()).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, file!), "utf8")).nodes.length).toBeGreaterThan(0);
    }
    symlinkSync(join(profile, "current"), join(dir, "pointer.json"));
    refused(join(dir, "pointer.json"), `it resolves to ${join(profile, "current")}`);
    expect(lstatSync(join(dir, "pointer.json")).isSymbolicLink()).toBe(true);
  });

  test("a named pipe and a character device are written in place, never replaced by a file; the summary then goes to stderr", async () => {
    const dir = tempDir();
    const fifo = join(dir, "graph.pipe");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const reader = Bun.spawn(["cat", fifo], { stdout: "pipe" });
    const r = cli(["export", "--root", root, "--out", fifo, "--format", "jsonl"]);
    const stillFifo = lstatSync(fifo).isFIFO();
    if (!stillFifo) reader.kill(); // replaced by a file: the reader would wait for a writer forever
    expect(stillFifo).toBe(true);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "" });
    expect(r.stderr).toContain(`exported `);
    const text = await new Response(reader.stdout).text();
    expect(text.split("\n")[0]).toStartWith('{"kind":"node"');
    const n = cli(["export", "--root", root, "--out", "/dev/null", "--json"]);
    expect({ code: n.code, stdout: n.stdout }).toEqual({ code: 0, stdout: "" });
    expect(JSON.parse(n.stderr).out).toBe("/dev/null");
    expect(lstatSync("/dev/null").isCharacterDevice()).toBe(true);
  });

  test("/dev/stdout is this process's standard output as it is open: a pipe gets the export, a file opened to append keeps what it had", () => {
    const dir = tempDir();
    const r = cli(["export", "--root", root, "--out", "/dev/stdout", "--format", "jsonl"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toStartWith('{"kind":"node"');
    expect(r.stderr).toContain("exported ");
    expect(readdirSync(dir)).toEqual([]); // nothing written beside it (a pipe's "real path" is pipe:[…])
    const log = join(dir, "log.txt");
    writeFileSync(log, "LOG\n");
    const sh = Bun.spawnSync(["sh", "-c", `"$0" "$1" export --root "$2" --out /dev/stdout --format jsonl >> "$3"`, process.execPath, CLI, root, log]);
    expect(sh.exitCode).toBe(0);
    const lines = readFileSync(log, "utf8").split("\n");
    expect(lines[0]).toBe("LOG");
    expect(lines[1]).toStartWith('{"kind":"node"');
    const bad = cli(["export", "--root", root, "--out", "/dev/fd/9"]);
    expect(bad.code).toBe(2);
    expect(expectOneLineError(bad)).toContain("--out /dev/fd/9 cannot be written");
  });

  test("a file written over keeps its permission bits, through a link too; a new file gets the usual ones", () => {
    const dir = tempDir();
    for (const [name, mode] of [["private.json", 0o600], ["shared.json", 0o664], ["readonly.json", 0o444]] as const) {
      writeFileSync(join(dir, name), "old");
      chmodSync(join(dir, name), mode);
      const r = cli(["export", "--root", root, "--out", join(dir, name)]);
      expect({ name, code: r.code }).toEqual({ name, code: 0 });
      expect({ name, mode: statSync(join(dir, name)).mode & 0o777 }).toEqual({ name, mode });
      expect(JSON.parse(readFileSync(join(dir, name), "utf8")).nodes.length).toBeGreaterThan(0);
    }
    symlinkSync("private.json", join(dir, "link.json"));
    expect(cli(["export", "--root", root, "--out", join(dir, "link.json")]).code).toBe(0);
    expect(statSync(join(dir, "private.json")).mode & 0o777).toBe(0o600);
    expect(cli(["export", "--root", root, "--out", join(dir, "new.json")]).code).toBe(0);
    expect(statSync(join(dir, "new.json")).mode & 0o777).toBe(0o644 & ~process.umask());
  });

  test("a relative link is followed from the link's real directory", () => {
    const x = tempDir();
    mkdirSync(join(x, "store", "deep", "sub"), { recursive: true });
    symlinkSync(join(x, "store", "deep", "sub"), join(x, "a"));
    symlinkSync("../target.json", join(x, "store", "deep", "sub", "l.json"));
    const r = cli(["export", "--root", root, "--out", join(x, "a", "l.json")]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(readFileSync(join(x, "store", "deep", "target.json"), "utf8")).nodes.length).toBeGreaterThan(0);
    expect(readdirSync(x).sort()).toEqual(["a", "store"]);
  });

  test("a place that cannot hold a file (/proc): exit 2 naming the path given, not a temp file", () => {
    const r = cli(["export", "--root", root, "--out", "/proc/auditgraph-export.json"]);
    expect(r.code).toBe(2);
    const line = expectOneLineError(r);
    expect(line).toContain("--out /proc/auditgraph-export.json cannot be written");
    expect(line).not.toContain(".tmp-");
  });
});

describe("an export killed while writing", () => {
  test("its temp file beside the target is removed by the next export there once a minute old; a live process's, a recent one, or another file's, is left", () => {
    const dir = tempDir();
    const out = join(dir, "graph.json");
    // The pid of a process that has exited (a killed export's), this test's own (alive), and another target's temp file.
    const gone = Bun.spawnSync(["true"]).pid;
    const names = [`.tmp-graph.json.${gone}.1`, `.tmp-graph.json.${process.pid}.3`, `.tmp-other.json.${gone}.1`, ".tmp-graph.json.notapid.1", `.tmp-graph.json.${gone}.2`];
    const old = new Date(Date.now() - 120_000);
    for (const n of names) {
      writeFileSync(join(dir, n), "half an export");
      // The last one is recent: an export whose pid is not seen here (another pid namespace) may still be writing it.
      if (n !== names[4]) utimesSync(join(dir, n), old, old);
    }
    const r = cli(["export", "--root", root, "--out", out]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8")).nodes.length).toBeGreaterThan(0);
    expect(readdirSync(dir).sort()).toEqual(["graph.json", ...names.slice(1)].sort());
  });
});

test("a leftover temp file with this process's own pid (a container's export is pid 1 each time) is passed over, and swept once old", () => {
  // Run as pid 1 of a new pid namespace, as a container runs it (CI runs as root).
  const dir = tempDir();
  const asPid1 = () => Bun.spawnSync(["unshare", "-p", "-f", "--mount-proc", process.execPath, CLI, "export", "--root", root, "--out", join(dir, "g.json")], { stdout: "pipe", stderr: "pipe", env: { ...process.env, AUDITGRAPH_NO_UPDATE_CHECK: "1" } });
  writeFileSync(join(dir, ".tmp-g.json.1.1"), "what a killed pid 1 left");
  let r = asPid1();
  expect({ code: r.exitCode, err: r.stderr.toString() }).toEqual({ code: 0, err: "" }); // it was EEXIST, exit 2, every time
  expect(readdirSync(dir).sort()).toEqual([".tmp-g.json.1.1", "g.json"]); // recent: left
  const old = new Date(Date.now() - 120_000);
  utimesSync(join(dir, ".tmp-g.json.1.1"), old, old);
  r = asPid1();
  expect(r.exitCode).toBe(0);
  expect(readdirSync(dir)).toEqual(["g.json"]);
});
