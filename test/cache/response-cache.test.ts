import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RootDatabase } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompletedAnswer } from '../../src/cache/answer.js';
import { ResponseCache } from '../../src/cache/response-cache.js';
import { openStore } from '../../src/store/open-store.js';
import { CACHE_DB_NAME, CACHE_ENTRY_VERSION, type CacheEntry } from '../../src/cache/types.js';
import { CACHE_STRUCTURES_KEY, cacheEntryCount, openCacheDb } from '../../src/workers/cache-db.js';

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
    await db.flushed;
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
    for (const n of [1, 2, 3, 4, 5]) cache.put(`k${n}`, answer(n), 'chat.completions', 60_000);
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k2')).toBeUndefined();
    for (const n of [3, 4, 5]) expect(cache.get(`k${n}`)).toBeDefined();
    expect(cache.size).toBe(3);
    await db.flushed;
    expect(cache.get('k1')).toBeUndefined();
    for (const n of [3, 4, 5]) expect(cache.get(`k${n}`)).toBeDefined();
  });

  it('evicts the oldest past maxEntries', async () => {
    const db = open();
    let now = 0;
    const cache = new ResponseCache(() => db, { maxEntries: 2, now: () => ++now });
    for (const n of [1, 2, 3]) {
      cache.put(`k${n}`, answer(n), 'chat.completions', 60_000);
      await db.flushed;
    }
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k2')).toBeDefined();
    expect(cache.get('k3')).toBeDefined();
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
    await db.flushed;
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

