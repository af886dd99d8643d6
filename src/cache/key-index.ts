/**
 * Where the response cache keeps each key's entry: the sequence number of its record (see
 * record-key.ts), in memory, so that a miss (every request that goes upstream) needs no LMDB read
 * and a hit reads the one record it needs. Keys are held as 30-bit tags (FNV-1a of the key), small
 * integers to V8, so 100,000 keys take about 3.7 MB and no object each.
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

  /** The sequence of `key`'s newest record, or of another key's with the same tag; undefined: certainly none. */
  seqOf(key: string): number | undefined {
    return this.#seqs.get(KeyIndex.tag(key));
  }

  /** `key`'s newest record is `seq` (replacing whatever its tag pointed at). */
  set(key: string, seq: number): void {
    this.#seqs.set(KeyIndex.tag(key), seq);
  }

  /** Forgets `key`, if its tag still points at `seq` (not at a newer record, or a colliding key's). */
  delete(key: string, seq: number): void {
    const tag = KeyIndex.tag(key);
    if (this.#seqs.get(tag) === seq) this.#seqs.delete(tag);
  }
}
