/**
 * What the response cache stores in LMDB (a ring of named databases, one per generation,
 * src/workers/cache-db.ts;
 * msgpack values, keyed by record key: the write's sequence, then the request key;
 * src/cache/record-key.ts). Shared by the main thread and the Piscina workers.
 */

/**
 * Databases of earlier layouts, dropped when the cache opens: entries keyed by request key and their
 * insertion order (`cache`, `cache-order`), every record in one database (`cache-records`), and the
 * stored indexes of generations named for their first sequence (`cache-sealed-indexes`; those
 * generations' dbs, `cache-gen-<sequence>`, are dropped too).
 */
export const LEGACY_CACHE_DB_NAMES = ['cache', 'cache-order', 'cache-records', 'cache-sealed-indexes'] as const;
export const CACHE_ENTRY_VERSION = 1;

export interface CacheEntry {
  v: typeof CACHE_ENTRY_VERSION;
  /** ms since the epoch. */
  createdAt: number;
  /** ms since the epoch; the entry is not served after it. */
  expiresAt: number;
  endpoint: 'chat.completions' | 'embeddings';
  /** `backendId/model` that produced it. */
  model: string;
  backend: string;
  /** The complete JSON answer (non-streamed form), UTF-8. */
  body: Uint8Array;
  /** The chunks' JSON texts when the answer was streamed, in order (replayed as a stream). */
  chunks?: string[];
  /** [prompt tokens its usage reported, or null; completion tokens, reported or estimated]: counted on a hit without parsing `body`. */
  tokens?: [number | null, number];
}
