import { describe, expect, it } from 'vitest';
import type { OptimizerConfig } from '../../src/config/types.js';
import { OptimizerError } from '../../src/errors/registry.js';
import { Limiter, limiterOptionsFromConfig } from '../../src/limits/limiter.js';
import type { Clock } from '../../src/limits/clock.js';
import { flush, harness, outcome } from './harness.js';

const MINUTE = 60_000;

describe('Limiter: exact sliding windows', () => {
  it('admits N per 60 s window, and the (N+1)th exactly when the first leaves the window (t − 60000 is outside)', () => {
    const { clock, limiter } = harness({ global: { requestsPerMinute: 2 }, maxQueueWaitMs: 0 });
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(true);
    clock.advance(10);
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(true);
    clock.advanceTo(MINUTE - 1);
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(false);
    clock.advanceTo(MINUTE);
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(false);
    clock.advanceTo(MINUTE + 9);
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(false);
    clock.advanceTo(MINUTE + 10);
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(true);
  });

  it('counts tokens per minute exactly, and lets a request use the whole limit', async () => {
    const h = harness({ global: { requestsPerMinute: 100, tokensPerMinute: 100 }, maxQueueWaitMs: 2 * MINUTE });
    expect(h.limiter.tryAdmit({ agentId: 'a', tokens: 60 })).toBe(true);
    h.clock.advanceTo(10);
    expect(h.limiter.tryAdmit({ agentId: 'a', tokens: 41 })).toBe(false);
    expect(h.limiter.tryAdmit({ agentId: 'a', tokens: 40 })).toBe(true);
    const late = outcome(h.admit({ id: 'late', agentId: 'b', tokens: 30 }));
    h.clock.advanceTo(MINUTE - 1);
    await flush();
    expect(late.state).toBe('pending');
    h.clock.advanceTo(MINUTE); // the 60 tokens of t=0 leave the window
    await flush();
    expect(late.state).toBe('admitted');
    expect(h.admittedAt('late')).toBe(MINUTE);
    h.clock.advanceTo(3 * MINUTE);
    expect(h.limiter.tryAdmit({ agentId: 'c', tokens: 100 })).toBe(true);
  });

  it('refuses at once, with INVALID_REQUEST, a request whose estimate exceeds a whole tokens-per-minute limit', async () => {
    const h = harness({ global: { requestsPerMinute: 10, tokensPerMinute: 1000 }, maxQueueWaitMs: MINUTE });
    const big = outcome(h.admit({ id: 'big', agentId: 'a', tokens: 1001 }));
    await flush();
    expect(big.state).toBe('rejected');
    const error = big.error as OptimizerError;
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('1001 tokens');
    expect(error.message).toContain('global (1000 tokens/min)');
    expect(error.retryAfterMs).toBeUndefined();
    expect(h.limiter.stats()).toMatchObject({ rejected: 1, queued: 0, queueDepth: 0 });
  });
});

describe('Limiter: keys', () => {
  it('applies the per-agent limit and the global limit together', () => {
    const { limiter } = harness({ global: { requestsPerMinute: 3 }, perAgent: { requestsPerMinute: 2 }, maxQueueWaitMs: 0 });
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'a' })).toBe(false); // agent:a full
    expect(limiter.tryAdmit({ agentId: 'b' })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'b' })).toBe(false); // global full
    expect(limiter.tryAdmit({ agentId: 'c' })).toBe(false);
  });

  it("uses an agent's own limits, falling back to perAgent field by field", () => {
    const { limiter } = harness({
      perAgent: { requestsPerMinute: 1, tokensPerMinute: 100 },
      agents: new Map([['vip', { requestsPerMinute: 3 }]]),
      maxQueueWaitMs: 0,
    });
    expect(limiter.tryAdmit({ agentId: 'vip', tokens: 50 })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'vip', tokens: 50 })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'vip', tokens: 1 })).toBe(false); // perAgent's 100 tokens/min
    expect(limiter.tryAdmit({ agentId: 'other' })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'other' })).toBe(false); // perAgent's 1 request/min
  });

  it('limits a backend with limits, and only requests for it', () => {
    const { limiter } = harness({ backends: new Map([['x', { requestsPerMinute: 1 }], ['y', {}]]), maxQueueWaitMs: 0 });
    expect(limiter.tryAdmit({ agentId: 'a', backendId: 'x' })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'b', backendId: 'x' })).toBe(false);
    expect(limiter.tryAdmit({ agentId: 'b', backendId: 'y' })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'b', backendId: 'unknown' })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'b' })).toBe(true);
    expect(limiter.keyUsage('backend:x')).toEqual({ key: 'backend:x', requests: 1, requestsPerMinute: 1, tokens: 0, tokensPerMinute: undefined });
    expect(limiter.keyUsage('backend:y')).toBeUndefined();
  });

  it('records an admission in every key at once, and in none when one key lacks room', () => {
    const { clock, limiter } = harness({
      global: { requestsPerMinute: 10 },
      perAgent: { requestsPerMinute: 10 },
      backends: new Map([['x', { requestsPerMinute: 1 }]]),
      maxQueueWaitMs: 0,
    });
    expect(limiter.tryAdmit({ agentId: 'a', backendId: 'x' })).toBe(true);
    expect(limiter.tryAdmit({ agentId: 'a', backendId: 'x' })).toBe(false);
    expect(limiter.keyUsage('global')?.requests).toBe(1);
    expect(limiter.keyUsage('agent:a')?.requests).toBe(1);
    clock.advance(1);
    expect(limiter.keyUsage('backend:x')?.requests).toBe(1);
  });

  it('builds its keys from the config (fromConfig / limiterOptionsFromConfig)', () => {
    const config = {
      limits: { global: { requestsPerMinute: 300 }, perAgent: { requestsPerMinute: 30, tokensPerMinute: 9000 }, maxQueueWaitMs: 30_000 },
      agents: [
        { id: 'coder', keyEnv: 'K1', limits: { requestsPerMinute: 60 } },
        { id: 'plain', keyEnv: 'K2' },
      ],
      backends: [
        { id: 'groq', limits: { requestsPerMinute: 30 } },
        { id: 'local', limits: {} },
        { id: 'other' },
      ],
    } as unknown as Pick<OptimizerConfig, 'limits' | 'agents' | 'backends'>;
    const options = limiterOptionsFromConfig(config);
    expect([...(options.agents ?? new Map()).keys()]).toEqual(['coder']);
    expect([...(options.backends ?? new Map()).keys()]).toEqual(['groq']);
    const limiter = Limiter.fromConfig(config);
    expect(limiter.keyUsage('agent:coder')).toMatchObject({ requestsPerMinute: 60, tokensPerMinute: 9000 });
    expect(limiter.keyUsage('agent:plain')).toMatchObject({ requestsPerMinute: 30, tokensPerMinute: 9000 });
    expect(limiter.keyUsage('backend:groq')).toMatchObject({ requestsPerMinute: 30 });
    expect(limiter.keyUsage('backend:local')).toBeUndefined();
    expect(limiter.keyUsage('global')).toMatchObject({ requestsPerMinute: 300, requests: 0 });
  });

  it('checks its options and names every bad one', () => {
    const clock = harness({ maxQueueWaitMs: 0 }).clock;
    expect(
      () =>
        new Limiter({
          clock,
          global: { requestsPerMinute: 0 },
          perAgent: { tokensPerMinute: 1.5 },
          backends: new Map([['x', { requestsPerMinute: -1 }]]),
          maxQueueWaitMs: Number.NaN,
        }),
    ).toThrow(
      /global\.requestsPerMinute must be an integer ≥ 1 \(got 0\); perAgent\.tokensPerMinute .*got 1\.5\); backends\[x\]\.limits\.requestsPerMinute .*; maxQueueWaitMs must be/,
    );
  });
});

describe('Limiter: failover admissions (tryAdmitBackend)', () => {
  const limits = () =>
    harness({
      global: { requestsPerMinute: 10 },
      perAgent: { requestsPerMinute: 10 },
      backends: new Map([
        ['primary', { requestsPerMinute: 10 }],
        ['fallback', { requestsPerMinute: 2, tokensPerMinute: 100 }],
      ]),
      maxQueueWaitMs: 2 * MINUTE,
    });

  it("takes a slot on the failover backend's key alone: global and the agent's key are not counted twice", () => {
    const h = limits();
    const request = { agentId: 'a', backendId: 'primary', tokens: 10 };
    expect(h.limiter.tryAdmit(request)).toBe(true);
    expect(h.limiter.tryAdmitBackend('fallback', request)).toBe(true);
    expect(h.limiter.keyUsage('global')).toMatchObject({ requests: 1, tokens: 0 });
    expect(h.limiter.keyUsage('agent:a')?.requests).toBe(1);
    expect(h.limiter.keyUsage('backend:primary')?.requests).toBe(1);
    expect(h.limiter.keyUsage('backend:fallback')).toMatchObject({ requests: 1, tokens: 10 });
    expect(h.limiter.stats()).toMatchObject({ admitted: 1, failoverAdmitted: 1, failoverRefused: 0 });
  });

  it('never queues: refuses at once when the backend has no room, changes nothing, and admits again when its window frees', () => {
    const h = limits();
    const request = { agentId: 'a', tokens: 10 };
    expect(h.limiter.tryAdmitBackend('fallback', request)).toBe(true);
    h.clock.advanceTo(1000);
    expect(h.limiter.tryAdmitBackend('fallback', request)).toBe(true);
    expect(h.limiter.tryAdmitBackend('fallback', request)).toBe(false); // 2 requests/min
    expect(h.limiter.tryAdmitBackend('fallback', { agentId: 'b', tokens: 1 })).toBe(false);
    expect(h.limiter.keyUsage('backend:fallback')).toMatchObject({ requests: 2, tokens: 20 });
    expect(h.limiter.stats()).toMatchObject({ queueDepth: 0, queued: 0, failoverAdmitted: 2, failoverRefused: 2, nextWakeAt: null });
    expect(h.clock.pendingTimers).toBe(0);
    h.clock.advanceTo(MINUTE); // the slot of t=0 leaves the window
    expect(h.limiter.tryAdmitBackend('fallback', request)).toBe(true);
    expect(h.limiter.tryAdmitBackend('fallback', request)).toBe(false); // t=1000 is still inside
  });

  it("counts the request's tokens against the backend's tokens-per-minute", () => {
    const h = limits();
    expect(h.limiter.tryAdmitBackend('fallback', { agentId: 'a', tokens: 90 })).toBe(true);
    expect(h.limiter.tryAdmitBackend('fallback', { agentId: 'a', tokens: 11 })).toBe(false);
    expect(h.limiter.tryAdmitBackend('fallback', { agentId: 'a', tokens: 10 })).toBe(true);
  });

  it('answers true for a backend without limits, counting nothing', () => {
    const h = limits();
    for (let i = 0; i < 20; i++) expect(h.limiter.tryAdmitBackend('unlimited', { agentId: 'a' })).toBe(true);
    expect(h.limiter.limitsBackend('unlimited')).toBe(false);
    expect(h.limiter.limitsBackend('fallback')).toBe(true);
    expect(h.limiter.limitsAnyBackend).toBe(true);
    expect(harness({ maxQueueWaitMs: 0 }).limiter.limitsAnyBackend).toBe(false);
    expect(h.limiter.stats()).toMatchObject({ failoverAdmitted: 0, failoverRefused: 0 });
  });

  it('does not jump the fair queue: a slot held for a queued request of the same or a higher priority is not taken', async () => {
    const h = limits();
    h.limiter.tryAdmitBackend('fallback', { agentId: 'a', tokens: 50 });
    const big = outcome(h.admit({ id: 'big', agentId: 'b', backendId: 'fallback', tokens: 60, priority: 1 }));
    await flush();
    expect(big.state).toBe('pending'); // 50 + 60 > 100: it waits, and the key is held for it
    expect(h.limiter.tryAdmitBackend('fallback', { agentId: 'c', tokens: 10, priority: 1 })).toBe(false);
    expect(h.limiter.tryAdmitBackend('fallback', { agentId: 'c', tokens: 10 })).toBe(false);
    // A higher priority may pass, as with tryAdmit.
    expect(h.limiter.tryAdmitBackend('fallback', { agentId: 'c', tokens: 10, priority: 2 })).toBe(true);
  });

  it('serves queued requests whose time has come before a failover takes the slot', async () => {
    // A clock whose timers never fire: the wake-up is due but has not run (a busy event loop).
    let time = 0;
    const clock: Clock = { now: () => time, setTimeout: () => 1, clearTimeout: () => undefined };
    const limiter = new Limiter({ clock, backends: new Map([['fallback', { requestsPerMinute: 2 }]]), maxQueueWaitMs: 2 * MINUTE });
    limiter.tryAdmitBackend('fallback', { agentId: 'a' });
    time = 1000;
    limiter.tryAdmitBackend('fallback', { agentId: 'a' });
    const waiting = outcome(limiter.admit({ agentId: 'b', backendId: 'fallback' }));
    time = MINUTE; // one slot (t=0's) frees
    // The queued request was there first: it takes the slot that freed; the failover finds none left.
    expect(limiter.tryAdmitBackend('fallback', { agentId: 'c' })).toBe(false);
    await flush();
    expect(waiting.state).toBe('admitted');
  });

  it('refuses a malformed request (counted as refused) rather than throwing on the failover path', () => {
    const h = limits();
    expect(h.limiter.tryAdmitBackend('fallback', { agentId: 'a', tokens: -1 })).toBe(false);
    expect(h.limiter.tryAdmitBackend('fallback', { agentId: 'a', priority: Number.NaN })).toBe(false);
    expect(h.limiter.keyUsage('backend:fallback')?.requests).toBe(0);
  });
});

describe('Limiter: queueing and deadlines', () => {
  it('queues a request and admits it when the window frees a slot, with one timer', async () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 2 * MINUTE });
    expect(h.limiter.tryAdmit({ agentId: 'a' })).toBe(true);
    h.clock.advanceTo(10);
    const second = outcome(h.admit({ id: 'second', agentId: 'a' }));
    expect(h.limiter.queueDepth()).toBe(1);
    expect(h.limiter.queueDepth('a')).toBe(1);
    expect(h.clock.pendingTimers).toBe(1);
    expect(h.clock.nextTimerAt()).toBe(MINUTE);
    h.clock.advanceTo(MINUTE);
    await flush();
    expect(second.state).toBe('admitted');
    expect(h.admittedAt('second')).toBe(MINUTE);
    expect(h.limiter.queueDepth()).toBe(0);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('refuses at once, with the window’s retryAfterMs, a request that certainly cannot fit by its deadline', async () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 30_000 });
    h.limiter.tryAdmit({ agentId: 'a' });
    h.clock.advanceTo(1000);
    const doomed = outcome(h.admit({ id: 'doomed', agentId: 'b' }));
    await flush();
    expect(doomed.state).toBe('rejected');
    const error = doomed.error as OptimizerError;
    expect(error).toBeInstanceOf(OptimizerError);
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(MINUTE - 1000);
    expect(error.message).toContain('rate limit global (1 requests/min) is full');
    expect(error.message).toContain('before its deadline');
    expect(h.limiter.stats()).toMatchObject({ queued: 0, rejected: 1 });
  });

  it('refuses a request at its deadline, not before, when it might have fit', async () => {
    // `big` holds the global token window; `small` would fit but waits behind it, until its own deadline.
    const h = harness({ global: { requestsPerMinute: 100, tokensPerMinute: 100 }, maxQueueWaitMs: 2 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a', tokens: 50 });
    h.clock.advanceTo(1);
    const big = outcome(h.admit({ id: 'big', agentId: 'b', tokens: 80 }));
    h.clock.advanceTo(2);
    const small = outcome(h.admit({ id: 'small', agentId: 'c', tokens: 10, deadline: 30_000 }));
    h.clock.advanceTo(29_999);
    await flush();
    expect(small.state).toBe('pending');
    h.clock.advanceTo(30_000);
    await flush();
    expect(small.state).toBe('rejected');
    expect(h.rejection('small')?.at).toBe(30_000);
    const error = small.error as OptimizerError;
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(30_000); // when the window frees room for `big`
    expect(error.message).toContain('Waited 29998 ms, until its deadline');
    expect(error.message).toContain('requests queued ahead of it hold the rate limit global');
    h.clock.advanceTo(MINUTE);
    await flush();
    expect(big.state).toBe('admitted');
  });

  it('never queues with maxQueueWaitMs 0', async () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 0 });
    await h.admit({ id: 'first', agentId: 'a' });
    h.clock.advanceTo(20_000);
    const second = outcome(h.admit({ id: 'second', agentId: 'b' }));
    await flush();
    expect(second.state).toBe('rejected');
    expect((second.error as OptimizerError).retryAfterMs).toBe(40_000);
    expect(h.limiter.stats()).toMatchObject({ admitted: 1, queued: 0, rejected: 1, queueDepth: 0 });
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('takes the earlier of an explicit deadline and arrival + maxQueueWaitMs', async () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 2 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a' });
    const early = outcome(h.admit({ id: 'early', agentId: 'b', deadline: 59_999 }));
    const late = outcome(h.admit({ id: 'late', agentId: 'c', deadline: 10 * MINUTE }));
    await flush();
    expect(early.state).toBe('rejected'); // certain: the window frees at 60 000
    h.clock.advanceTo(MINUTE);
    await flush();
    expect(late.state).toBe('admitted');
    const third = outcome(h.admit({ id: 'third', agentId: 'd', deadline: 10 * MINUTE }));
    h.clock.advanceTo(3 * MINUTE);
    await flush();
    // Its deadline was min(10 min, 60 000 + 2 min) = 180 000; the window freed at 120 000.
    expect(h.admittedAt('third')).toBe(2 * MINUTE);
    expect(third.state).toBe('admitted');
  });

  it('never admits after the deadline, even when its wake-up comes late', async () => {
    let now = 0;
    const lateClock: Clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} }; // timers never fire
    const limiter = new Limiter({ clock: lateClock, global: { requestsPerMinute: 1 }, maxQueueWaitMs: 90_000 });
    limiter.tryAdmit({ agentId: 'a' });
    now = 1;
    const waiting = outcome(limiter.admit({ agentId: 'b' }));
    now = 100_000; // past its deadline (90 001); the window freed at 60 000
    expect(limiter.tryAdmit({ agentId: 'c' })).toBe(true);
    await flush();
    expect(waiting.state).toBe('rejected');
    expect((waiting.error as OptimizerError).code).toBe('RATE_LIMITED');
  });

  it('refuses a request from an agent with a backlog once it is certain it cannot fit', async () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 90_000 });
    h.limiter.tryAdmit({ agentId: 'a' });
    h.clock.advanceTo(1);
    const first = outcome(h.admit({ id: 'first', agentId: 'b' }));
    const second = outcome(h.admit({ id: 'second', agentId: 'b' }));
    await flush();
    expect(first.state).toBe('pending');
    expect(second.state).toBe('pending'); // it might fit at 60 000, were `first` to leave
    h.clock.advanceTo(MINUTE);
    await flush();
    expect(first.state).toBe('admitted');
    // Now at the front: the next slot is at 120 000 > its deadline 90 001, so it goes at once.
    expect(second.state).toBe('rejected');
    expect(h.rejection('second')?.at).toBe(MINUTE);
    expect((second.error as OptimizerError).retryAfterMs).toBe(MINUTE);
  });
});

describe('Limiter: abort', () => {
  it('takes an aborted waiter out of the queue, rejects it, and frees nothing it did not take', async () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 2 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a' });
    const controller = new AbortController();
    const aborted = outcome(h.admit({ id: 'aborted', agentId: 'b', signal: controller.signal }));
    const next = outcome(h.admit({ id: 'next', agentId: 'c' }));
    expect(h.limiter.queueDepth()).toBe(2);
    h.clock.advanceTo(10);
    controller.abort(new Error('client went away'));
    await flush();
    expect(aborted.state).toBe('rejected');
    const error = aborted.error as OptimizerError;
    expect(error.code).toBe('CANCELLED');
    expect((error.cause as Error).message).toBe('client went away');
    expect(h.limiter.queueDepth()).toBe(1);
    expect(h.limiter.keyUsage('global')?.requests).toBe(1); // the abort gave back nothing
    expect(next.state).toBe('pending');
    h.clock.advanceTo(MINUTE);
    await flush();
    expect(next.state).toBe('admitted');
    expect(h.limiter.stats()).toMatchObject({ admitted: 2, cancelled: 1, rejected: 0, queueDepth: 0 });
  });

  it('rejects with the signal’s reason when that is an OptimizerError, and at once when already aborted', async () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 2 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a' });
    const controller = new AbortController();
    const waiting = outcome(h.admit({ id: 'w', agentId: 'b', signal: controller.signal }));
    const reason = new OptimizerError('SHUTTING_DOWN', 'draining');
    controller.abort(reason);
    const already = outcome(h.admit({ id: 'x', agentId: 'c', signal: AbortSignal.abort() }));
    await flush();
    expect(waiting.error).toBe(reason);
    expect((already.error as OptimizerError).code).toBe('CANCELLED');
    expect(h.limiter.stats()).toMatchObject({ cancelled: 2, queued: 1, queueDepth: 0 });
  });

  it('lets those behind an aborted front request go at once when it held the key for itself', async () => {
    const h = harness({ global: { requestsPerMinute: 100, tokensPerMinute: 100 }, maxQueueWaitMs: 2 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a', tokens: 50 });
    const controller = new AbortController();
    outcome(h.admit({ id: 'big', agentId: 'b', tokens: 80, signal: controller.signal }));
    const small = outcome(h.admit({ id: 'small', agentId: 'c', tokens: 10 }));
    h.clock.advanceTo(5);
    await flush();
    expect(small.state).toBe('pending');
    controller.abort();
    await flush();
    expect(small.state).toBe('admitted');
    expect(h.admittedAt('small')).toBe(5);
  });
});

describe('Limiter: fairness', () => {
  it('orders an agent’s queue by priority, then arrival', () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 10 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a' });
    h.admit({ id: 'low-1', agentId: 'a' });
    h.admit({ id: 'low-2', agentId: 'a' });
    h.admit({ id: 'high', agentId: 'a', priority: 5 });
    h.admit({ id: 'mid', agentId: 'a', priority: 1 });
    h.clock.advanceTo(5 * MINUTE);
    expect(h.admitted()).toEqual(['high', 'mid', 'low-1', 'low-2']);
    expect(h.admittedAt('high')).toBe(MINUTE);
    expect(h.admittedAt('low-2')).toBe(4 * MINUTE);
  });

  it('serves backlogged agents round-robin: one agent’s burst does not starve another', () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 10 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'x' });
    for (let i = 1; i <= 4; i++) h.admit({ id: `a${i}`, agentId: 'a' });
    h.admit({ id: 'b1', agentId: 'b' });
    h.admit({ id: 'b2', agentId: 'b' });
    h.admit({ id: 'c1', agentId: 'c' });
    h.clock.advanceTo(10 * MINUTE);
    expect(h.admitted()).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('serves a higher priority class first across agents (strict priority)', () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 10 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'x' });
    h.admit({ id: 'a-low', agentId: 'a' });
    h.admit({ id: 'b-high', agentId: 'b', priority: 2 });
    h.admit({ id: 'c-high', agentId: 'c', priority: 2 });
    h.clock.advanceTo(5 * MINUTE);
    expect(h.admitted()).toEqual(['b-high', 'c-high', 'a-low']);
  });

  it('admits a higher priority at once past a lower-priority request the key is held for', async () => {
    const h = harness({ global: { requestsPerMinute: 100, tokensPerMinute: 100 }, maxQueueWaitMs: 2 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a', tokens: 50 });
    h.admit({ id: 'big', agentId: 'b', tokens: 80 });
    expect(h.limiter.tryAdmit({ agentId: 'c', tokens: 10 })).toBe(false); // held for `big`
    expect(h.limiter.tryAdmit({ agentId: 'c', tokens: 10, priority: 1 })).toBe(true);
    const urgent = outcome(h.admit({ id: 'urgent', agentId: 'd', tokens: 10, priority: 1 }));
    await flush();
    expect(urgent.state).toBe('admitted');
  });

  it('does not let an agent at its own limit block the others', async () => {
    const h = harness({ global: { requestsPerMinute: 10 }, perAgent: { requestsPerMinute: 1 }, maxQueueWaitMs: 2 * MINUTE });
    expect(h.limiter.tryAdmit({ agentId: 'a' })).toBe(true);
    const a2 = outcome(h.admit({ id: 'a2', agentId: 'a' }));
    expect(h.limiter.stats().agentsAtOwnLimit).toBe(1);
    expect(h.limiter.tryAdmit({ agentId: 'b' })).toBe(true);
    h.clock.advanceTo(5);
    const c1 = outcome(h.admit({ id: 'c1', agentId: 'c' }));
    await flush();
    expect(c1.state).toBe('admitted');
    expect(a2.state).toBe('pending');
    h.clock.advanceTo(MINUTE);
    await flush();
    expect(a2.state).toBe('admitted');
    expect(h.admittedAt('a2')).toBe(MINUTE);
  });

  it('does not let a large token estimate starve behind small ones (the key is held for it)', () => {
    const h = harness({ global: { requestsPerMinute: 1000, tokensPerMinute: 100 }, maxQueueWaitMs: 5 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a', tokens: 30 });
    h.admit({ id: 'big', agentId: 'b', tokens: 90 });
    for (let t = 1; t < 80; t++) {
      h.clock.advanceTo(t * 1000);
      h.admit({ id: `small${t}`, agentId: 'c', tokens: 5 });
    }
    h.clock.advanceTo(5 * MINUTE);
    expect(h.admittedAt('big')).toBe(MINUTE);
    expect(h.admitted()[0]).toBe('big');
  });
});

describe('Limiter: held keys and parked agents', () => {
  it('holds a backend key only against requests for that backend', () => {
    const h = harness({ backends: new Map([['x', { requestsPerMinute: 100, tokensPerMinute: 100 }]]), maxQueueWaitMs: 2 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a', backendId: 'x', tokens: 50 });
    h.admit({ id: 'big', agentId: 'b', backendId: 'x', tokens: 80 });
    expect(h.limiter.tryAdmit({ agentId: 'c', backendId: 'x', tokens: 10 })).toBe(false);
    expect(h.limiter.tryAdmit({ agentId: 'c', backendId: 'y', tokens: 10 })).toBe(true);
    expect(h.limiter.tryAdmit({ agentId: 'c', tokens: 10 })).toBe(true);
  });

  it('re-serves a parked agent at once when a request that fits its own window overtakes its front', async () => {
    const h = harness({ perAgent: { requestsPerMinute: 10, tokensPerMinute: 100 }, maxQueueWaitMs: 2 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a', tokens: 80 });
    const big = outcome(h.admit({ id: 'big', agentId: 'a', tokens: 50 }));
    expect(h.limiter.stats().agentsAtOwnLimit).toBe(1);
    h.clock.advanceTo(10);
    const urgent = outcome(h.admit({ id: 'urgent', agentId: 'a', tokens: 10, priority: 1 }));
    await flush();
    expect(urgent.state).toBe('admitted');
    expect(h.admittedAt('urgent')).toBe(10);
    expect(big.state).toBe('pending');
    expect(h.limiter.stats().agentsAtOwnLimit).toBe(1);
    h.clock.advanceTo(MINUTE);
    await flush();
    expect(big.state).toBe('admitted');
  });
});

describe('Limiter: counters, timer and close', () => {
  it('counts admitted, queued, rejected, cancelled and the queue depth by agent', async () => {
    const h = harness({ global: { requestsPerMinute: 2 }, maxQueueWaitMs: 90_000 });
    h.limiter.tryAdmit({ agentId: 'a' });
    await h.admit({ id: 'fast', agentId: 'a' });
    h.admit({ id: 'q1', agentId: 'a' });
    h.admit({ id: 'q2', agentId: 'b' });
    h.admit({ id: 'q3', agentId: 'b' });
    expect(h.limiter.stats()).toEqual({
      admitted: 2,
      queued: 3,
      rejected: 0,
      cancelled: 0,
      queueDepth: 3,
      queueDepthByAgent: { a: 1, b: 2 },
      agentsAtOwnLimit: 0,
      failoverAdmitted: 0,
      failoverRefused: 0,
      nextWakeAt: MINUTE,
    });
    h.clock.advanceTo(MINUTE);
    // q1 and q2 take the two slots; q3's deadline (90 000) is before the next one (120 000): refused at once.
    expect(h.limiter.stats()).toMatchObject({ admitted: 4, rejected: 1, queueDepth: 0, queueDepthByAgent: {}, nextWakeAt: null });
    await flush();
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('keeps at most one timer, at the earliest time anything can change', () => {
    const h = harness({ global: { requestsPerMinute: 3 }, perAgent: { requestsPerMinute: 1 }, maxQueueWaitMs: 5 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a' });
    h.clock.advanceTo(1000);
    h.limiter.tryAdmit({ agentId: 'b' });
    h.clock.advanceTo(2000);
    h.admit({ id: 'b2', agentId: 'b' }); // parked until 61 000
    h.admit({ id: 'a2', agentId: 'a' }); // parked until 60 000
    expect(h.clock.pendingTimers).toBe(1);
    expect(h.clock.nextTimerAt()).toBe(MINUTE);
    h.clock.advanceTo(MINUTE);
    expect(h.admitted()).toEqual(['a2']);
    expect(h.clock.pendingTimers).toBe(1);
    expect(h.clock.nextTimerAt()).toBe(61_000);
    h.clock.advanceTo(61_000);
    expect(h.admitted()).toEqual(['a2', 'b2']);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('close() refuses every waiter with SHUTTING_DOWN, stops its timer and refuses what comes later', async () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 2 * MINUTE });
    h.limiter.tryAdmit({ agentId: 'a' });
    const waiting = outcome(h.admit({ id: 'w', agentId: 'b' }));
    h.limiter.close();
    h.limiter.close();
    const later = outcome(h.admit({ id: 'later', agentId: 'c' }));
    await flush();
    expect((waiting.error as OptimizerError).code).toBe('SHUTTING_DOWN');
    expect((later.error as OptimizerError).code).toBe('SHUTTING_DOWN');
    expect(h.limiter.tryAdmit({ agentId: 'd' })).toBe(false);
    expect(h.clock.pendingTimers).toBe(0);
    expect(h.limiter.stats()).toMatchObject({ queueDepth: 0, rejected: 2 });
  });

  it('rejects a malformed request with a RangeError', async () => {
    const h = harness({ global: { requestsPerMinute: 1 }, maxQueueWaitMs: 0 });
    await expect(h.limiter.admit({ agentId: 'a', tokens: -1 })).rejects.toThrow(RangeError);
    await expect(h.limiter.admit({ agentId: 'a', priority: Number.NaN })).rejects.toThrow(/priority/);
    expect(h.limiter.stats().admitted).toBe(0);
  });

  it('returns one shared, already-resolved promise on the fast path', () => {
    const h = harness({ global: { requestsPerMinute: 10 }, maxQueueWaitMs: 0 });
    expect(h.limiter.admit({ agentId: 'a' })).toBe(h.limiter.admit({ agentId: 'b' }));
  });

  it('forgets idle agents once there are many (their windows are empty, so nothing changes)', () => {
    const h = harness({ perAgent: { requestsPerMinute: 1 }, maxQueueWaitMs: 0 });
    for (let i = 0; i < 1500; i++) expect(h.limiter.tryAdmit({ agentId: `agent-${i}` })).toBe(true);
    h.clock.advanceTo(MINUTE);
    for (let i = 1500; i < 2100; i++) expect(h.limiter.tryAdmit({ agentId: `agent-${i}` })).toBe(true);
    // Agents admitted within the last minute keep their window.
    expect(h.limiter.tryAdmit({ agentId: 'agent-2000' })).toBe(false);
    expect(h.limiter.tryAdmit({ agentId: 'agent-3' })).toBe(true);
  });
});

describe('Limiter: regressions from shrunk property counterexamples', () => {
  // props (3), first counterexample: no limits at all, an explicit deadline 1 ms in the past.
  it('refuses at once a request whose deadline passed before it arrived, even with room, and says so', async () => {
    const h = harness({ maxQueueWaitMs: 0 }, 1_000_000);
    expect(h.limiter.tryAdmit({ agentId: 'a', deadline: 999_999 })).toBe(false);
    const late = outcome(h.admit({ id: 'late', agentId: 'a', deadline: 999_999 }));
    await flush();
    expect(late.state).toBe('rejected');
    const error = late.error as OptimizerError;
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(1);
    expect(error.message).toContain('its deadline had passed before it reached the rate limiter');
    expect(h.rejection('late')?.at).toBe(1_000_000);
    expect(h.limiter.stats()).toMatchObject({ admitted: 0, rejected: 1, queued: 0 });
  });

  // props (5): two slots freeing 1 ms apart; the second queued request's deadline is exactly when its slot frees.
  it('admits queued requests as each slot frees, the last one exactly at its deadline', () => {
    const h = harness({ global: { requestsPerMinute: 2 }, maxQueueWaitMs: MINUTE }, 1_000_000);
    h.admit({ id: 'r0', agentId: 'a' });
    h.clock.advance(1);
    h.admit({ id: 'r1', agentId: 'a' });
    h.admit({ id: 'r2', agentId: 'a' });
    h.admit({ id: 'r3', agentId: 'a' }); // deadline 1 060 001
    h.clock.advance(59_999);
    expect(h.admitted()).toEqual(['r0', 'r1', 'r2']);
    expect(h.admittedAt('r2')).toBe(1_060_000);
    h.clock.advance(1);
    expect(h.admittedAt('r3')).toBe(1_060_001);
    expect(h.limiter.stats()).toMatchObject({ admitted: 4, rejected: 0, queueDepth: 0 });
  });
});
