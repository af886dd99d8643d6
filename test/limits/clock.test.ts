import { describe, expect, it } from 'vitest';
import { ManualClock, realClock } from '../../src/limits/clock.js';

describe('ManualClock', () => {
  it('fires due timers in time order (ties in the order set), with now() at each due time', () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 50);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 50);
    const cleared = clock.setTimeout(() => fired.push('never'), 20);
    clock.clearTimeout(cleared);
    clock.advance(30);
    expect(fired).toEqual(['a@110']);
    expect(clock.now()).toBe(130);
    expect(clock.pendingTimers).toBe(2);
    expect(clock.nextTimerAt()).toBe(150);
    clock.advance(100);
    expect(fired).toEqual(['a@110', 'b@150', 'c@150']);
    expect(clock.now()).toBe(230);
  });

  it('runs timers set by a firing timer when they fall within the step', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
      clock.setTimeout(() => fired.push(clock.now()), 500);
    }, 10);
    clock.advance(100);
    expect(fired).toEqual([10, 15]);
    expect(clock.pendingTimers).toBe(1);
  });

  it('never goes back, and refuses a negative step', () => {
    const clock = new ManualClock(50);
    clock.advanceTo(10);
    expect(clock.now()).toBe(50);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});

describe('realClock', () => {
  it('is monotone and fires its (unref’d) timers', async () => {
    const a = realClock.now();
    const fired = await new Promise<number>((resolve) => realClock.setTimeout(() => resolve(realClock.now()), 5));
    expect(fired).toBeGreaterThanOrEqual(a + 4);
    const handle = realClock.setTimeout(() => {
      throw new Error('cleared timer fired');
    }, 1);
    realClock.clearTimeout(handle);
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
});
