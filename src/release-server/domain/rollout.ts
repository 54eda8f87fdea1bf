/**
 * Staged rollout bucketing (pure). A client's bucket is the first four bytes of
 * sha256(`<app>:<channel>:<release>:<installId>`) modulo 10,000 (basis points); it is served the
 * channel's current release when its bucket is below the rollout. Keyed on the release, raising
 * the percentage only adds clients, and each new release draws a fresh set of canaries.
 */
export function rolloutBucket(appId: number, channel: string, releaseId: number, installId: string): number {
  const digest = new Bun.CryptoHasher("sha256").update(`${appId}:${channel}:${releaseId}:${installId}`).digest();
  return digest.readUInt32BE(0) % 10_000;
}

export function inRollout(percent: number, bucket: number): boolean {
  return bucket < Math.round(percent * 100);
}
