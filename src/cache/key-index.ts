/**
 * Which record holds a key, for one generation of the response cache (generation.ts): the sequence
 * number of its record (record-key.ts), in memory, so that a miss (every request that goes upstream)
 * needs no LMDB read and a hit reads the one record it needs. Keys are held as 30-bit tags (FNV-1a
 * of the key), small integers to V8, so 100,000 keys take about 3.7 MB and no object each.
 *
 * Two keys can share a tag (probability about (keys held) / 2^30 for a new key, 1e-4 at 100,000): the
 * later one's sequence then replaces the earlier's, and the earlier key misses until it is written
 * again. A tag never makes a wrong answer: the record key holds the whole request key, so a lookup
 * under the wrong sequence finds no record.
 *
 * Why no LMDB read on a miss: a read renews lmdb-js's read transaction and schedules a timer to reset
 * it, which at concurrency 1 was an extra wake-up of the event loop per request (bench:ab with no cache
 * reads: 0.88× the CPU per request at c=1).
 */
export class KeyIndex {
  readonly #seqs = new Map<number, number>();

  /** A 30-bit tag of `key` (FNV-1a), a small integer to V8. */
  static tag(key: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return h >>> 2;
  }

  /** Tags held. */
  get size(): number {
    return this.#seqs.size;
  }

  /** The sequence of the newest record under `tag` (a key's, or a colliding key's); undefined: certainly none. */
  seqOf(tag: number): number | undefined {
    return this.#seqs.get(tag);
  }

  /** The newest record under `tag` is `seq` (replacing whatever the tag pointed at). */
  set(tag: number, seq: number): void {
    this.#seqs.set(tag, seq);
  }

  /** Forgets `tag`, if it still points at `seq` (not at a newer record, or a colliding key's). */
  delete(tag: number, seq: number): void {
    if (this.#seqs.get(tag) === seq) this.#seqs.delete(tag);
  }

  /** [tag, sequence] of every key held. */
  entries(): IterableIterator<[number, number]> {
    return this.#seqs.entries();
  }
}
