import { describe, expect, it } from 'vitest';
import { AlertEngine, type Alert } from '../../src/alerts/engine.js';
import { isServerError } from '../../src/alerts/rules.js';
import { SlidingCounts } from '../../src/alerts/window.js';
import type { AlertRule } from '../../src/config/types.js';
import { ManualClock } from '../../src/limits/clock.js';
import { EventBus, type OptimizerEvent } from '../../src/telemetry/event-bus.js';

/** An engine on a manual clock, with every alert event it publishes recorded. */
function harness(rules: AlertRule[], options: { queueDepth?: () => number } = {}) {
  const clock = new ManualClock(1_000_000);
  const bus = new EventBus(() => clock.now());
  const published: OptimizerEvent[] = [];
  bus.subscribe('alert.*', (event) => published.push(event));
  const changes: [string, Alert][] = [];
  const engine = new AlertEngine({
    bus,
    rules,
    clock,
    evaluateIntervalMs: 1000,
    gauges: { queueDepth: options.queueDepth ?? (() => 0) },
    onChange: (type, alert) => changes.push([type, alert]),
  });
  engine.start();
  const types = () => published.map((e) => `${e.type} ${(e.alert as Alert).key}`);
  return { clock, bus, engine, published, changes, types };
}

describe('SlidingCounts', () => {
  it('counts what happened within the window and forgets what fell out of it', () => {
    const window = new SlidingCounts(1000); // 20 buckets of 50 ms
    window.record(0, true);
    window.record(10, false);
    window.record(990, true);
    expect(window.counts(999)).toEqual({ total: 3, marked: 2 });
    // At 1000 the first bucket (0–49 ms) has left the window.
    expect(window.counts(1000)).toEqual({ total: 1, marked: 1 });
    expect(window.counts(5000)).toEqual({ total: 0, marked: 0 });
    // An observation older than the window is ignored.
    window.record(100, true);
    expect(window.counts(5000)).toEqual({ total: 0, marked: 0 });
  });
});

describe('isServerError', () => {
  it('counts outcomes whose code answers with a status of 500 or more', () => {
    expect(isServerError('ALL_BACKENDS_FAILED')).toBe(true);
    expect(isServerError('UPSTREAM_TIMEOUT')).toBe(true);
    expect(isServerError('INTERNAL')).toBe(true);
    for (const outcome of ['ok', 'cache.hit', 'dedupe.joined', 'RATE_LIMITED', 'CANCELLED', 'INVALID_REQUEST', 'NOPE', undefined]) expect(isServerError(outcome)).toBe(false);
  });
});

describe('AlertEngine', () => {
  it('error_rate: raises once when the share of server errors reaches the threshold over enough requests, resolves when it falls', () => {
    const { bus, clock, types, engine } = harness([{ id: 'errors', kind: 'error_rate', threshold: 0.5, windowMs: 60_000, minRequests: 4 }]);
    const complete = (outcome: string) => bus.publish('request.completed', { outcome });
    complete('ALL_BACKENDS_FAILED');
    complete('ALL_BACKENDS_FAILED');
    complete('ALL_BACKENDS_FAILED');
    expect(types()).toEqual([]); // 100 %, but only 3 requests
    complete('ok');
    expect(types()).toEqual(['alert.raised errors']);
    expect(engine.active()).toMatchObject([{ key: 'errors', rule: 'errors', kind: 'error_rate', value: 0.75, threshold: 0.5, raisedAt: 1_000_000 }]);
    // Still firing: no second raise.
    complete('UPSTREAM_TIMEOUT');
    complete('ok');
    expect(types()).toEqual(['alert.raised errors']);
    // Client errors and cache hits are not server errors: the rate falls below half.
    for (const outcome of ['ok', 'cache.hit', 'RATE_LIMITED']) complete(outcome);
    expect(types()).toEqual(['alert.raised errors', 'alert.resolved errors']);
    expect(engine.active()).toEqual([]);
    expect(engine.recent()).toMatchObject([{ key: 'errors', raisedAt: 1_000_000, resolvedAt: clock.now() }]);
  });

  it('error_rate: a window that empties with time resolves the alert on the timer', () => {
    const { bus, clock, types } = harness([{ id: 'errors', kind: 'error_rate', threshold: 0.5, windowMs: 10_000, minRequests: 1 }]);
    bus.publish('request.completed', { outcome: 'ALL_BACKENDS_FAILED' });
    expect(types()).toEqual(['alert.raised errors']);
    clock.advance(9_000);
    expect(types()).toEqual(['alert.raised errors']);
    clock.advance(2_000);
    expect(types()).toEqual(['alert.raised errors', 'alert.resolved errors']);
  });

  it('cache_hit_rate: raises below the threshold over enough lookups', () => {
    const { bus, types, engine } = harness([{ id: 'cache', kind: 'cache_hit_rate', below: 0.5, windowMs: 60_000, minRequests: 4 }]);
    for (let i = 0; i < 3; i++) bus.publish('cache.miss');
    expect(types()).toEqual([]);
    bus.publish('cache.hit');
    expect(types()).toEqual(['alert.raised cache']);
    expect(engine.active()[0]!.value).toBe(0.25);
    bus.publish('cache.hit');
    bus.publish('cache.hit');
    expect(types()).toEqual(['alert.raised cache', 'alert.resolved cache']);
  });

  it('limit_saturated: raises on rejections within the window, or on a deep queue at the next evaluation', () => {
    let depth = 0;
    const { bus, clock, types } = harness([{ id: 'limits', kind: 'limit_saturated', rejections: 3, windowMs: 10_000, queueDepth: 50 }], { queueDepth: () => depth });
    bus.publish('ratelimit.rejected');
    bus.publish('ratelimit.rejected');
    clock.advance(1000);
    expect(types()).toEqual([]);
    bus.publish('ratelimit.rejected');
    expect(types()).toEqual(['alert.raised limits']);
    clock.advance(11_000);
    expect(types()).toEqual(['alert.raised limits', 'alert.resolved limits']);
    depth = 50;
    clock.advance(1000);
    expect(types()).toEqual(['alert.raised limits', 'alert.resolved limits', 'alert.raised limits']);
    depth = 3;
    clock.advance(1000);
    expect(types()).toHaveLength(4);
  });

  it('breaker_open: raises per backend once its breaker has stayed open for forMs (half-open included), resolves when it closes', () => {
    const { bus, clock, types, engine } = harness([{ id: 'breaker', kind: 'breaker_open', forMs: 5_000 }]);
    bus.publish('breaker.opened', { backendId: 'a' });
    clock.advance(2_000);
    bus.publish('breaker.opened', { backendId: 'b' });
    bus.publish('breaker.half_opened', { backendId: 'a' });
    bus.publish('breaker.opened', { backendId: 'a' }); // the probe failed: open again, the clock keeps running
    clock.advance(3_000);
    expect(types()).toEqual(['alert.raised breaker:a']);
    expect(engine.active()).toMatchObject([{ key: 'breaker:a', labels: { backend: 'a' }, threshold: 5_000 }]);
    bus.publish('breaker.closed', { backendId: 'b' });
    clock.advance(10_000);
    // b closed before forMs: never raised.
    expect(types()).toEqual(['alert.raised breaker:a']);
    bus.publish('breaker.closed', { backendId: 'a' });
    expect(types()).toEqual(['alert.raised breaker:a', 'alert.resolved breaker:a']);
  });

  it('dlq_growth: raises on N dead letters within the window', () => {
    const { bus, clock, types } = harness([{ id: 'dlq', kind: 'dlq_growth', count: 2, windowMs: 60_000 }]);
    bus.publish('dlq.enqueued', { id: 'd1' });
    // The window is exact to within one of its 20 buckets (3 s here).
    clock.advance(56_000);
    bus.publish('dlq.enqueued', { id: 'd2' });
    expect(types()).toEqual(['alert.raised dlq']);
    clock.advance(5_000);
    expect(types()).toEqual(['alert.raised dlq', 'alert.resolved dlq']);
  });

  it('tells onChange of every raise and resolve, and keeps going when it throws', () => {
    const clock = new ManualClock(0);
    const bus = new EventBus(() => clock.now());
    const engine = new AlertEngine({
      bus,
      clock,
      evaluateIntervalMs: 1000,
      rules: [{ id: 'dlq', kind: 'dlq_growth', count: 1, windowMs: 1000 }],
      onChange: () => {
        throw new Error('webhook exploded');
      },
    });
    engine.start();
    bus.publish('dlq.enqueued');
    expect(engine.active()).toHaveLength(1);
  });

  it('listens only to the topics its rules need, and stops listening (and its timer) when stopped', () => {
    const { bus, engine, clock } = harness([{ id: 'breaker', kind: 'breaker_open', forMs: 1 }]);
    expect(bus.wants('request.completed')).toBe(false);
    expect(bus.wants('breaker.opened')).toBe(true);
    expect(clock.pendingTimers).toBe(1);
    engine.stop();
    expect(bus.wants('breaker.opened')).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });
});
