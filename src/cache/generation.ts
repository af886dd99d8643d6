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
 * in a named LMDB database of their own (src/workers/cache-db.ts), and which of its records holds
 * each key (its KeyIndex).
 *
 * Why generations: a cache evicts all the time once it is full. Removing records one by one makes
 * LMDB read every page they sit on, and each page read maps that page of `data.mdb` into the process:
 * with a full 100,000-entry cache, 78 of the file's 100 MiB counted in the process's RSS after one
 * eviction cycle (docs/caching.md). Dropping a database frees its pages reading only the branch pages
 * above them (LMDB's `mdb_drop` skips the leaves when no record spilled onto overflow pages), and it is
 * one operation instead of one per record.
 */
export class Generation {
  /** Each key's newest record in this generation. A key's tag is held by at most one generation. */
  readonly index = new KeyIndex();
  /** Records stored, pending or waiting in it: live, replaced and expired alike, until it is dropped. */
  count = 0;

  constructor(
    readonly firstSeq: number,
    readonly db: Database<CacheEntry, string>,
  ) {}
}
