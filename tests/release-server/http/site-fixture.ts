/**
 * Seed data for the package browser tests (site.test.ts over HTTP, browser.test.ts in Chromium):
 * apps with channels in each rollout state, releases whose files detection recognises (valid,
 * invalid and unchecked), installers, hostile names and notes, drafts, a private app, many
 * releases for paging, and tags that are not semantic versions.
 */
import type { ReleaseService } from "../../../src/release-server/service.ts";
import type { App, Platform } from "../../../src/release-server/domain/model.ts";
import type { ReleaseInput } from "../../../src/release-server/domain/validate.ts";
import { machO, pe } from "../platform/fixtures.ts";
import { OP } from "./server.ts";

/** A minimal 64-bit little-endian ELF executable header for x86_64. */
export function elf(): Uint8Array {
  const b = new Uint8Array(4096);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  const dv = new DataView(b.buffer);
  dv.setUint16(0x10, 2, true); // ET_EXEC
  dv.setUint16(0x12, 0x3e, true); // x86_64
  return b;
}

/** Release notes written to break out of the page: every trick must come out as inert text. */
export const HOSTILE_NOTES = `# Changes

**bold** and \`code <b>\` and a [good link](https://example.com/docs) and [relative](../v1.0.0).

<script>alert("script")</script>

Inline <img src=x onerror="alert('img')"> and <a href="javascript:alert('raw-a')">raw link</a>.

[js link](javascript:alert('md')) [upper](JAVASCRIPT:alert('upper')) [encoded](&#106;avascript:alert('entity'))
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) [vb](vbscript:msgbox) ![pixel](javascript:alert('img-md'))
[titled](https://example.com/t "a \\"quoted\\" title onmouseover=alert(1)")

<iframe src="https://evil.example/"></iframe>

<svg onload=alert('svg')></svg>

<style>body{display:none}</style>

<div style="background:red" onclick="alert('div')">div</div>

| a | b |
|:--|--:|
| <b onmouseover=alert(1)>x</b> | y |

- [x] done
- [ ] todo
`;

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

type File = { content: string | Uint8Array; platform?: Platform; label?: string };

async function release(s: ReleaseService, app: App, input: ReleaseInput, files: Record<string, File | string | Uint8Array> = {}) {
  const stored = [];
  for (const [filename, f] of Object.entries(files)) {
    const file: File = typeof f === "string" || f instanceof Uint8Array ? { content: f } : f;
    const bytes = typeof file.content === "string" ? new TextEncoder().encode(file.content) : file.content;
    stored.push({ filename, blob: await s.putBlob(once(bytes)), platform: file.platform ?? null, label: file.label ?? null });
  }
  return (await s.publishRelease(app, input, stored, OP)).release;
}

export const BIG = 3_000_000; // "2.9 MiB"

export interface Seeded {
  tokens: { reader: string; publisher: string; secretReader: string; betaPublisher: string; stablePublisher: string };
}

/**
 * acme/tool: five channels (stable at 30% over its previous release, beta in a first rollout at
 * 10%, lts at 100% with no previous, edge at 100% with a rollback target, empty pointing nowhere),
 * releases with detected files, installers (install.sh, install.ps1) in the latest release, a
 * hostile release, a prerelease tagged `nightly` and a draft. acme/many: 25 releases, one tagged
 * 2026-11-28. acme/empty: nothing. acme/secret: private, with an installer.
 */
export async function seedSite(s: ReleaseService): Promise<Seeded> {
  const tool = await s.createApp({ owner: "acme", slug: "tool", display_name: "Acme Tool" }, OP);
  const hostile = await release(
    s,
    tool,
    { version: "0.9.0", name: `<img src=x onerror=alert("name")>`, notes: HOSTILE_NOTES },
    { "<b onclick=alert(1)>evil.zip": "not really a zip" },
  );
  const v1 = await release(s, tool, { version: "1.0.0", channel: "stable", notes: "First release." }, {
    "tool-linux-x64": { content: elf(), platform: "linux" },
    "install.sh": "#!/bin/sh\necho install 1.0.0\n",
  });
  await release(s, tool, { version: "1.1.0", notes: "Has a bad macOS build." }, {
    "tool-macos-arm64": { content: machO("arm64", false), platform: "macos" },
    "tool-windows-arm64.exe": { content: pe(0xaa64), platform: "linux" },
  });
  const v2 = await release(s, tool, { version: "2.0.0", channel: "stable", name: "Two", notes: "## Highlights\n\n- faster\n- *smaller*" }, {
    "tool-linux-x64": { content: elf(), platform: "linux", label: "Linux (x86_64)" },
    "tool-macos-arm64": { content: machO("arm64", true), platform: "macos" },
    "tool-windows-x64.exe": { content: pe(), platform: "windows" },
    "tool-data.bin": new Uint8Array(BIG),
    "install.sh": "#!/bin/sh\necho install 2.0.0\n",
    "install.ps1": "Write-Output 'install 2.0.0'\n",
  });
  const beta = await release(s, tool, { version: "2.1.0-beta.1", channel: "beta", prerelease: true }, { "tool-linux-x64": { content: elf(), platform: "linux" } });
  await release(s, tool, { version: "0.0.0-nightly.20261128", tag: "nightly", prerelease: true, notes: "Built every night." }, { "nightly.tar": "tar" });
  await release(s, tool, { version: "3.0.0", channel: "beta", draft: true, name: "Secret plans", notes: "Not yet." }, { "draft-only.bin": "draft" });
  await s.promote(tool, "stable", v1.id, {}, OP);
  await s.promote(tool, "stable", v2.id, { rolloutPercent: 30 }, OP);
  await s.promote(tool, "beta", beta.id, { rolloutPercent: 10 }, OP);
  await s.promote(tool, "lts", v1.id, {}, OP);
  await s.promote(tool, "edge", hostile.id, {}, OP);
  await s.promote(tool, "edge", v2.id, {}, OP);
  await s.setChannelPolicy(tool, "empty", { keep_last: 3 }, OP);

  const many = await s.createApp({ owner: "acme", slug: "many", display_name: "Many Releases" }, OP);
  for (let i = 0; i < 24; i++) await release(s, many, { version: `1.0.${i}`, notes: `Release number ${i}.` }, { [`many-${i}.txt`]: `release ${i}` });
  await release(s, many, { version: "1.0.24", tag: "2026-11-28", name: "Dated build" }, { "dated.txt": "dated" });

  await s.createApp({ owner: "acme", slug: "empty" }, OP);
  const secret = await s.createApp({ owner: "acme", slug: "secret", display_name: "Secret App", visibility: "private" }, OP);
  await release(s, secret, { version: "1.0.0" }, { "install.sh": "#!/bin/sh\necho secret\n" });

  const mk = async (name: string, input: object) => (await s.createToken({ name, ...input } as never, OP)).raw;
  return {
    tokens: {
      reader: await mk("reader", { actions: ["read"] }),
      publisher: await mk("publisher", { actions: ["publish"], apps: ["acme/tool"] }),
      secretReader: await mk("secret-reader", { actions: ["read"], apps: ["acme/secret"] }),
      betaPublisher: await mk("beta-publisher", { actions: ["publish"], apps: ["acme/tool"], channels: ["beta"] }),
      stablePublisher: await mk("stable-publisher", { actions: ["publish"], apps: ["acme/tool"], channels: ["stable"] }),
    },
  };
}
