import { OptimizerError } from '../errors/registry.js';
import { HARD_QUOTA_DETAIL, hardQuotaCode, NON_RETRYABLE_DETAIL } from '../resilience/hard-quota.js';
import { retryAfterFromMessage } from '../resilience/quota.js';

/** The message inside a provider's error body, whichever of the common shapes it uses. */
export function upstreamErrorMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error;
    if (typeof error === 'string') return error; // Ollama: {"error":"..."}
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message; // OpenAI, Anthropic, Gemini, OpenRouter
    }
    if (typeof body.message === 'string') return body.message; // Cerebras flat shape
    if (body.detail !== undefined) return typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail); // Mistral 422
  } catch {
    // not JSON
  }
  const trimmed = text.trim();
  return trimmed ? trimmed.slice(0, 500) : undefined;
}

/** `retry-after` (seconds or an HTTP date) in milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * A backend's error answer as an OptimizerError. The caller's own mistakes (400, 404,
 * 413, 422) keep their status and the provider's message; the optimizer's problems with
 * the backend (401/403: our key; 429; 5xx) become 502/429 with a code saying which.
 */
export function upstreamHttpError(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
  backendId: string,
): OptimizerError {
  const message = upstreamErrorMessage(text) ?? `HTTP ${status}`;
  const details: Record<string, unknown> = { backend: backendId, upstreamStatus: status };
  // A spent account (Anthropic's spend limit, OpenAI's insufficient_quota) is not retried on this backend.
  const hardQuota = hardQuotaCode(text);
  if (hardQuota !== undefined) Object.assign(details, { [NON_RETRYABLE_DETAIL]: true, [HARD_QUOTA_DETAIL]: hardQuota });
  if (status === 429) {
    // No `retry-after`: the wait the message names, if any (Moonshot's "please try again after 1 seconds").
    const retryAfterMs = parseRetryAfter(headers['retry-after']) ?? retryAfterFromMessage(message);
    return new OptimizerError('UPSTREAM_RATE_LIMITED', `Backend ${backendId} is rate limiting: ${message}`, {
      details,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 402) {
    // Out of credits: the optimizer's account, not the caller's request.
    return new OptimizerError('UPSTREAM_ERROR', `Backend ${backendId} refused for billing (HTTP 402): ${message}`, { details });
  }
  if (status === 401 || status === 403) {
    return new OptimizerError('UPSTREAM_AUTH_FAILED', `Backend ${backendId} refused the optimizer's credentials (HTTP ${status}): ${message}`, {
      details,
    });
  }
  if (status >= 400 && status < 500 && status !== 408) {
    return new OptimizerError('UPSTREAM_REJECTED', `Backend ${backendId} rejected the request: ${message}`, { status, details });
  }
  return new OptimizerError('UPSTREAM_ERROR', `Backend ${backendId} failed (HTTP ${status}): ${message}`, { details });
}
