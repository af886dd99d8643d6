import type { Database, RootDatabase } from 'lmdb';
import { StoredAnswer, type CompletedAnswer } from './answer.js';
import { reportedTokens } from '../gateway/usage.js';
import { CACHE_ENTRY_VERSION, type CacheEntry } from './types.js';
import { openCacheDb } from '../workers/cache-db.js';
import { KeyFilter } from './key-filter.js';

/** Order of insertion, for eviction: [createdAt, key] → null. */
const ORDER_DB_NAME = 'cache-order';
/** How many of the oldest entries one eviction pass removes past `maxEntries`. */
const EVICT_BATCH = 64;
/**
 * How long a written answer waits for others before they go to LMDB together, in one commit. Each
 * commit wakes LMDB's write thread and writes its pages: one commit per answer cost ≈ 300–400 µs of
 * CPU per request at c=1 (bench:ab, cache+dedupe+limits, put disabled vs enabled); batching them
 * every 20 ms measured 0.62× at c=1 and 0.85× at c=50. 100 ms against 20 ms: 0.92× at c=50 and 0.90×
 * at c=1, though a second c=1 run (250 against 20 ms) showed no change; 250 against 20 ms at c=500:
 * 0.86×, with peak RSS 244 → 266 MiB, so the delay trades memory under load for fewer commits.
 * What waits is read from memory meanwhile; a crash loses at most this much of the cache's newest writes.
 */
export const CACHE_WRITE_DELAY_MS = 100;
/** Past this many waiting writes they go at once, whatever the delay (bounds the memory they hold). */
const MAX_QUEUED_WRITES = 1_000;

export interface ResponseCacheOptions {
  maxEntries: number;
  now?: () => number;
  /** Default CACHE_WRITE_DELAY_MS. */
  writeDelayMs?: number;
}

interface Databases {
  root: RootDatabase;
  entries: Database<CacheEntry, string>;
  order: Database<null, [number, string]>;
  count: number;
  /** The keys stored, queued or pending: a miss is known without reading LMDB. */
  keys: KeyFilter;
}

/**
 * The exact-match response cache, in the LMDB environment the store actor owns (and
 * the worker pool reads). Writes are not awaited: they wait up to `writeDelayMs` for
 * others and go to LMDB together, one commit off the response path (`flush` sends them
 * at once; the store actor calls it before it closes the store). Expired entries are never served and
 * are removed when met; past `maxEntries` the oldest are evicted. When the store is down
 * (restarting), the cache misses and stores nothing rather than failing requests.
 */
export class ResponseCache {
  #dbs: Databases | undefined;
  /** Entries written and waiting for the next flush (not handed to LMDB yet). */
  #queued = new Map<string, CacheEntry>();
  /** Insertion-order records of entries the queued ones replace: removed at the next flush. */
  #replacedOrder: [number, string][] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  /**
   * Entries handed to LMDB but not yet committed: LMDB reads do not see an uncommitted write, and
   * an identical request can arrive before the batch commits. Read-your-writes, in process.
   */
  readonly #pending = new Map<string, CacheEntry>();
  readonly #now: () => number;
  readonly #writeDelayMs: number;

  constructor(
    private readonly store: () => RootDatabase | undefined,
    private readonly options: ResponseCacheOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.#writeDelayMs = options.writeDelayMs ?? CACHE_WRITE_DELAY_MS;
  }

  /**
   * Opens the cache on the store now, not on the first request: building the key filter reads every
   * stored key (≈ 80 ms for 100,000 entries, ≈ 330 ms on a cold start). Nothing while the store is down;
   * otherwise the first use opens it.
   */
  open(): void {
    this.#open();
  }

  /** The live entry for `key`, if any. */
  get(key: string): CacheEntry | undefined {
    const dbs = this.#open();
    if (!dbs) return undefined;
    const entry = this.#queued.get(key) ?? this.#pending.get(key) ?? (dbs.keys.mayHold(key) ? dbs.entries.get(key) : undefined);
    if (!entry) return undefined;
    if (entry.v !== CACHE_ENTRY_VERSION || entry.expiresAt <= this.#now()) {
      dbs.keys.remove(key);
      if (this.#queued.get(key) === entry) {
        // Never handed to LMDB: nothing stored to remove.
        this.#queued.delete(key);
        dbs.count = Math.max(0, dbs.count - 1);
        return undefined;
      }
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
    const queued = this.#queued.get(key);
    const previous = queued ?? this.#pending.get(key) ?? (dbs.keys.mayHold(key) ? dbs.entries.get(key) : undefined);
    // A stored entry's insertion-order record goes with it (one still queued has none yet).
    if (previous && !queued) this.#replacedOrder.push([previous.createdAt, key]);
    if (!previous) {
      dbs.count++;
      dbs.keys.add(key);
    }
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
    if (queued) this.#queued.delete(key); // re-inserted last: the queue stays in insertion order
    this.#queued.set(key, entry);
    if (dbs.count > this.options.maxEntries) this.#evict(dbs);
    if (this.#queued.size >= MAX_QUEUED_WRITES) void this.#write(dbs);
    else this.#flushTimer ??= setTimeout(this.#onFlushTimer, this.#writeDelayMs);
  }

  /** Hands every waiting write to LMDB now; resolves when they are committed. */
  flush(): Promise<void> {
    const dbs = this.#dbs;
    if (!dbs || dbs.root !== this.store()) {
      // The store went away (or was replaced): what waits for it is dropped, and what was opened on it
      // (its count, its key filter) is rebuilt from the next store.
      this.#forget();
      return Promise.resolve();
    }
    return this.#write(dbs);
  }

  readonly #onFlushTimer = (): void => {
    this.#flushTimer = undefined;
    void this.flush();
  };

  /** The waiting writes, in one event turn (so in one LMDB commit). */
  #write(dbs: Databases): Promise<void> {
    if (this.#flushTimer !== undefined) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    const batch = this.#queued;
    if (batch.size === 0 && this.#replacedOrder.length === 0) return Promise.resolve();
    this.#queued = new Map();
    for (const orderKey of this.#replacedOrder) void dbs.order.remove(orderKey);
    this.#replacedOrder = [];
    let committed: Promise<unknown> = Promise.resolve();
    try {
      for (const [key, entry] of batch) {
        this.#pending.set(key, entry);
        committed = dbs.entries.put(key, entry);
        void dbs.order.put([entry.createdAt, key], null);
      }
    } catch (error) {
      // Closed under us (the store stopped without this cache being told): the batch is lost, as a
      // write to a closed store would be; requests go on uncached rather than failing.
      this.#committed(batch);
      if ((dbs.root as { status?: string }).status === 'open') throw error;
      return Promise.resolve();
    }
    // One batch commits together: when its last write has, every one of them has.
    return committed.then(
      () => this.#committed(batch),
      () => this.#committed(batch),
    );
  }

  #committed(batch: Map<string, CacheEntry>): void {
    for (const [key, entry] of batch) if (this.#pending.get(key) === entry) this.#pending.delete(key);
  }

  /**
   * Everything tied to a store that has gone (closed, or restarted): waiting writes are dropped, like
   * writes to a closed store, and the databases, count and key filter are opened again on the next.
   */
  #forget(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#queued.clear();
    this.#replacedOrder = [];
    this.#pending.clear();
    this.#dbs = undefined;
  }

  /** Entries stored (approximately, between commits). */
  get size(): number {
    return this.#open()?.count ?? 0;
  }

  /** As a completed answer, for replay. */
  static toAnswer(entry: CacheEntry): CompletedAnswer {
    const body = Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength);
    const tokens: CompletedAnswer['tokens'] = entry.tokens ? [entry.tokens[0] ?? undefined, entry.tokens[1]] : undefined;
    return new StoredAnswer(200, body, entry.chunks, entry.backend, entry.model, tokens);
  }

  #evict(dbs: Databases): void {
    // Down to 1% below the bound, so a full cache evicts (one LMDB commit) every maxEntries/100 puts, not on each.
    const excess = dbs.count - (this.options.maxEntries - Math.floor(this.options.maxEntries / 100));
    let removed = 0;
    for (const { key: orderKey } of dbs.order.getRange({ limit: Math.max(excess, EVICT_BATCH) })) {
      if (removed >= excess) break;
      const [createdAt, key] = orderKey as [number, string];
      void dbs.order.remove(orderKey as [number, string]);
      const entry = this.#queued.get(key) ?? this.#pending.get(key) ?? dbs.entries.get(key);
      // An entry rewritten since has a newer order record: keep it.
      if (entry && entry.createdAt === createdAt) {
        this.#pending.delete(key);
        void dbs.entries.remove(key);
        dbs.keys.remove(key);
        removed++;
      }
    }
    // Puts faster than LMDB's commits are not in the committed order yet: the oldest of those go next.
    for (const [key, entry] of this.#pending) {
      if (removed >= excess) break;
      this.#pending.delete(key);
      void dbs.order.remove([entry.createdAt, key]);
      void dbs.entries.remove(key);
      dbs.keys.remove(key);
      removed++;
    }
    // Then those still waiting for their write; one that replaces a stored entry takes that with it.
    for (const key of this.#queued.keys()) {
      if (removed >= excess) break;
      this.#queued.delete(key);
      void dbs.entries.remove(key);
      dbs.keys.remove(key);
      removed++;
    }
    dbs.count -= removed;
  }

  #open(): Databases | undefined {
    const root = this.store();
    if (!root) return undefined;
    if (this.#dbs?.root === root) return this.#dbs;
    this.#forget();
    const entries = openCacheDb(root);
    const order = root.openDB<null, [number, string]>({ name: ORDER_DB_NAME, encoding: 'msgpack' });
    // Every stored key into the filter (the shared-structures record is not an entry).
    const keys = new KeyFilter();
    for (const key of entries.getKeys()) if (typeof key === 'string') keys.add(key);
    this.#dbs = { root, entries, order, count: keys.size, keys };
    return this.#dbs;
  }
}
