/**
 * An exact sliding-window request counter: a limit of N requests per window admits at most N in
 * every window (t, t + WINDOW_MS], wherever t falls — no buckets, no approximation.
 *
 * It keeps the times of the last N admissions in a ring buffer. One more admission at `now` is
 * allowed iff fewer than N were ever recorded or the admission N back is ≤ now − WINDOW_MS. Then
 * any N + 1 consecutive admissions span at least WINDOW_MS, so no half-open window of that length
 * holds N + 1 of them. Each decision and each record is O(1) and allocates nothing (the buffer
 * grows by doubling up to N, so a large limit costs memory only once it is used).
 *
 * Times must be recorded in non-decreasing order (the limiter clamps its clock to be monotone).
 */

/** Every limit is per minute. */
export const WINDOW_MS = 60_000;

const INITIAL_CAPACITY = 64;

export class RequestWindow {
  /** Requests allowed per window. */
  readonly limit: number;
  private times: Float64Array;
  /** Admissions recorded, capped at `limit`: once full, the ring always holds the last `limit`. */
  private count = 0;
  /** Where the next admission is written; once the ring is full, also the oldest admission. */
  private next = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`RequestWindow: limit must be an integer ≥ 1 (got ${limit})`);
    this.limit = limit;
    this.times = new Float64Array(Math.min(limit, INITIAL_CAPACITY));
  }

  /** True when one more admission at `now` keeps every window within the limit. */
  hasRoom(now: number): boolean {
    return this.count < this.limit || this.times[this.next]! <= now - WINDOW_MS;
  }

  /** The earliest time ≥ now at which there is room, if nothing else is admitted meanwhile. */
  freeAt(now: number): number {
    if (this.count < this.limit) return now;
    const at = this.times[this.next]! + WINDOW_MS;
    return at > now ? at : now;
  }

  /** Records an admission at `now` (call only after `hasRoom(now)`). */
  record(now: number): void {
    if (this.count < this.limit) {
      if (this.count === this.times.length) this.grow();
      this.times[this.count] = now;
      this.count++;
      this.next = this.count === this.limit ? 0 : this.count;
      return;
    }
    this.times[this.next] = now;
    this.next = this.next + 1 === this.limit ? 0 : this.next + 1;
  }

  /** Admissions within the window ending at `now`, i.e. in (now − WINDOW_MS, now]. O(N): for stats. */
  used(now: number): number {
    const cutoff = now - WINDOW_MS;
    let used = 0;
    for (let i = 0; i < this.count; i++) if (this.times[i]! > cutoff) used++;
    return used;
  }

  /** True when no admission falls within the window ending at `now`. */
  isIdle(now: number): boolean {
    if (this.count === 0) return true;
    const newest = this.next === 0 ? this.count - 1 : this.next - 1;
    return this.times[newest]! <= now - WINDOW_MS;
  }

  private grow(): void {
    // Before the ring is full it has never wrapped, so the times are in order from index 0.
    const grown = new Float64Array(Math.min(this.limit, this.times.length * 2));
    grown.set(this.times);
    this.times = grown;
  }
}
