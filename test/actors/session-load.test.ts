import type { AnyActorRef } from 'xstate';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IDLE_NOTICE_MS, SessionLoad } from '../../actors/session.js';

/** A live session actor that records what it is told. */
function session(): { ref: AnyActorRef; told: string[] } {
  const told: string[] = [];
  const ref = { getSnapshot: () => ({ status: 'active' }), send: (event: { type: string }) => told.push(event.type) } as unknown as AnyActorRef;
  return { ref, told };
}

describe('SessionLoad', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('tells the session when the agent gets busy, and that it is idle only after IDLE_NOTICE_MS without a request', () => {
    const load = new SessionLoad();
    const { ref, told } = session();
    load.started(ref, 'a');
    expect(told).toEqual(['session.request.started']);
    load.finished(ref, 'a');
    vi.advanceTimersByTime(IDLE_NOTICE_MS - 1);
    expect(told).toEqual(['session.request.started']);
    vi.advanceTimersByTime(1);
    expect(told).toEqual(['session.request.started', 'session.request.finished']);
  });

  it('keeps one idle timer per agent while requests keep coming, and counts idleness from the last one', () => {
    const load = new SessionLoad();
    const { ref, told } = session();
    // Cache hits one after another: each finishes before the next starts.
    for (let i = 0; i < 50; i++) {
      load.started(ref, 'a');
      load.finished(ref, 'a');
      vi.advanceTimersByTime(100);
    }
    expect(vi.getTimerCount()).toBe(1);
    expect(told).toEqual(['session.request.started']);
    // The last request finished 100 ms ago: idle is told IDLE_NOTICE_MS after it, not before.
    vi.advanceTimersByTime(IDLE_NOTICE_MS - 101);
    expect(told).toEqual(['session.request.started']);
    vi.advanceTimersByTime(1);
    expect(told).toEqual(['session.request.started', 'session.request.finished']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is not told idle while a request is in flight, however long it takes', () => {
    const load = new SessionLoad();
    const { ref, told } = session();
    load.started(ref, 'a');
    load.finished(ref, 'a');
    load.started(ref, 'a'); // a long one
    vi.advanceTimersByTime(10 * IDLE_NOTICE_MS);
    expect(told).toEqual(['session.request.started']);
    load.finished(ref, 'a');
    vi.advanceTimersByTime(IDLE_NOTICE_MS);
    expect(told).toEqual(['session.request.started', 'session.request.finished']);
  });
});
