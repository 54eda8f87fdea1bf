// The container images: auditgraph's recipe checked statically, then both images (auditgraph and
// release-server) built and run by scripts/container-smoke.sh with podman on a debootstrap'ed base.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT } from "../../src/schema/release.ts";
import { RELEASE_TARGETS, REPO } from "./fixture.ts";
import { expectPosixSh } from "./shells.ts";
import { releaseBuild } from "../helpers/release-build.ts";

const recipe = readFileSync(join(REPO, "deploy/auditgraph.Containerfile"), "utf8");
const instructions = recipe.replace(/\\\n\s*/g, " ").split("\n").filter((l) => /^[A-Z]+ /.test(l));

test("distroless glibc base without Node or Bun, non-root, binary as entrypoint in /workspace", () => {
  expect(instructions).toContain("ARG BASE=gcr.io/distroless/base-nossl-debian12:nonroot");
  expect(instructions.filter((l) => l.startsWith("FROM "))).toEqual(["FROM ${BASE}"]);
  expect(recipe).not.toMatch(/\b(node|bun|npm|apt-get|RUN)\b/);
  expect(instructions).toContain("COPY --chmod=0755 ${TARGETPLATFORM}/auditgraph /usr/local/bin/auditgraph");
  expect(instructions).toContain("USER 65532:65532");
  expect(instructions).toContain("WORKDIR /workspace");
  expect(instructions).toContain('ENTRYPOINT ["/usr/local/bin/auditgraph"]');
});

test("OCI labels: source, version, revision, licenses", () => {
  const label = instructions.find((l) => l.startsWith("LABEL "))!;
  for (const want of [
    `org.opencontainers.image.source="${PROJECT.homepage}"`,
    'org.opencontainers.image.version="${VERSION}"',
    'org.opencontainers.image.revision="${REVISION}"',
    'org.opencontainers.image.licenses="MIT"',
  ]) expect(label).toContain(want);
});

test("scripts/container-smoke.sh passes shellcheck -s sh and checkbashisms", () => expectPosixSh(join(REPO, "scripts/container-smoke.sh")));

test("both images build and run from the release archives (PASSED), or the script says SKIPPED and why", async () => {
  const dist = await releaseBuild(RELEASE_TARGETS);
  for (const program of ["auditgraph", "release-server"]) {
    const r = Bun.spawnSync(["sh", join(REPO, "scripts/container-smoke.sh"), "--program", program, "--dist", dist], { stdout: "pipe", stderr: "pipe" });
    const out = (r.stdout.toString() + r.stderr.toString()).trim();
    if (Bun.which("podman")) {
      // .ci/run installs podman, runc and debootstrap: there the images must really build and run.
      expect({ program, code: r.exitCode, last: out.split("\n").at(-1) }).toMatchObject({ program, code: 0, last: expect.stringContaining("PASSED (") });
    } else {
      expect({ program, code: r.exitCode, out }).toMatchObject({ program, code: 77, out: expect.stringContaining("SKIPPED: podman is not installed") });
    }
  }
}, 600_000);
