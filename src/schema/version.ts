/**
 * The artifact schema version: the one place it is defined. Recorded in every manifest the
 * store writes. Bump the minor for additive, backward-readable changes; bump the major when
 * an older binary's artifacts can no longer be read (they then need `auditgraph rebuild`).
 */
export const ARTIFACT_SCHEMA_VERSION = "2.0.0";
