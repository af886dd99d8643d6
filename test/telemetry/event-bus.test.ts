import { describe, expect, it } from 'vitest';
import { EventBus, topicMatches, type OptimizerEvent } from '../../src/telemetry/event-bus.js';

/** A bus on a clock that only moves when told. */
function busAt(start = 1_000) {
  let now = start;
  const bus = new EventBus(() => now);
  return { bus, tick: (ms: number) => void (now += ms) };
}

function collect(bus: EventBus, pattern: string): OptimizerEvent[] {
  const seen: OptimizerEvent[] = [];
  bus.subscribe(pattern, (e) => void seen.push(e));
  return seen;
}

describe('topicMatches', () => {
  it.each([
    ['*', 'breaker.opened', true],
    ['*', 'anything', true],
    ['breaker.opened', 'breaker.opened', true],
    ['breaker.opened', 'breaker.closed', false],
    ['breaker.*', 'breaker.opened', true],
    ['breaker.*', 'breaker.half_opened', true],
    ['breaker.*', 'breaker', false],
    ['breaker.*', 'breakers.opened', false],
    ['breaker.*', 'backend.failed', false],
    ['request.*', 'request.received', true],
    ['backend', 'backend.failed', false],
    ['backend.fail', 'backend.failed', false],
    ['*.opened', 'breaker.opened', false],
    ['Breaker.*', 'breaker.opened', false],
  ])('%s matches %s: %s', (pattern, type, expected) => {
    expect(topicMatches(pattern, type)).toBe(expected);
  });
});

describe('EventBus', () => {
  it('delivers an event to the listeners whose pattern matches, stamped with the injected clock', () => {
    const { bus, tick } = busAt(5_000);
    const all = collect(bus, '*');
    const breakers = collect(bus, 'breaker.*');
    const opened = collect(bus, 'breaker.opened');
    const backends = collect(bus, 'backend.*');
    bus.publish('breaker.opened', { backend: 'groq' });
    tick(250);
    bus.publish('breaker.closed', { backend: 'groq' });
    expect(all).toEqual([
      { type: 'breaker.opened', at: 5_000, backend: 'groq' },
      { type: 'breaker.closed', at: 5_250, backend: 'groq' },
    ]);
    expect(breakers.map((e) => e.type)).toEqual(['breaker.opened', 'breaker.closed']);
    expect(opened.map((e) => e.at)).toEqual([5_000]);
    expect(backends).toEqual([]);
  });

  it('publishes an event with no fields', () => {
    const { bus } = busAt(7);
    const seen = collect(bus, 'request.received');
    bus.publish('request.received');
    expect(seen).toEqual([{ type: 'request.received', at: 7 }]);
  });

  it('defaults to Date.now', () => {
    const bus = new EventBus();
    const seen = collect(bus, '*');
    const before = Date.now();
    bus.publish('x.y');
    expect(seen[0]?.at).toBeGreaterThanOrEqual(before);
    expect(seen[0]?.at).toBeLessThanOrEqual(Date.now());
  });

  it('gives every listener of one publish the same event object', () => {
    const { bus } = busAt();
    const a = collect(bus, '*');
    const b = collect(bus, 'cache.*');
    bus.publish('cache.hit', { key: 'k' });
    expect(a[0]).toBe(b[0]);
  });

  it('calls listeners in subscription order, once per subscription', () => {
    const { bus } = busAt();
    const calls: string[] = [];
    const twice = () => void calls.push('twice');
    bus.subscribe('*', () => void calls.push('first'));
    bus.subscribe('dlq.enqueued', twice);
    bus.subscribe('dlq.*', twice);
    bus.publish('dlq.enqueued');
    expect(calls).toEqual(['first', 'twice', 'twice']);
  });

  it('unsubscribe stops delivery, only for that subscription, and may be called twice', () => {
    const { bus } = busAt();
    const kept: string[] = [];
    const dropped: string[] = [];
    bus.subscribe('*', (e) => void kept.push(e.type));
    const off = bus.subscribe('*', (e) => void dropped.push(e.type));
    bus.publish('a.one');
    off();
    off();
    bus.publish('a.two');
    expect(kept).toEqual(['a.one', 'a.two']);
    expect(dropped).toEqual(['a.one']);
  });

  it('a subscription made after a publish is seen by the next publish of the same type', () => {
    const { bus } = busAt();
    bus.publish('cache.miss');
    const late = collect(bus, 'cache.miss');
    bus.publish('cache.miss');
    expect(late).toHaveLength(1);
  });

  it('wants: whether anyone listens to a type', () => {
    const { bus } = busAt();
    expect(bus.wants('breaker.opened')).toBe(false);
    const off = bus.subscribe('breaker.*', () => {});
    expect(bus.wants('breaker.opened')).toBe(true);
    expect(bus.wants('backend.failed')).toBe(false);
    off();
    expect(bus.wants('breaker.opened')).toBe(false);
    const offAll = bus.subscribe('*', () => {});
    expect(bus.wants('backend.failed')).toBe(true);
    offAll();
    expect(bus.wants('backend.failed')).toBe(false);
  });

  it('publishing with no listener does not read the clock', () => {
    let reads = 0;
    const bus = new EventBus(() => ++reads);
    bus.publish('request.received', { requestId: 'r' });
    expect(reads).toBe(0);
    collect(bus, 'request.received');
    bus.publish('request.received');
    expect(reads).toBe(1);
  });

  it('a throwing listener does not break publish nor the listeners after it', () => {
    const { bus } = busAt();
    bus.subscribe('*', () => {
      throw new Error('broken dashboard');
    });
    const after = collect(bus, '*');
    expect(() => bus.publish('backend.failed', { backend: 'b' })).not.toThrow();
    expect(() => bus.publish('backend.failed', { backend: 'c' })).not.toThrow();
    expect(after.map((e) => e.backend)).toEqual(['b', 'c']);
  });

  it('regression: a field named `type` cannot override the published type', () => {
    const { bus } = busAt(10);
    const seen = collect(bus, 'backend.*');
    // e.g. spreading an error's fields (`type: 'api_error'`) into a `backend.failed` event
    bus.publish('backend.failed', { backend: 'b', type: 'api_error' });
    expect(seen[0]?.type).toBe('backend.failed');
  });
});
