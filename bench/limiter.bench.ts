/**
 * The rate limiter's cost per decision, in ns/op (a plain script):
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/limiter.bench.js
 *
 * - `tryAdmit`, uncontended: limits far above the load, so every call admits on the fast path.
 *   Time comes from a counter (no clock cost) or from `realClock` (adds `performance.now()`).
 * - `admit`, contended: more requests than the limits let through, on a ManualClock; the cost per
 *   admitted request covers `admit` (queueing, the promise), the wake-ups that serve the queue and
 *   the promise's resolution.
 *
 * "GCs" counts garbage collections during the measured loop: 0 on the fast path means it allocates
 * nothing. Env: LIMITER_BENCH_OPS (fast-path ops per run, default 5 000 000), LIMITER_BENCH_RUNS (runs
 * per row after a warm-up; the table shows the median, default 7). Reading `realClock` (performance.now) costs
 * about 60 ns and allocates a boxed double in V8: its GCs are the clock's, not the limiter's.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { ManualClock, realClock } from '../src/limits/clock.js';
import type { Clock } from '../src/limits/clock.js';
import { Limiter } from '../src/limits/limiter.js';
import type { LimiterOptions, LimitRequest } from '../src/limits/types.js';

const FAST_OPS = Number(process.env['LIMITER_BENCH_OPS'] ?? 5_000_000);
const RUNS = Number(process.env['LIMITER_BENCH_RUNS'] ?? 7);

interface Row {
  scenario: string;
  ops: number;
  nsPerOp: number;
  gcs: number;
}

let gcCount = 0;
const gcObserver = new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
});
gcObserver.observe({ entryTypes: ['gc'] });

/** A clock whose time the loop sets (the cost of reading it is a property load). */
class CounterClock implements Clock {
  time = 0;
  now(): number {
    return this.time;
  }
  setTimeout(): unknown {
    return undefined;
  }
  clearTimeout(): void {}
}

async function measure(name: string, run: () => { ops: number; ns: number }): Promise<Row> {
  const samples: { ops: number; ns: number; gcs: number }[] = [];
  // Warm-up (JIT, buffers grown to their working size): at least 3 runs and 300 ms.
  const warmUntil = process.hrtime.bigint() + 300_000_000n;
  for (let i = 0; i < 3 || process.hrtime.bigint() < warmUntil; i++) run();
  for (let i = 0; i < RUNS; i++) {
    await new Promise((resolve) => setImmediate(resolve)); // let GC entries of the last run arrive
    const gcBefore = gcCount;
    const sample = run();
    await new Promise((resolve) => setImmediate(resolve));
    samples.push({ ...sample, gcs: gcCount - gcBefore });
  }
  samples.sort((a, b) => a.ns / a.ops - b.ns / b.ops);
  const median = samples[Math.floor(samples.length / 2)]!;
  return { scenario: name, ops: median.ops, nsPerOp: median.ns / median.ops, gcs: median.gcs };
}

function elapsedNs(start: bigint): number {
  return Number(process.hrtime.bigint() - start);
}

// ── fast path ───────────────────────────────────────────────────────────────────────────────────

/**
 * One limiter for every run of the row, its time continuing from run to run: the warm-up run fills
 * the windows' buffers to their working size, so measured runs see the steady state.
 */
function fastPath(options: Omit<LimiterOptions, 'clock'>, requests: LimitRequest[], stepMs: number): () => { ops: number; ns: number } {
  const counter = new CounterClock();
  const limiter = new Limiter({ ...options, clock: counter });
  const n = requests.length;
  return () => {
    let admitted = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < FAST_OPS; i++) {
      counter.time += stepMs;
      if (limiter.tryAdmit(requests[i % n]!)) admitted++;
    }
    const ns = elapsedNs(start);
    if (admitted !== FAST_OPS) throw new Error(`fast path refused ${FAST_OPS - admitted} requests: the bench limits are too low`);
    return { ops: FAST_OPS, ns };
  };
}

/** The same on `realClock`: no global limit (real time admits millions a second), 1000 agents. */
function fastPathRealClock(): () => { ops: number; ns: number } {
  const limiter = new Limiter({ clock: realClock, perAgent: { requestsPerMinute: 1_000_000 }, maxQueueWaitMs: 30_000 });
  const requests: LimitRequest[] = Array.from({ length: 1000 }, (_, i) => ({ agentId: `agent-${i}` }));
  const ops = Math.min(FAST_OPS, 1_000_000);
  return () => {
    let admitted = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) if (limiter.tryAdmit(requests[i % 1000]!)) admitted++;
    const ns = elapsedNs(start);
    if (admitted !== ops) throw new Error('fast path (realClock) refused requests');
    return { ops, ns };
  };
}

function clockRead(): () => { ops: number; ns: number } {
  return () => {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < FAST_OPS; i++) sink += realClock.now();
    const ns = elapsedNs(start);
    if (sink === 0) throw new Error('unreachable');
    return { ops: FAST_OPS, ns };
  };
}

// ── contention ──────────────────────────────────────────────────────────────────────────────────

/**
 * `agents` agents each submit `perAgent` requests at once; the clock then runs until every one is
 * admitted. Cost per admitted request.
 */
function burst(options: Omit<LimiterOptions, 'clock'>, agents: number, perAgent: number, stepMs: number): () => { ops: number; ns: number } {
  const requests: LimitRequest[] = [];
  for (let r = 0; r < perAgent; r++) for (let a = 0; a < agents; a++) requests.push({ agentId: `agent-${a}`, tokens: 100, priority: r % 3 });
  return () => {
    const clock = new ManualClock();
    const limiter = new Limiter({ ...options, clock });
    const start = process.hrtime.bigint();
    for (const request of requests) void limiter.admit(request);
    while (limiter.queueDepth() > 0) clock.advance(stepMs);
    const ns = elapsedNs(start);
    if (limiter.stats().admitted !== requests.length) throw new Error('burst: not every request was admitted');
    return { ops: requests.length, ns };
  };
}

/**
 * Arrivals at twice the rate the global limit allows, spread over `agents` agents, for `total`
 * requests; slots free one at a time, so nearly every admission is its own wake-up.
 */
function overload(agents: number, total: number): () => { ops: number; ns: number } {
  const rpm = 6000; // one slot per 10 ms
  const requests: LimitRequest[] = [];
  for (let i = 0; i < total; i++) requests.push({ agentId: `agent-${i % agents}` });
  return () => {
    const clock = new ManualClock();
    const limiter = new Limiter({ clock, global: { requestsPerMinute: rpm }, maxQueueWaitMs: 1e12 });
    const start = process.hrtime.bigint();
    for (const request of requests) {
      void limiter.admit(request);
      clock.advance(5);
    }
    while (limiter.queueDepth() > 0) clock.advance(10);
    const ns = elapsedNs(start);
    if (limiter.stats().admitted !== total) throw new Error('overload: not every request was admitted');
    return { ops: total, ns };
  };
}

async function main(): Promise<void> {
  const ten: LimitRequest[] = Array.from({ length: 10 }, (_, i) => ({ agentId: `agent-${i}` }));
  const tenWithBackend: LimitRequest[] = Array.from({ length: 10 }, (_, i) => ({ agentId: `agent-${i}`, backendId: `b${i % 2}`, tokens: 1 }));
  // 1 ms per op: 60 000 admissions per 60 s window in all, 6 000 per agent, 30 000 per backend: under
  // every limit, with windows as full as a busy fleet's.
  const wide = { requestsPerMinute: 100_000 };
  const wideTokens = { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000 };
  const rows: Row[] = [];

  rows.push(await measure('tryAdmit, uncontended: global + agent (req/min)', fastPath({ global: wide, perAgent: wide, maxQueueWaitMs: 30_000 }, ten, 1)));
  rows.push(
    await measure(
      'tryAdmit, uncontended: global + agent + backend, req/min + tokens/min',
      fastPath(
        { global: wideTokens, perAgent: wideTokens, backends: new Map([['b0', wideTokens], ['b1', wideTokens]]), maxQueueWaitMs: 30_000 },
        tenWithBackend,
        1,
      ),
    ),
  );
  rows.push(await measure('tryAdmit, uncontended, realClock: 1000 agents, perAgent only', fastPathRealClock()));
  rows.push(await measure('  (realClock.now() alone)', clockRead()));
  rows.push(
    await measure('admit, contended: 100 agents × 100 at once, global 1000/min', burst({ global: { requestsPerMinute: 1000 }, maxQueueWaitMs: 1e12 }, 100, 100, 60_000)),
  );
  rows.push(
    await measure(
      'admit, contended: 1000 agents × 10, perAgent 2/min (parking)',
      burst({ global: { requestsPerMinute: 5000 }, perAgent: { requestsPerMinute: 2 }, maxQueueWaitMs: 1e12 }, 1000, 10, 1000),
    ),
  );
  rows.push(
    await measure(
      'admit, contended: 100 agents, tokens/min binds (holds)',
      burst({ global: { requestsPerMinute: 100_000, tokensPerMinute: 50_000 }, maxQueueWaitMs: 1e12 }, 100, 50, 1000),
    ),
  );
  rows.push(await measure('admit, overload 2× global, 10 agents, a wake-up per slot', overload(10, 20_000)));
  rows.push(await measure('admit, overload 2× global, 200 agents, a wake-up per slot', overload(200, 20_000)));

  gcObserver.disconnect();
  const width = Math.max(...rows.map((r) => r.scenario.length));
  const lines = [
    `${'scenario'.padEnd(width)} | ${'ops/run'.padStart(9)} | ${'ns/op'.padStart(8)} | GCs`,
    `${'-'.repeat(width)} | ${'-'.repeat(9)} | ${'-'.repeat(8)} | ---`,
    ...rows.map((r) => `${r.scenario.padEnd(width)} | ${String(r.ops).padStart(9)} | ${r.nsPerOp.toFixed(1).padStart(8)} | ${r.gcs}`),
  ];
  console.log(`limiter bench: node ${process.version}, median of ${RUNS} runs`);
  console.log(lines.join('\n'));
}

await main();
