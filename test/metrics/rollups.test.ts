import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RootDatabase } from 'lmdb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/defaults.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { MINUTE_MS } from '../../src/metrics/rollup.js';
import { RollupStore } from '../../src/metrics/rollup-store.js';
import { buildRoutingTable } from '../../src/routing/table.js';
import { openStore } from '../../src/store/open-store.js';
import { EventBus, type OptimizerEvent } from '../../src/telemetry/event-bus.js';
import { backendConfig } from '../support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rollups-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let paths = 0;
const opened: RootDatabase[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((root) => root.close()));
});
function openEnv(path = join(dir, `env-${paths++}`)): { root: RootDatabase; path: string } {
  const root = openStore({ path, mapSizeBytes: 64 * 1024 * 1024 });
  opened.push(root);
  return { root, path };
}

const HOUR = 60 * MINUTE_MS;
/** 2030-01-01T12:00:00Z: a minute boundary. */
const NOON = Date.UTC(2030, 0, 1, 12, 0, 0);
const table = buildRoutingTable({ backends: [backendConfig('groq', ['llama'])], routing: { aliases: {}, fallbacks: {}, defaultModel: '' } });

class TestClock {
  constructor(public t: number) {}
  now = () => this.t;
}

function metricsOn(store: () => RootDatabase | undefined, clock: TestClock, overrides: Partial<typeof DEFAULTS.metrics> = {}): Metrics {
  return new Metrics({
    config: { metrics: { ...DEFAULTS.metrics, ...overrides }, agents: [] },
    table,
    store,
    startedAt: clock.t,
    now: clock.now,
    processMetrics: false,
  });
}

function completed(at: number, fields: Partial<OptimizerEvent> = {}): OptimizerEvent {
  return { type: 'request.completed', at, agentId: 'a', backend: 'groq', model: 'groq/llama', cache: 'miss', outcome: 'ok', status: 200, latencyMs: 20, tokensIn: 10, tokensOut: 5, ...fields };
}

describe('per-minute roll-ups', () => {
  it('counts an event into the minute holding it: the last millisecond of a minute and the first of the next are apart', () => {
    const { root } = openEnv();
    const clock = new TestClock(NOON + MINUTE_MS + 30_000);
    const metrics = metricsOn(() => root, clock);
    metrics.recorder.record(completed(NOON + MINUTE_MS - 1));
    metrics.recorder.record(completed(NOON + MINUTE_MS));
    metrics.recorder.record(completed(NOON + MINUTE_MS + 59_999));
    const { timeline } = metrics.stats();
    expect(timeline).toHaveLength(60);
    expect(timeline.at(-1)).toMatchObject({ minute: NOON + MINUTE_MS, requests: 2, cacheMisses: 2, tokensIn: 20 });
    expect(timeline.at(-2)).toMatchObject({ minute: NOON, requests: 1 });
    expect(timeline.at(-3)).toMatchObject({ minute: NOON - MINUTE_MS, requests: 0 });
    expect(timeline[0]!.minute).toBe(NOON + MINUTE_MS - 59 * MINUTE_MS);
  });

  it('survives a restart: a new process on the same store sees the minutes and the totals, and adds to the same minute', async () => {
    const { root } = openEnv();
    const clock = new TestClock(NOON + 10_000);
    const first = metricsOn(() => root, clock);
    first.recorder.record(completed(NOON + 1_000));
    first.recorder.record(completed(NOON + 2_000, { cache: 'hit', outcome: 'cache.hit', tokensIn: 0, tokensOut: 0, tokensSavedIn: 10, tokensSavedOut: 5 }));
    expect(await first.flush()).toBe(true);

    clock.t = NOON + 20_000;
    const second = metricsOn(() => root, clock);
    expect(second.stats().totals).toMatchObject({ requests: 2, cacheHits: 1, tokensSaved: 15 });
    second.recorder.record(completed(NOON + 15_000, { agentId: 'b' }));
    const stats = second.stats();
    expect(stats.totals.requests).toBe(3);
    expect(stats.byAgent.a!.requests).toBe(2);
    expect(stats.byAgent.b!.requests).toBe(1);
    expect(stats.timeline.at(-1)).toMatchObject({ minute: NOON, requests: 3, cacheHits: 1 });
    expect(await second.flush()).toBe(true);
    expect(new RollupStore(() => root).minute(NOON)?.totals.requests).toBe(3);
    expect(new RollupStore(() => root).lifetime()?.totals.requests).toBe(3);
  });

  it('relabels the agents already stored first after a restart (the cap holds across restarts)', async () => {
    const { root } = openEnv();
    const clock = new TestClock(NOON);
    const first = metricsOn(() => root, clock, { maxAgentLabels: 2 });
    first.recorder.record(completed(NOON, { agentId: 'x' }));
    first.recorder.record(completed(NOON, { agentId: 'y' }));
    await first.flush();
    const second = metricsOn(() => root, clock, { maxAgentLabels: 2 });
    const bus = new EventBus(clock.now);
    const detach = second.attach(bus);
    bus.publish('request.completed', { ...completed(NOON), type: undefined, agentId: 'z' });
    bus.publish('request.completed', { ...completed(NOON), type: undefined, agentId: 'y' });
    detach();
    expect(Object.keys(second.stats().byAgent).sort()).toEqual(['other', 'x', 'y']);
    expect(second.stats().byAgent.other!.requests).toBe(1);
  });

  it('prunes the minutes older than the retention, and keeps the lifetime totals', async () => {
    const { root } = openEnv();
    const clock = new TestClock(NOON);
    const metrics = metricsOn(() => root, clock, { retentionMs: 2 * HOUR });
    const store = new RollupStore(() => root);
    metrics.recorder.record(completed(NOON));
    await metrics.flush();
    clock.t = NOON + HOUR;
    metrics.recorder.record(completed(NOON + HOUR));
    await metrics.flush();
    expect(store.count()).toBe(2);

    clock.t = NOON + 2 * HOUR + 30_000; // NOON's minute is now past 2 h
    metrics.recorder.record(completed(clock.t));
    await metrics.flush();
    expect(store.minute(NOON)).toBeUndefined();
    expect(store.minute(NOON + HOUR)?.totals.requests).toBe(1);
    expect(store.count()).toBe(2);
    expect(metrics.stats().totals.requests).toBe(3);
  });

  it('writes a minute, then forgets it in memory once it is past; the timeline reads it back from the store', async () => {
    const { root } = openEnv();
    const clock = new TestClock(NOON);
    const metrics = metricsOn(() => root, clock);
    metrics.recorder.record(completed(NOON, { latencyMs: 3 }));
    await metrics.flush();
    clock.t = NOON + 3 * MINUTE_MS;
    await metrics.flush(); // NOON's minute is clean and old: dropped from memory
    await metrics.flush();
    const { timeline, latency } = metrics.stats();
    expect(timeline.at(-4)).toMatchObject({ minute: NOON, requests: 1 });
    expect(latency.upstream.count).toBe(1); // within the last 5 minutes
    clock.t = NOON + 10 * MINUTE_MS;
    expect(metrics.stats().latency.upstream.count).toBe(0);
  });

  it('keeps counting while the store is down, and merges with what was stored once it is back', async () => {
    const { root } = openEnv();
    // An earlier process left NOON's minute with 2 requests.
    const earlier = metricsOn(() => root, new TestClock(NOON));
    earlier.recorder.record(completed(NOON));
    earlier.recorder.record(completed(NOON));
    await earlier.flush();

    let store: RootDatabase | undefined;
    const clock = new TestClock(NOON + 30_000);
    const metrics = metricsOn(() => store, clock);
    metrics.recorder.record(completed(NOON + 30_000));
    expect(await metrics.flush()).toBe(false);
    expect(metrics.stats().totals.requests).toBe(1);

    store = root;
    expect(await metrics.flush()).toBe(true);
    expect(metrics.stats().timeline.at(-1)!.requests).toBe(3);
    expect(metrics.stats().totals.requests).toBe(3);
    expect(new RollupStore(() => root).minute(NOON)!.totals.requests).toBe(3);
  });
});
