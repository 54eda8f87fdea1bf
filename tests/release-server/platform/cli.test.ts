/** The `release-server` executable end to end: real processes on a real data directory. */
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { LATEST_SCHEMA } from "../../../src/release-server/storage/migrations.ts";
import { DB_FILE } from "../../../src/release-server/service.ts";
import { CLI, REPO, machO, tempDir } from "./fixtures.ts";

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = Bun.spawnSync(["bun", CLI, ...args], { cwd: opts.cwd ?? REPO, env: { ...process.env, ...opts.env } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("release-server CLI", () => {
  test("operator workflow: migrate, app, publish, promote, rollout, rollback, audit", () => {
    using tmp = tempDir();
    const d = ["--data", join(tmp.dir, "data")];
    expect(run(["migrate", ...d]).out).toBe(`database ${join(tmp.dir, "data", DB_FILE)} is at schema version ${LATEST_SCHEMA}\n`);
    expect(run(["app", "create", "acme/tool", "--name", "Tool", "--bundle-id", "ios=com.acme.tool", ...d]).out).toBe("created app acme/tool (id 1)\n");
    expect(JSON.parse(run(["app", "list", "--json", ...d]).out)[0]).toMatchObject({ owner: "acme", slug: "tool", bundle_ids: { ios: "com.acme.tool" } });
    const bin = join(tmp.dir, "tool-darwin-arm64");
    writeFileSync(bin, machO("arm64", true));
    const pub = run(["release", "publish", "acme/tool", "1.0.0", bin, "--channel", "stable", ...d]);
    expect(pub.code).toBe(0);
    expect(pub.out).toContain("published acme/tool v1.0.0 (release 1) with 1 artifacts");
    expect(pub.out).toContain("macos\tvalid");
    expect(run(["release", "publish", "acme/tool", "1.1.0", bin, "--channel", "stable", ...d]).code).toBe(0);
    expect(run(["channel", "promote", "acme/tool", "stable", "v1.0.0", ...d]).out).toBe("acme/tool stable -> v1.0.0 at 100%\n");
    expect(run(["channel", "promote", "acme/tool", "stable", "v1.1.0", "--rollout", "10", ...d]).out).toBe("acme/tool stable -> v1.1.0 at 10%\n");
    expect(run(["channel", "set-rollout", "acme/tool", "stable", "50", ...d]).out).toBe("acme/tool stable rollout 50%\n");
    expect(run(["channel", "list", "acme/tool", ...d]).out).toBe("stable\tcurrent=2\tprevious=1\trollout=50%\n");
    expect(run(["channel", "rollback", "acme/tool", "stable", ...d]).out).toBe("acme/tool stable rolled back to v1.0.0\n");
    expect(run(["release", "list", "acme/tool", ...d]).out.split("\n")[0]).toMatch(/^2\tv1\.1\.0\t1\.1\.0\tstable\tpublished\t/);
    expect(run(["release", "delete", "acme/tool", "v1.0.0", ...d])).toMatchObject({ code: 7, err: "error: release v1.0.0 is the current or previous release of a channel; promote or roll back first\n" });
    expect(run(["release", "delete", "acme/tool", "v1.1.0", ...d]).out).toBe("deleted acme/tool v1.1.0 (release 2)\n");
    const audit = JSON.parse(run(["audit", "list", "--json", "--limit", "3", ...d]).out);
    expect(audit.map((e: { action: string }) => e.action)).toEqual(["release.delete", "channel.rollback", "channel.rollout"]);
    expect(audit[0].actor).toMatch(/^cli:/);
    const forRelease = JSON.parse(run(["audit", "list", "--json", "--target", "release:1", ...d]).out);
    expect(forRelease.map((e: { action: string }) => e.action)).toEqual(["release.publish"]);
    expect(run(["audit", "list", "--target", "release", ...d])).toMatchObject({ code: 2, err: 'error: --target must be TYPE:ID, got "release"\n' });
    // A prerelease version is marked prerelease unless told otherwise.
    expect(run(["release", "publish", "acme/tool", "2.0.0-rc.1", ...d]).code).toBe(0);
    expect(run(["release", "publish", "acme/tool", "2.0.0-rc.2", "--no-prerelease", ...d]).code).toBe(0);
    expect(run(["release", "publish", "acme/tool", "2.0.0", "--prerelease", ...d]).code).toBe(0);
    expect(run(["release", "list", "acme/tool", ...d]).out.split("\n").slice(0, 3).map((l) => l.split("\t").slice(1, 5).join(" "))).toEqual([
      "v2.0.0 2.0.0 - prerelease",
      "v2.0.0-rc.2 2.0.0-rc.2 - published",
      "v2.0.0-rc.1 2.0.0-rc.1 - prerelease",
    ]);
  });

  test("tokens: shown once, listed without secrets, revoked", () => {
    using tmp = tempDir();
    const d = ["--data", join(tmp.dir, "data")];
    run(["app", "create", "acme/tool", ...d]);
    const made = run(["token", "create", "--name", "ci", "--actions", "publish", "--apps", "acme/tool", "--channels", "beta", "--expires-days", "7", ...d]);
    expect(made.code).toBe(0);
    const raw = made.out.trim();
    expect(raw).toMatch(/^rls_[0-9A-Za-z]{49}$/);
    expect(made.err).toContain("shown once");
    const listed = run(["token", "list", ...d]).out;
    expect(listed).toContain(`1\tci\t${raw.slice(0, 10)}…\tactions=publish\tapps=acme/tool\tchannels=beta\texpires=`);
    expect(listed).not.toContain(raw.slice(10));
    expect(JSON.stringify(JSON.parse(run(["token", "list", "--json", ...d]).out))).not.toContain("token_hash");
    expect(run(["token", "revoke", "1", ...d]).out).toMatch(/^revoked token 1 \(ci\) at /);
    expect(run(["token", "list", ...d]).out).toContain("revoked=");
    const bad = run(["token", "create", "--name", "x", "--actions", "publish,fly", ...d]);
    expect(bad).toMatchObject({ code: 2, out: "" });
    expect(bad.err).toBe("error: invalid token actions.1: must be one of read, publish, promote, delete, admin\n");
    expect(run(["token", "create", "--name", "now", "--actions", "read", "--expires-days", "0", ...d])).toMatchObject({
      code: 2, out: "", err: "error: invalid token expires_in_days: must be more than 0 (a token made for 0 days is expired when it is shown)\n",
    });
  });

  test("retention run: dry run lists, real run deletes", () => {
    using tmp = tempDir();
    const d = ["--data", join(tmp.dir, "data")];
    const cfg = join(tmp.dir, "rs.yaml");
    writeFileSync(cfg, "retention:\n  channels:\n    beta: { keep_last: 1 }\n  blob_grace_hours: 0\n");
    run(["app", "create", "acme/tool", ...d]);
    for (const v of ["1.0.0", "1.0.1", "1.0.2"]) {
      const f = join(tmp.dir, `f-${v}`);
      writeFileSync(f, v);
      expect(run(["release", "publish", "acme/tool", v, f, "--channel", "beta", ...d]).code).toBe(0);
    }
    const dry = run(["retention", "run", "--dry-run", "--config", cfg, ...d]).out;
    expect(dry).toContain("would delete release acme/tool 1.0.1 (channel beta): not among the newest 1\n");
    expect(dry).toContain("would delete 2 releases, 2 blobs, 0 staged uploads\n");
    expect(run(["release", "list", "acme/tool", ...d]).out.trim().split("\n")).toHaveLength(3);
    expect(run(["retention", "run", "--config", cfg, ...d]).out).toEndWith("deleted 2 releases, 2 blobs, 0 staged uploads\n");
    expect(run(["release", "list", "acme/tool", ...d]).out.trim().split("\n")).toHaveLength(1);
  });

  test("errors: one line, documented exit codes, no stack", () => {
    using tmp = tempDir();
    const data = join(tmp.dir, "data");
    const d = ["--data", data];
    const cases: Array<[string[], number, string]> = [
      [["app", "create", "nope", ...d], 2, "error: expected OWNER/SLUG, got \"nope\"\n"],
      [["channel", "list", "acme/tool/x", ...d], 2, "error: expected OWNER/SLUG, got \"acme/tool/x\"\n"],
      [["serve", "--default-app", "acme", ...d], 2, "error: --default-app: expected OWNER/SLUG, got \"acme\"\n"],
      [["channel", "promote", "acme/none", "stable", "v1", ...d], 6, "error: no app acme/none\n"],
      [["release", "publish", "acme/tool", "1.0.0", join(tmp.dir, "missing.bin"), ...d], 2, `error: cannot read ${join(tmp.dir, "missing.bin")}: not a file\n`],
      [["frobnicate"], 2, "error: Unknown command frobnicate (see 'release-server --help')\n"],
      // A group without its command, or flags first: said so, not "Unknown command" named after a flag's value.
      [["app", ...d], 2, `error: 'app' takes a command: create, list, before the flags (release-server app COMMAND ${d.join(" ")}) (see 'release-server --help')\n`],
      [["app"], 2, "error: 'app' takes a command: create, list (release-server app create) (see 'release-server --help')\n"],
      [["app", ...d, "list"], 2, `error: 'app' takes a command: create, list, before the flags (release-server app list ${d.join(" ")}) (see 'release-server --help')\n`],
    ];
    run(["app", "create", "acme/tool", ...d]);
    for (const [args, code, err] of cases) expect(run(args)).toMatchObject({ code, err });
    expect(run(["app", "create", "acme/tool", ...d])).toMatchObject({ code: 7, err: "error: app acme/tool already exists\n" });
    const db = new Database(join(data, DB_FILE));
    db.run("PRAGMA user_version = 42");
    db.close();
    const newer = run(["migrate", ...d]);
    expect(newer.code).toBe(9);
    expect(newer.err).toBe(
      `error: database ${join(data, DB_FILE)} has schema version 42, newer than this release-server supports (${LATEST_SCHEMA})\nhint: run a release-server at least as new as the one that last wrote this database\n`,
    );
  });

  test("config: errors name the file, the key path and the line (exit 2)", () => {
    using tmp = tempDir();
    const d = ["--data", join(tmp.dir, "data")];
    const write = (text: string) => {
      const p = join(tmp.dir, "rs.yaml");
      writeFileSync(p, text);
      return p;
    };
    const cases: Array<[string, string]> = [
      ["uploads:\n  max_bytes: -1\n", ":2: uploads.max_bytes: invalid value: Expected >=1 but received -1"],
      ["http:\n  port: 8080\n  colour: red\n", ":3: http.colour: unknown key"],
      ["retention:\n  channels:\n    Stable!: { keep_last: 2 }\n", ":3: retention.channels.Stable!:"],
      ["retention:\n  apps:\n    just-a-slug: {}\n", ":3: retention.apps.just-a-slug: app keys must be owner/slug"],
      ["tokens: [1, 2\n", ": invalid YAML:"],
      ["tokens:\n  flush_seconds: .inf\n", ":2: tokens.flush_seconds: must be a finite number"],
      ["tokens:\n  default_days: 1e309\n", ":2: tokens.default_days: must be a finite number"],
    ];
    for (const [text, want] of cases) {
      const p = write(text);
      const r = run(["app", "list", "--config", p, ...d]);
      expect(r.code).toBe(2);
      expect(r.err.split("\n")).toHaveLength(2);
      expect(r.err).toStartWith(`error: ${p}`);
      expect(r.err).toContain(want);
    }
    expect(run(["app", "list", "--config", join(tmp.dir, "absent.yaml"), ...d])).toMatchObject({ code: 2, err: `error: cannot read config ${join(tmp.dir, "absent.yaml")}: ENOENT\n` });
    // The shipped file is valid and equals the defaults; RELEASE_SERVER_DATA picks the data directory.
    expect(run(["app", "list", "--config", join(REPO, "config", "release-server.yaml")], { env: { RELEASE_SERVER_DATA: join(tmp.dir, "env-data") } }).code).toBe(0);
    expect(run(["migrate"], { cwd: tmp.dir, env: { RELEASE_SERVER_DATA: join(tmp.dir, "env-data") } }).out).toContain(join(tmp.dir, "env-data", DB_FILE));
  });

  test("serve on a port another server listens on: exit 2 naming it, the first keeps serving", async () => {
    using tmp = tempDir();
    const first = Bun.spawn(["bun", CLI, "serve", "--data", join(tmp.dir, "a"), "--host", "127.0.0.1", "--port", "0"], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
    try {
      const reader = (first.stdout as ReadableStream<Uint8Array>).getReader();
      let out = "";
      while (!out.includes('"listening"')) { const r = await reader.read(); if (r.done) throw new Error(`no listening line: ${out}`); out += new TextDecoder().decode(r.value); }
      const url = JSON.parse(out.split("\n").find((l) => l.includes('"listening"'))!).url as string;
      const port = new URL(url).port;
      const second = run(["serve", "--data", join(tmp.dir, "b"), "--host", "127.0.0.1", "--port", port]);
      expect(second.code).toBe(2);
      expect(second.err).toBe(`error: cannot listen on 127.0.0.1:${port}: Failed to start server. Is port ${port} in use?\nhint: choose another --port, or 0 for a free one\n`);
      for (let i = 0; i < 10; i++) expect((await fetch(new URL("/api/v3/meta", url))).status).toBeLessThan(500);
    } finally { first.kill("SIGTERM"); await first.exited; }
  }, 60_000);

  test("--help and --version", () => {
    expect(run(["--help"]).out).toContain("USAGE release-server");
    expect(run(["channel", "promote", "--help"])).toMatchObject({ code: 0 });
    expect(run(["channel", "promote", "--help"]).out).toContain("<APP> <CHANNEL> <TAG>");
    expect(run([]).code).toBe(2);
  });
});
