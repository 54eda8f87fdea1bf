// A damaged store is reported as damage (exit 5, one line naming the file), never as "no run yet",
// an internal error or a silently different answer: a pointer that cannot be read or does not hold
// a run id, objects that cannot be read, and segments listed under another artifact's name.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, cliUnprivileged, expectOneLineError, openToAll, workspace, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

const profileOf = (root: string) => join(root, ".pkg/profiles/default");
const currentOf = (root: string) => readFileSync(join(profileOf(root), "current"), "utf8").trim();
/** Puts a directory where the profile keeps file `name` (the pointer, runs.log); returns its path. */
const directoryInPlaceOf = (root: string, name: string) => {
  const p = join(profileOf(root), name);
  rmSync(p);
  mkdirSync(p);
  return p;
};
const manifestPathOf = (root: string) => join(profileOf(root), "runs", currentOf(root), "manifest.json");
const objectOf = (root: string, sha: string) => join(profileOf(root), "objects", sha.slice(0, 2), sha);
const artifact = (root: string, name: string) => JSON.parse(readFileSync(manifestPathOf(root), "utf8")).artifacts.find((a: any) => a.name === name);
/** Nothing a terminal would act on: no C0 control but tab and newline, no DEL or C1 control. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe("the current-run pointer", () => {
  test("a directory in its place: reads, ingest, rebuild and verify exit 5 naming it, saying to move it; a missing pointer still means no run", () => {
    const root = ingested();
    const pointer = directoryInPlaceOf(root, "current");
    writeFileSync(join(pointer, "mine.txt"), "kept\n");
    for (const args of [["query", "idempotent"], ["node", "doc_x"], ["runs", "show", "run_" + "0".repeat(32)], ["ingest"], ["rebuild"]]) {
      const r = cli([...args, "--root", root]);
      expect({ args, code: r.code }).toEqual({ args, code: 5 });
      expect(expectOneLineError(r)).toContain(`current-run pointer ${pointer} is a directory, not a file`);
      expect(r.stderr).toContain(`hint: move ${pointer} out of the way`);
      expect(readFileSync(join(pointer, "mine.txt"), "utf8")).toBe("kept\n");
    }
    const v = cli(["verify", "--root", root, "--json"]);
    expect(v.code).toBe(5);
    expect(v.json.problems).toContainEqual({ kind: "pointer", path: pointer, detail: "is a directory, not a file: move it out of the way" });
    // A failed verify ends as every error does: the JSON error document, and on a terminal the problem
    // lines, then one error line and a hint.
    expect(v.json).toMatchObject({ status: "error", code: "verify_failed", exit_code: 5 });
    const human = cli(["verify", "--root", root]);
    expect(human.code).toBe(5);
    expect(human.stdout).toBe("");
    const lines = human.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`pointer: ${pointer}: is a directory, not a file: move it out of the way`);
    expect(lines.filter((l) => l.startsWith("error: "))).toEqual([`error: store ${profileOf(root)} failed verification: 1 problem(s) in 1 run(s), ${v.json.objects} object(s)`]);
    expect(lines[lines.length - 1]).toStartWith("hint: ");
    // runs list still describes the store, marking no run current and saying why.
    const l = cli(["runs", "list", "--root", root]);
    expect(l.code).toBe(0);
    expect(l.stderr).toContain("no run is marked current");
    rmSync(pointer, { recursive: true });
    expect(cli(["query", "idempotent", "--root", root]).code).toBe(2); // no run yet: a usage error, as before
  }, 60_000);

  test("garbage or an extra line: one printable line naming `current` (not a manifest), and rebuild is the way out", () => {
    const root = ingested();
    const pointer = join(profileOf(root), "current");
    const id = currentOf(root);
    const garbage = Buffer.concat([Buffer.from("\x1b]0;pwned\x07\x1b[31m\r\n"), Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % 256))]);
    writeFileSync(pointer, garbage);
    const q = cli(["query", "idempotent", "--root", root]);
    expect(q.code).toBe(5);
    const line = expectOneLineError(q);
    expect(line).toContain(`current-run pointer ${pointer} does not hold a run id: it holds "\\x1b]0;pwned\\x07\\x1b[31m\\x0d\\x0a`);
    expect(line).toContain(`(${garbage.length} bytes)`);
    expect(line).not.toContain("manifest");
    expect(q.stderr).not.toMatch(CONTROL);
    for (const args of [["verify"], ["runs", "list"]]) {
      const r = cli([...args, "--root", root]);
      expect(r.stdout + r.stderr).not.toMatch(CONTROL);
      expect(r.stderr.split("\n").filter((l) => l.includes("does not hold a run id")).length).toBe(1);
    }
    expect(cli(["verify", "--root", root]).code).toBe(5);
    // A prune would not know which run to keep whatever its age.
    const pr = cli(["runs", "prune", "--keep", "1", "--root", root]);
    expect(pr.code).toBe(5);
    expect(expectOneLineError(pr)).toContain("does not hold a run id");

    writeFileSync(pointer, `${id}\nrun_${"f".repeat(32)}\n`);
    const v = cli(["verify", "--root", root, "--json"]);
    expect(v.code).toBe(5);
    expect(v.json.problems).toContainEqual({ kind: "pointer", path: pointer, detail: `does not hold a run id: it holds "${id}\\x0arun_${"f".repeat(32)}\\x0a"` });

    const r = cli(["rebuild", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json.previous_run).toBe(null);
    expect(currentOf(root)).toBe(r.json.run_id);
    expect(cli(["verify", "--root", root]).code).toBe(0);
    expect(cli(["query", "idempotent", "--root", root]).code).toBe(0);
  }, 60_000);
});

describe("a store directory that is not a directory", () => {
  test("a file named .pkg, .pkg/profiles or the profile's: every command exits 5 naming it, and nothing is changed", () => {
    const root = workspace();
    for (const [place, parent] of [[".pkg", ""], [".pkg/profiles", ".pkg"], [".pkg/profiles/default", ".pkg/profiles"]] as const) {
      rmSync(join(root, ".pkg"), { recursive: true, force: true });
      if (parent) mkdirSync(join(root, parent), { recursive: true });
      const file = join(root, place);
      writeFileSync(file, "not a directory\n");
      for (const args of [["ingest"], ["rebuild"], ["query", "ledger"], ["export"], ["budget"], ["runs", "prune", "--keep", "1"], ...(place === ".pkg/profiles/default" ? [] : [["init"]])]) {
        const r = cli([...args, "--root", root, "--json"]);
        expect({ place, args, code: r.code }).toEqual({ place, args, code: 5 });
        expect(expectOneLineError(r)).toContain(`${file} is not a directory`);
        expect(readFileSync(file, "utf8")).toBe("not a directory\n");
      }
      const v = cli(["verify", "--root", root, "--json"]);
      expect(v.code).toBe(5);
      expect(JSON.stringify(v.json.problems)).toContain(`${file} is not a directory`);
    }
  }, 60_000);

  test("a file named runs, objects or cache in the profile: every command exits 5 naming it before writing; moved away, rebuild recovers", () => {
    for (const place of ["runs", "objects", "cache"]) {
      const root = ingested();
      const file = join(profileOf(root), place);
      rmSync(file, { recursive: true, force: true });
      writeFileSync(file, "not a directory\n");
      const before = readdirSync(profileOf(root)).sort();
      for (const args of [["ingest"], ["rebuild"], ["query", "ledger"], ["list"], ["export"], ["budget"], ["runs", "prune", "--keep", "1"], ["runs", "prune", "--keep", "1", "--dry-run"]]) {
        const r = cli([...args, "--root", root]);
        expect({ place, args, code: r.code }).toEqual({ place, args, code: 5 });
        expect(expectOneLineError(r)).toContain(`store directory ${file} is not a directory`);
        expect(r.stderr).toContain(`hint: move ${file} out of the way`);
        expect(readFileSync(file, "utf8")).toBe("not a directory\n");
        expect(readdirSync(profileOf(root)).sort()).toEqual(before);
      }
      const v = cli(["verify", "--root", root, "--json"]);
      expect(v.code).toBe(5);
      expect(v.json.problems).toContainEqual({ kind: "extra", path: file, detail: `not a directory, where the store keeps its ${place}/: move it out of the way` });
      rmSync(file);
      expect(cli(["rebuild", "--root", root]).code).toBe(0);
      expect(cli(["query", "ledger", "--root", root]).code).toBe(0);
    }
  }, 120_000);
});

describe("objects that cannot be read", () => {
  test("an object replaced by a directory, a dangling symlink as a fan-out directory: verify exits 5 with `unreadable: PATH`", () => {
    const root = ingested();
    const p = objectOf(root, artifact(root, "index/00").sha256);
    rmSync(p);
    mkdirSync(p);
    const link = join(profileOf(root), "objects", "ab");
    symlinkSync(join(root, "nowhere"), link);
    const v = cli(["verify", "--root", root]);
    expect(v.code).toBe(5);
    expect(v.stderr).toContain(`unreadable: ${p}: object cannot be read (EISDIR)`);
    expect(v.stderr).toContain(`unreadable: ${link}: object directory cannot be read (ENOENT: a symbolic link to nothing)`);
    expect(v.stderr).not.toContain("internal error");
    // Not "rebuild" alone: a rebuild cannot write over a directory, and says to run verify.
    expect(v.stderr).toContain("hint: move each file or directory named above out of the way");
    const j = cli(["verify", "--root", root, "--json"]).json;
    expect(j.problems.filter((x: any) => x.kind === "unreadable").map((x: any) => x.path).sort()).toEqual([p, link].sort());
    // A read of it is a damaged store too, not "missing".
    const n = cli(["query", "idempotent", "--root", root]);
    expect(n.code).toBe(5);
    expect(expectOneLineError(n)).toContain(`object ${p} cannot be read (EISDIR)`);
  }, 60_000);

  test("a directory as the current-run pointer, or a file as .pkg: verify's hint is to move it, which rebuild says too", () => {
    const root = ingested();
    const pointer = join(profileOf(root), "current");
    rmSync(pointer);
    mkdirSync(pointer);
    const v = cli(["verify", "--root", root]);
    expect(v.code).toBe(5);
    expect(v.stderr).toContain("hint: move each file or directory named above out of the way");
    expect(cli(["rebuild", "--root", root]).code).toBe(5); // it will not write over it either
    const other = ingested();
    rmSync(join(other, ".pkg"), { recursive: true });
    writeFileSync(join(other, ".pkg"), "");
    expect(cli(["verify", "--root", other]).stderr).toContain("hint: move each file or directory named above out of the way");
  }, 60_000);

  test("permissions (as a user without privileges): an unreadable object and pointer are exit 5, not an internal error or no run", () => {
    const root = ingested();
    openToAll(root);
    const p = objectOf(root, artifact(root, "index/00").sha256);
    chmodSync(p, 0o000);
    const v = cliUnprivileged(["verify", "--root", root]);
    if (!v) { console.warn("skipped: cannot run the CLI as an unprivileged user here (root without setpriv)"); return; }
    expect(v.code).toBe(5);
    expect(v.stderr).toContain(`unreadable: ${p}: object cannot be read (EACCES)`);
    chmodSync(p, 0o644);
    const pointer = join(profileOf(root), "current");
    chmodSync(pointer, 0o000);
    const q = cliUnprivileged(["query", "idempotent", "--root", root])!;
    expect(q.code).toBe(5);
    expect(expectOneLineError(q)).toContain(`current-run pointer ${pointer} cannot be read (EACCES)`);
    const v2 = cliUnprivileged(["verify", "--root", root, "--json"])!;
    expect(v2.code).toBe(5);
    expect(v2.json.problems).toContainEqual({ kind: "pointer", path: pointer, detail: "cannot be read (EACCES)" });
  }, 60_000);
});

describe("a segment listed under another artifact's name", () => {
  /** Swaps two artifacts' names in the current manifest (each object then stands for the other). */
  const swapNames = (root: string, a: string, b: string) => {
    const p = manifestPathOf(root);
    writeFileSync(p, readFileSync(p, "utf8").replaceAll(`"name":"${a}"`, `"name":"@"`).replaceAll(`"name":"${b}"`, `"name":"${a}"`).replaceAll(`"name":"@"`, `"name":"${b}"`));
  };

  test("index/00 and text/00 swapped: reads exit 5 naming the object, verify reports both", () => {
    const root = ingested();
    const docs = cli(["export", "--root", root, "--format", "json"]).json.nodes.filter((n: any) => n.type === "document");
    const index = artifact(root, "index/00").sha256;
    const text = artifact(root, "text/00").sha256;
    swapNames(root, "index/00", "text/00");
    const q = cli(["query", "idempotent", "--root", root]);
    expect(q.code).toBe(5);
    expect(expectOneLineError(q)).toContain(`object ${objectOf(root, text)} is not what the manifest says: artifact index/00 holds text/00`);
    for (const args of [["node", docs[0].id], ["export", "--format", "json"]]) {
      const r = cli([...args, "--root", root]);
      expect(r.code).toBe(5);
      expect(expectOneLineError(r)).toContain("is not what the manifest says");
    }
    const v = cli(["verify", "--root", root, "--json"]);
    expect(v.code).toBe(5);
    const id = currentOf(root);
    expect(v.json.problems).toEqual(expect.arrayContaining([
      { kind: "mismatch", path: objectOf(root, text), detail: `artifact index/00 holds text/00 (run ${id})` },
      { kind: "mismatch", path: objectOf(root, index), detail: `artifact text/00 holds index/00 (run ${id})` },
    ]));
  }, 60_000);

  test("two index shards swapped (sizes and all): exit 5 instead of answers from the wrong shard", () => {
    const root = ingested();
    swapNames(root, "index/00", "index/01");
    const q = cli(["query", "idempotent", "--root", root]);
    expect(q.code).toBe(5);
    expect(expectOneLineError(q)).toMatch(/artifact index\/0[01] holds index\/0[01]/);
    const v = cli(["verify", "--root", root]);
    expect(v.code).toBe(5);
    expect(v.stderr).toContain("artifact index/00 holds index/01");
    expect(v.stderr).toContain("artifact index/01 holds index/00");
    // The way out: a rebuild writes a manifest that names each object rightly.
    expect(cli(["rebuild", "--root", root]).code).toBe(0);
    expect(cli(["query", "idempotent", "--root", root]).code).toBe(0);
  }, 60_000);
});

describe("a manifest that disagrees with itself", () => {
  test("emptied artifacts, edited counts: verify exits 5 naming what disagrees, with the rebuild hint; rebuild then verifies", () => {
    const root = ingested();
    const run = readFileSync(join(root, ".pkg", "profiles", "default", "current"), "utf8").trim();
    const path = join(root, ".pkg", "profiles", "default", "runs", run, "manifest.json");
    const original = readFileSync(path, "utf8");
    const m = JSON.parse(original);
    for (const [edit, said] of [
      [(x: any) => { x.artifacts = []; }, "outputs_hash is not the hash of its artifacts"],
      [(x: any) => { x.counts.ok += 1; }, `counts.ok is ${m.counts.ok + 1}, but its files say ${m.counts.ok}`],
    ] as [(x: any) => void, string][]) {
      const copy = JSON.parse(original);
      edit(copy);
      writeFileSync(path, JSON.stringify(copy, null, 2));
      const r = cli(["verify", "--root", root]);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`manifest: ${path}: ${said}`);
      expect(r.stderr).toContain("hint: 'auditgraph rebuild' writes a new current run");
    }
    // Truncated: its objects are then referenced by no manifest verify can read, and the note says why.
    writeFileSync(path, original.slice(0, 100));
    const t = cli(["verify", "--root", root, "--json"]);
    expect(t.code).toBe(5);
    expect(t.json.notes.join("\n")).toContain("not referenced by any manifest that could be read");
    expect(cli(["rebuild", "--root", root]).code).toBe(0);
    expect(cli(["runs", "prune", "--keep", "1", "--root", root]).code).toBe(0);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  });
});

describe("what verify says of what stops writers or readers", () => {
  test("runs.log as a directory: ingest fails and says to run verify, and verify names it (exit 5)", () => {
    const root = ingested();
    const log = directoryInPlaceOf(root, "runs.log");
    writeFileSync(join(root, "notes", "added.md"), "# Added\n\nnew words\n");
    const r = cli(["ingest", "--root", root]);
    expect(r.code).toBe(1);
    expect(expectOneLineError(r)).toContain("EISDIR");
    expect(r.stderr).toContain("auditgraph verify");
    const v = cli(["verify", "--root", root, "--json"]);
    expect(v.code).toBe(5);
    expect(v.json.problems).toContainEqual({ kind: "extra", path: log, detail: "not a regular file, where the store keeps its run log: move it out of the way" });
  });

  test("a run of a schema this binary does not read: verify hashes its objects and says it did not read them", () => {
    const root = ingested();
    const m = manifestPathOf(root);
    writeFileSync(m, readFileSync(m, "utf8").replace(/"schema_version": "[^"]*"/, '"schema_version": "abc"'));
    const v = cli(["verify", "--root", root]);
    expect(v.code).toBe(0);
    expect(v.stderr).toContain(`run ${currentOf(root)} has artifact schema "abc", which this binary`);
    expect(cli(["query", "idempotent", "--root", root]).code).toBe(3);
  });
});
