import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

interface Answer {
  status: number;
  backend: string | null;
  body: { choices?: { message: { content: string } }[]; error?: { code: string; message: string; dlq_id?: string } };
}

interface DeadLetter {
  attempts: { backend: string; code: string; message: string }[];
}

/**
 * Regression: the limiter admitted a request on the `backend:` key of its first route target only,
 * so a failover called the next backend without asking its own `limits`, and failovers could exceed
 * that backend's configured quota.
 */
describe('failover respects the next backend’s own rate limit', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  async function chat(s: Stack, content: string): Promise<Answer> {
    const response = await fetch(`${s.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'failing-over' },
      body: JSON.stringify({ model: 'primary/m', messages: [{ role: 'user', content }] }),
    });
    return { status: response.status, backend: response.headers.get('x-backend'), body: (await response.json()) as Answer['body'] };
  }

  it('the third failover inside the minute does not reach a fallback limited to 2 requests/min: it is skipped, recorded and dead-lettered', async () => {
    const s = (stack = await startStack({
      upstreams: { primary: { models: ['m'] }, fallback: { models: ['m'], limits: { requestsPerMinute: 2 } } },
      config: {
        dedupe: { enabled: false },
        cache: { enabled: false },
        // Every request tries the primary first (its breaker never opens here), then fails over at once.
        resilience: { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 }, breaker: { failureThreshold: 100 } },
      },
    }));
    const { primary, fallback } = s.upstreams;
    primary!.setDefault({ kind: 'status', status: 500 });

    for (const n of [1, 2]) {
      const answer = await chat(s, `failover ${n}`);
      expect(answer.status).toBe(200);
      expect(answer.backend).toBe('fallback');
      expect(answer.body.choices?.[0]?.message.content).toBe(`echo: failover ${n}`);
    }
    expect(fallback!.calls).toBe(2);
    const primaryCalls = primary!.calls;

    const third = await chat(s, 'failover 3');
    // The fallback was not called beyond its limit...
    expect(fallback!.calls).toBe(2);
    expect(primary!.calls).toBeGreaterThan(primaryCalls);
    // ...so every candidate failed or was skipped: the request is kept for a replay.
    expect(third.status).toBe(502);
    expect(third.body.error?.code).toBe('ALL_BACKENDS_FAILED');
    const id = third.body.error!.dlq_id!;
    const letter = (await (await fetch(`${s.optimizer.url}/admin/dlq/${id}`)).json()) as DeadLetter;
    // Recorded like a breaker skip: the candidate, and why.
    expect(letter.attempts.at(-1)).toMatchObject({ backend: 'fallback', code: 'RATE_LIMITED' });
    expect(letter.attempts.at(-1)!.message).toContain('2 of 2 requests/min');
    expect(letter.attempts.slice(0, -1).every((a) => a.backend === 'primary' && a.code === 'UPSTREAM_ERROR')).toBe(true);

    // The fallback's slots were taken on its key alone: one admission per request on global and the agent.
    const limiter = s.optimizer.runtime.limiter;
    expect(limiter.keyUsage('backend:fallback')).toMatchObject({ requests: 2, requestsPerMinute: 2 });
    expect(limiter.keyUsage('agent:failing-over')?.requests).toBe(3);
    expect(limiter.stats()).toMatchObject({ admitted: 3, failoverAdmitted: 2, failoverRefused: 1 });
  });

  it('with the first target’s breaker open, a request queues for the backend it will call, and spends none of the first one’s quota', async () => {
    const s = (stack = await startStack({
      upstreams: { primary: { models: ['m'], limits: { requestsPerMinute: 5 } }, fallback: { models: ['m'], limits: { requestsPerMinute: 2 } } },
      config: {
        dedupe: { enabled: false },
        cache: { enabled: false },
        limits: { maxQueueWaitMs: 300 },
        resilience: { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 }, breaker: { failureThreshold: 1, cooldownMs: 60_000, maxCooldownMs: 60_000 } },
      },
    }));
    const { primary, fallback } = s.upstreams;
    const limiter = s.optimizer.runtime.limiter;
    primary!.setDefault({ kind: 'status', status: 500 });

    // The first request opens the primary's breaker and fails over (a slot on each backend's key).
    expect((await chat(s, 'opens the breaker')).backend).toBe('fallback');
    expect(limiter.keyUsage('backend:primary')?.requests).toBe(1);
    const primaryCalls = primary!.calls;

    // The second is admitted against the fallback's key, not the primary's (whose breaker is open).
    expect((await chat(s, 'around the open breaker')).backend).toBe('fallback');
    expect(primary!.calls).toBe(primaryCalls);
    expect(limiter.keyUsage('backend:primary')?.requests).toBe(1);
    expect(limiter.keyUsage('backend:fallback')?.requests).toBe(2);

    // The third waits for the fallback's limit like any request over a limit (here until its 300 ms
    // deadline: a 429 with retry-after), instead of being admitted on the dead primary's quota.
    const third = await chat(s, 'waits for the fallback');
    expect(third.status).toBe(429);
    expect(third.body.error?.code).toBe('RATE_LIMITED');
    expect(third.body.error?.message).toContain('backend:fallback');
    expect(fallback!.calls).toBe(2);
    expect(limiter.keyUsage('backend:primary')?.requests).toBe(1);
  });
});
