import { describe, expect, it } from 'vitest';
import { admissionBackend, backendLimitSkip } from '../../src/gateway/backend-limits.js';
import { ManualClock } from '../../src/limits/clock.js';
import { Limiter } from '../../src/limits/limiter.js';
import type { RoutePlan, RouteTarget } from '../../src/routing/table.js';

const target = (backendId: string): RouteTarget => ({ backendId, model: 'm', name: `${backendId}/m` }) as RouteTarget;
const plan = (...backends: string[]): RoutePlan => ({ target: target(backends[0]!), candidates: backends.map(target), reason: 'model' }) as unknown as RoutePlan;
const limiter = (backends: [string, { requestsPerMinute?: number; tokensPerMinute?: number }][]) =>
  new Limiter({ clock: new ManualClock(0), backends: new Map(backends), maxQueueWaitMs: 0 });

describe('the backend a request queues for at admission', () => {
  it('is the first target when it will be called', () => {
    expect(admissionBackend(limiter([['a', { requestsPerMinute: 1 }]]), plan('a', 'b'), () => false)).toBe('a');
  });

  it('is the first candidate delivery will not skip at once, when the first target would be skipped', () => {
    const down = new Set(['a', 'b']);
    expect(admissionBackend(limiter([['a', { requestsPerMinute: 1 }]]), plan('a', 'b', 'c'), (id) => down.has(id))).toBe('c');
    // Everything down: the first target (delivery will say why).
    expect(admissionBackend(limiter([['a', { requestsPerMinute: 1 }]]), plan('a', 'b'), () => true)).toBe('a');
  });

  it('asks nothing when no backend has limits (the request path pays nothing for the feature it does not use)', () => {
    let asked = 0;
    expect(admissionBackend(limiter([]), plan('a', 'b'), () => (asked++, true))).toBe('a');
    expect(asked).toBe(0);
  });
});

describe('the attempt a candidate skipped for its own limit leaves', () => {
  it('is RATE_LIMITED, naming the backend and how full its windows are', () => {
    const l = limiter([['b', { requestsPerMinute: 2, tokensPerMinute: 100 }]]);
    l.tryAdmitBackend('b', { agentId: 'x', tokens: 60 });
    l.tryAdmitBackend('b', { agentId: 'x', tokens: 30 });
    const error = backendLimitSkip(l, 'b');
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.message).toBe("Skipped: backend b's own rate limit has no room (2 of 2 requests/min, 90 of 100 tokens/min used); a failover does not wait for it.");
    expect(error.details).toEqual({ limit: 'backend:b' });
  });
});
