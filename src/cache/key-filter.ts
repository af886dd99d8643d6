/**
 * Which keys the response cache may hold, kept in memory so that a miss (every request that goes
 * upstream) needs no LMDB read: a counting set of 30-bit tags of the keys. "No" is certain; "maybe"
 * is a collision with probability (keys held) / 2^30, e.g. 1e-4 with 100,000 entries, and costs
 * one LMDB read that finds nothing. Tags are small integers, so 100,000 keys take 3.7 MB (measured)
 * and no object each.
 *
 * Why: an LMDB read renews lmdb-js's read transaction and schedules a timer to reset it, which at
 * concurrency 1 was an extra wake-up of the event loop per request (bench:ab with no cache reads:
 * 0.88× the CPU per request at c=1).
 */
export class KeyFilter {
  readonly #counts = new Map<number, number>();
  #size = 0;

  /** A 30-bit tag of `key` (FNV-1a), a small integer to V8. */
  static tag(key: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return h >>> 2;
  }

  /** Keys added and not removed. */
  get size(): number {
    return this.#size;
  }

  /** False when `key` was certainly not added (or was removed since). */
  mayHold(key: string): boolean {
    return this.#counts.has(KeyFilter.tag(key));
  }

  add(key: string): void {
    const tag = KeyFilter.tag(key);
    this.#counts.set(tag, (this.#counts.get(tag) ?? 0) + 1);
    this.#size++;
  }

  /** Removes one `add` of `key` (call only for a key that was added). */
  remove(key: string): void {
    const tag = KeyFilter.tag(key);
    const count = this.#counts.get(tag);
    if (count === undefined) return;
    if (count === 1) this.#counts.delete(tag);
    else this.#counts.set(tag, count - 1);
    this.#size--;
  }
}
