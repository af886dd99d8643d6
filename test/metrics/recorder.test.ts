import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/defaults.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildRoutingTable } from '../../src/routing/table.js';
import { EventBus, type OptimizerEvent } from '../../src/telemetry/event-bus.js';
import { backendConfig } from '../support/fixtures.js';
import { parsePrometheus, sampleSum } from '../support/prometheus.js';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 30);
const table = buildRoutingTable({
  backends: [backendConfig('groq', ['llama']), backendConfig('local', ['qwen'])],
  routing: { aliases: {}, fallbacks: {}, defaultModel: '' },
});

/** Metrics without a store (counting in memory only), on a fixed clock. */
function memoryMetrics(options: { cost?: (b: string, m: string, i: number, o: number) => number | undefined; maxAgentLabels?: number } = {}) {
  const metrics = new Metrics({
    config: { metrics: { ...DEFAULTS.metrics, maxAgentLabels: options.maxAgentLabels ?? 50 }, agents: [] },
    table,
    store: () => undefined,
    startedAt: NOW,
    now: () => NOW,
    cost: options.cost,
    processMetrics: false,
  });
  const bus = new EventBus(() => NOW);
  metrics.attach(bus);
  return { metrics, bus };
}

const done = (fields: Record<string, unknown>) => ({ agentId: 'a', backend: 'groq', model: 'groq/llama', cache: 'miss', outcome: 'ok', status: 200, latencyMs: 12, tokensIn: 0, tokensOut: 0, ...fields });

describe('the metrics recorder', () => {
  it('counts hits, misses, joins, errors and tokens per agent, backend and model', async () => {
    const { metrics, bus } = memoryMetrics();
    bus.publish('request.completed', done({ tokensIn: 100, tokensOut: 20 }));
    bus.publish('request.completed', done({ cache: 'hit', outcome: 'cache.hit', tokensSavedIn: 100, tokensSavedOut: 20, latencyMs: 0.4 }));
    bus.publish('request.completed', done({ agentId: 'b', dedupe: 'joined', outcome: 'dedupe.joined', tokensSavedIn: 7, tokensSavedOut: 3 }));
    bus.publish('request.completed', done({ agentId: 'b', outcome: 'ALL_BACKENDS_FAILED', status: 502 }));
    bus.publish('request.completed', done({ backend: undefined, model: undefined, cache: undefined, outcome: 'MODEL_NOT_FOUND', status: 404 }));
    // A joiner whose leader failed saved nothing: an error, not a join.
    bus.publish('request.completed', done({ agentId: 'c', dedupe: 'joined', outcome: 'ALL_BACKENDS_FAILED', status: 502 }));

    const stats = metrics.stats();
    expect(stats.totals).toMatchObject({ requests: 6, cacheHits: 1, cacheMisses: 4, dedupeJoins: 1, errors: 3, tokensIn: 100, tokensOut: 20, tokensSaved: 130 });
    expect(stats.byAgent.a).toMatchObject({ requests: 3, cacheHits: 1, errors: 1 });
    expect(stats.byBackend.none).toMatchObject({ requests: 1, errors: 1 });
    expect(stats.byModel['groq/llama']).toMatchObject({ requests: 5, dedupeJoins: 1 });
    expect(stats.latency.cache.count).toBe(1);
    expect(stats.latency.dedupe.count).toBe(1);
    expect(stats.latency.upstream.count).toBe(1); // errors are not timed

    const m = parsePrometheus(await metrics.prometheusText());
    expect(sampleSum(m, 'optimizer_request_errors_by_code_total', { backend: 'none', code: 'MODEL_NOT_FOUND' })).toBe(1);
    expect(sampleSum(m, 'optimizer_request_errors_by_code_total', { backend: 'groq', code: 'ALL_BACKENDS_FAILED' })).toBe(2);
    expect(sampleSum(m, 'optimizer_request_duration_seconds_count', { source: 'cache', backend: 'groq' })).toBe(1);
    expect(sampleSum(m, 'optimizer_request_duration_seconds_bucket', { source: 'cache', le: '0.001' })).toBe(1);
  });

  it('prices upstream tokens and what hits and joins saved with the injected function (the provider model id)', () => {
    const calls: string[] = [];
    const { metrics, bus } = memoryMetrics({
      cost: (backend, model, tokensIn, tokensOut) => {
        calls.push(`${backend}:${model}`);
        return tokensIn * 0.01 + tokensOut * 0.02;
      },
    });
    bus.publish('request.completed', done({ tokensIn: 100, tokensOut: 50 }));
    bus.publish('request.completed', done({ cache: 'hit', outcome: 'cache.hit', tokensSavedIn: 10, tokensSavedOut: 5 }));
    const { totals } = metrics.stats();
    expect(totals.costUsd).toBeCloseTo(2, 10);
    expect(totals.costSavedUsd).toBeCloseTo(0.2, 10);
    expect(calls).toEqual(['groq:llama', 'groq:llama']);
  });

  it('costs nothing without a price function, or when it knows no price or throws', () => {
    const { metrics: free, bus: b1 } = memoryMetrics();
    b1.publish('request.completed', done({ tokensIn: 100, tokensOut: 50 }));
    expect(free.stats().totals.costUsd).toBe(0);
    const { metrics: unknown, bus: b2 } = memoryMetrics({ cost: () => undefined });
    b2.publish('request.completed', done({ tokensIn: 100, tokensOut: 50 }));
    expect(unknown.stats().totals.costUsd).toBe(0);
    const { metrics: broken, bus: b3 } = memoryMetrics({
      cost: () => {
        throw new Error('no catalog');
      },
    });
    b3.publish('request.completed', done({ tokensIn: 100, tokensOut: 50 }));
    expect(broken.stats().totals).toMatchObject({ requests: 1, costUsd: 0 });
  });

  it('counts limiter waits and refusals, upstream errors by code, failovers, breaker transitions, restarts and dead letters', async () => {
    const { metrics, bus } = memoryMetrics();
    bus.publish('ratelimit.queued', { agentId: 'a', backend: 'groq', model: 'groq/llama' });
    bus.publish('ratelimit.rejected', { agentId: 'a', backend: 'groq', model: 'groq/llama', retryAfterMs: 100 });
    bus.publish('backend.failed', { backend: 'groq', agentId: 'a', model: 'groq/llama', code: 'UPSTREAM_TIMEOUT' });
    bus.publish('backend.failed', { backend: 'groq', agentId: 'a', model: 'groq/llama', code: 'made up by a bug' });
    bus.publish('backend.failover', { from: 'groq', to: 'local', agentId: 'a', model: 'groq/llama', code: 'UPSTREAM_TIMEOUT' });
    bus.publish('breaker.opened', { backendId: 'groq', reason: 'consecutive', cooldownMs: 5000 });
    bus.publish('breaker.half_opened', { backendId: 'groq' });
    bus.publish('actor.restarted', { supervisor: 'backends', childId: 'groq', systemId: 'backend:groq', reason: 'x', restarts: 1, delayMs: 10 });
    bus.publish('actor.restarted', { supervisor: 'sessions', childId: 'some-agent', systemId: 'session:some-agent', reason: 'x', restarts: 1, delayMs: 10 });
    bus.publish('dlq.enqueued', { id: 'dlq_1', agentId: 'a', attempts: 2 });

    expect(metrics.stats().byAgent.a).toMatchObject({ rateLimitQueued: 1, rateLimitRejected: 1, upstreamErrors: 2, failovers: 1 });
    const m = parsePrometheus(await metrics.prometheusText());
    expect(sampleSum(m, 'optimizer_upstream_errors_total', { backend: 'groq', code: 'UPSTREAM_TIMEOUT' })).toBe(1);
    expect(sampleSum(m, 'optimizer_upstream_errors_total', { backend: 'groq', code: 'UNKNOWN' })).toBe(1);
    expect(sampleSum(m, 'optimizer_failovers_total', { backend: 'groq', to: 'local' })).toBe(1);
    expect(sampleSum(m, 'optimizer_breaker_transitions_total', { backend: 'groq', state: 'opened' })).toBe(1);
    expect(sampleSum(m, 'optimizer_breaker_transitions_total', { backend: 'groq', state: 'half_opened' })).toBe(1);
    expect(sampleSum(m, 'optimizer_actor_restarts_total', { supervisor: 'backends', child: 'groq' })).toBe(1);
    expect(sampleSum(m, 'optimizer_actor_restarts_total', { supervisor: 'sessions', child: 'session' })).toBe(1);
    expect(sampleSum(m, 'optimizer_dlq_enqueued_total')).toBe(1);
  });

  it('caps the agent label in Prometheus series and in the stats alike', async () => {
    const { metrics, bus } = memoryMetrics({ maxAgentLabels: 3 });
    for (let i = 0; i < 20; i++) bus.publish('request.completed', done({ agentId: `agent-${i}` }));
    const m = parsePrometheus(await metrics.prometheusText());
    const agents = new Set(m.samples.filter((s) => s.name === 'optimizer_requests_total').map((s) => s.labels.agent));
    expect([...agents].sort()).toEqual(['agent-0', 'agent-1', 'agent-2', 'other']);
    expect(sampleSum(m, 'optimizer_requests_total', { agent: 'other' })).toBe(17);
    expect(Object.keys(metrics.stats().byAgent).sort()).toEqual(['agent-0', 'agent-1', 'agent-2', 'other']);
  });

  it('stops counting when detached, and listens to nothing per request besides request.completed', () => {
    const metrics = new Metrics({ config: { metrics: DEFAULTS.metrics, agents: [] }, table, store: () => undefined, startedAt: NOW, now: () => NOW, processMetrics: false });
    const bus = new EventBus(() => NOW);
    const detach = metrics.attach(bus);
    for (const type of ['request.received', 'cache.hit', 'cache.miss', 'dedupe.joined', 'backend.succeeded']) expect(bus.wants(type), type).toBe(false);
    expect(bus.wants('request.completed')).toBe(true);
    detach();
    expect(bus.wants('request.completed')).toBe(false);
    bus.publish('request.completed', done({}) as Partial<OptimizerEvent>);
    expect(metrics.stats().totals.requests).toBe(0);
  });
});
