// The container image's recipe, checked statically (building and running it is
// scripts/container-smoke.sh: podman, a debootstrap'ed base and a release build take minutes).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT } from "../../src/schema/release.ts";
import { REPO } from "./fixture.ts";

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

test("scripts/container-smoke.sh passes shellcheck -s sh and checkbashisms", () => {
  for (const [tool, ...args] of [["shellcheck", "-s", "sh"], ["checkbashisms"]]) {
    const path = Bun.which(tool!);
    if (!path) throw new Error(`${tool} is not installed (.ci/run installs it from .ci/packages.txt)`);
    const r = Bun.spawnSync([path, ...args, join(REPO, "scripts/container-smoke.sh")], { stdout: "pipe", stderr: "pipe" });
    expect(r.stdout.toString() + r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  }
});
