/** One part of the service on in-memory repositories and a disk blob store, with a settable clock. */
import { defaultConfig, type ServerConfig } from "../../../../src/release-server/config.ts";
import { DiskBlobStore } from "../../../../src/release-server/blobs/store.ts";
import type { App } from "../../../../src/release-server/domain/model.ts";
import { Apps } from "../../../../src/release-server/services/apps.ts";
import { Channels } from "../../../../src/release-server/services/channels.ts";
import { operator, ServiceCore } from "../../../../src/release-server/services/core.ts";
import { Releases } from "../../../../src/release-server/services/releases.ts";
import { Retention } from "../../../../src/release-server/services/retention.ts";
import { Tokens } from "../../../../src/release-server/services/tokens.ts";
import { memoryRepositories } from "../../../../src/release-server/storage/memory.ts";
import { chunks, tempDir } from "../fixtures.ts";

export const op = operator("cli:test");

export function parts(tweak: (c: ServerConfig) => void = () => {}) {
  const tmp = tempDir("rs-services-");
  const config = defaultConfig();
  tweak(config);
  const clock = { now: Date.parse("2026-01-01T00:00:00Z") };
  const core = new ServiceCore(memoryRepositories(), new DiskBlobStore(tmp.dir), config, () => new Date(clock.now));
  const apps = new Apps(core);
  const releases = new Releases(core, apps);
  return {
    core,
    clock,
    apps,
    releases,
    tokens: new Tokens(core, apps),
    channels: new Channels(core, releases),
    retention: new Retention(core, releases),
    /** A published release with one small file. */
    async publish(app: App, version: string, extra: { channel?: string | null; content?: string } = {}) {
      const blob = await releases.putBlob(chunks(extra.content ?? `bytes of ${version}`));
      return releases.publishRelease(app, { version, channel: extra.channel ?? null }, [{ filename: `tool-${version}.txt`, blob }], op);
    },
    [Symbol.dispose]: () => tmp[Symbol.dispose](),
  };
}

/** The kind of the ServiceError `p` rejects with ("ok" when it resolves). */
export async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return (err as { kind?: string }).kind ?? `untyped: ${String(err)}`;
  }
}
