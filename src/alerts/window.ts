/** Buckets per window: counts are exact to within one bucket (windowMs / 20). */
const BUCKETS = 20;

/**
 * Counts over a sliding time window: how many observations, and how many of them were
 * "marked" (failed, missed, rejected), within the last `windowMs`. A ring of 20 buckets
 * with running sums, mutated in place: recording and reading cost O(1) amortised and
 * allocate nothing, so a rule can watch every request.
 */
export class SlidingCounts {
  readonly #bucketMs: number;
  readonly #totals = new Array<number>(BUCKETS).fill(0);
  readonly #marked = new Array<number>(BUCKETS).fill(0);
  /** Index (`floor(at / bucketMs)`) of the newest bucket. */
  #head = Number.NEGATIVE_INFINITY;
  #total = 0;
  #markedTotal = 0;

  constructor(readonly windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive (got ${windowMs})`);
    this.#bucketMs = Math.ceil(windowMs / BUCKETS);
  }

  /** One observation at `at` (ms); an observation older than the window is ignored. */
  record(at: number, marked: boolean): void {
    const index = Math.floor(at / this.#bucketMs);
    this.#advance(index);
    if (index <= this.#head - BUCKETS) return;
    const slot = slotOf(index);
    this.#totals[slot]! += 1;
    this.#total += 1;
    if (marked) {
      this.#marked[slot]! += 1;
      this.#markedTotal += 1;
    }
  }

  /** Observations (and marked ones) within the window that ends at `now`. */
  counts(now: number): { total: number; marked: number } {
    this.#advance(Math.floor(now / this.#bucketMs));
    return { total: this.#total, marked: this.#markedTotal };
  }

  /** Moves the head forward to `index`, emptying the buckets that fall out of the window. */
  #advance(index: number): void {
    if (index <= this.#head) return;
    if (index - this.#head >= BUCKETS) {
      this.#totals.fill(0);
      this.#marked.fill(0);
      this.#total = 0;
      this.#markedTotal = 0;
    } else {
      for (let i = this.#head + 1; i <= index; i++) {
        const slot = slotOf(i);
        this.#total -= this.#totals[slot]!;
        this.#markedTotal -= this.#marked[slot]!;
        this.#totals[slot] = 0;
        this.#marked[slot] = 0;
      }
    }
    this.#head = index;
  }
}

function slotOf(index: number): number {
  return ((index % BUCKETS) + BUCKETS) % BUCKETS;
}
