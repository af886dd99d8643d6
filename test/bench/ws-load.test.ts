import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWsLoad, type WsLoadOptions } from '../../bench/lib/ws-load.js';
import { startStack, type Stack } from '../support/stack.js';

describe('bench/lib/ws-load (bench:ab AB_WS=1) against the real optimizer', () => {
  let stack: Stack;

  beforeAll(async () => {
    // `up/test-model`, the bench's model; limits far above the load, as the bench sets them.
    const far = { requestsPerMinute: 10_000_000 };
    stack = await startStack({ upstreams: { up: {} }, config: { limits: { global: far, perAgent: far } } });
  });
  afterAll(() => stack.close());

  /** The load against this stack's optimizer, for `ms`, with `more` of the options. */
  const load = (ms: number, more: Pick<WsLoadOptions, 'sessions' | 'concurrency' | 'maxRequests'> & Partial<WsLoadOptions>) =>
    runWsLoad({ url: `${stack.optimizer.url.replace(/^http/, 'ws')}/v1/ws`, durationMs: ms, nonce: `t${Date.now()}`, ...more });

  it('keeps the requests in flight on its sessions, each a new prompt, and counts what came back', async () => {
    const upstream = stack.upstreams.up!;
    const before = upstream.calls;
    const result = await load(300, { sessions: 2, concurrency: 5, maxRequests: 100_000 });
    expect(result.sessions).toBe(2);
    expect(result.errorCodes).toEqual({});
    expect(result.ok).toBeGreaterThan(10);
    expect(result.requests).toBe(result.ok);
    expect(result.firstError).toBeUndefined();
    expect(result.latencyMs.p50).toBeGreaterThan(0);
    // Unique prompts: none answered by the dedupe window, so at least one upstream call per answer.
    expect(upstream.calls - before).toBeGreaterThanOrEqual(result.ok);
  });

  it('reports error frames by code', async () => {
    const result = await load(200, { sessions: 1, concurrency: 1, maxRequests: 5, model: 'nowhere/none' });
    expect(result.ok).toBe(0);
    expect(result.requests).toBe(5);
    expect(result.errorCodes).toEqual({ MODEL_NOT_FOUND: 5 });
    expect(result.firstError).toMatch(/^MODEL_NOT_FOUND: /);
  });
});
