/**
 * An exact sliding-window token counter: a limit of L tokens per window admits requests whose
 * token estimates sum to at most L in every window (t, t + WINDOW_MS].
 *
 * It keeps a deque of (time, tokens) for the admissions still inside the window and their running
 * sum; an admission of k tokens at `now` is allowed iff sum(now) + k ≤ L. For any window, the last
 * admission inside it saw every earlier one of that window inside its own window, so the whole
 * window sums to at most L. Eviction is amortised O(1); the buffers grow by doubling and are then
 * reused, so steady-state decisions allocate nothing.
 *
 * Token counts should be integers (estimates are): sums of integers are exact in a double.
 */
import { WINDOW_MS } from './sliding-window.js';

const INITIAL_CAPACITY = 16; // a power of two: indexes wrap with a mask

export class TokenWindow {
  /** Tokens allowed per window. */
  readonly limit: number;
  private times: Float64Array;
  private tokens: Float64Array;
  private mask: number;
  private head = 0;
  private size = 0;
  private sum = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`TokenWindow: limit must be an integer ≥ 1 (got ${limit})`);
    this.limit = limit;
    this.times = new Float64Array(INITIAL_CAPACITY);
    this.tokens = new Float64Array(INITIAL_CAPACITY);
    this.mask = INITIAL_CAPACITY - 1;
  }

  /** True when `tokens` more at `now` keep every window within the limit. */
  hasRoom(now: number, tokens: number): boolean {
    this.evict(now);
    return this.sum + tokens <= this.limit;
  }

  /**
   * The earliest time ≥ now at which `tokens` more would fit, if nothing else is admitted meanwhile;
   * Infinity when `tokens` exceeds the whole limit. O(entries in the window): off the hot path.
   */
  freeAt(now: number, tokens: number): number {
    this.evict(now);
    if (this.sum + tokens <= this.limit) return now;
    if (tokens > this.limit) return Infinity;
    const excess = this.sum + tokens - this.limit;
    let freed = 0;
    for (let i = 0; i < this.size; i++) {
      const index = (this.head + i) & this.mask;
      freed += this.tokens[index]!;
      if (freed >= excess) return this.times[index]! + WINDOW_MS;
    }
    return Infinity; // unreachable: freeing everything leaves room for tokens ≤ limit
  }

  /** Records `tokens` admitted at `now` (call only after `hasRoom(now, tokens)`). */
  record(now: number, tokens: number): void {
    if (tokens <= 0) return;
    if (this.size === this.times.length) this.grow();
    const index = (this.head + this.size) & this.mask;
    this.times[index] = now;
    this.tokens[index] = tokens;
    this.size++;
    this.sum += tokens;
  }

  /** Tokens admitted within the window ending at `now`. */
  used(now: number): number {
    this.evict(now);
    return this.sum;
  }

  private evict(now: number): void {
    const cutoff = now - WINDOW_MS;
    while (this.size > 0 && this.times[this.head]! <= cutoff) {
      this.sum -= this.tokens[this.head]!;
      this.head = (this.head + 1) & this.mask;
      this.size--;
    }
    if (this.size === 0) this.sum = 0;
  }

  private grow(): void {
    const capacity = this.times.length * 2;
    const times = new Float64Array(capacity);
    const tokens = new Float64Array(capacity);
    for (let i = 0; i < this.size; i++) {
      const index = (this.head + i) & this.mask;
      times[i] = this.times[index]!;
      tokens[i] = this.tokens[index]!;
    }
    this.times = times;
    this.tokens = tokens;
    this.mask = capacity - 1;
    this.head = 0;
  }
}
