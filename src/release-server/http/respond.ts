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

/** A JSON response; a 200 carries a weak ETag of its bytes (the app answers a matching If-None-Match with 304). */
export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const body = enc.encode(JSON.stringify(value));
  const etag = status === 200 ? { etag: `W/"${sha256Hex(body).slice(0, 32)}"`, vary: "Accept, Authorization" } : {};
  return withSize(new Response(body, { status, headers: { "content-type": "application/json; charset=utf-8", ...etag, ...headers } }), body.length);
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
};

/**
 * Typed service failures → HTTP. A duplicate (details.code "already_exists") is GitHub's 422
 * "Validation Failed" with an `errors` entry, which release tooling already knows how to handle.
 */
export function fromServiceError(err: ServiceError): HttpError {
  const d = err.details ?? {};
  if (err.kind === "conflict" && d.code === "already_exists") return new HttpError(422, err.message, { errors: [d] });
  const headers = err.kind === "unauthorized" ? { "www-authenticate": 'Bearer realm="release-server"' } : undefined;
  return new HttpError(STATUS[err.kind], err.message, { headers, errors: err.kind === "invalid" && d.field ? [{ code: "invalid", field: d.field }] : undefined });
}

export const isServiceError = (err: unknown): err is ServiceError => err instanceof ServiceError;
