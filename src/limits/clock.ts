/**
 * Time for the limiter, injected so that the limiter never reads ambient time: `realClock` in the
 * optimizer, `ManualClock` in tests and properties (time moves only when the test says so).
 */

/** What the limiter needs of time. Times are milliseconds on one monotone scale. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Monotone milliseconds (`performance.timeOrigin + performance.now()`: close to the epoch, but
 * never jumps back when the wall clock is set). Explicit request deadlines must be on this scale:
 * take them from `clock.now()` (or `limiter.now()`), not from `Date.now()`.
 * Its timers are unref'd: a pending limiter wake-up never keeps the process alive by itself.
 */
export const realClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to. `advance(ms)` fires every timer due within the step in
 * time order (ties in the order they were set), with `now()` equal to each timer's due time while
 * it runs; timers set by a firing timer run too when they fall within the step.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): number {
    const seq = ++this.seq;
    this.timers.set(seq, { at: this.current + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Moves time forward by `ms` (≥ 0), firing due timers on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be ≥ 0 (got ${ms})`);
    this.advanceTo(this.current + ms);
  }

  /** Moves time forward to `time` (never back), firing due timers on the way. */
  advanceTo(time: number): void {
    const target = Math.max(time, this.current);
    for (;;) {
      const next = this.earliestTimer();
      if (next === undefined || next.at > target) break;
      this.timers.delete(next.seq);
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = target;
  }

  /** How many timers are set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** When the earliest pending timer is due, or undefined when none is set. */
  nextTimerAt(): number | undefined {
    return this.earliestTimer()?.at;
  }

  private earliestTimer(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.timers.values()) {
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer;
    }
    return best;
  }
}
