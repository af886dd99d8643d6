import { describe, expect, it, vi } from 'vitest';
import { computeRequestKey, computeRequestKeyInline, POOL_HASH_THRESHOLD_BYTES } from '../../src/keys/key-service.js';
import type { RequestKeyInput } from '../../src/keys/request-key.js';
import type { HashResult, WorkerPool } from '../../src/workers/pool.js';

function fakePool(hashRequest: WorkerPool['hashRequest']): WorkerPool {
  return { hashRequest: vi.fn(hashRequest), lookup: vi.fn(), close: vi.fn(async () => {}), maxThreads: 1 };
}

const FROM_POOL: HashResult = { key: 'v1:from-the-pool', tokens: 1 };

function input(contentChars: number): { input: RequestKeyInput; text: string } {
  const body = { messages: [{ role: 'user', content: 'x'.repeat(contentChars) }], temperature: 0 };
  return { input: { endpoint: 'chat.completions', body, model: 'a/m', tenant: undefined }, text: JSON.stringify(body) };
}

describe('computeRequestKey', () => {
  it('keys small bodies inline', async () => {
    const pool = fakePool(async () => FROM_POOL);
    const small = input(100);
    expect(await computeRequestKey(small.input, { text: small.text, pool })).toEqual(computeRequestKeyInline(small.input));
    expect(pool.hashRequest).not.toHaveBeenCalled();
  });

  it('keys bodies at or above the threshold in the pool, passing the text and the key inputs', async () => {
    const pool = fakePool(async () => FROM_POOL);
    const large = input(POOL_HASH_THRESHOLD_BYTES);
    expect(await computeRequestKey(large.input, { text: large.text, pool })).toEqual(FROM_POOL);
    expect(pool.hashRequest).toHaveBeenCalledWith(large.text, { endpoint: 'chat.completions', model: 'a/m', tenant: undefined });
  });

  it('uses the given byte size and threshold', async () => {
    const pool = fakePool(async () => FROM_POOL);
    const small = input(10);
    expect(await computeRequestKey(small.input, { text: small.text, pool, bytes: 5000, thresholdBytes: 4096 })).toEqual(FROM_POOL);
  });

  it('keys inline without the text or without a pool', async () => {
    const large = input(POOL_HASH_THRESHOLD_BYTES);
    const pool = fakePool(async () => FROM_POOL);
    expect(await computeRequestKey(large.input, { pool })).toEqual(computeRequestKeyInline(large.input));
    expect(await computeRequestKey(large.input, { text: large.text })).toEqual(computeRequestKeyInline(large.input));
    expect(pool.hashRequest).not.toHaveBeenCalled();
  });

  it('falls back to inline when the pool fails, and reports the failure', async () => {
    const failure = new Error('worker died');
    const pool = fakePool(() => Promise.reject(failure));
    const onPoolError = vi.fn();
    const large = input(POOL_HASH_THRESHOLD_BYTES);
    expect(await computeRequestKey(large.input, { text: large.text, pool, onPoolError })).toEqual(computeRequestKeyInline(large.input));
    expect(onPoolError).toHaveBeenCalledWith(failure);
  });
});
