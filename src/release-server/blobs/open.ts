/** The blob store `storage.blobs` names: the data directory's `blobs/`, or an S3 bucket (`storage.s3`). */
import { configError } from "../../shared/errors.ts";
import type { ServerConfig } from "../config.ts";
import { ServiceError } from "../domain/errors.ts";
import { S3BlobStore } from "./s3.ts";
import { DiskBlobStore } from "./store.ts";
import type { BlobStore } from "./types.ts";

const S3_COPY_MAX = 5 * 1024 ** 3;

export function openBlobStore(dataDir: string, config: ServerConfig): BlobStore {
  if (config.storage.blobs === "disk") return new DiskBlobStore(dataDir);
  const s3 = config.storage.s3;
  if (config.uploads.max_bytes > S3_COPY_MAX) {
    // An upload without a declared digest is copied to its digest key, and a de-duplicated blob onto
    // itself: single CopyObject requests, which S3 limits to 5 GiB.
    throw configError(`uploads.max_bytes is at most 5 GiB (${S3_COPY_MAX} bytes) with storage.blobs: s3, got ${config.uploads.max_bytes}`);
  }
  return new S3BlobStore({
    bucket: s3.bucket,
    prefix: s3.prefix,
    endpoint: s3.endpoint,
    region: s3.region,
    virtualHostedStyle: s3.virtual_hosted_style,
    partSize: s3.part_size_mib * 1024 * 1024,
    queueSize: s3.queue_size,
    redirectSeconds: s3.redirect_downloads ? s3.redirect_seconds : undefined,
    timeoutMs: config.storage.timeout_seconds * 1000,
  });
}

/**
 * `openBlobStore`, then one `check()`: a store that cannot serve (missing or refused S3
 * credentials, no such bucket, unreachable endpoint, unwritable directory) stops the process at
 * startup with one line saying which (exit 2), instead of failing the first upload.
 */
export async function openCheckedBlobStore(dataDir: string, config: ServerConfig): Promise<BlobStore> {
  let store: BlobStore;
  try {
    store = openBlobStore(dataDir, config);
  } catch (err) {
    if (err instanceof ServiceError) throw configError(err.message);
    throw err;
  }
  const why = await store.check();
  if (why) throw configError(why);
  return store;
}
