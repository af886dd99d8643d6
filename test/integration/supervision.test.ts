import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/health/report.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

describe('supervision while serving', () => {
  let stack: Stack;
  let client: OpenAI;

  beforeAll(async () => {
    stack = await startStack({
      upstreams: { main: {} },
      config: {
        admin: { allowFaultInjection: true },
        // Enough retries, spaced past the 20 ms restart backoff, that a call in flight outlives its actor's restart
        // however the jitter falls (full jitter can pick ~0 ms).
        resilience: { retry: { maxAttempts: 8, baseDelayMs: 40, maxDelayMs: 200 } },
      },
    });
    client = new OpenAI({ baseURL: `${stack.optimizer.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  afterAll(() => stack.close());

  const ask = (content: string) => client.chat.completions.create({ model: 'main/test-model', messages: [{ role: 'user', content }] });
  const health = async () => (await (await fetch(`${stack.optimizer.url}/health`)).json()) as HealthReport;

  it('reports the tree and each backend on /health without calling upstream', async () => {
    const calls = stack.upstreams.main!.calls;
    const report = await health();
    expect(report.status).toBe('ok');
    expect(report.tree.map((n) => n.id)).toEqual(['store', 'telemetry', 'backends', 'router', 'sessions', 'frontDoor']);
    expect(report.backends).toEqual([expect.objectContaining({ id: 'main', state: 'serving', restarts: 0 })]);
    expect(stack.upstreams.main!.calls).toBe(calls);
  });

  it('restarts a crashed backend actor; the call in flight is retried on the restarted actor, never lost; the optimizer keeps answering', async () => {
    expect((await ask('before')).choices[0]?.message.content).toBe('echo: before');

    // A call in flight when the actor dies.
    const upstream = stack.upstreams.main!;
    upstream.script([{ kind: 'hang' }]);
    const callsBefore = upstream.calls;
    const inFlight = ask('in flight').catch((e: unknown) => e);
    await eventually(() => upstream.calls > callsBefore, 2000, 'the call to reach the upstream');

    const crash = await fetch(`${stack.optimizer.url}/admin/actors/backend:main/crash`, { method: 'POST' });
    expect(crash.status).toBe(202);

    // The call in flight failed with BACKEND_UNAVAILABLE inside the optimizer and was retried once the actor was back.
    const answered = (await inFlight) as OpenAI.Chat.Completions.ChatCompletion;
    expect(answered.choices[0]?.message.content).toBe('echo: in flight');
    expect(upstream.calls).toBe(callsBefore + 2);

    await eventually(async () => (await health()).backends[0]?.state === 'serving', 3000, 'the backend to be restarted');
    const report = await health();
    expect(report.backends[0]!.restarts).toBe(1);
    const backendsNode = report.tree.find((n) => n.id === 'backends')!;
    expect(backendsNode.children?.[0]).toMatchObject({ id: 'main', restarts: 1, state: 'running', lastExit: expect.stringContaining('fault injected') });
    expect((await ask('after')).choices[0]?.message.content).toBe('echo: after');
    expect(stack.logs.some((l) => l.includes('"actor.restarted"') && l.includes('backend:main'))).toBe(true);
  });

  it('restarts the router too (a stateless child) and keeps serving', async () => {
    await fetch(`${stack.optimizer.url}/admin/actors/router/crash`, { method: 'POST' });
    await eventually(async () => {
      try {
        return (await ask('router back')).choices[0]?.message.content === 'echo: router back';
      } catch {
        return false;
      }
    }, 3000, 'the router to answer again');
  });

  it('aborts the upstream call when an HTTP client disconnects', async () => {
    const upstream = stack.upstreams.main!;
    upstream.script([{ kind: 'hang' }]);
    const abandoned = upstream.abandoned;
    const calls = upstream.calls;
    const controller = new AbortController();
    const pending = fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'main/test-model', messages: [{ role: 'user', content: 'bye' }] }),
      signal: controller.signal,
    }).catch(() => undefined);
    await eventually(() => upstream.calls > calls, 2000, 'the call to reach the upstream');
    controller.abort();
    await pending;
    await eventually(() => upstream.abandoned === abandoned + 1, 2000, 'the upstream request to be abandoned');
  });

  it('refuses fault injection unless allowed, and guards admin to loopback', async () => {
    const other = await startStack({ upstreams: { main: {} } });
    try {
      const response = await fetch(`${other.optimizer.url}/admin/actors/backend:main/crash`, { method: 'POST' });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('FAULT_INJECTION_DISABLED');
    } finally {
      await other.close();
    }
  });
});

describe('a backend without its key', () => {
  // The only backend: nothing is reachable, so the answer is NO_BACKEND_REACHABLE naming the variable
  // (with another backend usable it is BACKEND_DISABLED: test/integration/discovery.test.ts).
  it('is disabled: /health names the variable, and its requests get 503 NO_BACKEND_REACHABLE naming it (not dead-lettered)', async () => {
    const stack = await startStack({
      upstreams: {},
      config: { backends: [{ id: 'g', provider: 'groq', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'G_API_KEY', models: ['m'] }] },
    });
    try {
      const health = (await (await fetch(`${stack.optimizer.url}/health`)).json()) as HealthReport;
      expect(health.status).toBe('degraded');
      expect(health.backends[0]).toMatchObject({ id: 'g', state: 'disabled', disabledReason: expect.stringContaining('G_API_KEY') });
      expect(health.problems.join(' ')).toContain('G_API_KEY');
      const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'g/m', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: { code: string; message: string; dlq_id?: string } };
      expect(body.error.code).toBe('NO_BACKEND_REACHABLE');
      expect(body.error.message).toContain('G_API_KEY');
      expect(body.error.dlq_id).toBeUndefined();
    } finally {
      await stack.close();
    }
  });
});
