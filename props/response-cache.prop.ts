/**
 * The response cache (src/cache/response-cache.ts) against a model of what it promises, on a real
 * LMDB environment, for any sequence of writes (new keys and rewrites, long and short TTLs), reads,
 * the clock moving, flushes and restarts (a new cache on the same store), and any bound:
 *
 *  (1) it never counts more than `maxEntries` records, and once its writes have committed it counts
 *      exactly the records LMDB holds;
 *  (2) a read returns the newest answer written for that key, or nothing: never an older answer, an
 *      expired one, or another key's;
 *  (3) the newest answer of a key stays served, until it expires, while fewer than
 *      `maxEntries - maxEntries/8` writes have followed it (eviction takes whole generations, an
 *      eighth of the bound, from the oldest).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { RootDatabase } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { generationSize } from '../src/cache/generation.js';
import { parseRecordKey } from '../src/cache/record-key.js';
import { ResponseCache } from '../src/cache/response-cache.js';
import { openStore } from '../src/store/open-store.js';
import { openGenerationDbs } from '../src/workers/cache-db.js';

/** `CACHE_PROP_SCALE=10 npx vitest run props/response-cache.prop.ts` runs 10× as many cases (how MDB_DBS_FULL was found). */
const SCALE = Math.max(1, Number(process.env['CACHE_PROP_SCALE'] ?? 1));

type Op =
  | { op: 'put'; key: number; ttl: number }
  | { op: 'get'; key: number }
  | { op: 'tick'; ms: number }
  | { op: 'flush' }
  | { op: 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('put' as const), key: fc.nat(3), ttl: fc.oneof(fc.constant(1_000_000), fc.integer({ min: 1, max: 100 })) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('get' as const), key: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 100 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
);

interface Latest {
  n: number;
  expiresAt: number;
  /** Writes made when it was written. */
  at: number;
}

const root = mkdtempSync(join(tmpdir(), 'response-cache-prop-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let runs = 0;

function storedRecords(db: RootDatabase): number {
  let n = 0;
  for (const slot of openGenerationDbs(db, false)) for (const key of slot?.getKeys() ?? []) if (parseRecordKey(key)) n++;
  return n;
}

describe('ResponseCache (property)', () => {
  it('stays within its bound, serves only the newest unexpired answer of a key, and keeps the recent ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 40 })), fc.array(opArb, { maxLength: 150, size: 'max' }), async (maxEntries, ops) => {
        const db = openStore({ path: join(root, String(runs++)), mapSizeBytes: 64 * 2 ** 20 });
        try {
          let now = 1_000;
          const options = { maxEntries, now: () => now, writeDelayMs: 1_000_000 };
          let cache = new ResponseCache(() => db, options);
          const latest = new Map<number, Latest>();
          const kept = maxEntries - generationSize(maxEntries);
          let writes = 0;
          for (const step of ops) {
            switch (step.op) {
              case 'put': {
                const n = writes;
                cache.put(`v1:${step.key}`, { status: 200, body: Buffer.from(`{"n":${n}}`), value: undefined, chunks: undefined, backend: 'b', model: 'b/m' }, 'chat.completions', step.ttl);
                latest.set(step.key, { n, expiresAt: now + step.ttl, at: ++writes });
                break;
              }
              case 'get': {
                const entry = cache.get(`v1:${step.key}`);
                const newest = latest.get(step.key);
                if (entry !== undefined) {
                  // (2) the newest answer for this key, unexpired
                  expect(newest).toBeDefined();
                  expect(JSON.parse(Buffer.from(entry.body).toString())).toEqual({ n: newest!.n });
                  expect(now).toBeLessThan(newest!.expiresAt);
                } else if (newest !== undefined && now < newest.expiresAt) {
                  // (3) recent answers stay
                  expect(writes - newest.at).toBeGreaterThanOrEqual(kept);
                }
                break;
              }
              case 'tick':
                now += step.ms;
                break;
              case 'flush':
                await cache.flush();
                await db.flushed;
                expect(storedRecords(db)).toBe(cache.size); // (1)
                break;
              case 'restart':
                await cache.flush();
                await db.flushed;
                cache = new ResponseCache(() => db, options);
                break;
            }
            expect(cache.size).toBeLessThanOrEqual(maxEntries); // (1)
          }
          await cache.flush();
          await db.flushed;
          expect(storedRecords(db)).toBe(cache.size);
        } finally {
          await db.close();
        }
      }),
      {
        numRuns: 300 * SCALE,
        // A key rewritten in a newer generation must leave the older one's index: once the newer answer
        // expires, the older one must not come back.
        examples: [
          [
            4,
            [
              { op: 'put', key: 0, ttl: 1_000_000 },
              { op: 'put', key: 1, ttl: 1_000_000 },
              { op: 'put', key: 0, ttl: 5 },
              { op: 'tick', ms: 10 },
              { op: 'get', key: 0 },
              { op: 'get', key: 0 },
            ],
          ],
          // Regression (found by this property): an expired answer still waiting to be written was
          // dropped unwritten, so after a restart the older answer it had replaced was served again.
          [
            9,
            [
              { op: 'put', key: 3, ttl: 1_000_000 },
              { op: 'flush' },
              { op: 'put', key: 3, ttl: 1 },
              { op: 'tick', ms: 1 },
              { op: 'get', key: 3 },
              { op: 'restart' },
              { op: 'get', key: 3 },
            ],
          ],
        ],
      },
    );
  }, 60_000 * SCALE);
});
