import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { compileCommand, PROGRAM_SOURCES, programBuildArgs } from "../../scripts/release/compile.ts";
import { STARTUP_JIT_POLICY } from "../../src/shared/jit.ts";
import { loadTargets, parseTargetFile, selectTargets } from "../../scripts/release/targets.ts";
import { REPO_ROOT, removeTempDirs, tempDir } from "./support.ts";

afterAll(removeTempDirs);

test("dist-targets declares the seven release targets; the Linux ones also build release-server", () => {
  const targets = loadTargets(join(REPO_ROOT, "dist-targets"));
  expect(targets.map((t) => t.name)).toEqual([
    "darwin-arm64", "darwin-x64", "linux-arm64-musl", "linux-arm64", "linux-x64-baseline", "linux-x64-musl", "linux-x64",
  ]);
  for (const t of targets) {
    expect(t.bun_target).toBe(`bun-${t.name}`);
    expect(t.name.startsWith(`${t.os}-${t.arch}`)).toBe(true);
    expect(t.libc).toBe(t.os === "darwin" ? "darwin" : t.name.endsWith("-musl") ? "musl" : "glibc");
    expect(t.programs).toEqual(t.os === "linux" ? ["auditgraph", "release-server"] : ["auditgraph"]);
  }
  expect(targets.find((t) => t.name === "linux-x64-baseline")!.cpu).toBe("baseline");
});

test("a broken target file is one line naming the file and the field", () => {
  const dir = tempDir();
  const good = JSON.parse(readFileSync(join(REPO_ROOT, "dist-targets", "linux-x64.json"), "utf8"));
  const write = (name: string, body: unknown) => {
    const p = join(dir, `${name}.json`);
    writeFileSync(p, typeof body === "string" ? body : JSON.stringify(body));
    return p;
  };
  const { os: _, ...noOs } = good;
  const where = (p: string) => relative(process.cwd(), p);
  let p = write("linux-x64", noOs);
  expect(() => parseTargetFile(p)).toThrow(`${where(p)}: missing field "os"`);
  p = write("linux-x64", { ...good, arch: "riscv64" });
  expect(() => parseTargetFile(p)).toThrow(`${where(p)}: field "arch": `);
  p = write("linux-x64", { ...good, extra: 1 });
  expect(() => parseTargetFile(p)).toThrow(`field "extra"`);
  p = write("other", good);
  expect(() => parseTargetFile(p)).toThrow(`name "linux-x64" does not match the file name (expected "other")`);
  p = write("linux-x64", "{ nope");
  expect(() => parseTargetFile(p)).toThrow("not valid JSON");
  expect(() => loadTargets(join(dir, "missing"))).toThrow("cannot read the target directory");
});

test("selecting an unknown target names the known ones", () => {
  const all = loadTargets(join(REPO_ROOT, "dist-targets"));
  expect(selectTargets(all, []).length).toBe(7);
  expect(selectTargets(all, ["linux-x64", "darwin-arm64"]).map((t) => t.name)).toEqual(["darwin-arm64", "linux-x64"]);
  try {
    selectTargets(all, ["linux-riscv64"]);
    throw new Error("no error");
  } catch (err) {
    expect((err as Error).message).toBe('unknown target "linux-riscv64"');
    expect((err as { hint: string }).hint).toContain("linux-x64-baseline");
    expect((err as { exitCode: number }).exitCode).toBe(2);
  }
});

test("every Worker a program starts, and every module it loads by entryUrl, is compiled into it, where the compiled code will look for it", () => {
  const declared = Object.values(PROGRAM_SOURCES);
  for (const f of declared.flatMap((p) => [p.entry, ...p.workers])) expect(existsSync(join(REPO_ROOT, f)) ? f : `${f} does not exist`).toBe(f);
  let viaEntryUrl = 0;
  for (const file of new Bun.Glob("src/**/*.ts").scanSync({ cwd: REPO_ROOT })) {
    const text = readFileSync(join(REPO_ROOT, file), "utf8");
    if (/new Worker\((?!\s*new URL\(|\s*entryUrl\(")/.test(text)) {
      throw new Error(`${file}: start Workers with new Worker(new URL("./x.ts", import.meta.url)) or new Worker(entryUrl("dir/x.ts")) so the release build can find them`);
    }
    // src/shared/entries.ts: paths relative to src/, in the auditgraph executable (built with --root src).
    for (const m of text.matchAll(/(?:entryUrl|(?:load|require)Entry(?:<[^>]*>)?)\(\s*"([^"]+)"\s*\)/g)) {
      const entry = join("src", m[1]!);
      expect(existsSync(join(REPO_ROOT, entry)) ? entry : `${entry} does not exist`).toBe(entry);
      expect(PROGRAM_SOURCES.auditgraph.workers.includes(entry) ? PROGRAM_SOURCES.auditgraph.workerRoot : `${entry} is not in PROGRAM_SOURCES.auditgraph`).toBe("src");
      viaEntryUrl++;
    }
    for (const m of text.matchAll(/new Worker\(\s*new URL\(\s*["'`]([^"'`]+)["'`]/g)) {
      const worker = join(dirname(file), m[1]);
      const program = declared.find((p) => p.workers.includes(worker));
      expect(program ? `${worker} under ${program.workerRoot}` : `${worker} is not in PROGRAM_SOURCES`).toBe(`${worker} under ${dirname(file)}`);
    }
  }
  expect(viaEntryUrl).toBeGreaterThanOrEqual(4); // the shard worker, pdf.js, isomorphic-git, the MCP SDK
});

test("auditgraph is built with the start-up JIT policy and its shard worker goes back to the normal one; release-server keeps the normal policy", () => {
  const target = parseTargetFile(join(REPO_ROOT, "dist-targets", "linux-x64.json"));
  const flags = (program: keyof typeof PROGRAM_SOURCES) =>
    compileCommand(programBuildArgs(program), target, { version: "0.0.0", commit: "0".repeat(40) }, "out").filter((a) => a.startsWith("--compile-jit-policy"));
  expect(flags("auditgraph")).toEqual([`--compile-jit-policy=${STARTUP_JIT_POLICY}`]);
  expect(flags("release-server")).toEqual([]);
  // A Worker's VM starts with the executable's policy: each one that builds shards asks for the normal one first.
  expect(readFileSync(join(REPO_ROOT, "src/pipeline/shard-worker.ts"), "utf8")).toMatch(/^normalJit\(\);$/m);
});
