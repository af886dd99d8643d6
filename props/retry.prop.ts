/**
 * Retry schedule: every delay within its bounds, the total within the deadline. For any settings,
 * seed, attempts, hints and attempt durations:
 *  (1) 0 ≤ the jittered backoff of retry n ≤ min(maxDelayMs, baseDelayMs × 2^(n−1)), in whole ms;
 *  (2) a hinted delay is at least the hint's remaining time (and at most that plus the backoff cap);
 *  (3) simulating a request (attempt, fail, planRetry, wait, …) never plans more than maxAttempts − 1
 *      retries, every planned retry starts before the deadline, so the delays (plus the attempts'
 *      own durations) never pass it; and a give-up says truly why;
 *  (4) the same seed gives the same schedule.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RetryConfig } from '../src/config/types.js';
import { seededRandom } from '../src/resilience/random.js';
import { backoffCap, backoffDelay, hintRemainingMs, planRetry, retryDelay } from '../src/resilience/retry.js';
import type { RetryHint, RetryPlan } from '../src/resilience/retry.js';

const settingsArb: fc.Arbitrary<RetryConfig> = fc.record({
  maxAttempts: fc.integer({ min: 1, max: 12 }),
  baseDelayMs: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 10_000, noNaN: true })),
  maxDelayMs: fc.oneof(fc.integer({ min: 0, max: 120_000 }), fc.double({ min: 0, max: 120_000, noNaN: true })),
});
const seedArb = fc.integer({ min: -(2 ** 31), max: 2 ** 32 });
const attemptArb = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5_000 }));

/** A hint relative to `now`: retry-after and/or a reset, either possibly past or absent. */
function hintArb(now: number): fc.Arbitrary<RetryHint> {
  return fc.record(
    {
      retryAfterMs: fc.oneof(fc.integer({ min: 0, max: 600_000 }), fc.double({ min: 0, max: 600_000, noNaN: true })),
      resetAtMs: fc.oneof(fc.integer({ min: -60_000, max: 600_000 }), fc.double({ min: -60_000, max: 600_000, noNaN: true })).map((d) => now + d),
      now: fc.constant(now),
    },
    { requiredKeys: ['now'] },
  );
}

describe('Retry schedule: every delay within its bounds, the total within the deadline', () => {
  it('(1) the jittered backoff lies in [0, min(maxDelayMs, baseDelayMs × 2^(n−1))], in whole ms', () => {
    fc.assert(
      fc.property(settingsArb, seedArb, attemptArb, fc.integer({ min: 1, max: 5 }), (settings, seed, attempt, draws) => {
        const random = seededRandom(seed);
        const cap = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (attempt - 1));
        for (let i = 0; i < draws; i++) {
          const delay = backoffDelay(attempt, settings, random);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(settings.baseDelayMs === 0 ? 0 : cap);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('(2) a hinted delay is at least the time until the hint, at most that plus the backoff cap', () => {
    fc.assert(
      fc.property(
        settingsArb,
        seedArb,
        attemptArb,
        fc.integer({ min: 0, max: 2 ** 40 }).chain((now) => hintArb(now)),
        (settings, seed, attempt, hint) => {
          const delay = retryDelay(attempt, settings, seededRandom(seed), hint);
          const until = Math.max(0, hint.retryAfterMs ?? 0, hint.resetAtMs === undefined ? 0 : hint.resetAtMs - hint.now);
          expect(delay).toBeGreaterThanOrEqual(until);
          expect(hintRemainingMs(hint)).toBe(until);
          expect(delay).toBeLessThanOrEqual(Math.ceil(until) + backoffCap(attempt, settings));
          if (hint.retryAfterMs !== undefined) expect(hint.now + delay).toBeGreaterThanOrEqual(hint.now + hint.retryAfterMs);
          if (hint.resetAtMs !== undefined) expect(hint.now + delay).toBeGreaterThanOrEqual(hint.resetAtMs);
        },
      ),
      { numRuns: 500 },
    );
  });

  /** One failing request: each attempt takes its drawn duration, then fails; planRetry decides. */
  interface Run {
    settings: RetryConfig;
    seed: number;
    start: number;
    budget: number | undefined;
    /** Per attempt: how long it ran before failing, its hint (relative), and whether we fail over. */
    attempts: Array<{ durationMs: number; retryAfterMs: number | undefined; resetInMs: number | undefined; failOver: boolean }>;
  }

  const runArb: fc.Arbitrary<Run> = fc.record({
    settings: settingsArb,
    seed: seedArb,
    start: fc.integer({ min: 0, max: 2 ** 40 }),
    budget: fc.option(fc.integer({ min: 0, max: 300_000 }), { nil: undefined }),
    attempts: fc.array(
      fc.record({
        durationMs: fc.integer({ min: 0, max: 30_000 }),
        retryAfterMs: fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined, freq: 3 }),
        resetInMs: fc.option(fc.integer({ min: -10_000, max: 120_000 }), { nil: undefined, freq: 3 }),
        failOver: fc.boolean(),
      }),
      { minLength: 12, maxLength: 12 },
    ),
  });

  function simulate(run: Run): { plans: RetryPlan[]; delays: number[]; starts: number[]; deadline: number; end: number } {
    const random = seededRandom(run.seed);
    const deadline = run.budget === undefined ? Infinity : run.start + run.budget;
    const plans: RetryPlan[] = [];
    const delays: number[] = [];
    const starts: number[] = [run.start];
    let now = run.start;
    for (let attempt = 1; ; attempt++) {
      const step = run.attempts[(attempt - 1) % run.attempts.length];
      if (step === undefined) throw new Error('unreachable');
      now += step.durationMs; // the attempt ran, then failed
      const hint: RetryHint = { now };
      if (step.retryAfterMs !== undefined) hint.retryAfterMs = step.retryAfterMs;
      if (step.resetInMs !== undefined) hint.resetAtMs = now + step.resetInMs;
      const plan = planRetry({ attempt, settings: run.settings, random, hint, deadline, now, mode: step.failOver ? 'failOver' : 'retrySame' });
      plans.push(plan);
      if ('giveUp' in plan) return { plans, delays, starts, deadline, end: now };
      if (step.failOver) expect(plan.delayMs).toBe(0);
      else expect(plan.delayMs).toBeGreaterThanOrEqual(hintRemainingMs(hint));
      delays.push(plan.delayMs);
      now += plan.delayMs;
      starts.push(now);
    }
  }

  it('(3) at most maxAttempts − 1 retries, each starting before the deadline; the delays never pass it', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        const { plans, delays, starts, deadline } = simulate(run);
        expect(delays.length).toBeLessThanOrEqual(run.settings.maxAttempts - 1);
        for (const start of starts.slice(1)) expect(start).toBeLessThan(deadline);
        const total = delays.reduce((sum, delay) => sum + delay, 0);
        expect(run.start + total).toBeLessThanOrEqual(deadline);
        for (const delay of delays) expect(Number.isFinite(delay) && delay >= 0).toBe(true);
        const last = plans.at(-1);
        expect(last !== undefined && 'giveUp' in last).toBe(true);
        if (last !== undefined && 'giveUp' in last) {
          // Out of attempts exactly when every allowed attempt was made; else the deadline stopped it.
          if (last.giveUp === 'attempts') expect(delays.length).toBe(run.settings.maxAttempts - 1);
          else expect(delays.length).toBeLessThan(run.settings.maxAttempts - 1);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('(4) the same seed gives the same schedule', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        expect(simulate(run)).toEqual(simulate(run));
      }),
      { numRuns: 200 },
    );
  });
});
