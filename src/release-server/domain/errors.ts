/**
 * Typed failures of the release service. Each kind maps to one HTTP status (part 2) and one exit
 * code of the `release-server` executable, so no layer has to match on message text.
 *
 *   kind             HTTP   exit
 *   invalid          400/422  2   bad input (slug, version, file name, scope...)
 *   not_found        404      6
 *   conflict         409/422  7   duplicate tag or asset name, promotion gate failed...
 *   unauthorized     401      8   missing, malformed, unknown, expired or revoked token
 *   forbidden        403      8   token lacks the scope
 *   too_large        413      2
 *   digest_mismatch  422      2
 *   unsupported      415      2
 *   aborted          400      2   the upload stream ended with an error
 *   unavailable      503      1   the database or blob store did not answer in time (storage.timeout_seconds)
 *
 * Exit 9 is a database newer than this binary (see storage/migrations.ts).
 */
import { AgError } from "../../shared/errors.ts";

export const ServerExit = {
  ok: 0,
  internal: 1,
  usage: 2,
  notFound: 6,
  conflict: 7,
  denied: 8,
  databaseNewer: 9,
} as const;

export type ServiceErrorKind =
  | "invalid"
  | "not_found"
  | "conflict"
  | "unauthorized"
  | "forbidden"
  | "too_large"
  | "digest_mismatch"
  | "unsupported"
  | "aborted"
  | "unavailable";

const exitFor: Record<ServiceErrorKind, number> = {
  invalid: ServerExit.usage,
  not_found: ServerExit.notFound,
  conflict: ServerExit.conflict,
  unauthorized: ServerExit.denied,
  forbidden: ServerExit.denied,
  too_large: ServerExit.usage,
  digest_mismatch: ServerExit.usage,
  unsupported: ServerExit.usage,
  aborted: ServerExit.usage,
  unavailable: ServerExit.internal,
};

/**
 * Base of every expected service failure. `details` carries machine-readable facts, e.g. for a
 * duplicate asset `{resource: "ReleaseAsset", code: "already_exists", field: "name"}`.
 */
export class ServiceError extends AgError {
  readonly kind: ServiceErrorKind;
  constructor(kind: ServiceErrorKind, message: string, details?: Record<string, unknown>, hint?: string) {
    super(message, { exitCode: exitFor[kind], code: kind, details, hint });
    this.name = "ServiceError";
    this.kind = kind;
  }
}

const kindError = (kind: ServiceErrorKind) =>
  class extends ServiceError {
    constructor(message: string, details?: Record<string, unknown>, hint?: string) {
      super(kind, message, details, hint);
    }
  };

export class Invalid extends kindError("invalid") {}
export class NotFound extends kindError("not_found") {}
export class Conflict extends kindError("conflict") {}
export class Unauthorized extends kindError("unauthorized") {}
export class Forbidden extends kindError("forbidden") {}
export class TooLarge extends kindError("too_large") {}
export class DigestMismatch extends kindError("digest_mismatch") {}
export class Unsupported extends kindError("unsupported") {}
export class Aborted extends kindError("aborted") {}
export class Unavailable extends kindError("unavailable") {}

/** Messages quote a caller's input through shared `clip` (see there). */
export { clip } from "../../shared/errors.ts";
