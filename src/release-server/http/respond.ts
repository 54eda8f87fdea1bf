/**
 * Response helpers and the one error type of the HTTP layer. Every error body is GitHub-shaped:
 * `{"message": ..., "documentation_url"?: ..., "errors"?: [...]}`, never a stack trace.
 */
import { ServiceError, type ServiceErrorKind } from "../domain/errors.ts";
import { sha256Hex } from "../../shared/hash.ts";
import { withSize } from "./log.ts";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: { errors?: unknown[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const enc = new TextEncoder();

/**
 * A JSON response; a 200 carries a weak ETag of its bytes (the app answers a matching If-None-Match
 * with 304). `headers` replace the defaults, except `vary`, which is added to.
 */
export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const body = enc.encode(JSON.stringify(value));
  const etag = status === 200 ? { etag: `W/"${sha256Hex(body).slice(0, 32)}"`, vary: "Accept, Authorization" } : {};
  const { vary, ...rest } = headers;
  const res = new Response(body, { status, headers: { "content-type": "application/json; charset=utf-8", ...etag, ...rest } });
  if (vary) res.headers.append("vary", vary);
  return withSize(res, body.length);
}

export function html(text: string, status = 200): Response {
  const body = enc.encode(text);
  return withSize(
    new Response(body, {
      status,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      },
    }),
    body.length,
  );
}

/** `base` is the server's public URL; `documentation_url` points at its OpenAPI document. */
export function errorResponse(err: HttpError, base: string): Response {
  const body: Record<string, unknown> = { message: err.message, documentation_url: `${base}/openapi.json` };
  if (err.extra.errors) body.errors = err.extra.errors;
  return json(body, err.status, err.extra.headers);
}

/**
 * GitHub's 422 shape for a bad parameter or body field: {"message": "Validation Failed: ...",
 * "errors": [{resource?, field, code: "invalid"}]} (`field` is null when the body as a whole is wrong).
 */
export const validationFailed = (field: string | null, why: string, resource?: string) =>
  new HttpError(422, `Validation Failed: ${why}`, { errors: [{ ...(resource ? { resource } : {}), field, code: "invalid" }] });

/** The service's names for the fields GitHub's clients send (the domain says tag, notes, filename). */
const GITHUB_FIELDS: Record<string, string> = { tag: "tag_name", notes: "body", filename: "name" };

/** GitHub's resource for the service's inputs (`parseInput`'s `what`). */
const GITHUB_RESOURCES: Record<string, string> = { release: "Release", artifact: "ReleaseAsset", asset: "ReleaseAsset" };

const STATUS: Record<ServiceErrorKind, number> = {
  invalid: 422,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  too_large: 413,
  digest_mismatch: 422,
  unsupported: 415,
  aborted: 400,
  unavailable: 503,
};

/**
 * Typed service failures → HTTP. A duplicate (details.code "already_exists") is GitHub's 422
 * "Validation Failed" with an `errors` entry, which release tooling already knows how to handle.
 * An invalid field is GitHub's 422 Validation Failed naming the field as GitHub's clients send it
 * (`tag_name`, not the domain's `tag`), whichever route the input came through.
 */
export function fromServiceError(err: ServiceError): HttpError {
  const d = err.details ?? {};
  if (err.kind === "conflict" && d.code === "already_exists") return new HttpError(422, err.message, { errors: [d] });
  if (err.kind === "invalid" && typeof d.field === "string" && d.field !== "") {
    const name = GITHUB_FIELDS[d.field] ?? d.field;
    const reason = typeof d.reason === "string" ? d.reason : err.message;
    return validationFailed(name, `${name}: ${reason}`, typeof d.input === "string" ? GITHUB_RESOURCES[d.input] : undefined);
  }
  const headers: Record<string, string> | undefined = err.kind === "unauthorized" ? { "www-authenticate": 'Bearer realm="release-server"' } : err.kind === "unavailable" ? { "retry-after": "5" } : undefined;
  return new HttpError(STATUS[err.kind], err.message, { headers });
}

export const isServiceError = (err: unknown): err is ServiceError => err instanceof ServiceError;
