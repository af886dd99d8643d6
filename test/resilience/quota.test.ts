import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NEARLY_EXHAUSTED_SCORE,
  QuotaTracker,
  parseDuration,
  parseRateLimitHeaders,
  quotaScore,
  retryAfterFromMessage,
} from '../../src/resilience/quota.js';
import type { QuotaState } from '../../src/resilience/quota.js';

const NOW = 1_750_000_000_000; // 2025-06-15T15:06:40Z, also the wall clock in most tests

describe('parseDuration', () => {
  it.each([
    ['12ms', 12],
    ['9ms', 9],
    ['1s', 1_000],
    ['6m0s', 360_000],
    ['2m59.56s', 179_560],
    ['7.66s', 7_660],
    ['1h2m3.5s', 3_723_500],
    ['0s', 0],
    ['1h', 3_600_000],
    ['1d2h', 93_600_000],
    ['.5s', 500],
    ['1500us', 1.5],
    ['250µs', 0.25],
    ['2000000ns', 2],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 6);
  });

  it.each(['', '12', '1.5', 's', '-1s', '1x', '1 s', '1s garbage', 'ms', '1e3s', 'Infinity', '1..2s'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('agrees with the grammar written as a regular expression, on any text made of its characters', () => {
    const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
    const reference = (text: string): number | undefined => {
      const trimmed = text.trim();
      if (!/^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+$/.test(trimmed)) return undefined;
      let total = 0;
      for (const match of trimmed.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g)) total += Number(match[1]) * units[match[2]!]!;
      return Number.isFinite(total) ? total : undefined;
    };
    const piece = fc.constantFrom('0', '1', '7', '59', '.', '5.', '.25', 'ms', 'm', 's', 'h', 'd', 'ns', 'us', 'µs', 'μs', 'n', 'u', 'x', ' ', 'e');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const text = pieces.join('');
        expect(parseDuration(text)).toBe(reference(text));
      }),
      { seed: 20261128, numRuns: 3000 },
    );
  });
});

describe('retryAfterFromMessage', () => {
  it.each([
    ['request reached organization max RPM: 20, please try again after 1 seconds', 1_000], // Moonshot
    ['Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29800, Requested 500. Please try again in 600ms.', 600],
    ['Rate limit reached ... Please try again in 6m0s. Visit https://platform.openai.com/account/rate-limits', 360_000],
    ['Please try again in 1.5s', 1_500],
    ['try again in 2 minutes', 120_000],
    ['Please try again in 20 ms', 20],
  ])('%s → %d ms', (message, ms) => {
    expect(retryAfterFromMessage(message)).toBe(ms);
  });

  it.each(['Please try again later.', 'engine is overloaded', '', 'try again after soon'])('%j names no wait', (message) => {
    expect(retryAfterFromMessage(message)).toBeUndefined();
  });
});

describe('parseRateLimitHeaders: each provider', () => {
  it('OpenAI: requests and tokens with Go durations', () => {
    const headers = {
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '6m0s',
      'x-request-id': 'req_abc',
      'openai-processing-ms': '312',
    };
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({
      limitRequests: 60,
      remainingRequests: 59,
      resetRequestsAt: NOW + 1_000,
      limitTokens: 150_000,
      remainingTokens: 149_984,
      resetTokensAt: NOW + 360_000,
      observedAt: NOW,
    });
  });

  it('OpenAI: millisecond resets (12ms, 9ms)', () => {
    const snapshot = parseRateLimitHeaders({ 'x-ratelimit-reset-requests': '12ms', 'x-ratelimit-reset-tokens': '9ms', 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-remaining-tokens': '5' }, NOW);
    expect(snapshot.resetRequestsAt).toBe(NOW + 12);
    expect(snapshot.resetTokensAt).toBe(NOW + 9);
  });

  it('Groq: per-day requests, per-minute tokens, 2m59.56s resets, retry-after on a 429', () => {
    const headers = {
      'retry-after': '2',
      'x-ratelimit-limit-requests': '14400',
      'x-ratelimit-limit-tokens': '18000',
      'x-ratelimit-remaining-requests': '14370',
      'x-ratelimit-remaining-tokens': '17997',
      'x-ratelimit-reset-requests': '2m59.56s',
      'x-ratelimit-reset-tokens': '7.66s',
    };
    const snapshot = parseRateLimitHeaders(headers, NOW);
    expect(snapshot).toMatchObject({ limitRequests: 14_400, remainingRequests: 14_370, limitTokens: 18_000, remainingTokens: 17_997, retryAfterAt: NOW + 2_000 });
    expect(snapshot.resetRequestsAt).toBeCloseTo(NOW + 179_560, 3);
    expect(snapshot.resetTokensAt).toBeCloseTo(NOW + 7_660, 3);
  });

  it('Cerebras: requests per day and tokens per minute, resets in fractional seconds', () => {
    const headers = {
      'x-ratelimit-limit-requests-day': '14400',
      'x-ratelimit-limit-tokens-minute': '60000',
      'x-ratelimit-remaining-requests-day': '14399',
      'x-ratelimit-remaining-tokens-minute': '59994',
      'x-ratelimit-reset-requests-day': '33011.382867097855',
      'x-ratelimit-reset-tokens-minute': '11.382867097854614',
    };
    const snapshot = parseRateLimitHeaders(headers, NOW);
    expect(snapshot).toMatchObject({ limitRequests: 14_400, remainingRequests: 14_399, limitTokens: 60_000, remainingTokens: 59_994 });
    expect(snapshot.resetRequestsAt).toBeCloseTo(NOW + 33_011_382.867, 2);
    expect(snapshot.resetTokensAt).toBeCloseTo(NOW + 11_382.867, 2);
  });

  it('Mistral: the most constraining window with a remaining count wins; no reset sent, so the window bounds it', () => {
    const headers = {
      'x-ratelimit-limit-req-minute': '4',
      'x-ratelimit-remaining-req-minute': '3',
      'x-ratelimit-limit-req-10-second': '2',
      'x-ratelimit-remaining-req-10-second': '1',
      'x-ratelimit-limit-tokens-minute': '5000000',
      'x-ratelimit-remaining-tokens-minute': '4999911',
      'x-ratelimit-limit-tokens-month': '1000000000000',
      'x-ratelimit-remaining-tokens-month': '999998798434',
      'x-ratelimit-tokens-query-cost': '52',
      'mistral-correlation-id': '0198a5c1-d3c2-7c5d-a8a8-6f0d3a1b2c3d',
    };
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({
      limitRequests: 2,
      remainingRequests: 1,
      resetRequestsAt: NOW + 10_000,
      limitTokens: 5_000_000,
      remainingTokens: 4_999_911,
      resetTokensAt: NOW + 60_000,
      observedAt: NOW,
    });
  });

  it('Mistral: an empty month window wins over the minute, and has no reset estimate (a month has no fixed length)', () => {
    const snapshot = parseRateLimitHeaders(
      { 'x-ratelimit-remaining-tokens-minute': '4999911', 'x-ratelimit-remaining-tokens-month': '0', 'x-ratelimit-limit-tokens-month': '1000000' },
      NOW,
    );
    expect(snapshot).toEqual({ remainingTokens: 0, limitTokens: 1_000_000, observedAt: NOW });
  });

  it('Anthropic: RFC 3339 resets, input/output token pools, retry-after', () => {
    const headers = {
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': '2025-06-15T15:06:41Z',
      'anthropic-ratelimit-tokens-limit': '90000',
      'anthropic-ratelimit-tokens-remaining': '89000',
      'anthropic-ratelimit-tokens-reset': '2025-06-15T15:07:40.500Z',
      'anthropic-ratelimit-input-tokens-limit': '80000',
      'anthropic-ratelimit-input-tokens-remaining': '79500',
      'anthropic-ratelimit-input-tokens-reset': '2025-06-15T15:06:50Z',
      'anthropic-ratelimit-output-tokens-limit': '16000',
      'anthropic-ratelimit-output-tokens-remaining': '15900',
      'anthropic-ratelimit-output-tokens-reset': '2025-06-15T15:06:52Z',
      'retry-after': '15',
    };
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({
      limitRequests: 50,
      remainingRequests: 49,
      resetRequestsAt: NOW + 1_000,
      // the output-token pool is the tightest token window here
      limitTokens: 16_000,
      remainingTokens: 15_900,
      resetTokensAt: NOW + 12_000,
      retryAfterAt: NOW + 15_000,
      observedAt: NOW,
    });
  });

  it('Anthropic on a monotone clock: absolute times are moved onto the caller’s scale by wallNow', () => {
    const snapshot = parseRateLimitHeaders(
      { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': '2025-06-15T15:06:45+00:00', 'retry-after': 'Sun, 15 Jun 2025 15:06:50 GMT' },
      1_000,
      { wallNow: NOW },
    );
    expect(snapshot).toEqual({ remainingRequests: 0, resetRequestsAt: 6_000, retryAfterAt: 11_000, observedAt: 1_000 });
  });

  it('a reset already past reads as now', () => {
    expect(parseRateLimitHeaders({ 'anthropic-ratelimit-requests-remaining': '3', 'anthropic-ratelimit-requests-reset': '2020-01-01T00:00:00Z' }, NOW).resetRequestsAt).toBe(NOW);
  });

  it('Together (unverified): bare x-ratelimit-* for requests, x-tokenlimit-* for tokens', () => {
    const snapshot = parseRateLimitHeaders({ 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '9', 'x-ratelimit-reset': '1', 'x-tokenlimit-limit': '200000', 'x-tokenlimit-remaining': '199000' }, NOW);
    expect(snapshot).toEqual({ limitRequests: 10, remainingRequests: 9, resetRequestsAt: NOW + 1_000, limitTokens: 200_000, remainingTokens: 199_000, observedAt: NOW });
  });

  it('a bare reset ≥ 1e9 is epoch seconds', () => {
    const snapshot = parseRateLimitHeaders({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': String(NOW / 1000 + 30) }, NOW);
    expect(snapshot.resetRequestsAt).toBe(NOW + 30_000);
  });

  it('retry-after as an HTTP date, and retry-after-ms (preferred when both are sent)', () => {
    expect(parseRateLimitHeaders({ 'retry-after': 'Sun, 15 Jun 2025 15:07:40 GMT' }, NOW).retryAfterAt).toBe(NOW + 60_000);
    expect(parseRateLimitHeaders({ 'retry-after': '2', 'retry-after-ms': '1500' }, NOW).retryAfterAt).toBe(NOW + 1_500);
  });

  it('reads header names in any case and the first of repeated values', () => {
    const snapshot = parseRateLimitHeaders({ 'X-RateLimit-Remaining-Requests': ['5', '7'], 'Retry-After': ['3'] }, NOW);
    expect(snapshot).toEqual({ remainingRequests: 5, retryAfterAt: NOW + 3_000, observedAt: NOW });
  });

  it('ignores what does not parse, keeps what does', () => {
    const snapshot = parseRateLimitHeaders(
      {
        'x-ratelimit-remaining-requests': 'lots',
        'x-ratelimit-limit-requests': '',
        'x-ratelimit-reset-requests': 'soon',
        'x-ratelimit-remaining-tokens': '  42 ',
        'x-ratelimit-reset-tokens': '2m59.56s later',
        'anthropic-ratelimit-tokens-reset': 'yesterday',
        'retry-after': 'whenever',
        'retry-after-ms': '-5',
        'x-ratelimit-limit-bananas': '3',
        'x-ratelimit-remaining-requests-day': undefined,
        'x-ratelimit-remaining-requests-minute': [],
      },
      NOW,
    );
    expect(snapshot).toEqual({ remainingTokens: 42, observedAt: NOW });
  });

  it('reads an overdrawn negative count as 0', () => {
    expect(parseRateLimitHeaders({ 'x-ratelimit-remaining-tokens': '-120' }, NOW).remainingTokens).toBe(0);
  });

  it('without headers says only when it looked', () => {
    expect(parseRateLimitHeaders({}, NOW)).toEqual({ observedAt: NOW });
  });
});

describe('QuotaTracker', () => {
  const groq = (remainingRequests: string, resetRequests: string, now: number) =>
    parseRateLimitHeaders(
      {
        'x-ratelimit-limit-requests': '14400',
        'x-ratelimit-remaining-requests': remainingRequests,
        'x-ratelimit-reset-requests': resetRequests,
        'x-ratelimit-limit-tokens': '18000',
        'x-ratelimit-remaining-tokens': '17997',
        'x-ratelimit-reset-tokens': '7.66s',
      },
      now,
    );

  it('knows nothing at first: not exhausted', () => {
    expect(new QuotaTracker().state(0)).toEqual({ nearlyExhausted: false });
  });

  it('reports the latest counts until their window resets', () => {
    const tracker = new QuotaTracker();
    tracker.observe(groq('14370', '2m59.56s', 0));
    expect(tracker.state(1_000)).toMatchObject({ remainingRequests: 14_370, remainingTokens: 17_997, limitRequests: 14_400, nearlyExhausted: false });
    expect(tracker.state(8_000).remainingTokens).toBeUndefined(); // tokens reset at 7.66 s
    expect(tracker.state(8_000).remainingRequests).toBe(14_370);
    expect(tracker.state(180_000)).toEqual({ limitRequests: 14_400, limitTokens: 18_000, nearlyExhausted: false });
  });

  it('is nearly exhausted when the request would leave less than the 1 % reserve before the reset', () => {
    const tracker = new QuotaTracker();
    tracker.observe(groq('145', '10s', 0));
    expect(tracker.state(0).nearlyExhausted).toBe(false); // 145 − 1 ≥ 144
    tracker.observe(groq('144', '10s', 1));
    expect(tracker.state(1).nearlyExhausted).toBe(true);
    expect(tracker.state(10_001).nearlyExhausted).toBe(false); // the window reset
  });

  it('counts requests in flight and the token estimate (Cerebras counts max_completion_tokens up front)', () => {
    const tracker = new QuotaTracker({ reserveFraction: 0 });
    tracker.observe(parseRateLimitHeaders({ 'x-ratelimit-remaining-requests-day': '3', 'x-ratelimit-remaining-tokens-minute': '2000', 'x-ratelimit-reset-tokens-minute': '30' }, 0));
    expect(tracker.state(0).nearlyExhausted).toBe(false);
    expect(tracker.state(0, { requests: 4 }).nearlyExhausted).toBe(true);
    expect(tracker.state(0, { tokens: 1_999 }).nearlyExhausted).toBe(false);
    expect(tracker.state(0, { tokens: 2_001 }).nearlyExhausted).toBe(true);
  });

  it('an empty window is exhausted even for a zero demand', () => {
    const tracker = new QuotaTracker({ reserveFraction: 0 });
    tracker.observe(parseRateLimitHeaders({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1s' }, 0));
    expect(tracker.state(0, { requests: 0, tokens: 0 }).nearlyExhausted).toBe(true);
  });

  it('counts without a reset go stale after staleAfterMs (Mistral month)', () => {
    const tracker = new QuotaTracker({ staleAfterMs: 5_000 });
    tracker.observe(parseRateLimitHeaders({ 'x-ratelimit-remaining-tokens-month': '0' }, 1_000));
    expect(tracker.state(5_999)).toMatchObject({ remainingTokens: 0, nearlyExhausted: true });
    expect(tracker.state(6_000)).toEqual({ nearlyExhausted: false });
  });

  it('does not trust counts with neither a reset nor an observation time', () => {
    const tracker = new QuotaTracker();
    tracker.observe({ remainingRequests: 0 });
    expect(tracker.state(0)).toEqual({ nearlyExhausted: false });
    tracker.observe({ remainingRequests: 0 }, 0);
    expect(tracker.state(0)).toMatchObject({ remainingRequests: 0, nearlyExhausted: true });
  });

  it('ignores a snapshot older than the one it holds (responses answered out of order)', () => {
    const tracker = new QuotaTracker();
    tracker.observe(groq('100', '60s', 2_000));
    tracker.observe(groq('150', '60s', 1_000));
    expect(tracker.state(2_000).remainingRequests).toBe(100);
  });

  it('a 429 cools the backend down until its retry-after', () => {
    const tracker = new QuotaTracker();
    tracker.observe(parseRateLimitHeaders({ 'retry-after': '2' }, 0));
    expect(tracker.state(1_999)).toEqual({ coolingDownUntil: 2_000, nearlyExhausted: true });
    expect(tracker.state(2_000)).toEqual({ nearlyExhausted: false });
  });

  it('onRateLimited: until the reset of the empty window, or retry-after, whichever is later', () => {
    const tracker = new QuotaTracker();
    const snapshot = parseRateLimitHeaders(
      { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6m0s', 'x-ratelimit-remaining-tokens': '500', 'x-ratelimit-reset-tokens': '1s' },
      0,
    );
    expect(tracker.onRateLimited(0, { snapshot })).toBe(360_000);
    expect(tracker.state(359_999).coolingDownUntil).toBe(360_000);
    expect(new QuotaTracker().onRateLimited(0, { snapshot, retryAfterMs: 400_000 })).toBe(400_000);
  });

  it("onRateLimited without any hint: defaultCoolDownMs; Moonshot's message wait passed as retryAfterMs", () => {
    expect(new QuotaTracker().onRateLimited(500)).toBe(1_500);
    expect(new QuotaTracker({ defaultCoolDownMs: 250 }).onRateLimited(500)).toBe(750);
    const wait = retryAfterFromMessage('request reached organization max RPM: 20, please try again after 1 seconds');
    expect(new QuotaTracker().onRateLimited(0, wait === undefined ? {} : { retryAfterMs: wait })).toBe(1_000);
  });

  it('coolDown never shortens a cool-down, and accepts Infinity (a hard quota)', () => {
    const tracker = new QuotaTracker();
    tracker.coolDown(5_000);
    tracker.coolDown(1_000);
    expect(tracker.state(0).coolingDownUntil).toBe(5_000);
    tracker.coolDown(Infinity);
    expect(tracker.state(1e15).coolingDownUntil).toBe(Infinity);
    expect(() => tracker.coolDown(Number.NaN)).toThrow(RangeError);
  });

  it('rejects out-of-range options, naming them', () => {
    expect(() => new QuotaTracker({ reserveFraction: 1 })).toThrow(/reserveFraction/);
    expect(() => new QuotaTracker({ staleAfterMs: -1 })).toThrow(/staleAfterMs/);
    expect(() => new QuotaTracker({ defaultCoolDownMs: Number.NaN })).toThrow(/defaultCoolDownMs/);
  });
});

describe('quotaScore', () => {
  it('is 1 when nothing is known', () => {
    expect(quotaScore({ nearlyExhausted: false }, 0)).toBe(1);
  });

  it('is 0 while cooling down', () => {
    expect(quotaScore({ coolingDownUntil: 10, nearlyExhausted: true }, 5)).toBe(0);
  });

  it('is the smallest remaining share of the windows in force', () => {
    const state: QuotaState = { remainingRequests: 50, limitRequests: 100, resetRequestsAt: 1_000, remainingTokens: 9_000, limitTokens: 10_000, nearlyExhausted: false };
    expect(quotaScore(state, 0)).toBe(0.5);
    expect(quotaScore(state, 1_000)).toBe(0.9); // the request window has reset
  });

  it('caps a nearly exhausted backend below every backend with room left', () => {
    const state: QuotaState = { remainingRequests: 50, limitRequests: 100, nearlyExhausted: true };
    expect(quotaScore(state, 0)).toBe(NEARLY_EXHAUSTED_SCORE);
  });

  it('a count without a limit is plenty unless it is 0', () => {
    expect(quotaScore({ remainingTokens: 10, nearlyExhausted: false }, 0)).toBe(1);
    expect(quotaScore({ remainingTokens: 0, nearlyExhausted: true }, 0)).toBe(0);
  });

  it('orders the tracker states of three backends', () => {
    const plenty = new QuotaTracker();
    plenty.observe(parseRateLimitHeaders({ 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '1s' }, 0));
    const low = new QuotaTracker();
    low.observe(parseRateLimitHeaders({ 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '10', 'x-ratelimit-reset-requests': '1s' }, 0));
    const cooling = new QuotaTracker();
    cooling.onRateLimited(0, { retryAfterMs: 5_000 });
    const scores = [plenty, low, cooling].map((tracker) => quotaScore(tracker.state(0), 0));
    expect(scores[0]).toBeGreaterThan(scores[1] ?? 1);
    expect(scores[1]).toBeGreaterThan(scores[2] ?? 1);
    expect(scores[2]).toBe(0);
  });
});
