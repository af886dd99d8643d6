/**
 * Properties of the rate-limit header reader (src/resilience/quota.ts):
 *  (1) duration strings round-trip: any h/m/s/ms combination, and any duration formatted the way
 *      OpenAI and Groq print them (Go's `6m0s`, `2m59.56s`, `12ms`), parses back within 1 ms;
 *  (2) parsing never throws on arbitrary strings, and whatever it returns is sane: counts finite and
 *      ≥ 0, times finite and not before `now`;
 *  (3) a tracker's quotaScore stays in [0, 1] whatever it observed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuotaTracker, parseDuration, parseRateLimitHeaders, quotaScore, retryAfterFromMessage } from '../src/resilience/quota.js';
import type { ResponseHeaders } from '../src/resilience/quota.js';

/** A duration the way Go's `time.Duration.String` (and so OpenAI and Groq) prints it. */
function formatGo(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1_000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1_000;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

const HEADER_NAMES = [
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
  'x-ratelimit-remaining-requests-day',
  'x-ratelimit-reset-requests-day',
  'x-ratelimit-remaining-tokens-minute',
  'x-ratelimit-reset-tokens-minute',
  'x-ratelimit-remaining-req-10-second',
  'x-ratelimit-limit-tokens-month',
  'x-ratelimit-remaining-tokens-month',
  'anthropic-ratelimit-requests-remaining',
  'anthropic-ratelimit-requests-reset',
  'anthropic-ratelimit-output-tokens-remaining',
  'x-ratelimit-remaining',
  'x-tokenlimit-remaining',
  'retry-after',
  'retry-after-ms',
];

/** Values that are garbage, almost right, or right. */
const valueArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.stringMatching(/^[-+]?[0-9.]{0,12}(e[0-9]{1,3})?(ns|us|µs|ms|s|m|h|d){0,3}$/),
  fc.double().map(String),
  fc.integer({ min: -1e6, max: 1e12 }).map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  fc.constantFrom('2m59.56s', '6m0s', '12ms', '1e400', '9'.repeat(400), '1e308', `${'1h'.repeat(50)}`, ''),
);

const headersArb: fc.Arbitrary<ResponseHeaders> = fc.dictionary(
  fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.constantFrom(...HEADER_NAMES).map((n) => n.toUpperCase()), fc.string({ maxLength: 40 })),
  fc.oneof(valueArb, fc.array(valueArb, { maxLength: 3 }), fc.constant(undefined)),
  { maxKeys: 12 },
);

describe('rate-limit headers', () => {
  it('(1) any h/m/s/ms combination parses back within 1 ms', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            h: fc.integer({ min: 0, max: 1_000 }),
            m: fc.integer({ min: 0, max: 59 }),
            s: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 5_999 }).map((cs) => cs / 100)),
            ms: fc.integer({ min: 0, max: 999 }),
          },
          { requiredKeys: [] },
        ).filter((parts) => Object.keys(parts).length > 0),
        (parts) => {
          const text = `${parts.h === undefined ? '' : `${parts.h}h`}${parts.m === undefined ? '' : `${parts.m}m`}${parts.s === undefined ? '' : `${parts.s}s`}${parts.ms === undefined ? '' : `${parts.ms}ms`}`;
          const expected = (parts.h ?? 0) * 3_600_000 + (parts.m ?? 0) * 60_000 + (parts.s ?? 0) * 1_000 + (parts.ms ?? 0);
          const parsed = parseDuration(text);
          expect(parsed).toBeDefined();
          expect(Math.abs((parsed ?? NaN) - expected)).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('(1) durations formatted like OpenAI and Groq parse back within 1 ms, also as reset headers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 100 * 3_600_000 }), fc.integer({ min: 0, max: 10_000_000 }).map((cs) => cs * 10)), (ms) => {
        const text = formatGo(ms);
        expect(Math.abs((parseDuration(text) ?? NaN) - ms)).toBeLessThanOrEqual(1);
        const snapshot = parseRateLimitHeaders({ 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-reset-requests': text }, 1_000);
        expect(Math.abs((snapshot.resetRequestsAt ?? NaN) - (1_000 + ms))).toBeLessThanOrEqual(1);
      }),
      { numRuns: 1_000 },
    );
  });

  it('(2) parseDuration and retryAfterFromMessage never throw on arbitrary strings and give finite, non-negative ms', () => {
    fc.assert(
      fc.property(fc.oneof(valueArb, fc.string({ unit: 'binary', maxLength: 80 }).map((s) => `please try again after ${s}`)), (text) => {
        for (const ms of [parseDuration(text), retryAfterFromMessage(text)]) {
          if (ms !== undefined) expect(Number.isFinite(ms) && ms >= 0).toBe(true);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('(2) parseRateLimitHeaders never throws, and returns only finite counts ≥ 0 and times ≥ now', () => {
    fc.assert(
      fc.property(headersArb, fc.integer({ min: 0, max: 2 ** 42 }), fc.option(fc.integer({ min: 0, max: 2 ** 42 }), { nil: undefined }), (headers, now, wallNow) => {
        const snapshot = parseRateLimitHeaders(headers, now, wallNow === undefined ? {} : { wallNow });
        expect(snapshot.observedAt).toBe(now);
        for (const count of [snapshot.remainingRequests, snapshot.remainingTokens, snapshot.limitRequests, snapshot.limitTokens]) {
          if (count !== undefined) expect(Number.isFinite(count) && count >= 0).toBe(true);
        }
        for (const time of [snapshot.resetRequestsAt, snapshot.resetTokensAt, snapshot.retryAfterAt]) {
          if (time !== undefined) expect(Number.isFinite(time) && time >= now).toBe(true);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('(3) quotaScore stays in [0, 1] whatever the tracker observed and whenever it is asked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(headersArb, fc.integer({ min: 0, max: 1e9 })), { maxLength: 5 }),
        fc.integer({ min: 0, max: 2e9 }),
        fc.record({ requests: fc.integer({ min: 0, max: 100 }), tokens: fc.integer({ min: 0, max: 1e6 }) }),
        (observations, at, demand) => {
          const tracker = new QuotaTracker();
          for (const [headers, now] of observations) tracker.observe(parseRateLimitHeaders(headers, now));
          const score = quotaScore(tracker.state(at, demand), at);
          expect(score >= 0 && score <= 1).toBe(true);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
