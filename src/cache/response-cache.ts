import type { Database, RootDatabase } from 'lmdb';
import { StoredAnswer, type CompletedAnswer } from './answer.js';
import { reportedTokens } from '../gateway/usage.js';
import { CACHE_ENTRY_VERSION, LEGACY_CACHE_DB_NAMES, type CacheEntry } from './types.js';
import { generationDbName, openGenerationDbs, openSealedIndexDb, storedGenerations } from '../workers/cache-db.js';
import { Generation, GENERATIONS, generationSize, loadSealedIndex, sealedIndex, takeTag } from './generation.js';
import { KeyIndex } from './key-index.js';
import { parseRecordKey, recordKey } from './record-key.js';

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

/** Entries read from LMDB kept decoded in memory (the latest reads): about 1 MB for 1 KB answers. */
const HOT_ENTRIES = 1_000;

export interface ResponseCacheOptions {
  maxEntries: number;
  now?: () => number;
  /** Default CACHE_WRITE_DELAY_MS. */
  writeDelayMs?: number;
  /** Entries read from LMDB kept decoded in memory; default HOT_ENTRIES. */
  hotEntries?: number;
}

interface Databases {
  root: RootDatabase;
  /** Oldest first; writes go to the last (generation.ts). */
  gens: Generation[];
  /** The ring of generation dbs, by slot (src/workers/cache-db.ts). */
  slots: Database<CacheEntry, string>[];
  /** The slot the next generation takes: the one after the newest's. */
  nextSlot: number;
  /** The full generations' indexes, by slot (generation.ts `sealedIndex`). */
  sealed: Database<Buffer, number>;
  /**
   * Records stored, pending or waiting, in every generation: live, replaced and expired alike, since
   * each takes space until its generation is dropped.
   */
  count: number;
  /** Records one generation holds. */
  genSize: number;
  /** The next record's sequence. */
  nextSeq: number;
}

/**
 * The exact-match response cache, in the LMDB environment the store actor owns (and the worker pool
 * reads). Records are written in order (record-key.ts) into generations (generation.ts), each in one
 * slot of a ring of LMDB databases; when the cache is full the oldest generation is dropped whole.
 * Which record holds a key is kept in memory, per generation (key-index.ts): a miss reads nothing, a
 * hit one record.
 *
 * Writes are not awaited: they wait up to `writeDelayMs` for others and go to LMDB together, one
 * commit off the response path (`flush` sends them at once; the store actor calls it before it closes
 * the store). An expired entry, or one written again since, is never served; its record stays until
 * its generation is dropped, so the bound counts every record.
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
  #evicted = 0;

  constructor(
    private readonly store: () => RootDatabase | undefined,
    private readonly options: ResponseCacheOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.#writeDelayMs = options.writeDelayMs ?? CACHE_WRITE_DELAY_MS;
    this.#hotEntries = Math.max(1, options.hotEntries ?? HOT_ENTRIES);
  }

  /**
   * Opens the cache on the store now, not on the first request: building the key indexes reads each
   * full generation's stored index and the newest generation's record keys (117 ms for 100,000
   * entries, page cache warm; generation.ts). Nothing while the store is down; otherwise the first use
   * opens it.
   */
  open(): void {
    this.#open();
  }

  /** The live entry for `key`, if any. */
  get(key: string): CacheEntry | undefined {
    const dbs = this.#open();
    if (!dbs) return undefined;
    const tag = KeyIndex.tag(key);
    const gens = dbs.gens;
    for (let i = gens.length - 1; i >= 0; i--) {
      const gen = gens[i]!;
      const seq = gen.index.seqOf(tag);
      if (seq === undefined) continue;
      const record = recordKey(seq, key);
      // None under this record key: the tag was another key's (key-index.ts).
      const entry = this.#queued.get(record) ?? this.#pending.get(record) ?? this.#hot.get(record) ?? this.#coldRead(gen, record);
      if (!entry) return undefined;
      // Expired: a miss, and nothing else changes. The key stays indexed to this record and the record
      // stays (a waiting one is written all the same), as a restart would find them: were either
      // dropped, the key's older record, which this one replaced, could be indexed and served again
      // (props/response-cache.prop.ts).
      if (entry.v !== CACHE_ENTRY_VERSION || entry.expiresAt <= this.#now()) return undefined;
      return entry;
    }
    return undefined;
  }

  /** Reads LMDB, and keeps what it found among the hot entries (the oldest of them makes room). */
  #coldRead(gen: Generation, record: string): CacheEntry | undefined {
    const entry = gen.db.get(record);
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
    const tag = KeyIndex.tag(key);
    // The key's previous record leaves the index (one generation holds a key's tag): one still waiting
    // is dropped unwritten, a stored one stays until its generation goes.
    for (let i = dbs.gens.length - 1; i >= 0; i--) {
      const gen = dbs.gens[i]!;
      const previous = gen.index.seqOf(tag);
      if (previous === undefined) continue;
      gen.index.delete(tag, previous);
      if (this.#queued.delete(recordKey(previous, key))) {
        gen.count--;
        dbs.count--;
      }
      break;
    }
    const gen = this.#room(dbs);
    const seq = dbs.nextSeq++;
    gen.index.set(tag, seq);
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
    gen.count++;
    dbs.count++;
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
    // Every waiting write is the newest generation's: a new one starts only after they went (#room).
    const db = dbs.gens.at(-1)?.db;
    if (batch.size === 0 || db === undefined) return Promise.resolve();
    this.#queued = new Map();
    let committed: Promise<unknown> = Promise.resolve();
    try {
      for (const [record, entry] of batch) {
        this.#pending.set(record, entry);
        committed = db.put(record, entry);
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

  /** Records stored (approximately, between commits): live entries, and those expired or replaced until their generation goes. */
  get size(): number {
    return this.#open()?.count ?? 0;
  }

  /** Records evicted since this cache was made (whole generations, at the bound). */
  get evicted(): number {
    return this.#evicted;
  }

  /** As a completed answer, for replay. */
  static toAnswer(entry: CacheEntry): CompletedAnswer {
    const body = Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength);
    const tokens: CompletedAnswer['tokens'] = entry.tokens ? [entry.tokens[0] ?? undefined, entry.tokens[1]] : undefined;
    return new StoredAnswer(200, body, entry.chunks, entry.backend, entry.model, tokens);
  }

  /**
   * The generation the next record goes to. The bound first: while the cache holds `maxEntries`
   * records, its oldest generation is dropped. Then a new generation when the newest is full, after
   * the writes waiting for the newest have been handed to LMDB, in the next slot of the ring (its
   * generation, the oldest, is dropped first if it still holds one).
   */
  #room(dbs: Databases): Generation {
    while (dbs.count >= this.options.maxEntries && dbs.gens.length > 0) this.#dropOldest(dbs);
    const newest = dbs.gens.at(-1);
    if (newest !== undefined && newest.count < dbs.genSize) return newest;
    if (newest !== undefined) {
      void this.#write(dbs);
      // Full, and written to no more: its index is stored for the next open, after its records.
      dbs.sealed.put(newest.slot, sealedIndex(newest)).catch(ignoreClosed);
    }
    const slot = dbs.nextSlot;
    while (dbs.gens.some((gen) => gen.slot === slot)) this.#dropOldest(dbs);
    dbs.nextSlot = (slot + 1) % GENERATIONS;
    const gen = new Generation(slot, dbs.nextSeq, dbs.slots[slot]!);
    dbs.gens.push(gen);
    return gen;
  }

  /**
   * Drops the oldest generation: its index at once, its records when LMDB empties its slot in the next
   * commit (after any of its writes still on their way, and before the next generation's writes to
   * that slot). What is left of it in `#pending` and `#hot` is no longer reachable through an index,
   * and goes with their own turnover.
   */
  #dropOldest(dbs: Databases): void {
    const gen = dbs.gens.shift()!;
    dbs.count -= gen.count;
    this.#evicted += gen.count;
    // The newest generation went (the bound is lower than one generation): its waiting writes with it.
    if (dbs.gens.length === 0) this.#queued.clear();
    gen.db.clearAsync().catch(ignoreClosed);
    dbs.sealed.remove(gen.slot).catch(ignoreClosed);
  }

  #open(): Databases | undefined {
    const root = this.store();
    if (!root) return undefined;
    if (this.#dbs?.root === root) return this.#dbs;
    this.#forget();
    dropLegacyDbs(root);
    // Every generation's index, oldest first, so a key's newest record wins: a newer generation takes
    // the tag from the older ones. A full generation's stored index is read whole; the newest one's is
    // not kept (writes may go on there), so its records are read one by one.
    const slots = openGenerationDbs(root) as Database<CacheEntry, string>[];
    const sealed = openSealedIndexDb(root);
    const held = storedGenerations(slots);
    const gens: Generation[] = [];
    let count = 0;
    let nextSeq = 0;
    for (const [i, [slot, firstSeq]] of held.entries()) {
      const gen = new Generation(slot, firstSeq, slots[slot]!);
      const stored = i < held.length - 1 ? sealed.getBinary(slot) : undefined;
      if (stored === undefined || !loadSealedIndex(gen, stored, gens)) {
        for (const record of gen.db.getKeys()) {
          const parsed = parseRecordKey(record);
          if (!parsed) continue;
          const [seq, key] = parsed;
          const tag = KeyIndex.tag(key);
          takeTag(gens, tag);
          gen.index.set(tag, seq);
          gen.count++;
          nextSeq = Math.max(nextSeq, seq + 1);
        }
      }
      count += gen.count;
      gens.push(gen);
    }
    // Indexes of slots that hold no full generation now (emptied, or the newest, which may be written to again).
    const full = new Set(gens.slice(0, -1).map((gen) => gen.slot));
    for (const slot of sealed.getKeys()) if (!full.has(slot)) sealed.remove(slot).catch(ignoreClosed);
    const nextSlot = gens.length > 0 ? (gens.at(-1)!.slot + 1) % GENERATIONS : 0;
    const dbs: Databases = { root, gens, slots, nextSlot, sealed, count, genSize: generationSize(this.options.maxEntries), nextSeq };
    // A store filled under a higher bound comes down to this one.
    while (dbs.count > this.options.maxEntries) this.#dropOldest(dbs);
    this.#dbs = dbs;
    return dbs;
  }
}

/** A write that failed because the store closed first: what it would have removed or kept is sorted out at the next open. */
function ignoreClosed(): void {}

/** lmdb-js's `status` of an environment: 'closing' from `close()` on, then 'closed'. */
function isClosing(root: RootDatabase): boolean {
  const status = (root as { status?: string }).status;
  return status === 'closing' || status === 'closed';
}

/**
 * Databases of earlier layouts (types.ts), and generation dbs named otherwise than the ring's: dropped
 * when the cache opens, so an upgraded store starts its cache afresh instead of carrying dead pages.
 */
function dropLegacyDbs(root: RootDatabase): void {
  const ring = new Set(Array.from({ length: GENERATIONS }, (_, slot) => generationDbName(slot)));
  const stray: string[] = [];
  // The main db's keys are the named databases' names ('.' sorts right after '-').
  for (const name of root.getKeys({ start: 'cache-gen-', end: 'cache-gen.' })) if (typeof name === 'string' && !ring.has(name)) stray.push(name);
  for (const name of [...LEGACY_CACHE_DB_NAMES, ...stray]) {
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
