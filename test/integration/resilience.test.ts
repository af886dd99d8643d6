import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/health/report.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { choices?: { message: { content: string } }[]; error?: { code: string; message: string; dlq_id?: string } };
}

describe('resilience: retries, failover, breakers, dead letters', () => {
  let stack: Stack;

  // A fresh pair of backends (and breakers) for every test.
  beforeEach(async () => {
    stack = await startStack({
      upstreams: { a: { models: ['m'], timeouts: { headersMs: 300 } }, b: { models: ['m'] } },
      config: {
        dedupe: { enabled: false },
        cache: { enabled: false },
        resilience: {
          retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
          breaker: { failureThreshold: 2, cooldownMs: 400, maxCooldownMs: 2000 },
          jitterSeed: 7,
        },
      },
    });
  });
  afterEach(() => stack.close());

  const health = async () => (await (await fetch(`${stack.optimizer.url}/health`)).json()) as HealthReport & { backends: { id: string; breaker?: { state: string } }[] };

  async function chat(extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'res', ...headers },
      body: JSON.stringify({ model: 'a/m', messages: [{ role: 'user', content: 'hello' }], ...extra }),
    });
    const text = await response.text();
    let body = {};
    try {
      body = JSON.parse(text);
    } catch {
      // SSE
    }
    return { status: response.status, headers: response.headers, text, body };
  }

  it.each([
    ['500', { kind: 'status', status: 500 }],
    ['503', { kind: 'status', status: 503 }],
    ['429 with retry-after', { kind: 'status', status: 429, retryAfterSeconds: 30 }],
    ['a reset connection', { kind: 'reset' }],
    ['malformed JSON', { kind: 'malformed' }],
  ] as const)('fails over from %s on a to b, and the client sees a clean answer', async (_name, behaviour) => {
    const { a, b } = stack.upstreams;
    a!.setDefault(behaviour as never);
    const answer = await chat();
    expect(answer.status).toBe(200);
    expect(answer.body.choices?.[0]?.message.content).toBe('echo: hello');
    expect(answer.headers.get('x-backend')).toBe('b');
    expect(a!.calls).toBeGreaterThanOrEqual(1);
    expect(b!.calls).toBe(1);
  });

  it('a hanging backend fails over after its headers timeout, within the request deadline', async () => {
    stack.upstreams.a!.setDefault({ kind: 'hang' });
    const started = Date.now();
    const answer = await chat({}, {});
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-backend')).toBe('b');
    expect(Date.now() - started).toBeLessThan(3000); // a's headersMs is 300
    expect(answer.body.choices?.[0]?.message.content).toBe('echo: hello');
  });

  it('a stream that fails before its first byte fails over silently', async () => {
    stack.upstreams.a!.setDefault({ kind: 'status', status: 502 });
    const answer = await chat({ stream: true });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-backend')).toBe('b');
    expect(answer.text).toContain('data: [DONE]');
  });

  it('a stream cut after its first byte ends with an explicit error, and is not retried', async () => {
    stack.upstreams.a!.setDefault({ kind: 'cut-stream', afterChunks: 2 });
    const answer = await chat({ stream: true });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('"error"');
    expect(answer.text).not.toContain('[DONE]');
    expect(stack.upstreams.b!.calls).toBe(0);
  });

  it('the caller’s own 4xx is passed on and neither retried nor counted by the breaker', async () => {
    stack.upstreams.a!.setDefault({ kind: 'status', status: 400, body: { error: { message: 'bad temperature', type: 'invalid_request_error' } } });
    const answer = await chat();
    expect(answer.status).toBe(400);
    expect(stack.upstreams.a!.calls).toBe(1);
    expect(stack.upstreams.b!.calls).toBe(0);
    const a = (await health()).backends.find((x) => x.id === 'a');
    expect(a?.breaker?.state).toBe('closed');
  });

  it('opens a’s breaker after repeated failures, then stops calling it until the cooldown', async () => {
    const { a, b } = stack.upstreams;
    a!.setDefault({ kind: 'status', status: 500 });
    await chat();
    await chat();
    await eventually(async () => (await health()).backends.find((x) => x.id === 'a')?.breaker?.state === 'open', 2000, 'a’s breaker to open');
    const callsBefore = a!.calls;
    const answer = await chat();
    expect(answer.headers.get('x-backend')).toBe('b');
    expect(a!.calls).toBe(callsBefore); // not even tried while open
    // After the cooldown a probe goes to a; healthy again, it closes the breaker.
    a!.setDefault({ kind: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 450));
    const probe = await chat();
    expect(probe.headers.get('x-backend')).toBe('a');
    await eventually(async () => (await health()).backends.find((x) => x.id === 'a')?.breaker?.state === 'closed', 2000, 'a’s breaker to close');
    expect(b!.calls).toBeGreaterThan(0);
  });

  it('when every candidate fails, the request lands in the dead-letter queue and can be replayed', async () => {
    const { a, b } = stack.upstreams;
    a!.setDefault({ kind: 'status', status: 500 });
    b!.setDefault({ kind: 'status', status: 503 });
    const failed = await chat({ messages: [{ role: 'user', content: 'keep me' }] });
    expect(failed.status).toBe(502);
    expect(failed.body.error?.code).toBe('ALL_BACKENDS_FAILED');
    const id = failed.body.error?.dlq_id;
    expect(id).toMatch(/^dlq_/);
    expect(failed.body.error?.message).toContain(id!);

    const list = (await (await fetch(`${stack.optimizer.url}/admin/dlq`)).json()) as { entries: { id: string }[] };
    expect(list.entries.map((e) => e.id)).toContain(id);
    const entry = (await (await fetch(`${stack.optimizer.url}/admin/dlq/${id}`)).json()) as {
      agentId: string;
      body: { messages: { content: string }[] };
      attempts: { backend: string; code: string }[];
    };
    expect(entry.agentId).toBe('res');
    expect(entry.body.messages[0]!.content).toBe('keep me');
    expect(entry.attempts.map((x) => x.backend)).toEqual(expect.arrayContaining(['a', 'b']));

    a!.setDefault({ kind: 'ok' });
    b!.setDefault({ kind: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 450)); // breakers half-open
    const replay = await fetch(`${stack.optimizer.url}/admin/dlq/${id}/replay`, { method: 'POST' });
    expect(replay.status).toBe(200);
    const replayed = (await replay.json()) as { choices: { message: { content: string } }[] };
    expect(replayed.choices[0]!.message.content).toBe('echo: keep me');
    // The replay's outcome is recorded on the entry (a durable write, once the answer went out).
    let replays: { outcome: string; requestId: string }[] = [];
    await eventually(async () => {
      replays = ((await (await fetch(`${stack.optimizer.url}/admin/dlq/${id}`)).json()) as { replays: typeof replays }).replays;
      return replays.length > 0;
    }, 2000, 'the replay recorded on the dead letter');
    expect(replays).toEqual([expect.objectContaining({ outcome: 'ok', requestId: expect.stringMatching(/^req_/) })]);

    expect((await fetch(`${stack.optimizer.url}/admin/dlq/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${stack.optimizer.url}/admin/dlq/${id}`)).status).toBe(404);
  });

  it('answers a slow backend (slower than nothing, faster than its timeouts) without failing over', async () => {
    stack.upstreams.a!.setDefault({ kind: 'slow', delayMs: 150, chunkDelayMs: 20 });
    const answer = await chat({ stream: true });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-backend')).toBe('a');
    expect(answer.text).toContain('data: [DONE]');
    expect(stack.upstreams.b!.calls).toBe(0);
  });

  it('steers away from a backend whose rate-limit headers say it is out of requests, before it answers 429', async () => {
    await stack.close();
    stack = await startStack({
      upstreams: {
        // a tells, on every answer, that no request is left until the reset a minute away.
        a: { models: ['m'], rateLimit: { remainingRequests: 0, limitRequests: 100, resetRequests: '1m0s' } },
        b: { models: ['m'] },
      },
      config: { dedupe: { enabled: false }, cache: { enabled: false } },
    });
    const first = await chat();
    expect(first.headers.get('x-backend')).toBe('a'); // nothing known yet: the chosen backend
    const second = await chat();
    expect(second.headers.get('x-backend')).toBe('b');
    expect(second.headers.get('x-route-reason')).toBe('failover');
    expect(stack.upstreams.a!.calls).toBe(1);
  });

  it('a 429 cools that backend down until its retry-after: the next requests go elsewhere at once', async () => {
    stack.upstreams.a!.script([{ kind: 'status', status: 429, retryAfterSeconds: 30 }]);
    expect((await chat()).headers.get('x-backend')).toBe('b');
    const callsOnA = stack.upstreams.a!.calls;
    expect((await chat()).headers.get('x-backend')).toBe('b');
    expect(stack.upstreams.a!.calls).toBe(callsOnA);
  });

  it('no request outlives resilience.requestTimeoutMs: slow backends are cut at the deadline and the request dead-lettered', async () => {
    await stack.close();
    stack = await startStack({
      upstreams: { a: { models: ['m'] }, b: { models: ['m'] } },
      config: { dedupe: { enabled: false }, cache: { enabled: false }, resilience: { requestTimeoutMs: 400, retry: { baseDelayMs: 5, maxDelayMs: 10 } } },
    });
    stack.upstreams.a!.setDefault({ kind: 'slow', delayMs: 3000 });
    stack.upstreams.b!.setDefault({ kind: 'slow', delayMs: 3000 });
    const started = Date.now();
    const answer = await chat();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(answer.body.error?.code).toBe('ALL_BACKENDS_FAILED');
    const entry = (await (await fetch(`${stack.optimizer.url}/admin/dlq/${answer.body.error?.dlq_id}`)).json()) as { attempts: { code: string }[] };
    expect(entry.attempts.map((a) => a.code)).toContain('UPSTREAM_TIMEOUT');
  });
});
