/**
 * The response cache's databases, opened the same way on the main thread and in the hash workers:
 * one LMDB environment (openStore's options), and one named database per generation of records
 * (src/cache/generation.ts), msgpack values. Every thread that reads or writes cache entries opens
 * them through here, so the options cannot drift apart.
 *
 * A generation's database is named for the sequence of its first record (`cache-gen-` and the
 * record-key digits of that sequence, record-key.ts), so the names sort in write order and a record
 * key says which generation holds it: the one with the greatest first sequence at or below its own.
 * The names are found by reading LMDB's main database, where named databases are listed; no other
 * record says which generations exist, so none can disagree with them after a crash.
 */
import type { Database, RootDatabase } from 'lmdb';
import { parseSeq, seqBound } from '../cache/record-key.js';
import type { CacheEntry } from '../cache/types.js';

/**
 * Where msgpackr's shared structures live in each generation's db: the entries' shape (field names)
 * is stored once there instead of in every entry, which makes a hit's decode about twice as
 * fast (1.5 → 0.9 µs in isolation; it was ≈ 4% of the cache-hit path's CPU). A generation's db is
 * dropped whole and never cleared, so the structures a reader has learnt from it stay true.
 */
export const CACHE_STRUCTURES_KEY = Symbol.for('structures');

/** Prefix of the generations' database names. */
export const GENERATION_DB_PREFIX = 'cache-gen-';

/** The name of the generation's db whose first record has sequence `firstSeq`. */
export function generationDbName(firstSeq: number): string {
  return GENERATION_DB_PREFIX + seqBound(firstSeq);
}

/**
 * The generation's db that starts at `firstSeq`; created when `create` (the default), else undefined
 * when there is none (dropped).
 */
export function openGenerationDb(root: RootDatabase, firstSeq: number, create = true): Database<CacheEntry, string> | undefined {
  // `create` is lmdb-js's option (missing from its types): false opens only a db that exists.
  const options = { name: generationDbName(firstSeq), create, encoding: 'msgpack', sharedStructuresKey: CACHE_STRUCTURES_KEY } as const;
  return (root.openDB<CacheEntry, string>(options as unknown as { name: string }) as Database<CacheEntry, string> | undefined) ?? undefined;
}

/**
 * The full generations' indexes (src/cache/generation.ts `sealedIndex`), keyed by first sequence.
 * A database of their own: in a generation's db, a record this large would spill onto overflow pages,
 * and dropping the generation would then read every leaf page to find them.
 */
export function openSealedIndexDb(root: RootDatabase): Database<Buffer, number> {
  return root.openDB<Buffer, number>({ name: SEALED_INDEX_DB_NAME, encoding: 'binary' });
}

export const SEALED_INDEX_DB_NAME = 'cache-sealed-indexes';

/** The first sequences of the generations stored in `root`, oldest first (from LMDB's list of named databases). */
export function generationFirstSeqs(root: RootDatabase): number[] {
  const seqs: number[] = [];
  // The main db's keys are the named databases' names ('.' sorts right after '-').
  for (const name of root.getKeys({ start: GENERATION_DB_PREFIX, end: GENERATION_DB_PREFIX.slice(0, -1) + '.' })) {
    const seq = typeof name === 'string' ? parseSeq(name.slice(GENERATION_DB_PREFIX.length)) : undefined;
    if (seq !== undefined) seqs.push(seq);
  }
  return seqs;
}

/** Of `firstSeqs` (ascending), the generation that holds record `seq`: the greatest first sequence at or below it. */
export function generationOf(firstSeqs: readonly number[], seq: number): number | undefined {
  for (let i = firstSeqs.length - 1; i >= 0; i--) if (firstSeqs[i]! <= seq) return firstSeqs[i];
  return undefined;
}

/** The entry if it is still servable at `now` (ms since the epoch), else undefined. */
export function unexpired(entry: CacheEntry | undefined, now: number): CacheEntry | undefined {
  return entry !== undefined && entry.expiresAt > now ? entry : undefined;
}
