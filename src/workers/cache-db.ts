/**
 * The response cache's databases, opened the same way on the main thread and in the hash workers:
 * one LMDB environment (openStore's options), and a ring of GENERATIONS named databases, one per
 * generation of records (src/cache/generation.ts), msgpack values. Every thread that reads or writes
 * cache entries opens them through here, so the options cannot drift apart.
 *
 * The ring's databases (`cache-gen-0` … `cache-gen-7`) are created once, when the cache first opens
 * the store; a generation takes the slot after the newest one's, and an evicted generation's slot is
 * emptied (`clearAsync`, which frees its pages without reading its records) for a later one. Nothing
 * is created or dropped while the optimizer serves: creating a database is a synchronous LMDB write
 * transaction on the main thread, and a database per generation ran out of LMDB's database handles
 * when generations were small and came fast (props/response-cache.prop.ts, bound 1).
 *
 * Which generation a slot holds is read from its first record key: the generation with the greatest
 * first sequence at or below a record's sequence is the one that holds it. No other record says
 * which generations exist, so none can disagree with the slots after a crash.
 *
 * No shared msgpack structures here: they are saved by a synchronous write when first met, and a
 * cleared slot would lose them to its clear while new entries already used them. Each entry carries
 * its field names (about 60 bytes) and decodes in ≈ 1.5 µs instead of 0.9.
 */
import type { Database, RootDatabase } from 'lmdb';
import { GENERATIONS } from '../cache/generation.js';
import { parseRecordKey } from '../cache/record-key.js';
import type { CacheEntry } from '../cache/types.js';

/** The slot databases' names: `cache-gen-<slot>`. */
export function generationDbName(slot: number): string {
  return `cache-gen-${slot}`;
}

/** Slot `slot`'s db; created when `create` (the main thread, when the cache opens), else undefined if there is none yet. */
export function openGenerationDb(root: RootDatabase, slot: number, create = true): Database<CacheEntry, string> | undefined {
  // `create` is lmdb-js's option (missing from its types): false opens only a db that exists.
  const options = { name: generationDbName(slot), create, encoding: 'msgpack' } as const;
  return (root.openDB<CacheEntry, string>(options as unknown as { name: string }) as Database<CacheEntry, string> | undefined) ?? undefined;
}

/** The ring's dbs, slot by slot (undefined: not created yet, and `create` false). */
export function openGenerationDbs(root: RootDatabase, create = true): (Database<CacheEntry, string> | undefined)[] {
  return Array.from({ length: GENERATIONS }, (_, slot) => openGenerationDb(root, slot, create));
}

/** The sequence of the first record in `db`; undefined when it holds none (a free slot). */
export function firstSeqOf(db: Database<CacheEntry, string> | undefined): number | undefined {
  if (db === undefined) return undefined;
  for (const key of db.getKeys({ limit: 1 })) return parseRecordKey(key)?.[0];
  return undefined;
}

/** The generations in the ring, oldest first: [slot, first record's sequence] of each slot that holds records. */
export function storedGenerations(dbs: readonly (Database<CacheEntry, string> | undefined)[]): [slot: number, firstSeq: number][] {
  const held: [number, number][] = [];
  for (const [slot, db] of dbs.entries()) {
    const first = firstSeqOf(db);
    if (first !== undefined) held.push([slot, first]);
  }
  return held.sort((a, b) => a[1] - b[1]);
}

/** Of `generations` (oldest first), the slot that holds record `seq`: the greatest first sequence at or below it. */
export function slotOf(generations: readonly [slot: number, firstSeq: number][], seq: number): number | undefined {
  for (let i = generations.length - 1; i >= 0; i--) if (generations[i]![1] <= seq) return generations[i]![0];
  return undefined;
}

/** The full generations' indexes (src/cache/generation.ts `sealedIndex`), keyed by slot. */
export function openSealedIndexDb(root: RootDatabase): Database<Buffer, number> {
  return root.openDB<Buffer, number>({ name: SEALED_INDEX_DB_NAME, encoding: 'binary' });
}

/**
 * A database of its own: in a generation's db, a record this large would spill onto overflow pages,
 * and emptying the generation would then read every leaf page to find them.
 */
export const SEALED_INDEX_DB_NAME = 'cache-sealed';

/** The entry if it is still servable at `now` (ms since the epoch), else undefined. */
export function unexpired(entry: CacheEntry | undefined, now: number): CacheEntry | undefined {
  return entry !== undefined && entry.expiresAt > now ? entry : undefined;
}
