/**
 * The retry policy: which failures are worth another attempt (on the same backend, or on the next
 * candidate), how long to wait before it (full-jitter exponential backoff, or longer when the backend
 * said when to come back), and when to stop (out of attempts, or the next attempt would start past
 * the request's deadline). Pure: time and randomness come in as arguments.
 */
import type { RetryConfig } from '../config/types.js';
import type { ErrorCode, OptimizerError } from '../errors/registry.js';
import { HARD_QUOTA_DETAIL, NON_RETRYABLE_DETAIL } from './hard-quota.js';
import { retryAfterFromMessage } from './quota.js';
import type { RandomSource } from './random.js';

export interface RetryContext {
  /** Whether any byte of the answer's stream has reached the client: after that, nothing is retried. */
  streamStarted: boolean;
}

export interface RetryDecision {
  /** Another attempt on the same backend (after `planRetry`'s delay) may succeed. */
  retrySame: boolean;
  /** Another backend may succeed where this one failed. */
  failOver: boolean;
}

type Policy = 'retry' | 'failOverOnly' | 'never';

/**
 * The decision per registry code; a code not listed here (e.g. one added later) is never retried,
 * the safe default, until it is decided here.
 * - retry (same backend, or another): transient trouble of this backend or its network.
 * - failOverOnly: this backend cannot serve the optimizer (our key, our account, our config), others may.
 * - never: the caller's own request or cancellation, our own limits, or the optimizer itself.
 */
const POLICY: Partial<Record<ErrorCode, Policy>> = {
  UPSTREAM_TIMEOUT: 'retry',
  UPSTREAM_UNREACHABLE: 'retry',
  UPSTREAM_ERROR: 'retry', // 5xx; 402 and 501/505 are narrowed to failOverOnly below
  UPSTREAM_BAD_RESPONSE: 'retry',
  UPSTREAM_RATE_LIMITED: 'retry', // hard quotas (details.nonRetryable) are narrowed to failOverOnly
  UPSTREAM_STREAM_ERROR: 'retry', // only before the stream started (RetryContext)
  BACKEND_UNAVAILABLE: 'retry', // the actor is restarting: it may be back after the backoff
  UPSTREAM_AUTH_FAILED: 'failOverOnly', // our key for this backend is wrong or lacks access
  BACKEND_DISABLED: 'failOverOnly',
  CAPABILITY_UNSUPPORTED: 'failOverOnly', // this backend's adapter cannot do it; another may
  UPSTREAM_REJECTED: 'never', // the caller's 4xx: every backend would say the same
  CANCELLED: 'never',
  RATE_LIMITED: 'never', // our own limiter already queued it up to its deadline
  INVALID_JSON: 'never',
  INVALID_REQUEST: 'never',
  UNSUPPORTED_MEDIA_TYPE: 'never',
  BODY_TOO_LARGE: 'never',
  NOT_FOUND: 'never',
  METHOD_NOT_ALLOWED: 'never',
  MODEL_NOT_FOUND: 'never',
  BACKEND_NOT_FOUND: 'never',
  SESSIONS_EXHAUSTED: 'never',
  REQUEST_TIMEOUT: 'never',
  MISSING_API_KEY: 'never',
  INVALID_API_KEY: 'never',
  ADMIN_FORBIDDEN: 'never',
  FAULT_INJECTION_DISABLED: 'never',
  INVALID_FRAME: 'never',
  NOT_WELCOMED: 'never',
  DUPLICATE_REQUEST_ID: 'never',
  UNKNOWN_REQUEST_ID: 'never',
  FRAME_TOO_LARGE: 'never',
  NO_BACKENDS: 'never',
  NO_BACKEND_REACHABLE: 'never',
  ALL_BACKENDS_FAILED: 'never', // the failover is already over
  DLQ_NOT_FOUND: 'never',
  DLQ_UNAVAILABLE: 'never',
  SHUTTING_DOWN: 'never',
  INTERNAL: 'never',
};

/** Upstream statuses mapped to UPSTREAM_ERROR that the same backend will keep answering. */
const PERSISTENT_UPSTREAM_STATUSES: ReadonlySet<number> = new Set([402, 501, 505]);

/**
 * Whether to try again after `error`, on the same backend and/or on another one. Nothing is retried
 * once the stream has started. An error whose `details.nonRetryable` is true (or whose
 * `details.hardQuota` names a code: see hard-quota.ts) is never retried on the same backend.
 */
export function retryDecision(error: OptimizerError, context: RetryContext): RetryDecision {
  if (context.streamStarted) return { retrySame: false, failOver: false };
  const policy: Policy = POLICY[error.code] ?? 'never';
  if (policy === 'never') return { retrySame: false, failOver: false };
  if (policy === 'failOverOnly' || sameBackendIsPointless(error)) return { retrySame: false, failOver: true };
  return { retrySame: true, failOver: true };
}

/** Whether any further attempt (same backend or another) may succeed: `retrySame || failOver`. */
export function isRetryable(error: OptimizerError, context: RetryContext): boolean {
  const decision = retryDecision(error, context);
  return decision.retrySame || decision.failOver;
}

function sameBackendIsPointless(error: OptimizerError): boolean {
  const details = error.details;
  if (details?.[NON_RETRYABLE_DETAIL] === true || typeof details?.[HARD_QUOTA_DETAIL] === 'string') return true;
  const status = details?.['upstreamStatus'];
  return error.code === 'UPSTREAM_ERROR' && typeof status === 'number' && PERSISTENT_UPSTREAM_STATUSES.has(status);
}

// ── delays ─────────────────────────────────────────────────────────────────────────────────────────

/** When the backend said to come back (both optional), seen at `now`. */
export interface RetryHint {
  /** `retry-after` (or a "try again in …" message), relative to `now`. */
  retryAfterMs?: number;
  /** Absolute time the exhausted window resets (e.g. `QuotaTracker.onRateLimited`'s result). */
  resetAtMs?: number;
  now: number;
}

/**
 * Full-jitter backoff before retry number `attempt` (1 = the first retry):
 * `floor(random() × min(maxDelayMs, baseDelayMs × 2^(attempt−1)))` whole milliseconds.
 */
export function backoffDelay(attempt: number, settings: RetryConfig, random: RandomSource): number {
  checkAttempt(attempt);
  checkSettings(settings);
  return Math.floor(nextRandom(random) * backoffCap(attempt, settings));
}

/** The largest full-jitter backoff before retry number `attempt`. */
export function backoffCap(attempt: number, settings: RetryConfig): number {
  if (settings.baseDelayMs === 0) return 0; // 0 × 2^n stays 0 even where 2^n overflows to Infinity
  return Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (attempt - 1));
}

/**
 * The wait before retry number `attempt` on the same backend. With a hint that still lies ahead,
 * the wait is the time until the hint (the later of `retry-after` and the reset) plus the jittered
 * backoff, so that requests held by the same reset do not all come back in the same millisecond;
 * without one, just the jittered backoff. A hint may be `Infinity` (never): so is the wait.
 */
export function retryDelay(attempt: number, settings: RetryConfig, random: RandomSource, hint?: RetryHint): number {
  const backoff = backoffDelay(attempt, settings, random);
  const until = hint === undefined ? 0 : hintRemainingMs(hint);
  return until > 0 ? Math.ceil(until) + backoff : backoff;
}

/** How long until the hint's time, in ms (0 when it has no time ahead of `now`). */
export function hintRemainingMs(hint: RetryHint): number {
  let until = 0;
  if (hint.retryAfterMs !== undefined && hint.retryAfterMs > until) until = hint.retryAfterMs;
  if (hint.resetAtMs !== undefined && hint.resetAtMs - hint.now > until) until = hint.resetAtMs - hint.now;
  return Number.isNaN(until) ? 0 : until;
}

/**
 * The hint an error carries: its `retryAfterMs` (the `retry-after` header), else a "try again after
 * N seconds" in a 429's message (Moonshot, OpenAI), plus the backend's cool-down when one is known.
 */
export function retryHintFor(error: OptimizerError, now: number, quota: { coolingDownUntil?: number } = {}): RetryHint {
  const hint: RetryHint = { now };
  const retryAfterMs = error.retryAfterMs ?? (error.code === 'UPSTREAM_RATE_LIMITED' ? retryAfterFromMessage(error.message) : undefined);
  if (retryAfterMs !== undefined) hint.retryAfterMs = retryAfterMs;
  if (quota.coolingDownUntil !== undefined) hint.resetAtMs = quota.coolingDownUntil;
  return hint;
}

// ── the plan ───────────────────────────────────────────────────────────────────────────────────────

export interface PlanRetryInput {
  /** The retry being planned: 1 = the first retry (the request's second attempt). */
  attempt: number;
  settings: RetryConfig;
  random: RandomSource;
  /** When the failed backend said to come back (retrySame only). */
  hint?: RetryHint;
  /** The request's deadline (absolute, on `now`'s scale); `Infinity` for none. */
  deadline: number;
  now: number;
  /**
   * `retrySame` (default) waits `retryDelay`; `failOver` moves to another backend at once (the
   * backoff and the hint are about the backend that failed), still within attempts and deadline.
   */
  mode?: 'retrySame' | 'failOver';
}

export type RetryPlan = { delayMs: number } | { giveUp: 'attempts' | 'deadline' };

/**
 * Whether and when to make retry number `attempt`. Gives up when `settings.maxAttempts` (attempts in
 * all, across backends) would be exceeded, or when the retry would not start before `deadline`:
 * a planned retry always starts at `now + delayMs < deadline`.
 */
export function planRetry(input: PlanRetryInput): RetryPlan {
  const { attempt, settings, random, hint, deadline, now, mode = 'retrySame' } = input;
  checkAttempt(attempt);
  checkSettings(settings);
  if (Number.isNaN(deadline) || !Number.isFinite(now)) {
    throw new RangeError(`planRetry: deadline and now must be numbers, now finite (got deadline ${deadline}, now ${now})`);
  }
  if (attempt + 1 > settings.maxAttempts) return { giveUp: 'attempts' };
  const delayMs = mode === 'failOver' ? 0 : retryDelay(attempt, settings, random, hint);
  if (!Number.isFinite(delayMs) || !(now + delayMs < deadline)) return { giveUp: 'deadline' };
  return { delayMs };
}

// ── checks ─────────────────────────────────────────────────────────────────────────────────────────

function checkAttempt(attempt: number): void {
  if (!(Number.isInteger(attempt) && attempt >= 1)) throw new RangeError(`retry: attempt must be an integer ≥ 1 (got ${attempt})`);
}

function checkSettings(settings: RetryConfig): void {
  if (!(Number.isInteger(settings.maxAttempts) && settings.maxAttempts >= 1)) {
    throw new RangeError(`resilience.retry.maxAttempts must be an integer ≥ 1 (got ${settings.maxAttempts})`);
  }
  if (!(Number.isFinite(settings.baseDelayMs) && settings.baseDelayMs >= 0)) {
    throw new RangeError(`resilience.retry.baseDelayMs must be a finite number ≥ 0 (got ${settings.baseDelayMs})`);
  }
  if (!(Number.isFinite(settings.maxDelayMs) && settings.maxDelayMs >= 0)) {
    throw new RangeError(`resilience.retry.maxDelayMs must be a finite number ≥ 0 (got ${settings.maxDelayMs})`);
  }
}

function nextRandom(random: RandomSource): number {
  const value = random();
  if (!(value >= 0 && value < 1)) throw new RangeError(`retry: the random source must return numbers in [0, 1) (got ${value})`);
  return value;
}
