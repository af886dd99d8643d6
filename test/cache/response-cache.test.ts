import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CompletedAnswer } from '../../src/cache/answer.js';
import { ResponseCache } from '../../src/cache/response-cache.js';
import { openStore } from '../../src/store/open-store.js';
import { CACHE_DB_NAME, CACHE_ENTRY_VERSION, type CacheEntry } from '../../src/cache/types.js';
import { CACHE_STRUCTURES_KEY, openCacheDb } from '../../src/workers/cache-db.js';
import { KeyFilter } from '../../src/cache/key-filter.js';

/** Entries stored in `db` (its shared-structures record left out). */
function cacheEntryCount(db: Database<CacheEntry, string>): number {
  let count = 0;
  for (const key of db.getKeys()) if (typeof key === 'string') count++;
  return count;
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
    const entries = openCacheDb(db);
    const cache = new ResponseCache(() => db, { maxEntries: 10, writeDelayMs: 30 });
    cache.put('a', answer(1), 'chat.completions', 60_000);
    cache.put('b', answer(2), 'chat.completions', 60_000);
    await db.flushed;
    // Nothing handed to LMDB yet: the writes wait for the delay, and are served from memory.
    expect(entries.get('a')).toBeUndefined();
    expect(ResponseCache.toAnswer(cache.get('b')!).value).toEqual({ n: 2 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await db.flushed;
    expect(ResponseCache.toAnswer(entries.get('a')!).value).toEqual({ n: 1 });
    expect(ResponseCache.toAnswer(entries.get('b')!).value).toEqual({ n: 2 });

    cache.put('c', answer(3), 'chat.completions', 60_000);
    await cache.flush();
    expect(ResponseCache.toAnswer(entries.get('c')!).value).toEqual({ n: 3 });
    expect(cacheEntryCount(entries)).toBe(3);
  });

  it('a rewrite while queued or after commit leaves one entry and one insertion-order record', async () => {
    const db = open();
    let now = 0;
    const cache = new ResponseCache(() => db, { maxEntries: 10, now: () => ++now });
    cache.put('k', answer(1), 'chat.completions', 60_000);
    cache.put('k', answer(2), 'chat.completions', 60_000); // still queued
    await cache.flush();
    cache.put('k', answer(3), 'chat.completions', 60_000); // replaces a stored one
    await cache.flush();
    expect(ResponseCache.toAnswer(cache.get('k')!).value).toEqual({ n: 3 });
    expect(cache.size).toBe(1);
    const order = [...db.openDB<null, [number, string]>({ name: 'cache-order', encoding: 'msgpack' }).getKeys()];
    expect(order).toEqual([[3, 'k']]);
  });

  it('past maxEntries evicts down to 1% below it, so a full cache evicts once every maxEntries/100 puts', async () => {
    const db = open();
    let now = 0;
    const cache = new ResponseCache(() => db, { maxEntries: 200, now: () => ++now });
    for (let n = 1; n <= 200; n++) cache.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    await cache.flush();
    expect(cache.size).toBe(200);
    cache.put('k201', answer(201), 'chat.completions', 60_000);
    expect(cache.size).toBe(198); // 201 → 198: the three oldest went
    await db.flushed; // an evicted entry may be read until its removal commits
    for (const n of [1, 2, 3]) expect(cache.get(`k${n}`)).toBeUndefined();
    expect(cache.get('k4')).toBeDefined();
    cache.put('k202', answer(202), 'chat.completions', 60_000);
    expect(cache.size).toBe(199);
    await cache.flush();
    expect(cacheEntryCount(openCacheDb(db))).toBe(199);
  });

  it('evicting a queued rewrite of a stored entry removes the stored one too (the count stays true)', async () => {
    const db = open();
    let now = 0;
    const cache = new ResponseCache(() => db, { maxEntries: 2, now: () => ++now });
    cache.put('a', answer(1), 'chat.completions', 60_000);
    cache.put('b', answer(2), 'chat.completions', 60_000);
    await cache.flush();
    cache.put('b', answer(3), 'chat.completions', 60_000); // queued rewrite of a stored entry
    cache.put('a', answer(4), 'chat.completions', 60_000); // queued rewrite
    cache.put('c', answer(5), 'chat.completions', 60_000); // over the bound: the oldest, the rewrite of b, goes
    expect(cache.size).toBe(2);
    await cache.flush();
    await db.flushed;
    expect(cache.get('b')).toBeUndefined();
    expect(cacheEntryCount(openCacheDb(db))).toBe(2);
  });

  it('knows a miss without reading LMDB, and finds what an earlier process stored', async () => {
    const db = open();
    const first = new ResponseCache(() => db, { maxEntries: 10 });
    first.put('stored', answer(1), 'chat.completions', 60_000);
    await first.flush();

    // A new cache on the same environment (a restart): its key filter is built from what is stored.
    const openDB = db.openDB.bind(db);
    const reads: string[] = [];
    vi.spyOn(db, 'openDB').mockImplementation(((options: { name: string }) => {
      const opened = openDB(options as never) as Database<CacheEntry, string>;
      if (options.name === CACHE_DB_NAME) {
        const get = opened.get.bind(opened);
        opened.get = (key: string) => {
          reads.push(key);
          return get(key);
        };
      }
      return opened;
    }) as never);
    const second = new ResponseCache(() => db, { maxEntries: 10 });
    expect(second.size).toBe(1);
    expect(second.get('absent')).toBeUndefined();
    second.put('new', answer(2), 'chat.completions', 60_000);
    expect(reads).toEqual([]); // neither the miss nor the put of a new key read LMDB
    expect(ResponseCache.toAnswer(second.get('stored')!).value).toEqual({ n: 1 });
    expect(reads).toEqual(['stored']);
    await second.flush();
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

  it('stores the entries’ shape once (shared structures), still reads entries written with it inline, and counts only entries', async () => {
    const db = open();
    // An entry as written before shared structures: its field names inline, in the same `cache` db.
    const legacy = db.openDB<CacheEntry, string>({ name: CACHE_DB_NAME, encoding: 'msgpack' });
    const now = Date.now();
    const old: CacheEntry = { v: CACHE_ENTRY_VERSION, createdAt: now, expiresAt: now + 60_000, endpoint: 'chat.completions', model: 'b/m', backend: 'b', body: Buffer.from('{"n":0}') };
    await legacy.put('old', old);

    const cache = new ResponseCache(() => db, { maxEntries: 10 });
    cache.put('new', answer(1), 'chat.completions', 60_000);
    await cache.flush();
    const entries = openCacheDb(db);
    expect(entries.doesExist(CACHE_STRUCTURES_KEY as unknown as string)).toBe(true);
    expect(Buffer.from(entries.get('old')!.body).toString()).toBe('{"n":0}');
    expect(ResponseCache.toAnswer(entries.get('new')!).value).toEqual({ n: 1 });
    // The shape is not repeated in the stored bytes: far smaller than the legacy encoding.
    expect(entries.getBinary('new')!.length).toBeLessThan(legacy.getBinary('old')!.length - 40);
    expect(cacheEntryCount(entries)).toBe(2);
    expect(new ResponseCache(() => db, { maxEntries: 10 }).size).toBe(2);
  });
});

describe('KeyFilter', () => {
  it('says no only for keys not held, counting keys whose tags collide', () => {
    const filter = new KeyFilter();
    // Two different keys with the same tag, found by search: removing one keeps the other.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const key = `v1:key-${i}`;
      const other = seen.get(KeyFilter.tag(key));
      if (other !== undefined) pair = [other, key];
      else seen.set(KeyFilter.tag(key), key);
      if (i > 1_000_000) throw new Error('no colliding pair found');
    }
    const [a, b] = pair;
    expect(filter.mayHold(a)).toBe(false);
    filter.add(a);
    filter.add(b);
    filter.remove(a);
    expect(filter.mayHold(b)).toBe(true);
    expect(filter.size).toBe(1);
    filter.remove(b);
    expect(filter.mayHold(a)).toBe(false);
    expect(filter.size).toBe(0);
    for (let i = 0; i < 1000; i++) filter.add(`k${i}`);
    for (let i = 0; i < 1000; i++) expect(filter.mayHold(`k${i}`)).toBe(true);
  });
});
