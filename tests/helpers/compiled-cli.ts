/**
 * The command the end-to-end tests run `auditgraph` with: src/cli.ts and its entry points compiled
 * into one executable (`bun build --compile --bytecode`, the release build's entries), made once per
 * source state and shared by every test process of a run (tests/helpers/release-build.ts's
 * sharedDir, under the system temp dir). A command from it costs a third to a half of the CPU time
 * that `bun src/cli.ts` spends transpiling and loading the sources (`query` 0.05 s against 0.14 s,
 * `ingest` of the example workspace 0.30 s against 0.47 s), and the suite runs about 3,000 of them.
 *
 * It is compiled without the release build's --define values, so it behaves as the sources do:
 * `version` says "source, commit dev", `upgrade` refuses to replace it, no update notice. With
 * AUDITGRAPH_TEST_CLI=source the tests run `bun src/cli.ts` instead (nothing compiled).
 */
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { programBuildArgs } from "../../scripts/release/compile.ts";
import { REPO_ROOT, runSourceState, sharedDir } from "./release-build.ts";

const CACHE = join(tmpdir(), "auditgraph-test-cli");
const NAME = "auditgraph";

export async function testCli(): Promise<string[]> {
  if (process.env.AUDITGRAPH_TEST_CLI === "source") return [process.execPath, join(REPO_ROOT, "src", "cli.ts")];
  const key = new Bun.CryptoHasher("sha256").update(runSourceState()).update("\0test-cli\0").update(Bun.version).digest("hex").slice(0, 24);
  const dir = await sharedDir(CACHE, key, NAME, async (out) => {
    mkdirSync(out, { recursive: true });
    const cmd = [
      process.execPath, "build", ...programBuildArgs("auditgraph"),
      "--compile", "--bytecode", "--format=esm", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
      "--outfile", join(out, NAME),
    ];
    const r = Bun.spawnSync(cmd, { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    if (r.exitCode !== 0 || !existsSync(join(out, NAME))) throw new Error(`compiling the CLI for the tests failed (exit ${r.exitCode}): ${r.stderr.toString()}`);
  });
  return [join(dir, NAME)];
}
