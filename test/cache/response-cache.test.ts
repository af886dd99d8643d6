import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CompletedAnswer } from '../../src/cache/answer.js';
import { ResponseCache } from '../../src/cache/response-cache.js';
import { openStore } from '../../src/store/open-store.js';
import { CACHE_ENTRY_VERSION, LEGACY_CACHE_DB_NAMES, type CacheEntry } from '../../src/cache/types.js';
import { generationDbName, openGenerationDb, openGenerationDbs, openSealedIndexDb, SEALED_INDEX_DB_NAME, storedGenerations } from '../../src/workers/cache-db.js';
import { generationSize } from '../../src/cache/generation.js';
import { KeyIndex } from '../../src/cache/key-index.js';
import { parseRecordKey, recordKey } from '../../src/cache/record-key.js';

/** The generations stored in `root`, oldest first: their slot's db. */
function generations(root: RootDatabase): Database<CacheEntry, string>[] {
  const slots = openGenerationDbs(root, false);
  return storedGenerations(slots).map(([slot]) => slots[slot]!);
}

/** The first record's sequence of each generation stored in `root`, oldest first. */
function generationFirstSeqs(root: RootDatabase): number[] {
  return storedGenerations(openGenerationDbs(root, false)).map(([, first]) => first);
}

/** Records stored in `db`, in LMDB's order, as [sequence, request key] (its shared-structures record left out). */
function recordsOf(db: Database<CacheEntry, string>): [number, string][] {
  const found: [number, string][] = [];
  for (const key of db.getKeys()) {
    const parsed = parseRecordKey(key);
    if (parsed) found.push(parsed);
    else expect(typeof key).not.toBe('string'); // nothing else is stored there
  }
  return found;
}

/** Records stored in every generation of `root`, oldest first. */
function records(root: RootDatabase): [number, string][] {
  return generations(root).flatMap(recordsOf);
}

/** The stored entry of `key`'s newest record. */
function stored(root: RootDatabase, key: string): CacheEntry | undefined {
  for (const db of generations(root).reverse()) {
    const newest = recordsOf(db).filter(([, k]) => k === key).at(-1);
    if (newest) return db.get(recordKey(newest[0], key));
  }
  return undefined;
}

/** Two different keys with the same 30-bit tag, found by search. */
function collidingKeys(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; i <= 1_000_000; i++) {
    const key = `v1:key-${i}`;
    const other = seen.get(KeyIndex.tag(key));
    if (other !== undefined) return [other, key];
    seen.set(KeyIndex.tag(key), key);
  }
  throw new Error('no colliding pair found');
}

const answer = (n: number): CompletedAnswer => ({
  status: 200,
  body: Buffer.from(JSON.stringify({ n })),
  value: { n },
  chunks: undefined,
  backend: 'b',
  model: 'b/m',
});

describe('ResponseCache', () => {
  const dirs: string[] = [];
  const dbs: RootDatabase[] = [];
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function open(): RootDatabase {
    const dir = mkdtempSync(join(tmpdir(), 'response-cache-'));
    dirs.push(dir);
    const db = openStore({ path: dir, mapSizeBytes: 64 * 1024 * 1024 });
    dbs.push(db);
    return db;
  }

  it('regression: reads its own writes before LMDB commits them (an identical request can come right after)', () => {
    const db = open();
    const cache = new ResponseCache(() => db, { maxEntries: 10 });
    cache.put('k', answer(1), 'chat.completions', 60_000);
    expect(ResponseCache.toAnswer(cache.get('k')!).value).toEqual({ n: 1 });
  });

  it('never serves an expired entry', async () => {
    const db = open();
    let now = 1_000;
    const cache = new ResponseCache(() => db, { maxEntries: 10, now: () => now });
    cache.put('k', answer(1), 'chat.completions', 500);
    await cache.flush();
    now = 1_499;
    expect(cache.get('k')).toBeDefined();
    now = 1_500;
    expect(cache.get('k')).toBeUndefined();
  });

  // Regression (seen as a flaky `evicts the oldest entries past cache.maxEntries` under load): eviction
  // read only the committed insertion order, so puts faster than LMDB's commits were never evicted.
  it('evicts the oldest past maxEntries even before LMDB has committed them', async () => {
    const db = open();
    let now = 0;
    const cache = new ResponseCache(() => db, { maxEntries: 3, now: () => ++now });
    for (const n of [1, 2, 3]) cache.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    const committed = cache.flush(); // handed to LMDB, not committed yet
    for (const n of [4, 5]) cache.put(`k${n}`, answer(n), 'chat.completions', 60_000); // still queued
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k2')).toBeUndefined();
    for (const n of [3, 4, 5]) expect(cache.get(`k${n}`)).toBeDefined();
    expect(cache.size).toBe(3);
    await committed;
    await cache.flush();
    expect(cache.get('k1')).toBeUndefined();
    for (const n of [3, 4, 5]) expect(cache.get(`k${n}`)).toBeDefined();
  });

  it('evicts the oldest past maxEntries', async () => {
    const db = open();
    let now = 0;
    const cache = new ResponseCache(() => db, { maxEntries: 2, now: () => ++now });
    for (const n of [1, 2, 3]) {
      cache.put(`k${n}`, answer(n), 'chat.completions', 60_000);
      await cache.flush();
    }
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k2')).toBeDefined();
    expect(cache.get('k3')).toBeDefined();
  });

  it('batches writes: one commit after the write delay, read from memory meanwhile, and `flush` sends them at once', async () => {
    const db = open();
    const cache = new ResponseCache(() => db, { maxEntries: 10, writeDelayMs: 30 });
    cache.put('a', answer(1), 'chat.completions', 60_000);
    cache.put('b', answer(2), 'chat.completions', 60_000);
    await db.flushed;
    // Nothing handed to LMDB yet: the writes wait for the delay, and are served from memory.
    expect(records(db)).toEqual([]);
    expect(ResponseCache.toAnswer(cache.get('b')!).value).toEqual({ n: 2 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await db.flushed;
    expect(ResponseCache.toAnswer(stored(db, 'a')!).value).toEqual({ n: 1 });
    expect(ResponseCache.toAnswer(stored(db, 'b')!).value).toEqual({ n: 2 });

    cache.put('c', answer(3), 'chat.completions', 60_000);
    await cache.flush();
    expect(ResponseCache.toAnswer(stored(db, 'c')!).value).toEqual({ n: 3 });
    expect(records(db)).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
  });

  it('keeps records in write order, each generation a run of them: LMDB appends at one end, and the oldest generation goes whole', async () => {
    const db = open();
    const cache = new ResponseCache(() => db, { maxEntries: 100 });
    // Keys in no particular order (hashes, in real use): the records are in write order all the same.
    const keys = Array.from({ length: 250 }, (_, n) => `v1:${((n * 7919) % 1000).toString(16)}-${n}`);
    for (const [n, key] of keys.entries()) {
      cache.put(key, answer(n), 'chat.completions', 60_000);
      if (n % 30 === 29) await cache.flush();
    }
    await cache.flush();
    await db.flushed;
    const held = records(db);
    expect(held.map(([seq]) => seq)).toEqual(Array.from({ length: held.length }, (_, i) => 250 - held.length + i));
    expect(held.map(([, key]) => key)).toEqual(keys.slice(250 - held.length));
    expect(held.length).toBe(cache.size);
    expect(held.length).toBeLessThanOrEqual(100);
    expect(held.length).toBeGreaterThan(100 - generationSize(100));
    // Each generation's db holds the run of records from its first sequence to the next one's.
    const firsts = generationFirstSeqs(db);
    for (const [i, gen] of generations(db).entries()) {
      const seqs = recordsOf(gen).map(([seq]) => seq);
      expect(seqs.length).toBeLessThanOrEqual(generationSize(100));
      expect(seqs.every((seq) => seq >= firsts[i]! && (i + 1 === firsts.length || seq < firsts[i + 1]!))).toBe(true);
    }
    for (const [n, key] of keys.entries()) {
      if (n < 250 - held.length) expect(cache.get(key)).toBeUndefined();
      else expect(ResponseCache.toAnswer(cache.get(key)!).value).toEqual({ n });
    }
  });

  it('a rewrite while queued replaces it unwritten; one after commit is served, and the old record stays until its generation goes', async () => {
    const db = open();
    let now = 0;
    const cache = new ResponseCache(() => db, { maxEntries: 3, now: () => ++now });
    cache.put('k', answer(1), 'chat.completions', 60_000);
    cache.put('k', answer(2), 'chat.completions', 60_000); // still queued
    await cache.flush();
    expect(records(db)).toEqual([[1, 'k']]);
    expect(cache.size).toBe(1);
    cache.put('k', answer(3), 'chat.completions', 60_000); // after a stored one
    await cache.flush();
    expect(ResponseCache.toAnswer(cache.get('k')!).value).toEqual({ n: 3 });
    expect(records(db)).toEqual([
      [1, 'k'],
      [2, 'k'],
    ]);
    expect(cache.size).toBe(2); // both records take space
    cache.put('x', answer(4), 'chat.completions', 60_000);
    cache.put('y', answer(5), 'chat.completions', 60_000); // over the bound: the oldest record, the replaced one, goes
    await cache.flush();
    await db.flushed;
    expect(records(db).map(([seq]) => seq)).toEqual([2, 3, 4]);
    expect(ResponseCache.toAnswer(cache.get('k')!).value).toEqual({ n: 3 });
  });

  it('an expired record is never served and stays counted until its generation goes', async () => {
    const db = open();
    let now = 1_000;
    const cache = new ResponseCache(() => db, { maxEntries: 2, now: () => now });
    cache.put('old', answer(1), 'chat.completions', 100);
    await cache.flush();
    now = 1_200;
    expect(cache.get('old')).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.put('old', answer(2), 'chat.completions', 60_000); // fetched again
    expect(ResponseCache.toAnswer(cache.get('old')!).value).toEqual({ n: 2 });
    cache.put('new', answer(3), 'chat.completions', 60_000); // over the bound: the expired record goes first
    await cache.flush();
    await db.flushed;
    expect(records(db)).toEqual([
      [1, 'old'],
      [2, 'new'],
    ]);
  });

  it('never serves one key’s entry for another whose tag collides; the later write wins the index', async () => {
    const db = open();
    const [a, b] = collidingKeys();
    const cache = new ResponseCache(() => db, { maxEntries: 10 });
    cache.put(a, answer(1), 'chat.completions', 60_000);
    cache.put(b, answer(2), 'chat.completions', 60_000);
    expect(cache.get(a)).toBeUndefined(); // a miss, never b's answer
    expect(ResponseCache.toAnswer(cache.get(b)!).value).toEqual({ n: 2 });
    await cache.flush();
    expect(cache.get(a)).toBeUndefined();
    expect(ResponseCache.toAnswer(cache.get(b)!).value).toEqual({ n: 2 });
    cache.put(a, answer(3), 'chat.completions', 60_000);
    expect(ResponseCache.toAnswer(cache.get(a)!).value).toEqual({ n: 3 });
    expect(cache.get(b)).toBeUndefined();
    expect(cache.size).toBe(3);
  });

  it('past maxEntries drops the oldest generation whole, so a full cache evicts once every maxEntries/8 puts', async () => {
    const db = open();
    let now = 0;
    const cache = new ResponseCache(() => db, { maxEntries: 200, now: () => ++now });
    const size = generationSize(200); // 25
    for (let n = 1; n <= 200; n++) cache.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    await cache.flush();
    expect(cache.size).toBe(200);
    expect(generationFirstSeqs(db)).toEqual([0, 25, 50, 75, 100, 125, 150, 175]);
    cache.put('k201', answer(201), 'chat.completions', 60_000);
    expect(cache.size).toBe(200 - size + 1); // k1…k25 went, their generation with them
    expect(cache.evicted).toBe(size);
    for (const n of [1, 2, size]) expect(cache.get(`k${n}`)).toBeUndefined();
    expect(cache.get(`k${size + 1}`)).toBeDefined();
    for (let n = 202; n <= 224; n++) cache.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    expect(cache.size).toBe(199); // the new generation fills; nothing more goes
    await cache.flush();
    await db.flushed;
    expect(generationFirstSeqs(db)).toEqual([25, 50, 75, 100, 125, 150, 175, 200]); // LMDB emptied the oldest slot
    expect(records(db)).toHaveLength(199);
    expect(recordsOf(openGenerationDb(db, 0, false)!)[0]).toEqual([200, 'k201']); // the ring's slot 0 again
  });

  it('evicts without reading or removing records one by one: the generation’s slot is emptied', async () => {
    const db = open();
    const cache = new ResponseCache(() => db, { maxEntries: 16 });
    for (let n = 0; n < 16; n++) cache.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    await cache.flush();
    const oldest = generations(db)[0]!;
    const dbProto = Object.getPrototypeOf(oldest) as { get: unknown; getKeys: unknown; remove: unknown; clearAsync: () => Promise<void> };
    const reads = vi.spyOn(dbProto as { get: () => unknown }, 'get');
    const scans = vi.spyOn(dbProto as { getKeys: () => unknown }, 'getKeys');
    const removals = vi.spyOn(dbProto as { remove: () => unknown }, 'remove');
    const drops = vi.spyOn(dbProto, 'clearAsync');
    try {
      cache.put('k16', answer(16), 'chat.completions', 60_000);
      expect(cache.size).toBe(15);
      expect(drops.mock.contexts.map((d) => (d as { name: string }).name)).toEqual([generationDbName(0)]);
      expect(reads).not.toHaveBeenCalled();
      expect(scans).not.toHaveBeenCalled();
      // One removal: the dropped generation's stored index, from the indexes' db.
      expect(removals.mock.contexts.map((db) => (db as { name: string }).name)).toEqual([SEALED_INDEX_DB_NAME]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('a restart reads each full generation’s stored index, and only the newest generation record by record', async () => {
    const db = open();
    const first = new ResponseCache(() => db, { maxEntries: 16 }); // generations of 2
    for (const n of [1, 2, 3, 4, 5]) first.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    first.put('k1', answer(6), 'chat.completions', 60_000); // rewritten in a newer generation
    await first.flush();
    await db.flushed;
    expect(generationFirstSeqs(db)).toEqual([0, 2, 4]);
    expect([...openSealedIndexDb(db).getKeys()]).toEqual([0, 1]); // the full ones, by slot

    const proto = Object.getPrototypeOf(openGenerationDb(db, 0, false)!) as { getKeys: () => unknown };
    const scans = vi.spyOn(proto, 'getKeys');
    let second: ResponseCache;
    try {
      second = new ResponseCache(() => db, { maxEntries: 16 });
      second.open();
      // Beyond each slot's first key (how the generations are found), only the newest generation is read key by key.
      const scanned = scans.mock.contexts
        .map((d, i) => [(d as { name: string | null }).name, (scans.mock.calls[i] as unknown[])[0] as { limit?: number } | undefined] as const)
        .filter(([name, options]) => name?.startsWith('cache-gen-') && options?.limit !== 1)
        .map(([name]) => name);
      expect(scanned).toEqual([generationDbName(2)]);
    } finally {
      vi.restoreAllMocks();
    }
    expect(second.size).toBe(6);
    for (const n of [2, 3, 4, 5]) expect(ResponseCache.toAnswer(second.get(`k${n}`)!).value).toEqual({ n });
    expect(ResponseCache.toAnswer(second.get('k1')!).value).toEqual({ n: 6 }); // the newest record wins
  });

  it('reads a generation record by record when its stored index is unreadable', async () => {
    const db = open();
    const first = new ResponseCache(() => db, { maxEntries: 16 });
    for (const n of [1, 2, 3]) first.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    await first.flush();
    await openSealedIndexDb(db).put(0, Buffer.from([1, 2, 3])); // not a stored index
    const second = new ResponseCache(() => db, { maxEntries: 16 });
    expect(second.size).toBe(3);
    for (const n of [1, 2, 3]) expect(ResponseCache.toAnswer(second.get(`k${n}`)!).value).toEqual({ n });
  });

  it('reopened with a higher bound, a new generation that needs the oldest one’s slot drops it first', async () => {
    const db = open();
    const first = new ResponseCache(() => db, { maxEntries: 16 }); // eight generations of 2, every slot used
    for (let n = 0; n < 16; n++) first.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    await first.flush();
    const cache = new ResponseCache(() => db, { maxEntries: 40 }); // generations of 5 from now on
    for (let n = 16; n < 19; n++) cache.put(`k${n}`, answer(n), 'chat.completions', 60_000); // the newest fills up to 5
    expect(cache.size).toBe(19);
    cache.put('k19', answer(19), 'chat.completions', 60_000); // a new generation, in slot 0: k0 and k1 go first
    expect(cache.size).toBe(18);
    await cache.flush();
    await db.flushed;
    expect(recordsOf(openGenerationDb(db, 0, false)!)).toEqual([[19, 'k19']]);
    expect(records(db)).toHaveLength(18);
    for (const n of [0, 1]) expect(cache.get(`k${n}`)).toBeUndefined();
    for (const n of [2, 15, 18, 19]) expect(ResponseCache.toAnswer(cache.get(`k${n}`)!).value).toEqual({ n });
  });

  it('a store filled under a higher bound comes down to the new one when it opens, whole generations at a time', async () => {
    const db = open();
    const filler = new ResponseCache(() => db, { maxEntries: 1_000 });
    for (let n = 0; n < 300; n++) filler.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    await filler.flush();
    expect(generationFirstSeqs(db)).toEqual([0, 125, 250]);

    const cache = new ResponseCache(() => db, { maxEntries: 100 }); // restarted with a lower bound
    expect(cache.size).toBe(50); // 300, less the two oldest generations of 125
    cache.put('a', answer(1), 'chat.completions', 60_000);
    expect(cache.size).toBe(51);
    await cache.flush();
    await db.flushed;
    expect(records(db)).toHaveLength(51);
    expect(cache.get('k249')).toBeUndefined();
    expect(cache.get('k250')).toBeDefined(); // the newest of the old ones stay
    expect(cache.get('k299')).toBeDefined();
  });

  it('evicting around a queued rewrite of a stored entry keeps the count true', async () => {
    const db = open();
    let now = 0;
    const cache = new ResponseCache(() => db, { maxEntries: 2, now: () => ++now });
    cache.put('a', answer(1), 'chat.completions', 60_000);
    cache.put('b', answer(2), 'chat.completions', 60_000);
    await cache.flush();
    cache.put('b', answer(3), 'chat.completions', 60_000); // queued rewrite of a stored entry: a's record goes
    cache.put('a', answer(4), 'chat.completions', 60_000); // queued rewrite: b's stored record goes
    cache.put('c', answer(5), 'chat.completions', 60_000); // over the bound: the oldest, the rewrite of b, goes
    expect(cache.size).toBe(2);
    await cache.flush();
    await db.flushed;
    expect(cache.get('b')).toBeUndefined();
    expect(records(db)).toHaveLength(2);
  });

  it('knows a miss without reading LMDB, and finds what an earlier process stored', async () => {
    const db = open();
    const first = new ResponseCache(() => db, { maxEntries: 10 });
    first.put('stored', answer(1), 'chat.completions', 60_000);
    first.put('twice', answer(2), 'chat.completions', 60_000);
    await first.flush();
    first.put('twice', answer(3), 'chat.completions', 60_000);
    await first.flush();

    // A new cache on the same environment (a restart): its key filter is built from what is stored.
    const openDB = db.openDB.bind(db);
    const reads: string[] = [];
    vi.spyOn(db, 'openDB').mockImplementation(((options: { name: string }) => {
      const opened = openDB(options as never) as Database<CacheEntry, string>;
      if (options.name.startsWith('cache-gen-')) {
        const get = opened.get.bind(opened);
        opened.get = (key: string) => {
          reads.push(key);
          return get(key);
        };
      }
      return opened;
    }) as never);
    const second = new ResponseCache(() => db, { maxEntries: 10 });
    expect(second.size).toBe(3);
    expect(second.get('absent')).toBeUndefined();
    second.put('new', answer(4), 'chat.completions', 60_000);
    expect(reads).toEqual([]); // neither the miss nor the put of a new key read LMDB
    expect(ResponseCache.toAnswer(second.get('stored')!).value).toEqual({ n: 1 });
    expect(reads).toEqual([recordKey(0, 'stored')]);
    expect(ResponseCache.toAnswer(second.get('twice')!).value).toEqual({ n: 3 }); // the newest record wins
    await second.flush();
    // New records go after the stored ones.
    expect(records(db)).toEqual([
      [0, 'stored'],
      [1, 'twice'],
      [2, 'twice'],
      [3, 'new'],
    ]);
  });

  it('keeps the latest reads from LMDB decoded in memory: a second hit reads nothing, expiry still holds', async () => {
    const db = open();
    let now = 1_000;
    const first = new ResponseCache(() => db, { maxEntries: 10, now: () => now });
    for (const key of ['a', 'b', 'c']) first.put(key, answer(key.charCodeAt(0)), 'chat.completions', 500);
    await first.flush();

    const reads: string[] = [];
    const cache = new ResponseCache(() => db, { maxEntries: 10, now: () => now, hotEntries: 2 });
    cache.open();
    // Every generation's db shares lmdb-js's Database prototype: its reads are the cache's LMDB reads.
    const proto = Object.getPrototypeOf(openGenerationDb(db, 0, false)!) as { get: (key: string) => unknown };
    const get = proto.get;
    vi.spyOn(proto, 'get').mockImplementation(function (this: unknown, key: string) {
      reads.push(key);
      return get.call(this, key);
    } as never);
    try {
      expect(ResponseCache.toAnswer(cache.get('a')!).value).toEqual({ n: 97 });
      expect(ResponseCache.toAnswer(cache.get('a')!).value).toEqual({ n: 97 });
      expect(reads).toEqual([recordKey(0, 'a')]);
      cache.get('b');
      cache.get('c'); // two hot entries at most: a's goes
      cache.get('a');
      expect(reads).toEqual([recordKey(0, 'a'), recordKey(1, 'b'), recordKey(2, 'c'), recordKey(0, 'a')]);
      now = 1_500; // expired: not served from memory either
      expect(cache.get('a')).toBeUndefined();
      expect(cache.get('c')).toBeUndefined();
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('drops the writes still waiting when the store goes away, and reopens on the new store with its keys', async () => {
    const db = open();
    let current: RootDatabase | undefined = db;
    const cache = new ResponseCache(() => current, { maxEntries: 10, writeDelayMs: 10_000 });
    cache.put('committed', answer(1), 'chat.completions', 60_000);
    await cache.flush();
    cache.put('waiting', answer(2), 'chat.completions', 60_000);
    current = undefined; // the store actor stopped (crashed, restarting)
    await cache.flush(); // nothing to write to: dropped, no throw
    expect(cache.get('committed')).toBeUndefined();
    current = db; // restarted on the same path
    expect(ResponseCache.toAnswer(cache.get('committed')!).value).toEqual({ n: 1 });
    expect(cache.get('waiting')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('misses and stores nothing while the store is down', () => {
    const cache = new ResponseCache(() => undefined, { maxEntries: 2 });
    cache.put('k', answer(1), 'chat.completions', 60_000);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('stores each entry with its shape (no shared structures a cleared slot could lose), and counts only entries', async () => {
    const db = open();
    const cache = new ResponseCache(() => db, { maxEntries: 10 });
    cache.put('new', answer(1), 'chat.completions', 60_000);
    await cache.flush();
    const entries = openGenerationDb(db, 0, false)!;
    expect(entries.doesExist(Symbol.for('structures') as unknown as string)).toBe(false);
    // Decoded by a db handle that has seen nothing else (as another thread's would be).
    const fresh = db.openDB<CacheEntry, string>({ name: generationDbName(0), encoding: 'msgpack' });
    expect(ResponseCache.toAnswer(fresh.get(recordKey(0, 'new'))!).value).toEqual({ n: 1 });
    expect(recordsOf(entries)).toHaveLength(1);
    expect(new ResponseCache(() => db, { maxEntries: 10 }).size).toBe(1);
  });

  it('drops the databases of the earlier layouts when it opens', async () => {
    const db = open();
    const now = Date.now();
    const old: CacheEntry = { v: CACHE_ENTRY_VERSION, createdAt: now, expiresAt: now + 60_000, endpoint: 'chat.completions', model: 'b/m', backend: 'b', body: Buffer.from('{"n":0}') };
    await db.openDB<CacheEntry, string>({ name: 'cache', encoding: 'msgpack' }).put('old', old);
    await db.openDB<null, [number, string]>({ name: 'cache-order', encoding: 'msgpack' }).put([now, 'old'], null);
    await db.openDB<CacheEntry, string>({ name: 'cache-records', encoding: 'msgpack' }).put(recordKey(0, 'old'), old);
    await db.openDB<Buffer, number>({ name: 'cache-sealed-indexes', encoding: 'binary' }).put(0, Buffer.alloc(4));
    await db.openDB<CacheEntry, string>({ name: 'cache-gen-0000000000', encoding: 'msgpack' }).put(recordKey(0, 'old'), old); // named for its first sequence
    const cache = new ResponseCache(() => db, { maxEntries: 10 });
    expect(cache.get('old')).toBeUndefined();
    expect(cache.size).toBe(0);
    await db.flushed;
    for (const name of [...LEGACY_CACHE_DB_NAMES, 'cache-gen-0000000000']) expect(db.openDB({ name, create: false } as { name: string })).toBeFalsy();
  });
});

describe('KeyIndex', () => {
  it('points each key at its newest record; colliding keys share a slot, and a delete for an older record keeps a newer one', () => {
    const index = new KeyIndex();
    const [a, b] = collidingKeys().map(KeyIndex.tag) as [number, number];
    expect(index.seqOf(a)).toBeUndefined();
    index.set(a, 1);
    expect(index.seqOf(a)).toBe(1);
    index.set(b, 2);
    expect(index.seqOf(a)).toBe(2); // b's record: a lookup of a under it finds no record (record keys hold the key)
    index.delete(a, 1); // a's record evicted: b's slot stays
    expect(index.seqOf(b)).toBe(2);
    expect(index.size).toBe(1);
    index.delete(b, 2);
    expect(index.seqOf(b)).toBeUndefined();
    expect(index.size).toBe(0);
    for (let i = 0; i < 1000; i++) index.set(KeyIndex.tag(`k${i}`), i);
    for (let i = 0; i < 1000; i++) expect(index.seqOf(KeyIndex.tag(`k${i}`))).toBe(i);
  });
});

describe('record keys', () => {
  it('sort in sequence order whatever the request key, and parse back', () => {
    const keys = [0, 1, 9, 10, 35, 36, 1295, 1296, 2 ** 31, 36 ** 7, 2 ** 52, 36 ** 10 - 1].map((seq, i) => recordKey(seq, `v1:${'zyx'[i % 3]}`));
    expect([...keys].sort()).toEqual(keys);
    expect(parseRecordKey(recordKey(123_456, 'v1:abc'))).toEqual([123_456, 'v1:abc']);
    expect(parseRecordKey('v1:abc')).toBeUndefined();
    expect(parseRecordKey('0000000001')).toBeUndefined();
    expect(parseRecordKey(recordKey(36 ** 10 - 1, 'k'))).toEqual([36 ** 10 - 1, 'k']);
    expect(parseRecordKey(Symbol.for('structures'))).toBeUndefined();
  });
});
