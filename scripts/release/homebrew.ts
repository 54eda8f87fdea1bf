/**
 * Renders the Homebrew tap formula (dist/auditgraph.rb) from release.json: one class-level
 * `if OS.mac? && Hardware::CPU.arm? ... elsif ...` chain of url/sha256 pairs (the form Homebrew's
 * style rules accept in a tap; `url` inside `on_arm do` is flagged), livecheck against the latest
 * release, `bin.install` plus the shell completions the binary prints (`auditgraph completion
 * bash|zsh|fish`), and a `test do` block that ingests a one-note workspace. `version` is
 * explicit: brew's URL scanner wants `/1.2.3/`, not `/v1.2.3/`, and the archive names carry none.
 */
import { PROJECT, type ReleaseAsset, type ReleaseManifest } from "../../src/schema/release.ts";

/** The Homebrew platforms, in chain order, with the builds they get (first one present wins). */
const PLATFORMS = [
  { when: "OS.mac? && Hardware::CPU.arm?", targets: ["darwin-arm64"] },
  { when: "OS.mac? && Hardware::CPU.intel?", targets: ["darwin-x64"] },
  { when: "OS.linux? && Hardware::CPU.arm?", targets: ["linux-arm64"] },
  // Homebrew on Linux needs glibc; the baseline build also runs on x86_64 CPUs without AVX2.
  { when: "OS.linux? && Hardware::CPU.intel?", targets: ["linux-x64-baseline", "linux-x64"] },
] as const;

const DESC = "Local-first, deterministic knowledge graph of notes and code";

function livecheck(base: string): string {
  if (/^https:\/\/github\.com\/[^/]+\/[^/]+$/.test(base)) {
    return ["  livecheck do", "    url :stable", "    strategy :github_latest", "  end"].join("\n");
  }
  // A self-hosted release server redirects <base>/releases/latest to <base>/releases/tag/<tag>.
  return [
    "  livecheck do",
    `    url "${base}/releases/latest"`,
    "    regex(%r{/releases/tag/v?(\\d+(?:\\.\\d+)+)}i)",
    "    strategy :header_match",
    "  end",
  ].join("\n");
}

export function renderFormula(manifest: ReleaseManifest, opts: { baseUrl?: string } = {}): string {
  const base = (opts.baseUrl ?? PROJECT.downloadBase).replace(/\/+$/, "");
  const byTarget = new Map<string, ReleaseAsset>();
  for (const a of manifest.assets) if (a.target && a.name === `auditgraph-${a.target}.tar.gz`) byTarget.set(a.target, a);

  const branches: string[] = [];
  for (const p of PLATFORMS) {
    const asset = p.targets.map((t) => byTarget.get(t)).find(Boolean);
    if (!asset) continue;
    branches.push(
      `  ${branches.length ? "elsif" : "if"} ${p.when}`,
      `    url "${base}/releases/download/v${manifest.version}/${asset.name}"`,
      `    sha256 "${asset.sha256}"`,
    );
  }
  if (branches.length) branches.push("  end");

  return `# Homebrew formula for auditgraph ${manifest.version}, rendered from release.json by scripts/release/homebrew.ts.
# Install with: brew install ${PROJECT.tap}/auditgraph
class Auditgraph < Formula
  desc "${DESC}"
  homepage "${PROJECT.homepage}"
  version "${manifest.version}"
  license "MIT"
${branches.join("\n")}

${livecheck(base)}

  def install
    bin.install "auditgraph"
    generate_completions_from_executable(bin/"auditgraph", "completion")
  end

  test do
    ws = testpath/"ws"
    (ws/"notes/hello.md").write <<~EOS
      # Hello

      See the [[World]] note.
    EOS
    system bin/"auditgraph", "init", "--root", ws
    assert_path_exists ws/"config/pkg.yaml"
    output = shell_output("#{bin}/auditgraph ingest --root #{ws} --json")
    assert_match(/"status": "ok"/, output)
    assert_match(/"files": 1,/, output)
    assert_match(/"chunks": 1,/, output)
    assert_match "complete -o default -F _auditgraph auditgraph", shell_output("#{bin}/auditgraph completion bash")
  end
end
`;
}
