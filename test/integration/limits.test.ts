import { describe, expect, it } from 'vitest';
import { fastClock } from '../support/fast-clock.js';
import { startStack, type Stack } from '../support/stack.js';
import { TestWsClient } from '../support/ws-client.js';

async function chat(stack: Stack, agent: string, content: string, headers: Record<string, string> = {}) {
  const started = Date.now();
  const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-agent-id': agent, ...headers },
    body: JSON.stringify({ model: 'main/test-model', messages: [{ role: 'user', content }], temperature: 0.5 }),
  });
  const body = (await response.json()) as { error?: { code: string; retry_after_ms?: number } };
  return { status: response.status, headers: response.headers, body, tookMs: Date.now() - started };
}

describe('rate limits against the real optimizer', () => {
  it('an agent over its limit waits for its window, then proceeds; another agent is not held up', async () => {
    // 100× time: the 60 s window lasts 0.6 s of real time.
    const stack = await startStack({
      limiterClock: fastClock(100),
      config: { limits: { perAgent: { requestsPerMinute: 2 }, maxQueueWaitMs: 120_000 }, dedupe: { enabled: false } },
    });
    try {
      const calls = stack.upstreams.main!.calls;
      const first = await Promise.all([chat(stack, 'busy', 'a'), chat(stack, 'busy', 'b')]);
      expect(first.map((r) => r.status)).toEqual([200, 200]);
      const [waited, other] = await Promise.all([chat(stack, 'busy', 'c'), chat(stack, 'calm', 'd')]);
      expect(waited.status).toBe(200);
      expect(waited.tookMs).toBeGreaterThan(300); // it waited for the window (≈0.6 s real)
      expect(other.status).toBe(200);
      expect(other.tookMs).toBeLessThan(waited.tookMs);
      expect(stack.upstreams.main!.calls).toBe(calls + 4);
    } finally {
      await stack.close();
    }
  });

  it('past maxQueueWaitMs the request gets 429 with retry-after (HTTP) and retryAfterMs (WebSocket)', async () => {
    const stack = await startStack({
      config: { limits: { perAgent: { requestsPerMinute: 1 }, maxQueueWaitMs: 200 }, dedupe: { enabled: false } },
    });
    try {
      expect((await chat(stack, 'greedy', 'one')).status).toBe(200);
      const limited = await chat(stack, 'greedy', 'two');
      expect(limited.status).toBe(429);
      expect(limited.body.error?.code).toBe('RATE_LIMITED');
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);

      const ws = await TestWsClient.connect(stack.optimizer.url);
      await ws.hello('greedy');
      ws.send({ type: 'request', id: 'r', params: { model: 'main/test-model', messages: [{ role: 'user', content: 'three' }] } });
      const frame = await ws.next((f) => f.id === 'r');
      expect(frame).toMatchObject({ type: 'error', error: { code: 'RATE_LIMITED', status: 429 } });
      expect((frame.error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
      ws.close();
    } finally {
      await stack.close();
    }
  });

  it('cache hits and dedupe joins use no quota', async () => {
    const stack = await startStack({ config: { limits: { perAgent: { requestsPerMinute: 1 }, maxQueueWaitMs: 0 } } });
    try {
      const deterministic = (content: string) =>
        fetch(`${stack.optimizer.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-agent-id': 'frugal' },
          body: JSON.stringify({ model: 'main/test-model', messages: [{ role: 'user', content }], temperature: 0 }),
        });
      expect((await deterministic('same')).status).toBe(200);
      for (let i = 0; i < 5; i++) {
        const hit = await deterministic('same');
        expect(hit.status).toBe(200);
        expect(hit.headers.get('x-cache')).toBe('hit');
      }
      // The one request of its minute is used: a new prompt is refused at once (maxQueueWaitMs 0).
      expect((await deterministic('different')).status).toBe(429);
    } finally {
      await stack.close();
    }
  });

  it('the global limit is shared by every agent and both doors', async () => {
    const stack = await startStack({ config: { limits: { global: { requestsPerMinute: 2 }, maxQueueWaitMs: 0 }, dedupe: { enabled: false } } });
    try {
      expect((await chat(stack, 'a1', 'x')).status).toBe(200);
      const ws = await TestWsClient.connect(stack.optimizer.url);
      await ws.hello('a2');
      ws.send({ type: 'request', id: 'w', params: { model: 'main/test-model', messages: [{ role: 'user', content: 'y' }], temperature: 0.5 } });
      expect(await ws.next((f) => f.id === 'w')).toMatchObject({ type: 'response' });
      expect((await chat(stack, 'a3', 'z')).status).toBe(429);
      ws.close();
    } finally {
      await stack.close();
    }
  });
});
