import { describe, expect, it } from 'vitest';
import type { RetryConfig } from '../../src/config/types.js';
import { ERRORS, OptimizerError } from '../../src/errors/registry.js';
import type { ErrorCode } from '../../src/errors/registry.js';
import { hardQuotaCode } from '../../src/resilience/hard-quota.js';
import { seededRandom } from '../../src/resilience/random.js';
import { backoffCap, backoffDelay, isRetryable, planRetry, retryDecision, retryDelay, retryHintFor } from '../../src/resilience/retry.js';
import { upstreamHttpError } from '../../src/upstream/http-error.js';

const SETTINGS: RetryConfig = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5_000 };
const NOT_STARTED = { streamStarted: false };
const STARTED = { streamStarted: true };

function error(code: ErrorCode, details?: Record<string, unknown>): OptimizerError {
  return new OptimizerError(code, `test ${code}`, details === undefined ? {} : { details });
}

/** A random source that always returns `value` (a fixed point of the jitter). */
const always = (value: number) => () => value;

describe('retryDecision', () => {
  it.each<ErrorCode>(['UPSTREAM_TIMEOUT', 'UPSTREAM_UNREACHABLE', 'UPSTREAM_ERROR', 'UPSTREAM_BAD_RESPONSE', 'UPSTREAM_RATE_LIMITED', 'BACKEND_UNAVAILABLE', 'UPSTREAM_STREAM_ERROR'])(
    '%s before the stream started: retry the same backend, or fail over',
    (code) => {
      expect(retryDecision(error(code), NOT_STARTED)).toEqual({ retrySame: true, failOver: true });
      expect(isRetryable(error(code), NOT_STARTED)).toBe(true);
    },
  );

  it.each<ErrorCode>(['UPSTREAM_AUTH_FAILED', 'BACKEND_DISABLED', 'CAPABILITY_UNSUPPORTED'])('%s: the same backend is pointless, another may work', (code) => {
    expect(retryDecision(error(code), NOT_STARTED)).toEqual({ retrySame: false, failOver: true });
    expect(isRetryable(error(code), NOT_STARTED)).toBe(true);
  });

  it.each<ErrorCode>([
    'UPSTREAM_REJECTED',
    'CANCELLED',
    'RATE_LIMITED',
    'INVALID_JSON',
    'INVALID_REQUEST',
    'BODY_TOO_LARGE',
    'MODEL_NOT_FOUND',
    'NO_BACKENDS',
    'SHUTTING_DOWN',
    'INTERNAL',
  ])('%s: never', (code) => {
    expect(retryDecision(error(code), NOT_STARTED)).toEqual({ retrySame: false, failOver: false });
    expect(isRetryable(error(code), NOT_STARTED)).toBe(false);
  });

  it('retries only upstream and backend failures, whatever else the registry holds (an undecided code is never retried)', () => {
    const retried = (Object.keys(ERRORS) as ErrorCode[]).filter((code) => isRetryable(error(code), NOT_STARTED));
    expect(retried.sort()).toEqual(
      [
        'BACKEND_DISABLED',
        'BACKEND_UNAVAILABLE',
        'CAPABILITY_UNSUPPORTED',
        'UPSTREAM_AUTH_FAILED',
        'UPSTREAM_BAD_RESPONSE',
        'UPSTREAM_ERROR',
        'UPSTREAM_RATE_LIMITED',
        'UPSTREAM_STREAM_ERROR',
        'UPSTREAM_TIMEOUT',
        'UPSTREAM_UNREACHABLE',
      ].sort(),
    );
  });

  it('retries nothing once the first byte of the stream reached the client', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      expect(retryDecision(error(code), STARTED)).toEqual({ retrySame: false, failOver: false });
    }
  });

  it('a 429 flagged nonRetryable (a hard quota) fails over but never retries the same backend', () => {
    expect(retryDecision(error('UPSTREAM_RATE_LIMITED', { nonRetryable: true }), NOT_STARTED)).toEqual({ retrySame: false, failOver: true });
    expect(retryDecision(error('UPSTREAM_RATE_LIMITED', { hardQuota: 'enforced_spend_limit_reached' }), NOT_STARTED)).toEqual({
      retrySame: false,
      failOver: true,
    });
    expect(retryDecision(error('UPSTREAM_RATE_LIMITED', { nonRetryable: false }), NOT_STARTED)).toEqual({ retrySame: true, failOver: true });
  });

  it("Anthropic's enforced_spend_limit_reached: the mapper's flag from hardQuotaCode stops same-backend retries", () => {
    const body = JSON.stringify({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'spend limit reached', details: { error_code: 'enforced_spend_limit_reached' } },
    });
    const mapped = upstreamHttpError(429, { 'retry-after': '30' }, body, 'anthropic');
    // The HTTP error mapper flags a hard quota (hardQuotaCode) so it is not retried on this backend.
    expect(mapped.details).toMatchObject({ nonRetryable: true, hardQuota: hardQuotaCode(body) });
    expect(retryDecision(mapped, NOT_STARTED)).toEqual({ retrySame: false, failOver: true });
    const ordinary = upstreamHttpError(429, { 'retry-after': '30' }, JSON.stringify({ error: { message: 'slow down' } }), 'anthropic');
    expect(retryDecision(ordinary, NOT_STARTED).retrySame).toBe(true);
  });

  it('UPSTREAM_ERROR for a 402 (out of credits) or 501 fails over only; a 500, 503 or 408 retries', () => {
    for (const status of [402, 501]) {
      expect(retryDecision(upstreamHttpError(status, {}, '{}', 'b'), NOT_STARTED)).toEqual({ retrySame: false, failOver: true });
    }
    for (const status of [500, 503, 529, 408]) {
      expect(retryDecision(upstreamHttpError(status, {}, '{}', 'b'), NOT_STARTED)).toEqual({ retrySame: true, failOver: true });
    }
  });

  it("Moonshot's 403 exceeded_current_quota_error (mapped to UPSTREAM_AUTH_FAILED) fails over only", () => {
    const body = JSON.stringify({ error: { message: 'quota exceeded', type: 'exceeded_current_quota_error' } });
    expect(retryDecision(upstreamHttpError(403, {}, body, 'moonshot'), NOT_STARTED)).toEqual({ retrySame: false, failOver: true });
  });

  it('the caller’s 4xx (UPSTREAM_REJECTED) is never retried anywhere', () => {
    expect(isRetryable(upstreamHttpError(422, {}, '{"detail":[]}', 'mistral'), NOT_STARTED)).toBe(false);
  });
});

describe('backoffDelay (full jitter)', () => {
  it('is random × min(maxDelayMs, baseDelayMs × 2^(attempt−1)), in whole ms', () => {
    expect(backoffDelay(1, SETTINGS, always(0.5))).toBe(50);
    expect(backoffDelay(2, SETTINGS, always(0.5))).toBe(100);
    expect(backoffDelay(3, SETTINGS, always(0.5))).toBe(200);
    expect(backoffDelay(10, SETTINGS, always(0.5))).toBe(2_500); // capped at 5 000
    expect(backoffDelay(3, SETTINGS, always(0))).toBe(0);
    expect(backoffDelay(3, SETTINGS, always(0.999_999))).toBe(399);
  });

  it('caps at maxDelayMs even where 2^(attempt−1) overflows, and stays 0 for a zero base', () => {
    expect(backoffCap(2_000, SETTINGS)).toBe(5_000);
    expect(backoffCap(2_000, { ...SETTINGS, baseDelayMs: 0 })).toBe(0);
    expect(backoffDelay(2_000, { ...SETTINGS, baseDelayMs: 0 }, always(0.9))).toBe(0);
  });

  it('rejects out-of-range settings, attempts and random values, naming the option', () => {
    expect(() => backoffDelay(0, SETTINGS, always(0.5))).toThrow(/attempt must be an integer ≥ 1/);
    expect(() => backoffDelay(1.5, SETTINGS, always(0.5))).toThrow(RangeError);
    expect(() => backoffDelay(1, { ...SETTINGS, baseDelayMs: -1 }, always(0.5))).toThrow(/resilience\.retry\.baseDelayMs/);
    expect(() => backoffDelay(1, { ...SETTINGS, maxDelayMs: Number.NaN }, always(0.5))).toThrow(/resilience\.retry\.maxDelayMs/);
    expect(() => backoffDelay(1, { ...SETTINGS, maxAttempts: 0 }, always(0.5))).toThrow(/resilience\.retry\.maxAttempts/);
    expect(() => backoffDelay(1, SETTINGS, always(1))).toThrow(/random source/);
  });
});

describe('retryDelay', () => {
  it('without a hint is the jittered backoff', () => {
    expect(retryDelay(2, SETTINGS, always(0.5))).toBe(100);
    expect(retryDelay(2, SETTINGS, always(0.5), { now: 1_000 })).toBe(100);
  });

  it('honours retry-after: the time until it, plus the jitter', () => {
    expect(retryDelay(1, SETTINGS, always(0.5), { retryAfterMs: 2_000, now: 0 })).toBe(2_050);
    expect(retryDelay(1, SETTINGS, always(0), { retryAfterMs: 2_000, now: 0 })).toBe(2_000);
  });

  it('honours a reset time: waits until it, rounding up to whole ms', () => {
    expect(retryDelay(1, SETTINGS, always(0), { resetAtMs: 10_000.4, now: 9_000 })).toBe(1_001);
  });

  it('rounds a fractional wait up, however small (shrunk from a property run: retryAfterMs 5e-324)', () => {
    expect(retryDelay(1, { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, always(0), { retryAfterMs: 5e-324, now: 0 })).toBe(1);
  });

  it('takes the later of retry-after and the reset', () => {
    expect(retryDelay(1, SETTINGS, always(0), { retryAfterMs: 3_000, resetAtMs: 2_000, now: 0 })).toBe(3_000);
    expect(retryDelay(1, SETTINGS, always(0), { retryAfterMs: 1_000, resetAtMs: 2_000, now: 0 })).toBe(2_000);
  });

  it('ignores a hint already past', () => {
    expect(retryDelay(1, SETTINGS, always(0.5), { resetAtMs: 500, now: 1_000 })).toBe(50);
    expect(retryDelay(1, SETTINGS, always(0.5), { retryAfterMs: 0, now: 1_000 })).toBe(50);
  });
});

describe('retryHintFor', () => {
  it('takes retry-after from the error (set by the HTTP error mapper)', () => {
    const mapped = upstreamHttpError(429, { 'retry-after': '2' }, '{}', 'groq');
    expect(retryHintFor(mapped, 500)).toEqual({ retryAfterMs: 2_000, now: 500 });
  });

  it("reads Moonshot's “please try again after 1 seconds” when there is no header", () => {
    const body = JSON.stringify({ error: { message: 'request reached organization max RPM: 20, please try again after 1 seconds', type: 'rate_limit_reached_error' } });
    const mapped = upstreamHttpError(429, {}, body, 'moonshot');
    expect(retryHintFor(mapped, 0)).toEqual({ retryAfterMs: 1_000, now: 0 });
  });

  it('adds the backend cool-down as the reset', () => {
    expect(retryHintFor(error('UPSTREAM_RATE_LIMITED'), 100, { coolingDownUntil: 60_000 })).toEqual({ resetAtMs: 60_000, now: 100 });
    expect(retryHintFor(error('UPSTREAM_TIMEOUT'), 100)).toEqual({ now: 100 });
  });
});

describe('planRetry', () => {
  it('plans maxAttempts − 1 retries, then gives up for attempts', () => {
    const random = seededRandom(1);
    const base = { settings: SETTINGS, random, deadline: Infinity, now: 0 };
    expect(planRetry({ ...base, attempt: 1 })).toHaveProperty('delayMs');
    expect(planRetry({ ...base, attempt: 2 })).toHaveProperty('delayMs');
    expect(planRetry({ ...base, attempt: 3 })).toEqual({ giveUp: 'attempts' });
    expect(planRetry({ ...base, attempt: 1, settings: { ...SETTINGS, maxAttempts: 1 } })).toEqual({ giveUp: 'attempts' });
  });

  it('never schedules a retry that would start at or after the deadline', () => {
    const base = { attempt: 1, settings: SETTINGS, random: always(0.5) };
    expect(planRetry({ ...base, now: 0, deadline: 51 })).toEqual({ delayMs: 50 });
    expect(planRetry({ ...base, now: 0, deadline: 50 })).toEqual({ giveUp: 'deadline' });
    expect(planRetry({ ...base, now: 0, deadline: 10_000, hint: { retryAfterMs: 30_000, now: 0 } })).toEqual({ giveUp: 'deadline' });
    expect(planRetry({ ...base, now: 100, deadline: 100 })).toEqual({ giveUp: 'deadline' });
  });

  it('gives up for the deadline on a hint that never comes (Infinity), even without a deadline', () => {
    expect(planRetry({ attempt: 1, settings: SETTINGS, random: always(0.5), now: 0, deadline: Infinity, hint: { resetAtMs: Infinity, now: 0 } })).toEqual({
      giveUp: 'deadline',
    });
  });

  it('fails over at once (the hint is about the failed backend), within attempts and deadline', () => {
    const base = { settings: SETTINGS, random: always(0.5), hint: { retryAfterMs: 60_000, now: 0 }, mode: 'failOver' as const };
    expect(planRetry({ ...base, attempt: 1, now: 0, deadline: 1_000 })).toEqual({ delayMs: 0 });
    expect(planRetry({ ...base, attempt: 2, now: 1_000, deadline: 1_000 })).toEqual({ giveUp: 'deadline' });
    expect(planRetry({ ...base, attempt: 3, now: 0, deadline: 1_000 })).toEqual({ giveUp: 'attempts' });
  });

  it('the same seed gives the same schedule', () => {
    const schedule = (seed: number) => {
      const random = seededRandom(seed);
      const settings = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 };
      return [1, 2, 3, 4, 5].map((attempt) => planRetry({ attempt, settings, random, deadline: Infinity, now: 0 }));
    };
    expect(schedule(99)).toEqual(schedule(99));
    expect(schedule(99)).not.toEqual(schedule(100));
  });

  it('rejects a NaN deadline', () => {
    expect(() => planRetry({ attempt: 1, settings: SETTINGS, random: always(0.5), now: 0, deadline: Number.NaN })).toThrow(RangeError);
  });
});
