/**
 * Response helpers and the one error type of the HTTP layer. Every error body is GitHub-shaped:
 * `{"message": ..., "documentation_url"?: ..., "errors"?: [...]}`, never a stack trace.
 */
import { withSize } from "./log.ts";

export const DOCS_URL = "/openapi.json";

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

export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const body = enc.encode(JSON.stringify(value));
  return withSize(new Response(body, { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } }), body.length);
}

export function html(text: string, status = 200): Response {
  const body = enc.encode(text);
  return withSize(
    new Response(body, {
      status,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
        "x-content-type-options": "nosniff",
      },
    }),
    body.length,
  );
}

export function errorResponse(err: HttpError): Response {
  const body: Record<string, unknown> = { message: err.message, documentation_url: DOCS_URL };
  if (err.extra.errors) body.errors = err.extra.errors;
  return json(body, err.status, err.extra.headers);
}

export const notFound = (what = "Not Found") => new HttpError(404, what);
export const badRequest = (what: string) => new HttpError(400, what);
