import { describe, expect, it } from 'vitest';
import { EventBus, type OptimizerEvent } from '../../src/telemetry/event-bus.js';
import { EventStream, parseTopics } from '../../src/telemetry/event-stream.js';

/** A sink whose "socket" accepts `room` batches, then says it is full until the test drains it. */
function sink(room = Number.POSITIVE_INFINITY) {
  const batches: OptimizerEvent[][] = [];
  let left = room;
  return {
    batches,
    get received() {
      return batches.flat();
    },
    setRoom(n: number) {
      left = n;
    },
    send(events: readonly OptimizerEvent[]) {
      batches.push([...events]);
      left--;
      return left > 0;
    },
  };
}

/** Flushes only when the test says so (the stream's `setImmediate`, made explicit). */
function manualScheduler() {
  const pending: (() => void)[] = [];
  return {
    schedule: (flush: () => void) => pending.push(flush),
    run: () => {
      for (const flush of pending.splice(0)) flush();
    },
    get pending() {
      return pending.length;
    },
  };
}

describe('EventStream', () => {
  it('delivers the events of its topics in batches, after the publisher has returned', () => {
    const bus = new EventBus(() => 1000);
    const out = sink();
    const scheduler = manualScheduler();
    const stream = new EventStream(bus, out, { bufferSize: 10, transport: 'sse', schedule: scheduler.schedule });
    expect(stream.subscribe(['breaker.*', 'dlq.enqueued'])).toEqual(['breaker.*', 'dlq.enqueued']);
    bus.publish('breaker.opened', { backendId: 'a' });
    bus.publish('request.completed', { requestId: 'r' });
    bus.publish('dlq.enqueued', { id: 'd' });
    // Nothing is written inside publish: the request path only appended to a buffer.
    expect(out.batches).toEqual([]);
    expect(scheduler.pending).toBe(1);
    scheduler.run();
    expect(out.batches).toHaveLength(1);
    expect(out.received.map((e) => e.type)).toEqual(['breaker.opened', 'dlq.enqueued']);
  });

  it('delivers an event once when overlapping patterns match it', () => {
    const bus = new EventBus();
    const out = sink();
    const scheduler = manualScheduler();
    const stream = new EventStream(bus, out, { bufferSize: 10, transport: 'ws', schedule: scheduler.schedule });
    stream.subscribe(['*', 'breaker.*', 'breaker.opened']);
    bus.publish('breaker.opened', { backendId: 'a' });
    scheduler.run();
    expect(out.received.map((e) => e.type)).toEqual(['breaker.opened']);
    stream.unsubscribe(['*']);
    bus.publish('breaker.opened', { backendId: 'b' });
    bus.publish('cache.hit', {});
    scheduler.run();
    expect(out.received.map((e) => e.backendId ?? e.type)).toEqual(['a', 'b']);
  });

  it('keeps at most bufferSize events while the transport is full, dropping the oldest and counting them', () => {
    const bus = new EventBus(() => 5);
    const out = sink(1); // the first batch fills the socket
    const scheduler = manualScheduler();
    const stream = new EventStream(bus, out, { bufferSize: 3, transport: 'sse', schedule: scheduler.schedule, now: () => 42 });
    stream.subscribe(['*']);
    bus.publish('e', { n: 0 });
    scheduler.run();
    expect(stream.stats().paused).toBe(true);
    for (let n = 1; n <= 10; n++) bus.publish('e', { n });
    // Paused: no flush is even scheduled, and the buffer holds only the newest three.
    expect(scheduler.pending).toBe(0);
    expect(stream.stats()).toMatchObject({ queued: 3, bufferSize: 3, dropped: 7, paused: true });

    out.setRoom(10);
    stream.resume();
    scheduler.run();
    const [notice, ...rest] = out.batches[1]!;
    expect(notice).toEqual({ type: 'events.dropped', at: 42, dropped: 7, total: 7 });
    expect(rest.map((e) => e.n)).toEqual([8, 9, 10]);
    expect(stream.stats()).toMatchObject({ queued: 0, dropped: 7, paused: false, delivered: 5 });

    // The next notice counts only what was lost since the last one.
    out.setRoom(1);
    bus.publish('e', { n: 11 });
    scheduler.run();
    for (let n = 12; n <= 16; n++) bus.publish('e', { n });
    out.setRoom(10);
    stream.resume();
    scheduler.run();
    expect(out.batches.at(-1)![0]).toEqual({ type: 'events.dropped', at: 42, dropped: 2, total: 9 });
  });

  it('asks `accept` before the buffer: a refused event takes no slot, pushes nothing out and is not counted as dropped', () => {
    const bus = new EventBus(() => 5);
    const out = sink(1); // the first batch fills the socket
    const scheduler = manualScheduler();
    const stream = new EventStream(bus, out, {
      bufferSize: 2,
      transport: 'ws',
      schedule: scheduler.schedule,
      accept: (event) => event.agentId === 'mine',
      scope: () => 'agent:mine',
    });
    stream.subscribe(['*']);
    bus.publish('request.completed', { agentId: 'mine', n: 0 });
    scheduler.run();
    expect(stream.stats()).toMatchObject({ paused: true, scope: 'agent:mine' });
    bus.publish('request.completed', { agentId: 'mine', n: 1 });
    bus.publish('request.completed', { agentId: 'mine', n: 2 });
    // A flood of someone else's events while the socket is full: none of them enters the buffer.
    for (let n = 0; n < 50; n++) bus.publish('request.completed', { agentId: 'theirs', n });
    expect(stream.stats()).toMatchObject({ queued: 2, dropped: 0 });
    out.setRoom(10);
    stream.resume();
    scheduler.run();
    expect(out.received.map((e) => `${String(e.agentId)}:${String(e.n)}`)).toEqual(['mine:0', 'mine:1', 'mine:2']);
    expect(stream.stats()).toMatchObject({ delivered: 3, dropped: 0 });
  });

  it('stops listening when closed', () => {
    const bus = new EventBus();
    const out = sink();
    const scheduler = manualScheduler();
    const stream = new EventStream(bus, out, { bufferSize: 4, transport: 'ws', schedule: scheduler.schedule });
    stream.subscribe(['*']);
    stream.close();
    expect(bus.wants('anything')).toBe(false);
    bus.publish('anything');
    scheduler.run();
    expect(out.batches).toEqual([]);
    expect(stream.subscribe(['*'])).toEqual([]);
  });

  it('refuses a buffer size that is not a positive integer', () => {
    expect(() => new EventStream(new EventBus(), sink(), { bufferSize: 0, transport: 'sse' })).toThrow(/bufferSize/);
  });
});

describe('parseTopics', () => {
  it('reads a comma-separated list; none means everything', () => {
    expect(parseTopics(null)).toEqual(['*']);
    expect(parseTopics('')).toEqual(['*']);
    expect(parseTopics('breaker.*, dlq.enqueued')).toEqual(['breaker.*', 'dlq.enqueued']);
  });

  it.each(['break*', 'a..b', 'a.*.b', '<script>', 'x'.repeat(129)])('refuses %j', (topic) => {
    expect(() => parseTopics(topic)).toThrow(/not a topic pattern/);
  });
});
