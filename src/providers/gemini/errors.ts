/**
 * Gemini errors: `{"error":{"code","message","status","details":[…]}}`, sometimes wrapped in a
 * JSON array (`[{"error":…}]`, seen on streamed calls). On top of the shared mapper:
 * - 429 `RESOURCE_EXHAUSTED`: the wait comes from `details[].RetryInfo.retryDelay` ("30s") when
 *   there is no `retry-after` header; a violated per-day quota (`quotaId` …PerDay…) is a hard quota
 *   for today (never retried on this backend, only failed over);
 * - 400 `INVALID_ARGUMENT` with reason `API_KEY_INVALID` is our key, not the caller's request.
 */
import { OptimizerError } from '../../errors/registry.js';
import { HARD_QUOTA_DETAIL, NON_RETRYABLE_DETAIL } from '../../resilience/hard-quota.js';
import { parseDuration } from '../../resilience/quota.js';
import { upstreamHttpError } from '../../upstream/http-error.js';
import type { Json } from '../adapter.js';
import { isObject } from '../json.js';

/** The `error` object of a Gemini error body (bare or in an array), if it has one. */
export function geminiErrorObject(value: unknown): Json | undefined {
  const body = Array.isArray(value) ? value[0] : value;
  return isObject(body) && isObject(body.error) ? body.error : undefined;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function geminiHttpError(status: number, headers: Record<string, string | string[] | undefined>, text: string, backendId: string): OptimizerError {
  const error = geminiErrorObject(parse(text));
  // The shared mapper reads `{"error":{"message"}}`; unwrap the array form for it.
  const base = upstreamHttpError(status, headers, error ? JSON.stringify({ error }) : text, backendId);
  if (!error) return base;
  const details = Array.isArray(error.details) ? error.details.filter(isObject) : [];
  const reason = details.find((d) => typeof d.reason === 'string')?.reason;
  if (status === 400 && reason === 'API_KEY_INVALID') {
    return new OptimizerError('UPSTREAM_AUTH_FAILED', `Backend ${backendId} refused the optimizer's credentials: ${String(error.message)}`, { details: { backend: backendId, upstreamStatus: status } });
  }
  if (base.code !== 'UPSTREAM_RATE_LIMITED') return base;
  const retryInfo = details.find((d) => typeof d['@type'] === 'string' && d['@type'].endsWith('RetryInfo'));
  const delay = typeof retryInfo?.retryDelay === 'string' ? parseDuration(retryInfo.retryDelay) : undefined;
  const perDay = details.some(
    (d) => Array.isArray(d.violations) && d.violations.some((v: unknown) => isObject(v) && typeof v.quotaId === 'string' && /PerDay/i.test(v.quotaId)),
  );
  if (delay === undefined && !perDay) return base;
  const extra: Record<string, unknown> = perDay ? { [NON_RETRYABLE_DETAIL]: true, [HARD_QUOTA_DETAIL]: 'gemini_daily_quota' } : {};
  const retryAfterMs = base.retryAfterMs ?? (delay === undefined ? undefined : Math.round(delay));
  return new OptimizerError('UPSTREAM_RATE_LIMITED', base.message, {
    details: { ...base.details, ...extra },
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** An error object found in a 200 stream, as the error its HTTP twin would have been. */
export function geminiStreamError(error: Json, backendId: string): OptimizerError {
  const status = typeof error.code === 'number' && error.code >= 400 ? error.code : 500;
  return geminiHttpError(status, {}, JSON.stringify({ error }), backendId);
}
