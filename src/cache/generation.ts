import type { Database } from 'lmdb';
import { KeyIndex } from './key-index.js';
import type { CacheEntry } from './types.js';

/**
 * Generations the response cache's bound is shared among: each holds at most ⌈maxEntries / 8⌉
 * records, and the oldest is dropped whole when the newest needs room, so a full cache holds between
 * seven eighths of its bound and all of it.
 */
export const GENERATIONS = 8;

/** Records one generation holds, for a cache bounded to `maxEntries`. */
export function generationSize(maxEntries: number): number {
  return Math.max(1, Math.ceil(maxEntries / GENERATIONS));
}

/**
 * One generation of the response cache: the records written one after another from `firstSeq` on,
 * in one slot of the ring of LMDB databases (src/workers/cache-db.ts), and which of its records holds
 * each key (its KeyIndex).
 *
 * Why generations: a cache evicts all the time once it is full. Removing records one by one read
 * each one's key back and made LMDB's write thread rewrite every page they sat on; dropping a database
 * is one operation that frees its pages reading only the branch pages above them (LMDB's `mdb_drop`,
 * behind lmdb-js's `clearAsync`, skips the leaves when no record spilled onto overflow pages). Measured in isolation (100,000
 * entries, a lookup and a write per request, eviction running): 15.2 → 9.2 µs of CPU per write, all
 * threads. It does not keep `data.mdb` out of the RSS: commits map pages too (docs/caching.md).
 */
export class Generation {
  /** Each key's newest record in this generation. A key's tag is held by at most one generation. */
  readonly index = new KeyIndex();
  /** Records stored, pending or waiting in it: live, replaced and expired alike, until it is dropped. */
  count = 0;

  constructor(
    readonly slot: number,
    /** At or below its first record's sequence; every record's sequence is counted from it in `sealedIndex`. */
    public firstSeq: number,
    readonly db: Database<CacheEntry, string>,
  ) {}
}

/**
 * A full generation's index and record count, as stored when the next generation starts (`sealed`),
 * so that opening the cache reads one record per full generation instead of every record key: for
 * 100,000 entries, 117 ms instead of 260 ms, with 12 of the 81 MiB of `data.mdb` mapped into the
 * process instead of all of it (measured in isolation, page cache warm).
 * Layout (little-endian): the record count (uint32), the first sequence (float64), then per key its
 * tag and its sequence − the first sequence (uint32 each).
 */
export function sealedIndex(gen: Generation): Buffer {
  const bytes = Buffer.allocUnsafe(SEALED_HEADER + 8 * gen.index.size);
  bytes.writeUInt32LE(gen.count, 0);
  bytes.writeDoubleLE(gen.firstSeq, 4);
  let at = SEALED_HEADER;
  for (const [tag, seq] of gen.index.entries()) {
    bytes.writeUInt32LE(tag, at);
    bytes.writeUInt32LE(seq - gen.firstSeq, at + 4);
    at += 8;
  }
  return bytes;
}

/**
 * Fills `gen` (empty) from a `sealedIndex`, taking each key's tag from `older` generations as a newer
 * record would; false when the bytes are not a sealed index (then the generation is read record by record).
 */
export function loadSealedIndex(gen: Generation, bytes: Uint8Array, older: readonly Generation[]): boolean {
  if (bytes.byteLength < SEALED_HEADER || (bytes.byteLength - SEALED_HEADER) % 8 !== 0) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const firstSeq = view.getFloat64(4, true);
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 0 || firstSeq > gen.firstSeq) return false;
  gen.firstSeq = firstSeq;
  for (let at = SEALED_HEADER; at < bytes.byteLength; at += 8) {
    const tag = view.getUint32(at, true);
    takeTag(older, tag);
    gen.index.set(tag, firstSeq + view.getUint32(at + 4, true));
  }
  gen.count = view.getUint32(0, true);
  return true;
}

const SEALED_HEADER = 12;

/** A newer record holds `tag`: the older generations let go of it (one generation holds a key's tag). */
export function takeTag(older: readonly Generation[], tag: number): void {
  for (const gen of older) {
    const held = gen.index.seqOf(tag);
    if (held !== undefined) gen.index.delete(tag, held);
  }
}
