// Renders the Homebrew tap formula (dist/auditgraph.rb) from release.json.
import type { ReleaseManifest } from "../../src/schema/release.ts";

export function renderFormula(manifest: ReleaseManifest, opts: { baseUrl?: string } = {}): string {
  void opts;
  return `# auditgraph ${manifest.version}: formula rendering not implemented yet\n`;
}
