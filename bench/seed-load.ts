/**
 * The seed load scenario: 100 agents × 5 calls = 500 concurrent calls, half the agents on
 * WebSocket sessions and half over HTTP, with a realistic share of repeated prompts; then the same
 * calls again once the first wave has finished. Measures what the response cache and the in-flight
 * dedupe do for a fleet: errors (must be 0), cache hit rate, dedupe catch rate (duplicates
 * collapsed ÷ duplicates sent; must be above 90 %), upstream calls saved, p50/p99 latency, the
 * optimizer's memory, and how fast `GET /health` answers during the load (sampled on a connection
 * of its own; p99 must stay under 100 ms).
 *
 * The loopback OpenAI upstream runs in this process (so its `calls` counter can be read), with a
 * realistic latency (200 ms) so that concurrent duplicates overlap; the optimizer runs as a child
 * process with the cache and dedupe on and the limits set far above the load (this scenario
 * measures cache and dedupe, not queueing). Every call of a wave is prepared first and then sent
 * in one synchronous loop, so all of them are in flight together.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/seed-load.js     (--help for the settings)
 *
 * Prints a table with PASS/FAIL for the three musts and exits 1 when one fails; writes
 * bench/results/<timestamp>-seed-load.json and prints a markdown block for bench/RESULTS.md.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startOpenAIUpstream } from '../src/loopback/openai-upstream.js';
import type { OpenAIUpstream } from '../src/loopback/openai-upstream.js';
import { watchForeignCpu } from './lib/cpu.js';
import { pollHealthInWorker } from './lib/health-poller.js';
import { LatencyRecorder } from './lib/load.js';
import { machineFacts } from './lib/machine.js';
import type { MachineFacts } from './lib/machine.js';
import { freePort, hasTaskset, killAllSync, onExit, pinSelf, readRss, sampleRss, startOptimizerProcess } from './lib/processes.js';
import type { Started } from './lib/processes.js';
import { NOISY_FOREIGN_CPU_PCT } from './lib/report.js';
import { httpCall, prepareHttp, watchHttpWrites, WsAgent } from './lib/seed-clients.js';
import type { CallResult, PreparedHttp } from './lib/seed-clients.js';
import { makePlan } from './lib/seed-plan.js';
import type { MixSettings, PlannedCall, WavePlan } from './lib/seed-plan.js';
import { fmtInt, fmtMiB, fmtMs, formatMarkdown, formatText } from './lib/table.js';
import { envNum, envInt } from './lib/env.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// ── settings ─────────────────────────────────────────────────────────────────────────────────────

interface Settings extends MixSettings {
  waves: number;
  waveGapMs: number;
  dedupeWindowMs: number;
  upstreamLatencyMs: number;
  upstreamChunks: number;
  backendConnections: number;
  globalRpm: number;
  perAgentRpm: number;
  callTimeoutMs: number;
  healthIntervalMs: number;
  pin: boolean;
  optimizerScript: string;
  resultsDir: string;
}

function usage(): string {
  return `node dist/bench/seed-load.js   (build first: npx tsc -p tsconfig.build.json)

The seed load scenario: agents × calls concurrent chat calls over WebSocket and HTTP with a mix of
repeated prompts, in waves. env vars [defaults]:
  SEED_WS_AGENTS             agents on WebSocket sessions [50]
  SEED_HTTP_AGENTS           agents over HTTP [50]
  SEED_CALLS_PER_AGENT       concurrent calls per agent [5]
  SEED_SHARED_DET_PCT        % of calls sending a shared deterministic task (temperature 0) [40]
  SEED_SHARED_DET_PROMPTS    distinct shared deterministic tasks [20]
  SEED_SHARED_NONDET_PCT     % of calls sending a shared non-deterministic task [20]
  SEED_SHARED_NONDET_PROMPTS distinct shared non-deterministic tasks [10]
  SEED_NONDET_TEMPERATURE    their temperature [0.7]
  SEED_UNIQUE_TEMPERATURE    temperature of the unique prompts (the rest of the calls) [0]
  SEED_STREAM_PCT            % of calls that stream [30]
  SEED_WS_MSGPACK_PCT        % of WebSocket agents using msgpack binary frames [50]
  SEED_SYSTEM_PROMPT_BYTES   system prompt size per agent type [16384]
  SEED_SEED                  PRNG seed of the assignment [1]
  SEED_WAVES                 waves (each after the previous finished) [2]
  SEED_WAVE_GAP_MS           pause between waves [0]
  SEED_DEDUPE_WINDOW_MS      the optimizer's dedupe.windowMs [5000]: a non-deterministic request
                             repeated later than this after its answer is a new request, not a duplicate
  SEED_LATER_UNIQUE          fresh | same: unique prompts of later waves are new, or repeat wave 1's [fresh]
  SEED_UPSTREAM_LATENCY_MS   loopback upstream latency [200]
  SEED_UPSTREAM_CHUNKS       content pieces per streamed answer [4]
  SEED_BACKEND_CONNECTIONS   the backend's undici pool size [512]
  SEED_GLOBAL_RPM            limits.global.requestsPerMinute [100000]
  SEED_PER_AGENT_RPM         limits.perAgent.requestsPerMinute [1000]
  SEED_CALL_TIMEOUT_MS       per-call timeout [15000]
  SEED_HEALTH_INTERVAL_MS    GET /health sampled this often during each wave, one at a time [20]
  SEED_PIN                   0: no taskset (default: optimizer on CPU 0, this process on CPU 1) [1]
  SEED_OPTIMIZER_SCRIPT      optimizer entry point [dist/src/main.js]
  SEED_RESULTS_DIR           where the JSON goes [bench/results]`;
}



function readSettings(): Settings {
  const sharedDetPct = envNum('SEED_SHARED_DET_PCT', 40, 0, 100);
  const sharedNondetPct = envNum('SEED_SHARED_NONDET_PCT', 20, 0, 100);
  if (sharedDetPct + sharedNondetPct > 100) throw new Error('SEED_SHARED_DET_PCT + SEED_SHARED_NONDET_PCT must be ≤ 100');
  const laterUnique = process.env['SEED_LATER_UNIQUE'] ?? 'fresh';
  if (laterUnique !== 'fresh' && laterUnique !== 'same') throw new Error(`SEED_LATER_UNIQUE must be fresh or same, got "${laterUnique}"`);
  return {
    wsAgents: envInt('SEED_WS_AGENTS', 50, 0),
    httpAgents: envInt('SEED_HTTP_AGENTS', 50, 0),
    callsPerAgent: envInt('SEED_CALLS_PER_AGENT', 5, 1),
    sharedDetPct,
    sharedDetPrompts: envInt('SEED_SHARED_DET_PROMPTS', 20, 1),
    sharedNondetPct,
    sharedNondetPrompts: envInt('SEED_SHARED_NONDET_PROMPTS', 10, 1),
    nondetTemperature: envNum('SEED_NONDET_TEMPERATURE', 0.7, 0, 2),
    uniqueTemperature: envNum('SEED_UNIQUE_TEMPERATURE', 0, 0, 2),
    streamPct: envNum('SEED_STREAM_PCT', 30, 0, 100),
    wsMsgpackPct: envNum('SEED_WS_MSGPACK_PCT', 50, 0, 100),
    systemPromptBytes: envInt('SEED_SYSTEM_PROMPT_BYTES', 16_384, 0),
    seed: envInt('SEED_SEED', 1, 0),
    laterUnique,
    waves: envInt('SEED_WAVES', 2, 1, 10),
    waveGapMs: envInt('SEED_WAVE_GAP_MS', 0, 0, 30_000),
    dedupeWindowMs: envInt('SEED_DEDUPE_WINDOW_MS', 5000, 0),
    upstreamLatencyMs: envInt('SEED_UPSTREAM_LATENCY_MS', 200, 0),
    upstreamChunks: envInt('SEED_UPSTREAM_CHUNKS', 4, 1),
    backendConnections: envInt('SEED_BACKEND_CONNECTIONS', 512, 1, 4096),
    globalRpm: envInt('SEED_GLOBAL_RPM', 100_000, 1),
    perAgentRpm: envInt('SEED_PER_AGENT_RPM', 1000, 1),
    callTimeoutMs: envInt('SEED_CALL_TIMEOUT_MS', 15_000, 100),
    healthIntervalMs: envInt('SEED_HEALTH_INTERVAL_MS', 20, 5, 10_000),
    pin: process.env['SEED_PIN'] !== '0',
    optimizerScript: resolve(ROOT, process.env['SEED_OPTIMIZER_SCRIPT'] ?? 'dist/src/main.js'),
    resultsDir: resolve(ROOT, process.env['SEED_RESULTS_DIR'] ?? 'bench/results'),
  };
}

function optimizerConfig(s: Settings, upstreamUrl: string): unknown {
  return {
    log: { level: 'info' },
    backends: [
      {
        id: 'up',
        provider: 'openai-compatible',
        baseUrl: upstreamUrl.replace(/\/+$/, ''),
        models: ['test-model'],
        connections: s.backendConnections,
      },
    ],
    routing: { defaultModel: 'up/test-model' },
    limits: { global: { requestsPerMinute: s.globalRpm }, perAgent: { requestsPerMinute: s.perAgentRpm } },
    cache: { enabled: true },
    dedupe: { enabled: true, windowMs: s.dedupeWindowMs },
  };
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

// ── one wave ─────────────────────────────────────────────────────────────────────────────────────

interface WaveRun {
  wave: number;
  /** `performance.now()` when the first call was sent. */
  startedAt: number;
  results: CallResult[];
  /** Time to issue every call of the wave (the barrier's width), ms. */
  fireMs: number;
  /** First send → last answer, ms. */
  wallMs: number;
  upstreamCalls: number;
  rss: { peakRssKiB: number; hwmKiB: number; samples: number };
  foreignCpuPct: number | undefined;
  /** CPU time (user + system) the optimizer and this process used during the wave, ms. */
  optimizerCpuMs: number | undefined;
  benchCpuMs: number | undefined;
  /** `GET /health` during the wave: each answered sample's latency (ms), and the polls that failed or were skipped (the previous one still running). */
  health: { latenciesMs: number[]; failed: number; skipped: number };
}

/** The /health must: p99 under this while the load runs. */
const HEALTH_P99_LIMIT_MS = 100;

/** utime + stime of a process from `/proc/<pid>/stat`, in ms (USER_HZ = 100). */
function cpuMs(pid: number | 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return ((f[11] ?? 0) + (f[12] ?? 0)) * 10;
  } catch {
    return undefined;
  }
}

const delta = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : b - a);

async function runWave(
  plan: WavePlan,
  wsAgents: Map<string, WsAgent>,
  pool: Pool,
  upstream: OpenAIUpstream,
  optimizerPid: number,
  origin: string,
  s: Settings,
): Promise<WaveRun> {
  // Prepare everything first: encode the WS frames, serialise the HTTP bodies.
  const byAgent = new Map<string, PlannedCall[]>();
  for (const call of plan.calls) byAgent.set(call.agentId, [...(byAgent.get(call.agentId) ?? []), call]);
  for (const [agentId, calls] of byAgent) wsAgents.get(agentId)?.prepare(plan.wave, calls);
  const http = new Map<string, PreparedHttp[]>();
  for (const [agentId, calls] of byAgent) if (!wsAgents.has(agentId)) http.set(agentId, calls.map((c) => prepareHttp(plan.wave, c)));
  const writes = watchHttpWrites();
  const agentIds = [...byAgent.keys()];
  // Interleave WS and HTTP agents in the firing order.
  const ws = agentIds.filter((a) => wsAgents.has(a));
  const hs = agentIds.filter((a) => !wsAgents.has(a));
  const order: string[] = [];
  for (let i = 0; i < Math.max(ws.length, hs.length); i++) {
    if (i < ws.length) order.push(ws[i] as string);
    if (i < hs.length) order.push(hs[i] as string);
  }

  const upBefore = upstream.calls;
  const rss = sampleRss(optimizerPid, 50);
  const cpu = watchForeignCpu([optimizerPid]);
  const optCpu0 = cpuMs(optimizerPid);
  const selfCpu0 = cpuMs('self');
  // /health on its own keep-alive connection, sampled at a fixed cadence while the wave runs, from a
  // worker thread: this process is busy sending the load and running the upstream, and its own
  // event loop lag must not count as the optimizer's.
  const health = pollHealthInWorker(origin, s.healthIntervalMs);

  // The barrier: every call is sent from this one synchronous loop.
  const promises: Promise<CallResult>[] = [];
  const t0 = performance.now();
  let fireWsMs = 0;
  for (let c = 0; c < s.callsPerAgent; c++) {
    for (const agentId of order) {
      const agent = wsAgents.get(agentId);
      if (agent) {
        const a = performance.now();
        promises.push(agent.fire(c, s.callTimeoutMs));
        fireWsMs += performance.now() - a;
      } else {
        const p = http.get(agentId)?.[c];
        if (p) promises.push(httpCall(pool, plan.wave, p, s.callTimeoutMs, writes.writtenAt));
      }
    }
  }
  const fireMs = performance.now() - t0;
  log(`  wave ${plan.wave}: send loop ${fmtMs(fireMs)} ms, of which WebSocket sends ${fmtMs(fireWsMs)} ms`);
  const results = await Promise.all(promises);
  const wallMs = performance.now() - t0;
  await health.stop();
  writes.stop();
  const foreignCpuPct = cpu.stop();
  const optimizerCpuMs = delta(optCpu0, cpuMs(optimizerPid));
  const benchCpuMs = delta(selfCpu0, cpuMs('self'));
  const mem = rss.stop();
  results.sort((a, b) => a.index - b.index);
  return {
    wave: plan.wave,
    startedAt: t0,
    results,
    fireMs,
    wallMs,
    upstreamCalls: upstream.calls - upBefore,
    rss: mem,
    foreignCpuPct,
    optimizerCpuMs,
    benchCpuMs,
    health: { latenciesMs: health.samples.map((h) => h.doneAt - h.sentAt), failed: health.failed, skipped: health.skipped },
  };
}

// ── analysis ─────────────────────────────────────────────────────────────────────────────────────

interface Pcts {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function pcts(xs: readonly number[]): Pcts {
  const rec = new LatencyRecorder(Math.max(1, xs.length));
  for (const x of xs) if (Number.isFinite(x)) rec.record(x);
  const [p50, p99, max] = rec.percentiles([50, 99, 100]);
  return { n: rec.count, p50: p50 ?? Number.NaN, p99: p99 ?? Number.NaN, max: max ?? Number.NaN };
}

interface WaveStats {
  wave: number;
  calls: number;
  wsCalls: number;
  httpCalls: number;
  streams: number;
  byKind: Record<string, number>;
  failed: number;
  wrongAnswers: number;
  /** failed + wrong answers: the must-be-0 number. */
  errors: number;
  errorSamples: string[];
  /** Successful answers that carried no cache outcome (`x-cache` / `meta.cache`). */
  missingCache: number;
  /** Answers that were neither cache hits nor carried a dedupe role although dedupe is on. */
  missingDedupe: number;
  cache: Record<string, number>;
  dedupe: Record<string, number>;
  cacheHitRate: number;
  distinctRequests: number;
  /** Distinct requests of this wave that no earlier wave sent: the fewest upstream calls possible. */
  newDistinct: number;
  duplicatesWithinWave: number;
  duplicatesOfEarlierWaves: number;
  duplicatesSent: number;
  collapsed: number;
  catchRate: number;
  /** Duplicates that went upstream anyway (per request: upstream-served calls beyond the one allowed). */
  missedDuplicates: number;
  /** Requests seen for the first time that were nevertheless answered as hits or joins. */
  collapsedFirsts: number;
  upstreamCalls: number;
  upstreamSaved: number;
  upstreamSavedPct: number;
  latency: Record<string, Pcts>;
  firstChunk: Record<string, Pcts>;
  /** HTTP: call → body written by undici (the bench's own delay). */
  httpWire: Pcts;
  fireMs: number;
  wallMs: number;
  rss: { peakRssKiB: number; hwmKiB: number };
  foreignCpuPct: number | undefined;
  optimizerCpuMs: number | undefined;
  benchCpuMs: number | undefined;
  /** `GET /health` latency during the wave (max included: it is the one a load balancer's timeout sees). */
  health: Pcts;
  healthFailed: number;
  healthSkipped: number;
}

const collapsedOutcome = (r: CallResult): boolean => r.cache === 'hit' || r.dedupe === 'joined';

/** A request answered in an earlier wave: whether its answer is cacheable, and when it was first answered. */
interface Seen {
  deterministic: boolean;
  firstAnsweredAt: number;
}

/** Whether the request of `r` is deterministic (temperature 0): cached by default. */
function deterministic(r: CallResult, s: Settings): boolean {
  const t = r.kind === 'shared-det' ? 0 : r.kind === 'shared-nondet' ? s.nondetTemperature : s.uniqueTemperature;
  return t === 0;
}

/** Records the requests of a finished wave in `seen`. */
function remember(run: WaveRun, seen: Map<string, Seen>, s: Settings): void {
  for (const r of run.results) {
    if (!r.ok) continue;
    const prev = seen.get(r.key);
    if (!prev || r.doneAt < prev.firstAnsweredAt) seen.set(r.key, { deterministic: deterministic(r, s), firstAnsweredAt: r.doneAt });
  }
}

/**
 * A request of an earlier wave that the optimizer can still answer without the upstream: from the
 * cache (deterministic, TTL 1 h) or from the dedupe window (any, `windowMs` after its answer).
 */
function stillCollapsible(seen: Seen | undefined, waveStart: number, windowMs: number): boolean {
  if (!seen) return false;
  return seen.deterministic || waveStart - seen.firstAnsweredAt < windowMs;
}

function analyse(run: WaveRun, seenBefore: ReadonlyMap<string, Seen>, s: Settings): WaveStats {
  const rs = run.results;
  const count = (f: (r: CallResult) => boolean): number => rs.filter(f).length;
  const tally = (f: (r: CallResult) => string): Record<string, number> => {
    const t: Record<string, number> = {};
    for (const r of rs) t[f(r)] = (t[f(r)] ?? 0) + 1;
    return t;
  };
  const errorSamples = [
    ...new Set(rs.filter((r) => !r.ok || !r.answerOk).map((r) => `${r.transport} ${r.agentId} ${r.promptId}${r.stream ? ' (stream)' : ''}: ${r.error ?? 'answer does not contain the prompt tag'}`)),
  ].slice(0, 5);

  // Requests by key: how many calls, how many collapsed.
  const groups = new Map<string, { n: number; collapsed: number }>();
  for (const r of rs) {
    const g = groups.get(r.key) ?? { n: 0, collapsed: 0 };
    g.n++;
    if (collapsedOutcome(r)) g.collapsed++;
    groups.set(r.key, g);
  }
  let newDistinct = 0;
  let dupWithin = 0;
  let dupEarlier = 0;
  let missed = 0;
  let collapsedFirsts = 0;
  for (const [key, g] of groups) {
    const earlier = stillCollapsible(seenBefore.get(key), run.startedAt, s.dedupeWindowMs);
    if (earlier) dupEarlier += g.n;
    else {
      newDistinct++;
      dupWithin += g.n - 1;
    }
    const allowedUpstream = earlier ? 0 : 1;
    missed += Math.max(0, g.n - g.collapsed - allowedUpstream);
    if (!earlier && g.collapsed === g.n) collapsedFirsts++;
  }
  const duplicatesSent = dupWithin + dupEarlier;
  const collapsed = count(collapsedOutcome);
  const hits = count((r) => r.cache === 'hit');

  const lat = (f: (r: CallResult) => boolean): Pcts => pcts(rs.filter((r) => r.ok && f(r)).map((r) => r.latencyMs));
  const first = (f: (r: CallResult) => boolean): Pcts =>
    pcts(rs.filter((r) => r.ok && r.stream && f(r)).map((r) => r.firstChunkMs ?? Number.NaN));
  const isWs = (r: CallResult): boolean => r.transport !== 'http';

  const failed = count((r) => !r.ok);
  const wrongAnswers = count((r) => r.ok && !r.answerOk);
  return {
    wave: run.wave,
    calls: rs.length,
    wsCalls: count(isWs),
    httpCalls: count((r) => !isWs(r)),
    streams: count((r) => r.stream),
    byKind: tally((r) => r.kind),
    failed,
    wrongAnswers,
    errors: failed + wrongAnswers,
    errorSamples,
    missingCache: count((r) => r.ok && r.cache === undefined),
    missingDedupe: count((r) => r.ok && r.cache !== 'hit' && r.dedupe === undefined),
    cache: tally((r) => r.cache ?? '(none)'),
    dedupe: tally((r) => r.dedupe ?? '(none)'),
    cacheHitRate: rs.length > 0 ? hits / rs.length : Number.NaN,
    distinctRequests: groups.size,
    newDistinct,
    duplicatesWithinWave: dupWithin,
    duplicatesOfEarlierWaves: dupEarlier,
    duplicatesSent,
    collapsed,
    catchRate: duplicatesSent > 0 ? collapsed / duplicatesSent : Number.NaN,
    missedDuplicates: missed,
    collapsedFirsts,
    upstreamCalls: run.upstreamCalls,
    upstreamSaved: rs.length - run.upstreamCalls,
    upstreamSavedPct: rs.length > 0 ? (rs.length - run.upstreamCalls) / rs.length : Number.NaN,
    latency: {
      all: lat(() => true),
      ws: lat(isWs),
      http: lat((r) => !isWs(r)),
      upstream: lat((r) => !collapsedOutcome(r)),
      joined: lat((r) => r.dedupe === 'joined'),
      hit: lat((r) => r.cache === 'hit'),
    },
    firstChunk: { all: first(() => true), ws: first(isWs), http: first((r) => !isWs(r)) },
    httpWire: pcts(rs.filter((r) => r.wireMs !== undefined).map((r) => r.wireMs ?? Number.NaN)),
    fireMs: run.fireMs,
    wallMs: run.wallMs,
    rss: { peakRssKiB: run.rss.peakRssKiB, hwmKiB: run.rss.hwmKiB },
    foreignCpuPct: run.foreignCpuPct,
    optimizerCpuMs: run.optimizerCpuMs,
    benchCpuMs: run.benchCpuMs,
    health: pcts(run.health.latenciesMs),
    healthFailed: run.health.failed,
    healthSkipped: run.health.skipped,
  };
}

// ── report ───────────────────────────────────────────────────────────────────────────────────────

/** The dedupe must: above 90 % (not applicable to a wave without duplicates). */
const catchPass = (w: WaveStats): boolean => w.duplicatesSent === 0 || w.catchRate > 0.9;
/** The /health must: answered during the load (no failed poll), p99 under HEALTH_P99_LIMIT_MS. */
const healthPass = (w: WaveStats): boolean => w.health.n > 0 && w.healthFailed === 0 && w.health.p99 < HEALTH_P99_LIMIT_MS;
const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : 'n/a');
const noisy = (w: WaveStats): boolean => w.foreignCpuPct !== undefined && w.foreignCpuPct > NOISY_FOREIGN_CPU_PCT;

function pctsCell(p: Pcts, w: WaveStats): string {
  if (p.n === 0) return '—';
  return `${fmtMs(p.p50)} / ${fmtMs(p.p99)}${noisy(w) ? '~' : ''}`;
}

function table(waves: WaveStats[], hwmKiB: number | undefined): { headers: string[]; rows: string[][] } {
  const headers = ['metric', ...waves.map((w) => `wave ${w.wave}`), 'must', 'pass'];
  const row = (label: string, f: (w: WaveStats) => string, must = '', pass: ((w: WaveStats) => boolean) | undefined = undefined): string[] => [
    label,
    ...waves.map(f),
    must,
    pass ? (waves.every(pass) ? 'PASS' : 'FAIL') : '',
  ];
  const kv = (t: Record<string, number>, keys: string[]): string => keys.map((k) => `${k} ${t[k] ?? 0}`).join(', ');
  return {
    headers,
    rows: [
      row('calls (WS / HTTP; streamed)', (w) => `${w.calls} (${w.wsCalls} / ${w.httpCalls}; ${w.streams})`),
      row('errors (failed + wrong answers)', (w) => `${w.errors} (${w.failed} + ${w.wrongAnswers})`, '0', (w) => w.errors === 0),
      row('cache hits / hit rate', (w) => `${w.cache['hit'] ?? 0} / ${pct(w.cacheHitRate)}`),
      row('x-cache outcomes', (w) => kv(w.cache, ['hit', 'miss', 'bypass', ...Object.keys(w.cache).filter((k) => !['hit', 'miss', 'bypass'].includes(k))])),
      row('x-dedupe outcomes', (w) => kv(w.dedupe, ['leader', 'joined', ...Object.keys(w.dedupe).filter((k) => !['leader', 'joined'].includes(k))])),
      row('distinct requests (not answerable from earlier waves)', (w) => `${w.distinctRequests} (${w.newDistinct})`),
      row('duplicates sent (in wave + of earlier waves)', (w) => `${w.duplicatesSent} (${w.duplicatesWithinWave} + ${w.duplicatesOfEarlierWaves})`),
      row('duplicates collapsed (hit or joined)', (w) => String(w.collapsed)),
      row('dedupe catch rate', (w) => pct(w.catchRate), '> 90 %', catchPass),
      row('duplicates that went upstream', (w) => String(w.missedDuplicates)),
      row('upstream calls (fewest possible)', (w) => `${w.upstreamCalls} (${w.newDistinct})`),
      row('upstream calls saved', (w) => `${w.upstreamSaved} (${pct(w.upstreamSavedPct)})`),
      row('latency p50 / p99 ms, all', (w) => pctsCell(w.latency['all'] as Pcts, w)),
      row('  WebSocket', (w) => pctsCell(w.latency['ws'] as Pcts, w)),
      row('  HTTP', (w) => pctsCell(w.latency['http'] as Pcts, w)),
      row('    of which the bench wrote the body after', (w) => pctsCell(w.httpWire, w)),
      row('  went upstream', (w) => pctsCell(w.latency['upstream'] as Pcts, w)),
      row('  dedupe joined', (w) => pctsCell(w.latency['joined'] as Pcts, w)),
      row('  cache hit', (w) => pctsCell(w.latency['hit'] as Pcts, w)),
      row('stream first chunk p50 / p99 ms', (w) => pctsCell(w.firstChunk['all'] as Pcts, w)),
      row('  WebSocket / HTTP p50', (w) => `${fmtMs((w.firstChunk['ws'] as Pcts).p50)} / ${fmtMs((w.firstChunk['http'] as Pcts).p50)}`),
      row(
        'GET /health during the load p50 / p99 / max ms (samples)',
        (w) => (w.health.n === 0 ? '—' : `${fmtMs(w.health.p50)} / ${fmtMs(w.health.p99)} / ${fmtMs(w.health.max)}${noisy(w) ? '~' : ''} (${w.health.n})`),
        `p99 < ${HEALTH_P99_LIMIT_MS}`,
        healthPass,
      ),
      row('  /health polls failed / skipped (previous still running)', (w) => `${w.healthFailed} / ${w.healthSkipped}`),
      row('send loop / wave wall time ms', (w) => `${fmtMs(w.fireMs)} / ${fmtMs(w.wallMs)}`),
      row('CPU ms used: optimizer / bench (agents + upstream)', (w) => `${fmtInt(w.optimizerCpuMs)} / ${fmtInt(w.benchCpuMs)}`),
      row('optimizer peak RSS MiB (sampled)', (w) => fmtMiB(w.rss.peakRssKiB)),
      row('optimizer VmHWM MiB (end of run)', (w) => (w === waves[waves.length - 1] ? fmtMiB(hwmKiB) : '')),
      row('other processes\' CPU, % of a core', (w) => (w.foreignCpuPct === undefined ? 'n/a' : `${Math.round(w.foreignCpuPct)}${noisy(w) ? ' (noisy)' : ''}`)),
    ],
  };
}

function anomalies(waves: WaveStats[]): string[] {
  const out: string[] = [];
  for (const w of waves) {
    const p = `wave ${w.wave}`;
    if (w.errors > 0) out.push(`${p}: ${w.errors} errors; first: ${w.errorSamples.join(' | ')}`);
    if (w.missingCache > 0) out.push(`${p}: ${w.missingCache} successful answers without x-cache / meta.cache`);
    if (w.missingDedupe > 0) out.push(`${p}: ${w.missingDedupe} answers (not cache hits) without x-dedupe / meta.dedupe although dedupe is on`);
    if (w.collapsedFirsts > 0) out.push(`${p}: ${w.collapsedFirsts} requests never sent before were answered only by hits or joins`);
    if (w.missedDuplicates > 0) out.push(`${p}: ${w.missedDuplicates} duplicate calls went upstream`);
    if (w.upstreamCalls !== w.newDistinct) {
      out.push(`${p}: ${w.upstreamCalls} upstream calls for ${w.newDistinct} new distinct requests (ideal: equal)`);
    }
  }
  return out;
}

function mixLine(s: Settings, counts: { sharedDet: number; sharedNondet: number; unique: number; streams: number }): string {
  return (
    `${counts.sharedDet} calls over ${s.sharedDetPrompts} shared deterministic tasks (temperature 0), ` +
    `${counts.sharedNondet} over ${s.sharedNondetPrompts} shared non-deterministic tasks (temperature ${s.nondetTemperature}), ` +
    `${counts.unique} unique (temperature ${s.uniqueTemperature}; later waves: ${s.laterUnique === 'fresh' ? 'new unique prompts' : "wave 1's unique prompts again"}); ` +
    `${counts.streams} streamed; system prompts ${Math.round(s.systemPromptBytes / 1024)} KiB`
  );
}

function markdownBlock(
  m: MachineFacts,
  s: Settings,
  counts: { sharedDet: number; sharedNondet: number; unique: number; streams: number },
  t: { headers: string[]; rows: string[][] },
  notes: string[],
  jsonRel: string,
  waves: WaveStats[],
): string {
  const disturbed = waves.filter(noisy);
  return [
    `### ${m.date.slice(0, 10)}: seed load (${s.wsAgents + s.httpAgents} agents × ${s.callsPerAgent} calls) on ${m.cpuModel} (${m.cores} cores)`,
    '',
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}; Node ${m.node}, undici ${m.undici ?? '?'}; shared with other engineers' test runs`,
    `- Commit: ${m.gitCommit ?? '(no commit yet)'}; run at ${m.date}`,
    `- Agents: ${s.wsAgents} on WebSocket (${Math.round((s.wsAgents * s.wsMsgpackPct) / 100)} with msgpack frames), ${s.httpAgents} over HTTP; ${s.callsPerAgent} concurrent calls each, all sent from one loop; ${s.waves} wave(s), ${s.waveGapMs} ms apart`,
    `- Mix: ${mixLine(s, counts)}`,
    `- Upstream: src/loopback in the bench process, latency ${s.upstreamLatencyMs} ms; optimizer: cache and dedupe on (window ${s.dedupeWindowMs} ms), limits set far above the load (global ${s.globalRpm}/min, per agent ${s.perAgentRpm}/min), backend pool ${s.backendConnections} connections`,
    `- Pinning: ${m.pinning}`,
    `- Raw numbers: \`${jsonRel}\``,
    '',
    formatMarkdown(t.headers, t.rows),
    '',
    `- p50 / p99 in ms, send → complete answer${disturbed.length > 0 ? `; \`~\`: other processes used more than ${NOISY_FOREIGN_CPU_PCT} % of a core during that wave (disturbed)` : ''}.`,
    ...notes.map((n) => `- ${n}`),
  ].join('\n');
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const s = readSettings();
  if (!existsSync(s.optimizerScript)) throw new Error(`${relative(ROOT, s.optimizerScript)} is not built (npx tsc -p tsconfig.build.json)`);

  const canPin = s.pin && hasTaskset() && cpus().length >= 2;
  if (canPin && !pinSelf('1')) log('seed-load: could not pin this process');
  const pinning = canPin ? 'optimizer on CPU 0; this process (agents and the loopback upstream) on CPU 1' : 'none';

  const runNonce = randomBytes(4).toString('hex');
  const runStart = new Date().toISOString();
  const plan = makePlan(s, runNonce, runStart);
  const total = (s.wsAgents + s.httpAgents) * s.callsPerAgent;
  log(`seed-load: ${total} calls per wave, ${s.waves} wave(s); ${mixLine(s, plan.counts)}`);
  log(`seed-load: limits set far above the load (global ${s.globalRpm}/min, per agent ${s.perAgentRpm}/min): this measures cache and dedupe, not queueing`);

  const tmp = mkdtempSync(join(tmpdir(), 'eao-seed-'));
  onExit(() => rmSync(tmp, { recursive: true, force: true }));
  let upstream: OpenAIUpstream | undefined;
  let optimizer: Started | undefined;
  let pool: Pool | undefined;
  const agents = new Map<string, WsAgent>();
  try {
    upstream = await startOpenAIUpstream({ latencyMs: s.upstreamLatencyMs, chunks: s.upstreamChunks, record: false });
    const port = await freePort();
    optimizer = await startOptimizerProcess({ name: 'optimizer', script: s.optimizerScript, dir: tmp, config: optimizerConfig(s, upstream.url), port, cpu: canPin ? '0' : undefined });
    const origin = `http://127.0.0.1:${port}`;
    log(`seed-load: upstream ${upstream.url} (in process), optimizer pid ${optimizer.pid} at ${origin}`);

    // Connections first, outside the measurement: WS sessions (hello → welcome) and a warm HTTP pool.
    const httpConnections = Math.max(1, s.httpAgents * s.callsPerAgent);
    pool = new Pool(origin, { connections: httpConnections, pipelining: 1, keepAliveTimeout: 60_000 });
    const wave1 = plan.wave(1);
    const wsIds = [...new Set(wave1.calls.filter((c) => c.transport !== 'http').map((c) => `${c.agentId}|${c.transport}`))];
    const connected = await Promise.all(
      wsIds.map((x) => {
        const [agentId, transport] = x.split('|') as [string, string];
        return WsAgent.connect(`ws://127.0.0.1:${port}/v1/ws`, agentId, transport === 'ws-msgpack', 10_000);
      }),
    );
    for (const a of connected) agents.set(a.agentId, a);
    const warmPool = pool;
    await Promise.all(
      Array.from({ length: httpConnections }, async () => {
        const r = await warmPool.request({ method: 'GET', path: '/health', headersTimeout: 10_000, bodyTimeout: 10_000 });
        await r.body.dump();
      }),
    );
    // Two warm-up calls (unique, one streamed) so the first wave does not pay for JIT and store start-up.
    for (const stream of [false, true]) {
      const r = await pool.request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', 'x-agent-id': 'seed-warmup' },
        body: JSON.stringify({ model: 'up/test-model', stream, messages: [{ role: 'user', content: `warm-up ${runNonce} ${stream}` }] }),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const text = await r.body.text();
      if (r.statusCode !== 200) throw new Error(`warm-up call: HTTP ${r.statusCode} ${text.slice(0, 300)}`);
    }
    log(`seed-load: ${agents.size} WebSocket sessions open, HTTP pool warmed with ${httpConnections} connections`);

    const seen = new Map<string, Seen>();
    const runs: WaveRun[] = [];
    const stats: WaveStats[] = [];
    for (let w = 1; w <= s.waves; w++) {
      if (w > 1 && s.waveGapMs > 0) await new Promise((r) => setTimeout(r, s.waveGapMs));
      const wp = w === 1 ? wave1 : plan.wave(w);
      const run = await runWave(wp, agents, pool, upstream, optimizer.pid, origin, s);
      const st = analyse(run, seen, s);
      remember(run, seen, s);
      runs.push(run);
      stats.push(st);
      log(
        `  wave ${w}: ${st.calls} calls in ${fmtMs(st.wallMs)} ms, errors ${st.errors}, cache hits ${st.cache['hit'] ?? 0}, ` +
          `joined ${st.dedupe['joined'] ?? 0}, catch rate ${pct(st.catchRate)}, upstream calls ${st.upstreamCalls}, ` +
          `p50/p99 ${fmtMs(st.latency['all']?.p50)}/${fmtMs(st.latency['all']?.p99)} ms, ` +
          `/health p99/max ${fmtMs(st.health.p99)}/${fmtMs(st.health.max)} ms` +
          (st.foreignCpuPct !== undefined ? `, other CPU ${Math.round(st.foreignCpuPct)}%` : ''),
      );
    }
    const hwmKiB = readRss(optimizer.pid)?.hwmKiB;

    const machine = machineFacts(ROOT, 'bench/seed-load.ts (ws + undici Pool)', pinning);
    const t = table(stats, hwmKiB);
    const found = anomalies(stats);
    const errors = stats.reduce((a, w) => a + w.errors, 0);
    const catchOk = stats.every(catchPass);
    const healthOk = stats.every(healthPass);
    const notes = [
      `Dedupe catch rate = calls answered with x-cache hit or x-dedupe joined ÷ duplicates sent. A duplicate is a call whose request (the body without stream / stream_options, which the optimizer's key leaves out too) was sent concurrently in the same wave (all but one of each), or in an earlier wave and still answerable without the upstream (deterministic: cached; otherwise answered less than dedupe.windowMs before). Upstream calls are the loopback's own counter; the fewest possible is one per request that is not such a duplicate.`,
      ...found,
    ];

    const stamp = machine.date.replace(/:/g, '').replace(/\.\d+Z$/, 'Z');
    mkdirSync(s.resultsDir, { recursive: true });
    const jsonPath = join(s.resultsDir, `${stamp}-seed-load.json`);
    const jsonRel = relative(ROOT, jsonPath);
    // Every call, one compact line each (times rounded to µs).
    const round = (v: number | undefined): number | undefined => (v === undefined ? undefined : Math.round(v * 1000) / 1000);
    const callLines = runs.flatMap((r) =>
      r.results.map(({ key: _key, doneAt: _doneAt, latencyMs, firstChunkMs, wireMs, ...rest }) =>
        JSON.stringify({ ...rest, latencyMs: round(latencyMs), firstChunkMs: round(firstChunkMs), wireMs: round(wireMs) }),
      ),
    );
    const summary = JSON.stringify(
      {
        suite: 'seed-load',
        machine,
        settings: { ...s, optimizerScript: relative(ROOT, s.optimizerScript), resultsDir: relative(ROOT, s.resultsDir) },
        counts: plan.counts,
        waves: stats,
        verdicts: { errors, errorsPass: errors === 0, catchRatePass: catchOk, healthPass: healthOk },
        anomalies: found,
        calls: '__CALLS__',
      },
      null,
      2,
    );
    writeFileSync(jsonPath, `${summary.replace('"__CALLS__"', `[\n    ${callLines.join(',\n    ')}\n  ]`)}\n`);

    const out = [
      '',
      `Seed load: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.date} (shared machine: other engineers' runs may disturb the numbers)`,
      `agents: ${s.wsAgents} WebSocket + ${s.httpAgents} HTTP, ${s.callsPerAgent} concurrent calls each; ${s.waves} wave(s)`,
      `mix: ${mixLine(s, plan.counts)}`,
      `upstream latency ${s.upstreamLatencyMs} ms; limits set far above the load (global ${s.globalRpm}/min, per agent ${s.perAgentRpm}/min); pinning: ${pinning}`,
      '',
      formatText(t.headers, t.rows),
      '',
      ...notes.map((n) => `- ${n}`),
      '',
      `errors: ${errors === 0 ? 'PASS' : 'FAIL'} (${errors}); dedupe catch rate > 90 %: ${catchOk ? 'PASS' : 'FAIL'} (${stats.map((w) => pct(w.catchRate)).join(', ')}); ` +
        `/health p99 < ${HEALTH_P99_LIMIT_MS} ms under load: ${healthOk ? 'PASS' : 'FAIL'} (${stats.map((w) => fmtMs(w.health.p99)).join(', ')} ms)`,
      `raw results: ${jsonRel}`,
      '',
      '----- markdown for bench/RESULTS.md -----',
      markdownBlock(machine, s, plan.counts, t, notes, jsonRel, stats),
      '----- end -----',
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    return errors === 0 && catchOk && healthOk ? 0 : 1;
  } finally {
    await Promise.all([...agents.values()].map((a) => a.close()));
    await pool?.close();
    await optimizer?.stop();
    await upstream?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`seed-load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAllSync();
    process.exitCode = 1;
  },
);
