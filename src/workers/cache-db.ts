/**
 * The response cache's named database, opened the same way on the main thread and in the hash
 * workers: one LMDB environment (openStore's options), one `cache` db with msgpack values, as
 * src/cache/response-cache.ts opens it. Every thread that reads or writes cache entries should
 * open it through here, so the options cannot drift apart.
 */
import type { Database, RootDatabase } from 'lmdb';
import { CACHE_DB_NAME, type CacheEntry } from '../cache/types.js';

/** The `cache` db of `root` (created on first open), keyed by request key. */
export function openCacheDb(root: RootDatabase): Database<CacheEntry, string> {
  return root.openDB<CacheEntry, string>({ name: CACHE_DB_NAME, encoding: 'msgpack' });
}

/** The entry if it is still servable at `now` (ms since the epoch), else undefined. */
export function unexpired(entry: CacheEntry | undefined, now: number): CacheEntry | undefined {
  return entry !== undefined && entry.expiresAt > now ? entry : undefined;
}
