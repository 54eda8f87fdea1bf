/**
 * The `semver` library, an entry point of its own in the auditgraph executable (src/shared/entries.ts):
 * only a store written with another schema version needs it (policy/compat.ts). Third-party code only.
 */
export { eq, gt, major, valid } from "semver";
