import type { Database, RootDatabase } from 'lmdb';
import { StoredAnswer, type CompletedAnswer } from './answer.js';
import { reportedTokens } from '../gateway/usage.js';
import { CACHE_ENTRY_VERSION, LEGACY_CACHE_DB_NAMES, type CacheEntry } from './types.js';
import { openCacheDb } from '../workers/cache-db.js';
import { KeyIndex } from './key-index.js';
import { parseRecordKey, recordKey, seqBound } from './record-key.js';

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

/**
 * Most records one eviction pass removes. A store opened with a lower `maxEntries` than it was filled
 * with is brought down over the next puts, this many at a time, instead of in one pass that would hold
 * the event loop for seconds (one removal costs a few µs of main-thread time).
 */
const MAX_EVICT_PER_PASS = 10_000;

/** Entries read from LMDB kept decoded in memory (the latest reads): about 1 MB for 1 KB answers. */
const HOT_ENTRIES = 1_000;

export interface ResponseCacheOptions {
  maxEntries: number;
  now?: () => number;
  /** Default CACHE_WRITE_DELAY_MS. */
  writeDelayMs?: number;
  /** Entries read from LMDB kept decoded in memory; default HOT_ENTRIES. */
  hotEntries?: number;
  /** Most records one eviction pass removes; default MAX_EVICT_PER_PASS. */
  maxEvictPerPass?: number;
}

interface Databases {
  root: RootDatabase;
  /** The entries, keyed by record key (record-key.ts): in write order. */
  records: Database<CacheEntry, string>;
  /**
   * Records stored, pending or waiting: live, replaced and expired alike, since each takes space
   * until eviction removes it.
   */
  count: number;
  /** Each key's newest record. */
  index: KeyIndex;
  /** The next record's sequence. */
  nextSeq: number;
  /** Every record before this sequence has been evicted (its removal may not have committed yet). */
  evictedBelow: number;
}

/**
 * The exact-match response cache, in the LMDB environment the store actor owns (and the worker pool
 * reads). Records are written in order (record-key.ts) and removed only by eviction, oldest first, so
 * LMDB appends at one end and deletes at the other. Which record holds a key is kept in memory
 * (key-index.ts): a miss reads nothing, a hit one record.
 *
 * Writes are not awaited: they wait up to `writeDelayMs` for others and go to LMDB together, one
 * commit off the response path (`flush` sends them at once; the store actor calls it before it closes
 * the store). An expired entry, or one written again since, is never served; its record stays until
 * eviction reaches it (past `maxEntries` the oldest records go), so the bound counts every record.
 * When the store is down (restarting), the cache misses and stores nothing rather than failing requests.
 */
export class ResponseCache {
  #dbs: Databases | undefined;
  /** Records written and waiting for the next flush (not handed to LMDB yet), by record key, in write order. */
  #queued = new Map<string, CacheEntry>();
  #flushTimer: NodeJS.Timeout | undefined;
  /**
   * Records handed to LMDB but not yet committed: LMDB reads do not see an uncommitted write, and
   * an identical request can arrive before the batch commits. Read-your-writes, in process.
   */
  readonly #pending = new Map<string, CacheEntry>();
  /**
   * The entries last read from LMDB, by record key: the latest `hotEntries` reads, first in first out
   * (`#hotOrder` is a ring of their record keys; no Map iteration, see dedupe/registry.ts). A record
   * never changes once written (a rewrite is a new record), so a copy here is as good as the stored
   * one; expiry is checked on every read all the same. A hit from here skips LMDB's read and msgpack's
   * decode, about 6% of a cache hit's CPU (profile of the cache-hit bench).
   */
  readonly #hot = new Map<string, CacheEntry>();
  readonly #hotOrder: (string | undefined)[] = [];
  #hotNext = 0;
  readonly #hotEntries: number;
  readonly #now: () => number;
  readonly #writeDelayMs: number;

  constructor(
    private readonly store: () => RootDatabase | undefined,
    private readonly options: ResponseCacheOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.#writeDelayMs = options.writeDelayMs ?? CACHE_WRITE_DELAY_MS;
    this.#hotEntries = Math.max(1, options.hotEntries ?? HOT_ENTRIES);
  }

  /**
   * Opens the cache on the store now, not on the first request: building the key index reads every
   * stored record key (≈ 80 ms for 100,000 entries, ≈ 330 ms on a cold start). Nothing while the store
   * is down; otherwise the first use opens it.
   */
  open(): void {
    this.#open();
  }

  /** The live entry for `key`, if any. */
  get(key: string): CacheEntry | undefined {
    const dbs = this.#open();
    if (!dbs) return undefined;
    const seq = dbs.index.seqOf(key);
    if (seq === undefined) return undefined;
    const record = recordKey(seq, key);
    // None under this record key: the tag was another key's (key-index.ts).
    const entry = this.#queued.get(record) ?? this.#pending.get(record) ?? this.#hot.get(record) ?? this.#coldRead(dbs, record);
    if (!entry) return undefined;
    if (entry.v !== CACHE_ENTRY_VERSION || entry.expiresAt <= this.#now()) {
      dbs.index.delete(key, seq);
      this.#hot.delete(record);
      // Never handed to LMDB: nothing to write or evict. A stored record waits for eviction.
      if (this.#queued.delete(record)) dbs.count--;
      return undefined;
    }
    return entry;
  }

  /** Reads LMDB, and keeps what it found among the hot entries (the oldest of them makes room). */
  #coldRead(dbs: Databases, record: string): CacheEntry | undefined {
    const entry = dbs.records.get(record);
    if (entry !== undefined) {
      const oldest = this.#hotOrder[this.#hotNext];
      if (oldest !== undefined) this.#hot.delete(oldest);
      this.#hotOrder[this.#hotNext] = record;
      this.#hotNext = (this.#hotNext + 1) % this.#hotEntries;
      this.#hot.set(record, entry);
    }
    return entry;
  }

  /** Stores a completed answer under `key` for `ttlMs`. */
  put(key: string, answer: CompletedAnswer, endpoint: CacheEntry['endpoint'], ttlMs: number): void {
    const dbs = this.#open();
    if (!dbs) return;
    const now = this.#now();
    const previous = dbs.index.seqOf(key);
    // A rewrite before the previous one was written replaces it unwritten; a stored one waits for eviction.
    if (previous !== undefined && this.#queued.delete(recordKey(previous, key))) dbs.count--;
    const seq = dbs.nextSeq++;
    dbs.index.set(key, seq);
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
    this.#queued.set(recordKey(seq, key), entry);
    dbs.count++;
    if (dbs.count > this.options.maxEntries) this.#evict(dbs);
    if (this.#queued.size >= MAX_QUEUED_WRITES) void this.#write(dbs);
    else this.#flushTimer ??= setTimeout(this.#onFlushTimer, this.#writeDelayMs);
  }

  /** Hands every waiting write to LMDB now; resolves when they are committed. */
  flush(): Promise<void> {
    const dbs = this.#dbs;
    if (!dbs || dbs.root !== this.store() || isClosing(dbs.root)) {
      // The store went away (closed, or replaced): what waits for it is dropped (lmdb-js would throw
      // from a later event turn for a write to a closed store), and what was opened on it (its count,
      // its key index) is rebuilt from the next store.
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
    if (batch.size === 0) return Promise.resolve();
    this.#queued = new Map();
    let committed: Promise<unknown> = Promise.resolve();
    try {
      for (const [record, entry] of batch) {
        this.#pending.set(record, entry);
        committed = dbs.records.put(record, entry);
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
    for (const [record, entry] of batch) if (this.#pending.get(record) === entry) this.#pending.delete(record);
  }

  /**
   * Everything tied to a store that has gone (closed, or restarted): waiting writes are dropped, like
   * writes to a closed store, and the databases, count and key index are opened again on the next.
   */
  #forget(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#queued.clear();
    this.#pending.clear();
    this.#hot.clear();
    this.#hotOrder.length = 0;
    this.#hotNext = 0;
    this.#dbs = undefined;
  }

  /** Records stored (approximately, between commits): live entries, and those expired or replaced until evicted. */
  get size(): number {
    return this.#open()?.count ?? 0;
  }

  /** As a completed answer, for replay. */
  static toAnswer(entry: CacheEntry): CompletedAnswer {
    const body = Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength);
    const tokens: CompletedAnswer['tokens'] = entry.tokens ? [entry.tokens[0] ?? undefined, entry.tokens[1]] : undefined;
    return new StoredAnswer(200, body, entry.chunks, entry.backend, entry.model, tokens);
  }

  /**
   * Removes the oldest records, down to 1% below the bound, so a full cache evicts (one LMDB commit)
   * every maxEntries/100 puts, not on each: the committed ones from where the last eviction stopped,
   * then those handed to LMDB but not committed (puts faster than commits), then those still waiting.
   * At most `maxEvictPerPass` records a pass: a larger excess goes over the next puts.
   */
  #evict(dbs: Databases): void {
    const target = this.options.maxEntries - Math.floor(this.options.maxEntries / 100);
    const excess = Math.min(dbs.count - target, this.options.maxEvictPerPass ?? MAX_EVICT_PER_PASS);
    let removed = 0;
    const evict = (record: string): void => {
      const parsed = parseRecordKey(record);
      if (!parsed) return;
      const [seq, key] = parsed;
      dbs.index.delete(key, seq);
      this.#pending.delete(record);
      this.#hot.delete(record);
      if (!this.#queued.delete(record)) void dbs.records.remove(record);
      dbs.evictedBelow = Math.max(dbs.evictedBelow, seq + 1);
      removed++;
    };
    for (const record of dbs.records.getKeys({ start: seqBound(dbs.evictedBelow), limit: excess })) evict(record);
    for (const record of this.#pending.keys()) {
      if (removed >= excess) break;
      evict(record);
    }
    for (const record of this.#queued.keys()) {
      if (removed >= excess) break;
      evict(record);
    }
    dbs.count -= removed;
  }

  #open(): Databases | undefined {
    const root = this.store();
    if (!root) return undefined;
    if (this.#dbs?.root === root) return this.#dbs;
    this.#forget();
    dropLegacyDbs(root);
    const records = openCacheDb(root);
    // Every record into the index, oldest first, so a key's newest record wins (the shared-structures
    // record is not an entry).
    const index = new KeyIndex();
    let count = 0;
    let last = -1;
    for (const record of records.getKeys()) {
      const parsed = parseRecordKey(record);
      if (!parsed) continue;
      index.set(parsed[1], parsed[0]);
      count++;
      last = parsed[0];
    }
    // Eviction starts its range read at the first record there is, wherever that is.
    this.#dbs = { root, records, count, index, nextSeq: last + 1, evictedBelow: 0 };
    return this.#dbs;
  }
}

/** lmdb-js's `status` of an environment: 'closing' from `close()` on, then 'closed'. */
function isClosing(root: RootDatabase): boolean {
  const status = (root as { status?: string }).status;
  return status === 'closing' || status === 'closed';
}

/**
 * The layout before records were kept in write order (`cache`, keyed by request key, and `cache-order`,
 * its insertion order): dropped when the cache opens, so an upgraded store starts its cache afresh
 * instead of carrying dead pages.
 */
function dropLegacyDbs(root: RootDatabase): void {
  for (const name of LEGACY_CACHE_DB_NAMES) {
    let db: Database | undefined;
    try {
      // `create: false` (lmdb-js's, missing from its types): no database is made when there is none.
      db = root.openDB({ name, create: false } as { name: string }) as Database | undefined;
    } catch {
      db = undefined; // lmdb-js versions that throw "Database not found" instead
    }
    if (db) void db.drop();
  }
}
