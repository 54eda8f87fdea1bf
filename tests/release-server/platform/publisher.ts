/**
 * A publisher process for the crash tests: publishes a release through ReleaseService and can
 * stop at a chosen point so the test can SIGKILL it there.
 *   bun publisher.ts <dataDir> <version> <mode>
 *   mode hang-upload:  stream part of the first file, print "uploading", then wait forever
 *   mode hang-stored:  store every blob, print "stored", then wait forever (before the transaction)
 */
import { defaultConfig } from "../../../src/release-server/config.ts";
import { openService, ReleaseService } from "../../../src/release-server/service.ts";

const [dataDir, version, mode] = process.argv.slice(2);
const s = await openService(dataDir, defaultConfig());
const app = await s.getAppBySlug("acme", "tool");
const forever = () => new Promise(() => setInterval(() => {}, 1 << 30));

async function* body(seed: number, hang: boolean) {
  for (let i = 0; i < 64; i++) {
    yield new Uint8Array(64 * 1024).fill((seed + i) % 256);
    if (hang && i === 8) {
      process.stdout.write("uploading\n");
      await forever();
    }
  }
}

const files = [];
for (let f = 0; f < 3; f++) {
  const blob = await s.putBlob(body(f + version.length, mode === "hang-upload"));
  files.push({ filename: `tool-${f}.bin`, blob });
}
if (mode === "hang-stored") {
  process.stdout.write("stored\n");
  await forever();
}
await s.publishRelease(app, { version }, files, ReleaseService.operator("cli:publisher"));
await s.close();
