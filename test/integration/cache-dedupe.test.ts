import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheus, sampleSum } from '../support/prometheus.js';
import { startStack, type Stack } from '../support/stack.js';

interface Answer {
  status: number;
  headers: Headers;
  body: { choices?: { message: { content: string } }[]; error?: { code: string } };
  text: string;
}

/** A metric's value from /metrics. */
async function cacheMetric(stack: Stack, name: string): Promise<number> {
  const response = await fetch(`${stack.optimizer.url}/metrics`);
  return sampleSum(parsePrometheus(await response.text()), name);
}

async function chat(stack: Stack, body: Record<string, unknown>, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Answer> {
  const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-agent-id': 'cache-test', ...headers },
    body: JSON.stringify({ model: 'main/test-model', ...body }),
    ...(signal ? { signal } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}, text };
}

const user = (content: string) => [{ role: 'user', content }];

describe('response cache and dedupe', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ config: { dedupe: { windowMs: 300 }, cache: { maxEntries: 1000 } } });
  });
  afterAll(() => stack.close());

  it('answers a repeated deterministic request from the cache, without a second upstream call', async () => {
    const upstream = stack.upstreams.main!;
    const calls = upstream.calls;
    const first = await chat(stack, { messages: user('cache me'), temperature: 0 });
    const second = await chat(stack, { messages: user('cache me'), temperature: 0 });
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(second.body).toEqual(first.body);
    expect(upstream.calls).toBe(calls + 1);
    // A different output-affecting field is a different answer.
    const other = await chat(stack, { messages: user('cache me'), temperature: 0, max_tokens: 5 });
    expect(other.headers.get('x-cache')).toBe('miss');
    expect(upstream.calls).toBe(calls + 2);
  });

  /**
   * A non-deterministic request for `content` (with `firstHeaders`), a plain duplicate right after
   * it, which must join its answer, and one more past the 300 ms window, which must go upstream.
   */
  async function duplicateWithinThenPastWindow(content: string, firstHeaders: Record<string, string> = {}): Promise<{ first: Answer; duplicate: Answer }> {
    const upstream = stack.upstreams.main!;
    const calls = upstream.calls;
    const first = await chat(stack, { messages: user(content), temperature: 0.9 }, firstHeaders);
    const duplicate = await chat(stack, { messages: user(content), temperature: 0.9 });
    expect(duplicate.headers.get('x-cache')).toBe('bypass');
    expect(duplicate.headers.get('x-dedupe')).toBe('joined');
    expect(duplicate.body).toEqual(first.body);
    expect(upstream.calls).toBe(calls + 1);
    await new Promise((resolve) => setTimeout(resolve, 350)); // past the 300 ms window
    const later = await chat(stack, { messages: user(content), temperature: 0.9 });
    expect(later.headers.get('x-dedupe')).toBe('leader');
    expect(upstream.calls).toBe(calls + 2);
    return { first, duplicate };
  }

  it('does not cache non-deterministic requests, but collapses a duplicate within the dedupe window', async () => {
    const { first } = await duplicateWithinThenPastWindow('creative');
    expect(first.headers.get('x-cache')).toBe('bypass');
  });

  it('answers a duplicate within the window from the cache’s copy when the duplicate may not read the cache itself', async () => {
    // The first is cached because of max-age (for longer than the window): the window keeps no second
    // copy. The duplicate, not deterministic and without max-age, may not read the cache, but it may
    // join a recent answer: it gets the cache's copy, within the window only.
    const { first } = await duplicateWithinThenPastWindow('kept once', { 'cache-control': 'max-age=60' });
    expect(first.headers.get('x-cache')).toBe('miss');
    // The request that may read the cache still gets the cached copy.
    const cached = await chat(stack, { messages: user('kept once'), temperature: 0.9 }, { 'cache-control': 'max-age=60' });
    expect(cached.headers.get('x-cache')).toBe('hit');
  });

  it('collapses 50 concurrent identical requests onto one upstream call', async () => {
    const upstream = stack.upstreams.main!;
    upstream.script([{ kind: 'slow', delayMs: 200 }]);
    const calls = upstream.calls;
    const answers = await Promise.all(Array.from({ length: 50 }, () => chat(stack, { messages: user('fifty'), temperature: 0.5 })));
    expect(upstream.calls).toBe(calls + 1);
    expect(answers.every((a) => a.status === 200 && a.text === answers[0]!.text)).toBe(true);
    expect(answers.filter((a) => a.headers.get('x-dedupe') === 'leader')).toHaveLength(1);
    expect(answers.filter((a) => a.headers.get('x-dedupe') === 'joined')).toHaveLength(49);
    expect(new Set(answers.map((a) => a.headers.get('x-request-id'))).size).toBe(50);
  });

  it('gives a failing leader’s error to every joiner and caches nothing', async () => {
    const upstream = stack.upstreams.main!;
    upstream.setDefault({ kind: 'status', status: 503, delayMs: 100 });
    const calls = upstream.calls;
    const failures = await Promise.all(Array.from({ length: 10 }, () => chat(stack, { messages: user('doomed'), temperature: 0 })));
    upstream.setDefault({ kind: 'ok' });
    // One leader, retried up to resilience.retry.maxAttempts (3), then dead-lettered: every joiner gets that answer.
    expect(failures.every((a) => a.status === 502 && a.body.error?.code === 'ALL_BACKENDS_FAILED')).toBe(true);
    expect(new Set(failures.map((a) => (a.body.error as { dlq_id?: string }).dlq_id)).size).toBe(1);
    expect(upstream.calls).toBe(calls + 3);
    const retry = await chat(stack, { messages: user('doomed'), temperature: 0 });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('x-cache')).toBe('miss');
    expect(upstream.calls).toBe(calls + 4);
  });

  it('honours Cache-Control: no-store (bypass both) and no-cache (refresh)', async () => {
    const upstream = stack.upstreams.main!;
    await chat(stack, { messages: user('directives'), temperature: 0 });
    const calls = upstream.calls;
    const bypass = await chat(stack, { messages: user('directives'), temperature: 0 }, { 'cache-control': 'no-store' });
    expect(bypass.headers.get('x-cache')).toBe('bypass');
    expect(bypass.headers.get('x-dedupe')).toBeNull();
    expect(upstream.calls).toBe(calls + 1);
    const refreshed = await chat(stack, { messages: user('directives'), temperature: 0 }, { 'cache-control': 'no-cache' });
    expect(refreshed.headers.get('x-cache')).toBe('miss');
    expect(upstream.calls).toBe(calls + 2);
    const hit = await chat(stack, { messages: user('directives'), temperature: 0 });
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(upstream.calls).toBe(calls + 2);
  });

  it('caches a non-deterministic request when it sets max-age', async () => {
    const upstream = stack.upstreams.main!;
    const calls = upstream.calls;
    await chat(stack, { messages: user('opt in'), temperature: 1 }, { 'cache-control': 'max-age=60' });
    await new Promise((resolve) => setTimeout(resolve, 350)); // past the dedupe window
    const again = await chat(stack, { messages: user('opt in'), temperature: 1 }, { 'cache-control': 'max-age=60' });
    expect(again.headers.get('x-cache')).toBe('hit');
    expect(upstream.calls).toBe(calls + 1);
  });

  it('replays a streamed answer from the cache as a stream, and as JSON to a non-streaming request', async () => {
    const upstream = stack.upstreams.main!;
    const calls = upstream.calls;
    const first = await chat(stack, { messages: user('stream cache'), temperature: 0, stream: true });
    expect(first.headers.get('content-type')).toContain('text/event-stream');
    await new Promise((resolve) => setTimeout(resolve, 350));
    const replay = await chat(stack, { messages: user('stream cache'), temperature: 0, stream: true });
    expect(replay.headers.get('x-cache')).toBe('hit');
    expect(replay.headers.get('content-type')).toContain('text/event-stream');
    expect(replay.text).toBe(first.text);
    const asJson = await chat(stack, { messages: user('stream cache'), temperature: 0 });
    expect(asJson.headers.get('x-cache')).toBe('hit');
    expect(asJson.body.choices?.[0]?.message.content).toBe('echo: stream cache');
    expect(upstream.calls).toBe(calls + 1);
  });

  it('never shares answers across tenants', async () => {
    const upstream = stack.upstreams.main!;
    const calls = upstream.calls;
    await chat(stack, { messages: user('tenant'), temperature: 0 }, { 'x-tenant-id': 'acme' });
    const other = await chat(stack, { messages: user('tenant'), temperature: 0 }, { 'x-tenant-id': 'globex' });
    expect(other.headers.get('x-cache')).toBe('miss');
    expect(upstream.calls).toBe(calls + 2);
  });

  it('a joiner that disconnects does not cancel the call for the others, nor does the leader', async () => {
    const upstream = stack.upstreams.main!;
    upstream.script([{ kind: 'slow', delayMs: 300 }]);
    const calls = upstream.calls;
    const abandoned = upstream.abandoned;
    const leaderAbort = new AbortController();
    const joinerAbort = new AbortController();
    const leader = chat(stack, { messages: user('stay'), temperature: 0.3 }, {}, leaderAbort.signal).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const quitter = chat(stack, { messages: user('stay'), temperature: 0.3 }, {}, joinerAbort.signal).catch(() => undefined);
    const stayer = chat(stack, { messages: user('stay'), temperature: 0.3 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    joinerAbort.abort();
    leaderAbort.abort();
    await Promise.all([leader, quitter]);
    const answer = await stayer;
    expect(answer.status).toBe(200);
    expect(answer.body.choices?.[0]?.message.content).toBe('echo: stay');
    expect(upstream.calls).toBe(calls + 1);
    expect(upstream.abandoned).toBe(abandoned);
  });

  it('evicts the oldest entries past cache.maxEntries', async () => {
    const small = await startStack({ config: { cache: { maxEntries: 3 }, dedupe: { enabled: false } } });
    try {
      const upstream = small.upstreams.main!;
      for (const n of [1, 2, 3, 4, 5]) await chat(small, { messages: user(`entry ${n}`), temperature: 0 });
      const calls = upstream.calls;
      expect((await chat(small, { messages: user('entry 5'), temperature: 0 })).headers.get('x-cache')).toBe('hit');
      expect((await chat(small, { messages: user('entry 1'), temperature: 0 })).headers.get('x-cache')).toBe('miss');
      expect(upstream.calls).toBe(calls + 1);
    } finally {
      await small.close();
    }
  });

  it('past cache.maxEntries drops the oldest generation (an eighth of the bound), and a restart keeps what was kept', async () => {
    const config = { cache: { maxEntries: 16 }, dedupe: { enabled: false } }; // generations of 2
    const first = await startStack({ config });
    const dataDir = first.dataDir;
    for (let n = 1; n <= 17; n++) await chat(first, { messages: user(`gen ${n}`), temperature: 0 });
    // 16 held when the 17th came: the generation of 1 and 2 went.
    expect(await cacheMetric(first, 'optimizer_cache_entries')).toBe(15);
    expect(await cacheMetric(first, 'optimizer_cache_evicted_total')).toBe(2);
    await first.optimizer.stop();
    await first.upstreams.main!.close();
    const second = await startStack({ dataDir, config });
    try {
      const upstream = second.upstreams.main!;
      for (const n of [3, 10, 17]) expect((await chat(second, { messages: user(`gen ${n}`), temperature: 0 })).headers.get('x-cache')).toBe('hit');
      expect(upstream.calls).toBe(0);
      for (const n of [1, 2]) expect((await chat(second, { messages: user(`gen ${n}`), temperature: 0 })).headers.get('x-cache')).toBe('miss');
      expect(upstream.calls).toBe(2);
    } finally {
      await second.close();
    }
  });

  it('keeps cached answers across a restart (same data dir)', async () => {
    const first = await startStack({ config: { dedupe: { enabled: false } } });
    const dataDir = first.dataDir;
    await chat(first, { messages: user('durable'), temperature: 0 });
    await first.optimizer.stop();
    await first.upstreams.main!.close();
    const second = await startStack({ dataDir, config: { dedupe: { enabled: false } } });
    try {
      const calls = second.upstreams.main!.calls;
      const hit = await chat(second, { messages: user('durable'), temperature: 0 });
      expect(hit.headers.get('x-cache')).toBe('hit');
      expect(hit.body.choices?.[0]?.message.content).toBe('echo: durable');
      expect(second.upstreams.main!.calls).toBe(calls);
    } finally {
      await second.close();
    }
  });
});
