/**
 * The worker pool runs the compiled worker (dist/src/workers/hash-worker.js): `npm test` builds
 * first. Keys computed here inline (from src/) and in the pool (from dist/) agree only while dist/
 * is built from the same sources.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Database, RootDatabase } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_ENTRY_VERSION, type CacheEntry } from '../../src/cache/types.js';
import { computeRequestKeyInline } from '../../src/keys/key-service.js';
import { openStore } from '../../src/store/open-store.js';
import { openGenerationDb } from '../../src/workers/cache-db.js';
import { recordKey } from '../../src/cache/record-key.js';
import { createWorkerPool, resolveHashWorkerScript, WorkerPoolError, type WorkerPool } from '../../src/workers/pool.js';

const MAP_SIZE = 64 * 2 ** 20;
let dir: string;
let root: RootDatabase;
let cache: Database<CacheEntry, string>;
let pool: WorkerPool;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'optimizer-pool-'));
  root = openStore({ path: dir, mapSizeBytes: MAP_SIZE });
  cache = openGenerationDb(root, 0)!;
  pool = createWorkerPool({ storePath: dir, mapSizeBytes: MAP_SIZE, threads: 1 });
});

afterAll(async () => {
  await pool?.close();
  await root?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A record key in the first generation (first sequence 0). */
const rk = (key: string): string => recordKey(1, key);

function entry(overrides: Partial<CacheEntry> = {}): CacheEntry {
  const now = Date.now();
  return {
    v: CACHE_ENTRY_VERSION,
    createdAt: now,
    expiresAt: now + 60_000,
    endpoint: 'chat.completions',
    model: 'a/m',
    backend: 'a',
    body: new TextEncoder().encode('{"id":"chatcmpl-1","choices":[]}'),
    ...overrides,
  };
}

describe('hashRequest', () => {
  const bodies: [string, string][] = [
    ['a small body', JSON.stringify({ model: 'smart', messages: [{ role: 'user', content: 'hi' }], temperature: 0 })],
    [
      'a body with whitespace, unsorted keys and 1.0',
      '{ "temperature": 1.0,\n  "messages": [ { "content": "hi", "role": "user" } ],\n  "stream": true }',
    ],
    [
      'a large body (tools, content parts, emoji and lone surrogates across slice boundaries)',
      JSON.stringify({
        messages: [
          { role: 'system', content: 'Rules:\n'.repeat(3000) + '😀'.repeat(40_000) + '\ud800' },
          { role: 'user', content: [{ type: 'text', text: 'go' }] },
        ],
        tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } }],
        max_completion_tokens: 100,
      }),
    ],
  ];

  it.each(bodies)('gives the inline key and token estimate for %s', async (_name, text) => {
    const body = JSON.parse(text) as Record<string, unknown>;
    for (const tenant of [undefined, 'acme']) {
      const inline = computeRequestKeyInline({ endpoint: 'chat.completions', body, model: 'a/m', tenant });
      await expect(pool.hashRequest(text, { endpoint: 'chat.completions', model: 'a/m', tenant })).resolves.toEqual(inline);
    }
  });

  it('rejects text that is not a JSON object', async () => {
    await expect(pool.hashRequest('{nope', { endpoint: 'chat.completions', model: 'a/m', tenant: undefined })).rejects.toThrow();
    await expect(pool.hashRequest('[1]', { endpoint: 'chat.completions', model: 'a/m', tenant: undefined })).rejects.toThrow(/not a JSON object/);
  });
});

describe('lookup', () => {
  it('sees an entry the main thread wrote with putSync into the shared environment', async () => {
    const written = entry({ chunks: ['{"a":1}', '{"b":2}'] });
    cache.putSync(rk('v1:fresh'), written);
    const read = await pool.lookup(rk('v1:fresh'));
    expect(read).toBeDefined();
    expect({ ...read!, body: Buffer.from(read!.body) }).toEqual({ ...written, body: Buffer.from(written.body) });
  });

  // lmdb-js renews a read snapshot on a timer that a busy Piscina worker never runs.
  it('sees commits made after its previous lookup (the read snapshot is renewed)', async () => {
    await pool.lookup(rk('v1:absent-before'));
    cache.putSync(rk('v1:later'), entry({ model: 'later' }));
    expect((await pool.lookup(rk('v1:later')))?.model).toBe('later');
    cache.putSync(rk('v1:later'), entry({ model: 'overwritten' }));
    expect((await pool.lookup(rk('v1:later')))?.model).toBe('overwritten');
  });

  it('does not return expired entries', async () => {
    const now = Date.now();
    cache.putSync(rk('v1:expired'), entry({ createdAt: now - 10_000, expiresAt: now - 1 }));
    await expect(pool.lookup(rk('v1:expired'))).resolves.toBeUndefined();
  });

  it('returns undefined for an absent key', async () => {
    await expect(pool.lookup(rk('v1:never-written'))).resolves.toBeUndefined();
    await expect(pool.lookup('v1:not-a-record-key')).resolves.toBeUndefined();
  });

  it('reads the generation that holds the record, and nothing once that generation is emptied', async () => {
    const later = openGenerationDb(root, 1)!; // the ring's next slot, a generation from sequence 1000
    await later.put(recordKey(1_000, 'v1:gen'), entry({ model: 'in 1000' }));
    await cache.put(recordKey(999, 'v1:gen'), entry({ model: 'in 0' }));
    expect((await pool.lookup(recordKey(1_000, 'v1:gen')))?.model).toBe('in 1000');
    expect((await pool.lookup(recordKey(999, 'v1:gen')))?.model).toBe('in 0');
    await expect(pool.lookup(recordKey(999, 'v1:other'))).resolves.toBeUndefined();
    await later.clearAsync();
    await expect(pool.lookup(recordKey(1_000, 'v1:gen'))).resolves.toBeUndefined();
    expect((await pool.lookup(recordKey(999, 'v1:gen')))?.model).toBe('in 0');
  });
});

describe('close', () => {
  it('is idempotent, refuses later work, and leaves the main thread’s store usable', async () => {
    const own = createWorkerPool({ storePath: dir, mapSizeBytes: MAP_SIZE, threads: 1 });
    cache.putSync(rk('v1:before-close'), entry());
    expect(await own.lookup(rk('v1:before-close'))).toBeDefined();
    const first = own.close();
    const second = own.close();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    await expect(own.close()).resolves.toBeUndefined();
    await expect(own.hashRequest('{}', { endpoint: 'embeddings', model: 'a/m', tenant: undefined })).rejects.toMatchObject({
      code: 'WORKER_POOL_CLOSED',
    });
    await expect(own.lookup(rk('v1:before-close'))).rejects.toBeInstanceOf(WorkerPoolError);

    cache.putSync(rk('v1:after-close'), entry({ model: 'after' }));
    expect(cache.get(rk('v1:after-close'))?.model).toBe('after');
    expect((await pool.lookup(rk('v1:after-close')))?.model).toBe('after');
  });
});

describe('store.syncEachCommit', () => {
  // LMDB refuses to open one environment twice with different sync flags, so the pool must pass the main thread's.
  it('opens the worker with the main thread’s sync setting, and both see each other’s commits', async () => {
    const synced = mkdtempSync(join(tmpdir(), 'optimizer-pool-sync-'));
    const syncedRoot = openStore({ path: synced, mapSizeBytes: MAP_SIZE, syncEachCommit: true });
    const own = createWorkerPool({ storePath: synced, mapSizeBytes: MAP_SIZE, syncEachCommit: true, threads: 1 });
    try {
      const db = openGenerationDb(syncedRoot, 0)!;
      await db.put(rk('v1:synced'), entry({ model: 'synced' }));
      expect((await own.lookup(rk('v1:synced')))?.model).toBe('synced');
    } finally {
      await own.close();
      await syncedRoot.close();
      rmSync(synced, { recursive: true, force: true });
    }
  });
});

describe('createWorkerPool options', () => {
  it.each([
    ['storePath', { storePath: '', mapSizeBytes: MAP_SIZE }],
    ['mapSizeBytes', { storePath: '/tmp/x', mapSizeBytes: 0 }],
    ['threads', { storePath: '/tmp/x', mapSizeBytes: MAP_SIZE, threads: 0 }],
    ['idleTimeoutMs', { storePath: '/tmp/x', mapSizeBytes: MAP_SIZE, idleTimeoutMs: -1 }],
  ])('refuses a bad %s, naming it', (option, options) => {
    expect(() => createWorkerPool(options)).toThrow(expect.objectContaining({ code: 'INVALID_WORKER_POOL_OPTION', message: expect.stringContaining(option) }));
  });
});

describe('resolveHashWorkerScript', () => {
  it('finds the compiled worker from the TypeScript sources', () => {
    expect(resolveHashWorkerScript()).toMatch(/dist[/\\]src[/\\]workers[/\\]hash-worker\.js$/);
  });

  it('asks for a build when the compiled worker is missing', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'optimizer-nobuild-'));
    try {
      writeFileSync(join(pkg, 'package.json'), '{}');
      mkdirSync(join(pkg, 'src', 'workers'), { recursive: true });
      const moduleUrl = pathToFileURL(join(pkg, 'src', 'workers', 'pool.ts')).href;
      expect(() => resolveHashWorkerScript(moduleUrl)).toThrow(expect.objectContaining({ code: 'WORKER_SCRIPT_MISSING', message: expect.stringContaining('npm run build') }));
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });
});
