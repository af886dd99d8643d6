import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/limits/clock.js';
import type { HealthReport } from '../../src/health/report.js';
import type { StatsReport } from '../../src/metrics/stats.js';
import { eventually, startStack, type Stack } from '../support/stack.js';
import { parsePrometheus, sampleSum, type Exposition } from '../support/prometheus.js';

/** $1 per 1000 tokens in, $2 per 1000 out, on every backend. */
const PRICE = { in: 0.001, out: 0.002 };
const cost = (_backend: string, _model: string, tokensIn: number, tokensOut: number) => tokensIn * PRICE.in + tokensOut * PRICE.out;

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

const CONFIG = {
  limits: { perAgent: { requestsPerMinute: 5 }, maxQueueWaitMs: 30_000 },
  resilience: { retry: { baseDelayMs: 1, maxDelayMs: 5 }, jitterSeed: 7, breaker: { failureThreshold: 3 } },
};

async function chat(stack: Stack, agent: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-agent-id': agent, ...headers },
    body: JSON.stringify({ model: 'main/test-model', ...body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

/** The one cacheable answer the scenario below produces (alice's `hello`, temperature 0). */
const CACHE_ENTRIES = 1;
const ask = (content: string, extra: Record<string, unknown> = {}) => ({ messages: [{ role: 'user', content }], ...extra });

async function scrape(stack: Stack): Promise<{ exposition: Exposition; contentType: string | null }> {
  const response = await fetch(`${stack.optimizer.url}/metrics`);
  expect(response.status).toBe(200);
  return { exposition: parsePrometheus(await response.text()), contentType: response.headers.get('content-type') };
}

async function stats(stack: Stack): Promise<StatsReport> {
  const response = await fetch(`${stack.optimizer.url}/admin/stats`);
  expect(response.status).toBe(200);
  return (await response.json()) as StatsReport;
}

/** The usage of the last data chunk that carries one. */
function streamUsage(text: string): Usage | undefined {
  let usage: Usage | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const chunk = JSON.parse(line.slice(6)) as { usage?: Usage | null };
    if (chunk.usage) usage = chunk.usage;
  }
  return usage;
}

describe('metrics through the real optimizer', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'optimizer-metrics-'));
  let stack: Stack;
  /** Tokens the upstream reported for the calls that reached it (alice's). */
  const spent = { in: 0, out: 0 };
  /** Tokens of the answers alice got without an upstream call. */
  const saved = { in: 0, out: 0 };

  beforeAll(async () => {
    // The limiter's time moves only when the test says so.
    const clock = new ManualClock(1_000_000);
    const rateLimit = { limitRequests: 10_000, remainingRequests: 9_000, resetRequests: '6m0s' };
    stack = await startStack({ dataDir, cost, limiterClock: clock, upstreams: { main: { rateLimit }, spare: {} }, config: CONFIG });
    const main = stack.upstreams.main!;

    // 1. A miss, then the same deterministic request: a hit.
    const miss = await chat(stack, 'alice', ask('hello', { temperature: 0 }));
    expect(miss.headers.get('x-cache')).toBe('miss');
    const missUsage = (JSON.parse(miss.text) as { usage: Usage }).usage;
    spent.in += missUsage.prompt_tokens;
    spent.out += missUsage.completion_tokens;
    const hit = await chat(stack, 'alice', ask('hello', { temperature: 0 }));
    expect(hit.headers.get('x-cache')).toBe('hit');
    saved.in += missUsage.prompt_tokens;
    saved.out += missUsage.completion_tokens;

    // 2. Two identical non-deterministic requests at once: the second joins the first.
    main.script([{ kind: 'slow', delayMs: 300 }]);
    const leader = chat(stack, 'alice', ask('together', { temperature: 0.7 }));
    await eventually(() => main.calls >= 2, 3000, 'the leader to reach the upstream');
    const joiner = await chat(stack, 'alice', ask('together', { temperature: 0.7 }));
    const led = await leader;
    expect(joiner.headers.get('x-dedupe')).toBe('joined');
    const ledUsage = (JSON.parse(led.text) as { usage: Usage }).usage;
    spent.in += ledUsage.prompt_tokens;
    spent.out += ledUsage.completion_tokens;
    saved.in += ledUsage.prompt_tokens;
    saved.out += ledUsage.completion_tokens;

    // 3. main answers 500: the request fails over to spare.
    main.script([{ kind: 'status', status: 500 }]);
    const failedOver = await chat(stack, 'alice', ask('fragile', { temperature: 0.7 }));
    expect(failedOver.status).toBe(200);
    expect(failedOver.headers.get('x-backend')).toBe('spare');

    // 4. A stream with include_usage (reported) by bob.
    const streamed = await chat(stack, 'bob', ask('stream me', { stream: true, stream_options: { include_usage: true } }));
    expect(streamed.status).toBe(200);
    expect(streamUsage(streamed.text)).toBeDefined();

    // 5. greedy and patient use their 5 requests of the minute. greedy's 6th would wait 60 s, past
    //    maxQueueWaitMs (30 s): refused at once (429). 40 s later patient's 6th waits 20 s: queued, then admitted.
    for (let i = 0; i < 5; i++) {
      expect((await chat(stack, 'greedy', ask(`g${i}`, { temperature: 0.7 }))).status).toBe(200);
      expect((await chat(stack, 'patient', ask(`p${i}`, { temperature: 0.7 }))).status).toBe(200);
    }
    expect((await chat(stack, 'greedy', ask('one too many', { temperature: 0.7 }))).status).toBe(429);
    clock.advance(40_000);
    const waiting = chat(stack, 'patient', ask('worth the wait', { temperature: 0.7 }));
    await eventually(() => stack.optimizer.runtime.limiter.queueDepth() === 1, 3000, 'the request to queue');
    clock.advance(20_000);
    expect((await waiting).status).toBe(200);

    // 6. carol pins spare, which fails every attempt: dead-lettered, and its breaker opens.
    stack.upstreams.spare!.script([
      { kind: 'status', status: 503 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 503 },
    ]);
    const lost = await chat(stack, 'carol', ask('doomed', { temperature: 0.7 }), { 'x-backend': 'spare' });
    expect(lost.status).toBe(502);
  });

  afterAll(async () => {
    await stack?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the Prometheus text format with bounded labels and the counts of what happened', async () => {
    const { exposition: m, contentType } = await scrape(stack);
    expect(contentType).toContain('text/plain');
    const alice = { agent: 'alice', backend: 'main', model: 'main/test-model' };
    // alice: miss, hit, leader, joiner (answered as main/test-model), failover (answered by spare).
    expect(sampleSum(m, 'optimizer_requests_total', alice)).toBe(4);
    expect(sampleSum(m, 'optimizer_requests_total', { agent: 'alice', backend: 'spare', model: 'spare/test-model' })).toBe(1);
    expect(sampleSum(m, 'optimizer_cache_hits_total', alice)).toBe(1);
    expect(sampleSum(m, 'optimizer_cache_misses_total', { agent: 'alice' })).toBe(1);
    expect(sampleSum(m, 'optimizer_dedupe_joins_total', alice)).toBe(1);
    expect(sampleSum(m, 'optimizer_upstream_errors_total', { backend: 'main', code: 'UPSTREAM_ERROR' })).toBe(1);
    expect(sampleSum(m, 'optimizer_failovers_total', { backend: 'main', to: 'spare' })).toBe(1);
    expect(sampleSum(m, 'optimizer_ratelimit_queued_total', { agent: 'patient', backend: 'main', model: 'main/test-model' })).toBe(1);
    expect(sampleSum(m, 'optimizer_ratelimit_queued_total', { agent: 'greedy' })).toBe(0);
    expect(sampleSum(m, 'optimizer_ratelimit_rejected_total', { agent: 'greedy', backend: 'main', model: 'main/test-model' })).toBe(1);
    expect(sampleSum(m, 'optimizer_request_errors_by_code_total', { code: 'RATE_LIMITED' })).toBe(1);
    expect(sampleSum(m, 'optimizer_request_errors_by_code_total', { backend: 'spare', code: 'ALL_BACKENDS_FAILED' })).toBe(1);
    expect(sampleSum(m, 'optimizer_upstream_errors_total', { backend: 'spare', code: 'UPSTREAM_ERROR' })).toBe(3);
    expect(sampleSum(m, 'optimizer_dlq_enqueued_total')).toBe(1);
    expect(sampleSum(m, 'optimizer_dlq_size')).toBe(1);
    expect(sampleSum(m, 'optimizer_cache_entries')).toBe(CACHE_ENTRIES);
    expect(sampleSum(m, 'optimizer_breaker_transitions_total', { backend: 'spare', state: 'opened' })).toBe(1);
    expect(sampleSum(m, 'optimizer_breaker_state', { backend: 'spare' })).toBe(2);
    expect(sampleSum(m, 'optimizer_breaker_state', { backend: 'main' })).toBe(0);

    // Tokens: alice's two upstream calls on main as the backend reported them; the hit and the join saved theirs.
    expect(sampleSum(m, 'optimizer_tokens_total', { ...alice, direction: 'in' })).toBe(spent.in);
    expect(sampleSum(m, 'optimizer_tokens_total', { ...alice, direction: 'out' })).toBe(spent.out);
    expect(sampleSum(m, 'optimizer_tokens_saved_total', alice)).toBe(saved.in + saved.out);
    expect(sampleSum(m, 'optimizer_cost_usd_total', alice)).toBeCloseTo(spent.in * PRICE.in + spent.out * PRICE.out, 9);
    expect(sampleSum(m, 'optimizer_cost_saved_usd_total', alice)).toBeCloseTo(saved.in * PRICE.in + saved.out * PRICE.out, 9);
    expect(sampleSum(m, 'optimizer_tokens_total', { agent: 'bob', direction: 'out' })).toBeGreaterThan(0);

    // Latency by source: one cache answer, one dedupe answer, the rest upstream.
    expect(sampleSum(m, 'optimizer_request_duration_seconds_count', { source: 'cache' })).toBe(1);
    expect(sampleSum(m, 'optimizer_request_duration_seconds_count', { source: 'dedupe' })).toBe(1);
    expect(sampleSum(m, 'optimizer_request_duration_seconds_count', { source: 'upstream', backend: 'main' })).toBe(14); // alice 2, bob 1, greedy 5, patient 6
    expect(m.types.get('optimizer_request_duration_seconds')).toBe('histogram');

    // Gauges and Node's process metrics, prefixed.
    expect(sampleSum(m, 'optimizer_queue_depth')).toBe(0);
    expect(sampleSum(m, 'optimizer_in_flight')).toBe(0);
    expect(sampleSum(m, 'optimizer_sessions')).toBeGreaterThanOrEqual(1);
    expect(m.types.get('optimizer_process_cpu_user_seconds_total')).toBe('counter');
    expect(m.help.get('optimizer_cost_usd_total')).toContain('0 when no price function');

    // Every name is ours, and no label value comes from outside the config or the first agents seen.
    for (const sample of m.samples) {
      expect(sample.name.startsWith('optimizer_')).toBe(true);
      if (sample.labels.backend !== undefined) expect(['main', 'spare', 'none', 'other']).toContain(sample.labels.backend);
      if (sample.labels.model !== undefined) expect(['main/test-model', 'spare/test-model', 'none', 'other']).toContain(sample.labels.model);
    }
  });

  it('answers /admin/stats with the documented shape and the same counts', async () => {
    const report = await stats(stack);
    const fields = ['requests', 'cacheHits', 'cacheMisses', 'dedupeJoins', 'rateLimitQueued', 'rateLimitRejected', 'upstreamErrors', 'failovers', 'tokensIn', 'tokensOut', 'costUsd', 'costSavedUsd'];
    for (const field of fields) expect(typeof (report.totals as unknown as Record<string, unknown>)[field]).toBe('number');
    // alice 5, bob 1, greedy 6, patient 6, carol 1
    expect(report.totals.requests).toBe(19);
    expect(report.totals).toMatchObject({ cacheHits: 1, dedupeJoins: 1, rateLimitQueued: 1, rateLimitRejected: 1, failovers: 1, upstreamErrors: 4 });
    expect(report.byAgent.alice).toMatchObject({ requests: 5, cacheHits: 1, dedupeJoins: 1, failovers: 1, tokensSaved: saved.in + saved.out });
    expect(report.byAgent.alice!.tokensIn).toBeGreaterThan(spent.in); // and the failover's call on spare
    expect(report.byAgent.greedy).toMatchObject({ requests: 6, rateLimitQueued: 0, rateLimitRejected: 1, errors: 1 });
    expect(report.byAgent.patient).toMatchObject({ requests: 6, rateLimitQueued: 1, rateLimitRejected: 0, errors: 0 });
    expect(report.byBackend.spare!.upstreamErrors).toBe(3);
    expect(report.byModel['main/test-model']!.cacheHits).toBe(1);
    expect(report.timeline).toHaveLength(60);
    const minutes = report.timeline.map((m) => m.minute);
    expect(minutes).toEqual([...minutes].sort((a, b) => a - b));
    expect(minutes.every((m) => m % 60_000 === 0)).toBe(true);
    expect(report.timeline.reduce((sum, m) => sum + m.requests, 0)).toBe(19);
    expect(report.gauges).toEqual({ queueDepth: 0, sessions: expect.any(Number), inFlight: 0, dlqSize: 1, cacheEntries: CACHE_ENTRIES });
    expect(report.latency.cache.count).toBe(1);
    expect(report.latency.upstream.count).toBe(15); // alice 2 on main + 1 on spare, bob 1, greedy 5, patient 6
    expect(report.latency.upstream.p50).toBeGreaterThan(0);
    expect(report.latency.upstream.p99).toBeGreaterThanOrEqual(report.latency.upstream.p95);
  });

  it("answers /health with each backend's breaker and quota and the tree with restart counts", async () => {
    const report = (await (await fetch(`${stack.optimizer.url}/health`)).json()) as HealthReport;
    const main = report.backends.find((b) => b.id === 'main')!;
    const spare = report.backends.find((b) => b.id === 'spare')!;
    expect(main.quota).toMatchObject({ limitRequests: 10_000, remainingRequests: 9_000, nearlyExhausted: false });
    expect(main.breaker).toMatchObject({ state: 'closed' });
    expect(spare.breaker).toMatchObject({ state: 'open', opens: 1 });
    expect(spare.restarts).toBe(0);
    expect(report.problems).toContain("backend spare's circuit breaker is open");
    for (const node of report.tree) expect(typeof node.restarts).toBe('number');
    expect(report.tree.find((n) => n.id === 'backends')!.children!.map((c) => [c.id, c.restarts])).toEqual([
      ['main', 0],
      ['spare', 0],
    ]);
  });

  it('logs every event type of the request path (per-request ones at debug)', () => {
    const logged = new Set(
      stack.logs
        .filter((l) => l.includes('"component":"events"'))
        .map((l) => (JSON.parse(l) as { event: { type: string } }).event.type),
    );
    for (const type of [
      'request.received',
      'cache.hit',
      'cache.miss',
      'dedupe.joined',
      'ratelimit.queued',
      'ratelimit.rejected',
      'backend.succeeded',
      'backend.failed',
      'backend.failover',
      'breaker.opened',
      'dlq.enqueued',
      'request.completed',
    ]) {
      expect(logged, type).toContain(type);
    }
    const completed = stack.logs.map((l) => JSON.parse(l) as { level: number; event?: Record<string, unknown> }).find((l) => l.event?.type === 'request.completed' && l.event.cache === 'hit');
    expect(completed?.level).toBe(20); // debug
    expect(completed?.event).toMatchObject({ agentId: 'alice', backend: 'main', model: 'main/test-model', outcome: 'cache.hit', status: 200, stream: false });
    expect(typeof completed?.event?.latencyMs).toBe('number');
  });

  it('keeps the roll-ups across a restart on the same data directory', async () => {
    const before = await stats(stack);
    await stack.close();
    stack = await startStack({ dataDir, upstreams: { main: {}, spare: {} }, config: CONFIG });
    const after = await stats(stack);
    expect(after.totals).toEqual(before.totals);
    expect(after.byAgent).toEqual(before.byAgent);
    expect(after.since).toBe(before.since);
    const beforeMinutes = before.timeline.filter((m) => m.requests > 0);
    for (const minute of beforeMinutes) expect(after.timeline.find((m) => m.minute === minute.minute)).toEqual(minute);

    // Counting goes on on top of what was stored.
    expect((await chat(stack, 'alice', ask('after the restart', { temperature: 0.7 }))).status).toBe(200);
    const later = await stats(stack);
    expect(later.totals.requests).toBe(before.totals.requests + 1);
    expect(later.byAgent.alice!.requests).toBe(before.byAgent.alice!.requests + 1);
    expect(later.timeline.reduce((sum, m) => sum + m.requests, 0)).toBe(20);
    // The process's own Prometheus counters start again at zero.
    const { exposition } = await scrape(stack);
    expect(sampleSum(exposition, 'optimizer_requests_total')).toBe(1);
  });
});

describe('metrics switched off or guarded', () => {
  it('with metrics.enabled false (and no alert rules), nothing listens on the request path and /metrics and /admin/stats answer 404', async () => {
    // The default alert rules listen to request.completed (error rate): without them nothing does.
    const stack = await startStack({ config: { log: { level: 'info' }, metrics: { enabled: false }, alerts: { rules: [] } } });
    try {
      expect((await chat(stack, 'alice', ask('hi'))).status).toBe(200);
      const { bus } = stack.optimizer.runtime;
      for (const type of ['request.received', 'request.completed', 'cache.hit', 'cache.miss', 'backend.succeeded']) expect(bus.wants(type), type).toBe(false);
      for (const path of ['/metrics', '/admin/stats']) {
        const response = await fetch(`${stack.optimizer.url}${path}`);
        expect(response.status).toBe(404);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
      }
    } finally {
      await stack.close();
    }
  });

  it('with metrics.adminOnly, /metrics wants the admin key like /admin/*', async () => {
    const stack = await startStack({ env: { OPT_ADMIN_KEY: 'admin-secret' }, config: { admin: { keyEnv: 'OPT_ADMIN_KEY' }, metrics: { adminOnly: true } } });
    try {
      const refused = await fetch(`${stack.optimizer.url}/metrics`);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ADMIN_FORBIDDEN');
      const allowed = await fetch(`${stack.optimizer.url}/metrics`, { headers: { authorization: 'Bearer admin-secret' } });
      expect(allowed.status).toBe(200);
      expect(parsePrometheus(await allowed.text()).types.get('optimizer_requests_total')).toBe('counter');
      expect((await fetch(`${stack.optimizer.url}/admin/stats`)).status).toBe(403);
    } finally {
      await stack.close();
    }
  });
});
