import type { Database, RootDatabase } from 'lmdb';
import type { CompletedAnswer } from './answer.js';
import { reportedTokens } from '../gateway/usage.js';
import { CACHE_ENTRY_VERSION, type CacheEntry } from './types.js';
import { cacheEntryCount, openCacheDb } from '../workers/cache-db.js';

/** Order of insertion, for eviction: [createdAt, key] → null. */
const ORDER_DB_NAME = 'cache-order';
/** How many of the oldest entries one eviction pass removes past `maxEntries`. */
const EVICT_BATCH = 64;

export interface ResponseCacheOptions {
  maxEntries: number;
  now?: () => number;
}

interface Databases {
  root: RootDatabase;
  entries: Database<CacheEntry, string>;
  order: Database<null, [number, string]>;
  count: number;
}

/**
 * The exact-match response cache, in the LMDB environment the store actor owns (and
 * the worker pool reads). Writes are not awaited: LMDB batches them into one commit off
 * the response path. Expired entries are never served and are removed when met;
 * past `maxEntries` the oldest are evicted. When the store is down (restarting), the
 * cache misses and stores nothing rather than failing requests.
 */
export class ResponseCache {
  #dbs: Databases | undefined;
  /**
   * Entries written but not yet committed: LMDB reads do not see an uncommitted write, and
   * an identical request can arrive before the batch commits. Read-your-writes, in process.
   */
  readonly #pending = new Map<string, CacheEntry>();
  readonly #now: () => number;

  constructor(
    private readonly store: () => RootDatabase | undefined,
    private readonly options: ResponseCacheOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  /** The live entry for `key`, if any. */
  get(key: string): CacheEntry | undefined {
    const dbs = this.#open();
    if (!dbs) return undefined;
    const entry = this.#pending.get(key) ?? dbs.entries.get(key);
    if (!entry) return undefined;
    if (entry.v !== CACHE_ENTRY_VERSION || entry.expiresAt <= this.#now()) {
      this.#pending.delete(key);
      void dbs.entries.remove(key);
      void dbs.order.remove([entry.createdAt, key]);
      dbs.count = Math.max(0, dbs.count - 1);
      return undefined;
    }
    return entry;
  }

  /** Stores a completed answer under `key` for `ttlMs`. */
  put(key: string, answer: CompletedAnswer, endpoint: CacheEntry['endpoint'], ttlMs: number): void {
    const dbs = this.#open();
    if (!dbs) return;
    const now = this.#now();
    const previous = this.#pending.get(key) ?? dbs.entries.get(key);
    if (previous) void dbs.order.remove([previous.createdAt, key]);
    else dbs.count++;
    const entry: CacheEntry = {
      v: CACHE_ENTRY_VERSION,
      createdAt: now,
      expiresAt: now + ttlMs,
      endpoint,
      model: answer.model,
      backend: answer.backend,
      body: answer.body,
    };
    if (answer.chunks) entry.chunks = answer.chunks;
    const [prompt, completion] = answer.tokens ?? reportedTokens(answer.value);
    entry.tokens = [prompt ?? null, completion];
    this.#pending.set(key, entry);
    void dbs.entries.put(key, entry).finally(() => {
      if (this.#pending.get(key) === entry) this.#pending.delete(key);
    });
    void dbs.order.put([now, key], null);
    if (dbs.count > this.options.maxEntries) this.#evict(dbs);
  }

  /** Entries stored (approximately, between commits). */
  get size(): number {
    return this.#open()?.count ?? 0;
  }

  /** As a completed answer, for replay. */
  static toAnswer(entry: CacheEntry): CompletedAnswer {
    const body = Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength);
    let value: unknown;
    // Parsed only if a reader needs it (a WebSocket msgpack frame, a synthesised stream): an HTTP hit sends the bytes.
    return {
      status: 200,
      body,
      get value() {
        return (value ??= JSON.parse(body.toString('utf8')));
      },
      chunks: entry.chunks,
      tokens: entry.tokens ? [entry.tokens[0] ?? undefined, entry.tokens[1]] : undefined,
      backend: entry.backend,
      model: entry.model,
    };
  }

  #evict(dbs: Databases): void {
    const excess = dbs.count - this.options.maxEntries;
    let removed = 0;
    for (const { key: orderKey } of dbs.order.getRange({ limit: Math.max(excess, EVICT_BATCH) })) {
      const [createdAt, key] = orderKey as [number, string];
      void dbs.order.remove(orderKey as [number, string]);
      const entry = this.#pending.get(key) ?? dbs.entries.get(key);
      // An entry rewritten since has a newer order record: keep it.
      if (entry && entry.createdAt === createdAt) {
        this.#pending.delete(key);
        void dbs.entries.remove(key);
        removed++;
      }
      if (removed >= excess) break;
    }
    // Puts faster than LMDB's commits are not in the committed order yet: the oldest of those go next.
    for (const [key, entry] of this.#pending) {
      if (removed >= excess) break;
      this.#pending.delete(key);
      void dbs.order.remove([entry.createdAt, key]);
      void dbs.entries.remove(key);
      removed++;
    }
    dbs.count -= removed;
  }

  #open(): Databases | undefined {
    const root = this.store();
    if (!root) return undefined;
    if (this.#dbs?.root === root) return this.#dbs;
    const entries = openCacheDb(root);
    const order = root.openDB<null, [number, string]>({ name: ORDER_DB_NAME, encoding: 'msgpack' });
    this.#dbs = { root, entries, order, count: cacheEntryCount(entries) };
    return this.#dbs;
  }
}
