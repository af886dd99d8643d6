/**
 * An exact sliding-window request counter: a limit of N requests per window admits at most N in
 * every window (t, t + WINDOW_MS], wherever t falls — no buckets, no approximation.
 *
 * It keeps the times of the admissions still inside the window (at most N) in a ring buffer,
 * oldest first. One more admission at `now` is allowed iff fewer than N are kept or the oldest
 * kept is ≤ now − WINDOW_MS. Then any N + 1 consecutive admissions span at least WINDOW_MS, so no
 * half-open window of that length holds N + 1 of them. Admissions that left the window are
 * dropped when the next one is recorded, so memory follows the admissions per minute actually
 * seen, not the limit: a limit of 100,000,000 under 5,000 req/s keeps about 300,000 times, where
 * keeping the last N ever admitted grew without end (the pass-through bench's RSS showed it).
 * Each decision and each record is amortised O(1) and allocates nothing once the buffer has
 * grown (by doubling, up to N).
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
  /** Index of the oldest kept admission. */
  private head = 0;
  /** Admissions kept (≤ limit). */
  private size = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`RequestWindow: limit must be an integer ≥ 1 (got ${limit})`);
    this.limit = limit;
    this.times = new Float64Array(Math.min(limit, INITIAL_CAPACITY));
  }

  /** True when one more admission at `now` keeps every window within the limit. */
  hasRoom(now: number): boolean {
    return this.size < this.limit || this.times[this.head]! <= now - WINDOW_MS;
  }

  /** The earliest time ≥ now at which there is room, if nothing else is admitted meanwhile. */
  freeAt(now: number): number {
    if (this.size < this.limit) return now;
    const at = this.times[this.head]! + WINDOW_MS;
    return at > now ? at : now;
  }

  /** Records an admission at `now` (call only after `hasRoom(now)`). */
  record(now: number): void {
    const cutoff = now - WINDOW_MS;
    const times = this.times;
    // Drop what has left the window (oldest first; times are in order).
    while (this.size > 0 && times[this.head]! <= cutoff) {
      this.head = this.head + 1 === times.length ? 0 : this.head + 1;
      this.size--;
    }
    if (this.size === this.limit) {
      // Only when called without hasRoom (the loop above dropped every admission it allows to go):
      // keep the bound, the oldest goes.
      this.head = this.head + 1 === times.length ? 0 : this.head + 1;
      this.size--;
    }
    if (this.size === this.times.length) this.grow();
    let at = this.head + this.size;
    if (at >= this.times.length) at -= this.times.length;
    this.times[at] = now;
    this.size++;
  }

  /** Admissions within the window ending at `now`, i.e. in (now − WINDOW_MS, now]. O(N): for stats. */
  used(now: number): number {
    const cutoff = now - WINDOW_MS;
    let used = 0;
    for (let i = 0, at = this.head; i < this.size; i++, at = at + 1 === this.times.length ? 0 : at + 1) if (this.times[at]! > cutoff) used++;
    return used;
  }

  /** True when no admission falls within the window ending at `now`. */
  isIdle(now: number): boolean {
    if (this.size === 0) return true;
    let newest = this.head + this.size - 1;
    if (newest >= this.times.length) newest -= this.times.length;
    return this.times[newest]! <= now - WINDOW_MS;
  }

  /** Entries the buffer can hold now (grows by doubling, never past the limit). For tests. */
  get capacity(): number {
    return this.times.length;
  }

  private grow(): void {
    // Unrolled oldest first into the new buffer.
    const grown = new Float64Array(Math.min(this.limit, this.times.length * 2));
    for (let i = 0, at = this.head; i < this.size; i++, at = at + 1 === this.times.length ? 0 : at + 1) grown[i] = this.times[at]!;
    this.times = grown;
    this.head = 0;
  }
}
