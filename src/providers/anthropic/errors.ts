/**
 * Anthropic errors: `{"type":"error","error":{"type","message"},"request_id"}` with the HTTP status,
 * or the same object as an in-stream `error` event (e.g. `overloaded_error`, which replaces a 529).
 * Statuses go through the shared mapper (src/upstream/http-error.ts): 529 overloaded is a 5xx
 * (retried / failed over), 429 `rate_limit_error` honours `retry-after`, and the 429 with
 * `error.details.error_code = "enforced_spend_limit_reached"` is flagged a hard quota (never
 * retried on this backend, only failed over).
 */
import type { OptimizerError } from '../../errors/registry.js';
import { upstreamHttpError } from '../../upstream/http-error.js';
import type { Json } from '../adapter.js';
import { isObject } from '../json.js';

/** The HTTP status an in-stream error type stands for. */
const TYPE_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

export function anthropicHttpError(status: number, headers: Record<string, string | string[] | undefined>, text: string, backendId: string): OptimizerError {
  return upstreamHttpError(status, headers, text, backendId);
}

/** An in-stream `error` event as the error its HTTP twin would have been. */
export function anthropicStreamError(event: Json, backendId: string): OptimizerError {
  const type = isObject(event.error) && typeof event.error.type === 'string' ? event.error.type : 'api_error';
  return upstreamHttpError(TYPE_STATUS[type] ?? 500, {}, JSON.stringify(event), backendId);
}
