/**
 * CHANGELOG.md, kept by hand: one `## <version>` section per release (`## [0.1.0] - 2026-11-28` and
 * `## v0.1.0` read the same). `changelogSection` returns the body of one version's section, the
 * release notes `release:publish` uses when no `--notes FILE` is given.
 */

const HEADING = /^##\s+\[?v?([^\]\s]+)\]?(?:\s.*)?$/;

/** Every version that has a section, in file order. */
export function changelogVersions(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = HEADING.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** The section of `version` without its heading, trimmed; undefined when there is none or it is empty. */
export function changelogSection(text: string, version: string): string | undefined {
  const lines = text.split(/\r?\n/);
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = HEADING.exec(lines[i]!);
    if (start >= 0 && (m || /^#\s/.test(lines[i]!))) {
      return trimmed(lines.slice(start, i));
    }
    if (m && m[1] === version) start = i + 1;
  }
  return start >= 0 ? trimmed(lines.slice(start)) : undefined;
}

function trimmed(lines: string[]): string | undefined {
  const body = lines.join("\n").trim();
  return body === "" ? undefined : body + "\n";
}
