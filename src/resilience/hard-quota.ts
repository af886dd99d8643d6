/**
 * Hard quotas: 429s (and a few 403s) that say the account itself is out of money or quota, so that
 * retrying the same backend keeps failing until a human acts. The HTTP error mapper
 * (`upstreamHttpError`) is expected to call `hardQuotaCode` on the error body and, when it names one,
 * set `details.nonRetryable = true` and `details.hardQuota = <code>` on the OptimizerError;
 * `retryDecision` (retry.ts) then never retries that backend, but still fails over to another.
 */

/** Keys of `OptimizerError.details` that the retry policy reads. */
export const NON_RETRYABLE_DETAIL = 'nonRetryable';
export const HARD_QUOTA_DETAIL = 'hardQuota';

/** The provider codes that mean "out of quota or spend until someone acts". */
export const HARD_QUOTA_CODES: readonly string[] = [
  'enforced_spend_limit_reached', // Anthropic 429: error.details.error_code
  'exceeded_current_quota_error', // Moonshot 403: error.type
  'insufficient_quota', // OpenAI 429: error.code / error.type ("You exceeded your current quota")
];

/**
 * The hard-quota code an error body carries, or undefined (also for bodies that are not JSON).
 * Looks where each provider puts it: `error.details.error_code` (Anthropic), `error.type` (Moonshot),
 * `error.code` / `error.type` (OpenAI). Never throws.
 */
export function hardQuotaCode(bodyText: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  const error = field(body, 'error');
  const candidates = [field(field(error, 'details'), 'error_code'), field(error, 'code'), field(error, 'type')];
  for (const candidate of candidates) {
    if (typeof candidate === 'string' && HARD_QUOTA_CODES.includes(candidate)) return candidate;
  }
  return undefined;
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}
