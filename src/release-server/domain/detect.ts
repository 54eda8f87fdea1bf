/**
 * What a file is, from its bytes (pure: reads through a `ByteSource`), and whether that fits the
 * platform the artifact claims.
 */
import type { ArtifactMetadata, Platform, ValidationStatus } from "./model.ts";

export interface ByteSource {
  size: number;
  /** Up to `length` bytes at `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Uint8Array;
}

export function detectArtifact(_src: ByteSource): ArtifactMetadata {
  return { kind: "unknown" };
}

export function validateForPlatform(
  _meta: ArtifactMetadata,
  _platform: Platform | null,
): { platform: Platform | null; status: ValidationStatus; reason: string | null } {
  return { platform: _platform, status: "unchecked", reason: null };
}
