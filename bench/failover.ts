/**
 * The failover benchmark: three loopback upstreams that serve the same model, the optimizer in front
 * of them with retries, failover and a circuit breaker per backend, and a bounded load on the first
 * one. Midway the first upstream is killed (SIGKILL, a crash) and later restarted on the same port.
 *
 * Measures what the issue asks:
 * - errors seen by clients (must be 0 while another backend is healthy);
 * - p50 / p99 latency before the kill, during the switch (the first second after it), while the
 *   backend is down, and after its restart;
 * - from a refused connection to the next backend being called (target: under 50 ms): from the
 *   client side, the added latency of the requests that met the dead backend first; from the
 *   upstreams' side, the time from the optimizer noticing the failure (its `backend.failed` event) to
 *   the request arriving at the next upstream (arrival stamps written by each upstream);
 * - the time from the restart until the revived backend answers again (first 200 with `x-backend: u1`),
 *   and the breaker transitions, from the optimizer's event stream and from `GET /health` every 100 ms.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/failover.js     (--help for the settings)
 *
 * Prints two tables, writes bench/results/<timestamp>-failover.json (every request, event and /health
 * poll) and a markdown block for bench/RESULTS.md. Exits 1 when any client saw an error.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { watchForeignCpu } from './lib/cpu.js';
import { openEventFeed } from './lib/event-feed.js';
import type { EventFeed, FeedEvent } from './lib/event-feed.js';
import { pollHealth } from './lib/health-poller.js';
import type { HealthPoller, HealthSample } from './lib/health-poller.js';
import { machineFacts } from './lib/machine.js';
import type { MachineFacts } from './lib/machine.js';
import { freePort, hasTaskset, killAllSync, onExit, pinSelf, startNode, startOptimizerProcess } from './lib/processes.js';
import type { Started } from './lib/processes.js';
import { NOISY_FOREIGN_CPU_PCT } from './lib/report.js';
import { sampleSched, schedBetween } from './lib/sched-sampler.js';
import type { SchedSample, SchedSampler } from './lib/sched-sampler.js';
import { fmtInt, fmtMs, formatMarkdown, formatText } from './lib/table.js';
import { envNum, envInt } from './lib/env.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BACKENDS = ['u1', 'u2', 'u3'] as const;
type BackendId = (typeof BACKENDS)[number];
const MODEL = 'u1/m';
const AGENT = 'failover-bench';

// ── settings ─────────────────────────────────────────────────────────────────────────────────────

interface Settings {
  concurrency: number;
  durationS: number;
  killAtS: number;
  restartAtS: number;
  switchWindowMs: number;
  warmupS: number;
  warmStandby: boolean;
  upstreamLatencyMs: number;
  connectMs: number;
  headersMs: number;
  failureThreshold: number;
  cooldownMs: number;
  maxCooldownMs: number;
  cooldownMultiplier: number;
  maxAttempts: number;
  healthPollMs: number;
  requestTimeoutMs: number;
  targetMs: number;
  stamps: boolean;
  pin: boolean;
  optimizerScript: string;
  upstreamScript: string;
  resultsDir: string;
}

function usage(): string {
  return `node dist/bench/failover.js   (build first: npx tsc -p tsconfig.build.json)

Three loopback upstreams u1, u2, u3 serving model "m"; the optimizer in front (cache and dedupe off,
limits far above the load); a load on "u1/m"; u1 killed with SIGKILL midway and restarted on the same
port later. env vars [defaults]:
  FAILOVER_CONCURRENCY         client connections, each sending its next request when the last is read [20]
  FAILOVER_DURATION_S          seconds of load [15]
  FAILOVER_KILL_AT_S           when u1 is killed (SIGKILL), seconds into the load [5]
  FAILOVER_RESTART_AT_S        when u1 is started again on the same port [10]
  FAILOVER_SWITCH_WINDOW_MS    "during the switch": requests in flight at the kill or sent this long after it [1000]
  FAILOVER_WARMUP_S            unmeasured load before [2]
  FAILOVER_WARM_STANDBY        1: the warm-up is pinned to u1, u2, u3 in turn (warm code and pooled
                               connections on the standbys); 0: the warm-up goes to u1 only (cold standbys) [1]
  FAILOVER_UPSTREAM_LATENCY_MS the upstreams' --latency-ms [20]
  FAILOVER_CONNECT_MS          backends' timeouts.connectMs [500]
  FAILOVER_HEADERS_MS          backends' timeouts.headersMs and bodyIdleMs [5000]
  FAILOVER_FAILURE_THRESHOLD   resilience.breaker.failureThreshold [5]
  FAILOVER_COOLDOWN_MS         resilience.breaker.cooldownMs [1000]
  FAILOVER_MAX_COOLDOWN_MS     resilience.breaker.maxCooldownMs [1000: no growth, u1 is probed every second]
  FAILOVER_COOLDOWN_MULTIPLIER resilience.breaker.cooldownMultiplier [2]
  FAILOVER_MAX_ATTEMPTS        resilience.retry.maxAttempts [3]
  FAILOVER_HEALTH_POLL_MS      GET /health cadence [100]
  FAILOVER_REQUEST_TIMEOUT_MS  client-side timeout per request (headers, body) [10000]
  FAILOVER_TARGET_MS           the "refused connection → next backend called" target [50]
  FAILOVER_STAMPS              1: upstreams stamp each request's arrival (bench/lib/stamped-upstream.ts,
                               the loopback plus a diagnostics-channel hook); 0: plain dist/src/loopback/main.js,
                               no upstream-side times [1]
  FAILOVER_PIN                 0: no taskset (default: optimizer on CPU 0, upstreams and this process on CPU 1) [1]
  FAILOVER_OPTIMIZER_SCRIPT    optimizer entry point [dist/src/main.js]
  FAILOVER_RESULTS_DIR         where the JSON goes [bench/results]`;
}



function readSettings(): Settings {
  const s: Settings = {
    concurrency: envInt('FAILOVER_CONCURRENCY', 20, 1, 2000),
    durationS: envNum('FAILOVER_DURATION_S', 15, 1, 600),
    killAtS: envNum('FAILOVER_KILL_AT_S', 5, 0.1),
    restartAtS: envNum('FAILOVER_RESTART_AT_S', 10, 0.1),
    switchWindowMs: envInt('FAILOVER_SWITCH_WINDOW_MS', 1000, 1),
    warmupS: envNum('FAILOVER_WARMUP_S', 2, 0, 60),
    warmStandby: process.env['FAILOVER_WARM_STANDBY'] !== '0',
    upstreamLatencyMs: envInt('FAILOVER_UPSTREAM_LATENCY_MS', 20, 0, 60_000),
    connectMs: envInt('FAILOVER_CONNECT_MS', 500, 1),
    headersMs: envInt('FAILOVER_HEADERS_MS', 5000, 1),
    failureThreshold: envInt('FAILOVER_FAILURE_THRESHOLD', 5, 1, 1000),
    cooldownMs: envInt('FAILOVER_COOLDOWN_MS', 1000, 1),
    maxCooldownMs: envInt('FAILOVER_MAX_COOLDOWN_MS', 1000, 1),
    cooldownMultiplier: envNum('FAILOVER_COOLDOWN_MULTIPLIER', 2, 1, 100),
    maxAttempts: envInt('FAILOVER_MAX_ATTEMPTS', 3, 1, 10),
    healthPollMs: envInt('FAILOVER_HEALTH_POLL_MS', 100, 10),
    requestTimeoutMs: envInt('FAILOVER_REQUEST_TIMEOUT_MS', 10_000, 100),
    targetMs: envNum('FAILOVER_TARGET_MS', 50, 0),
    stamps: process.env['FAILOVER_STAMPS'] !== '0',
    pin: process.env['FAILOVER_PIN'] !== '0',
    optimizerScript: resolve(ROOT, process.env['FAILOVER_OPTIMIZER_SCRIPT'] ?? 'dist/src/main.js'),
    upstreamScript: '',
    resultsDir: resolve(ROOT, process.env['FAILOVER_RESULTS_DIR'] ?? 'bench/results'),
  };
  s.upstreamScript = resolve(ROOT, s.stamps ? 'dist/bench/lib/stamped-upstream.js' : 'dist/src/loopback/main.js');
  if (!(s.killAtS < s.restartAtS && s.restartAtS < s.durationS)) {
    throw new Error('need FAILOVER_KILL_AT_S < FAILOVER_RESTART_AT_S < FAILOVER_DURATION_S');
  }
  if (s.maxCooldownMs < s.cooldownMs) throw new Error('FAILOVER_MAX_COOLDOWN_MS must be at least FAILOVER_COOLDOWN_MS');
  return s;
}

function optimizerConfig(s: Settings, ports: Record<BackendId, number>): unknown {
  return {
    log: { level: 'warn' },
    backends: BACKENDS.map((id) => ({
      id,
      provider: 'openai-compatible',
      baseUrl: `http://127.0.0.1:${ports[id]}/v1`,
      models: ['m'],
      timeouts: { connectMs: s.connectMs, headersMs: s.headersMs, bodyIdleMs: s.headersMs },
    })),
    routing: { defaultModel: MODEL },
    limits: { global: { requestsPerMinute: 10_000_000 }, perAgent: { requestsPerMinute: 10_000_000 } },
    cache: { enabled: false },
    dedupe: { enabled: false },
    resilience: {
      retry: { maxAttempts: s.maxAttempts },
      breaker: {
        failureThreshold: s.failureThreshold,
        cooldownMs: s.cooldownMs,
        maxCooldownMs: s.maxCooldownMs,
        cooldownMultiplier: s.cooldownMultiplier,
      },
    },
  };
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ── requests ─────────────────────────────────────────────────────────────────────────────────────

interface Rec {
  n: number;
  /** ms since the load started (this process's monotonic clock). */
  sendAt: number;
  doneAt: number;
  latencyMs: number;
  /** Wall clock of the send (ms since the epoch, sub-ms), to line up with upstream stamps. */
  sendWall: number;
  status: number;
  backend: string | undefined;
  routeReason: string | undefined;
  requestId: string | undefined;
  /** Socket error, timeout, non-200 body, or an answer that does not echo this request's prompt. */
  error: string | undefined;
}

const HEADERS = { 'content-type': 'application/json', 'x-agent-id': AGENT };
const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

function chatBody(content: string): string {
  return JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }] });
}

/** One request; never throws. `extra` adds headers (the pinned checks). */
async function call(pool: Pool, content: string, timeoutMs: number, extra: Record<string, string> = {}): Promise<Omit<Rec, 'n' | 'sendAt' | 'doneAt' | 'sendWall'> & { t0: number }> {
  const t0 = performance.now();
  try {
    const res = await pool.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { ...HEADERS, ...extra },
      body: chatBody(content),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    const latencyMs = performance.now() - t0;
    const backend = header(res.headers['x-backend']);
    const routeReason = header(res.headers['x-route-reason']);
    const requestId = header(res.headers['x-request-id']);
    let error: string | undefined;
    if (res.statusCode !== 200) error = `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
    else if (!text.includes(`echo: ${content}"`)) error = `answer does not echo the prompt: ${text.slice(0, 200)}`;
    return { t0, latencyMs, status: res.statusCode, backend, routeReason, requestId, error };
  } catch (err) {
    const latencyMs = performance.now() - t0;
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { t0, latencyMs, status: 0, backend: undefined, routeReason: undefined, requestId: undefined, error };
  }
}

/** `concurrency` loops, each sending its next request once the previous answer has been read. */
async function runLoad(
  pool: Pool,
  s: Settings,
  tag: (n: number) => string,
  start: number,
  endAt: number,
  out: Rec[] | undefined,
  extra: (n: number) => Record<string, string> = () => ({}),
): Promise<{ sent: number; errors: number; firstError: string | undefined }> {
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const loop = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const n = next++;
      const sendWall = wallNow();
      const r = await call(pool, tag(n), s.requestTimeoutMs, extra(n));
      if (r.error !== undefined) {
        errors++;
        firstError ??= r.error;
      }
      out?.push({
        n,
        sendAt: r.t0 - start,
        doneAt: r.t0 + r.latencyMs - start,
        latencyMs: r.latencyMs,
        sendWall,
        status: r.status,
        backend: r.backend,
        routeReason: r.routeReason,
        requestId: r.requestId,
        error: r.error,
      });
      // A refused connection would otherwise spin.
      if (r.status === 0) await sleep(10);
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, loop));
  return { sent: next, errors, firstError };
}

// ── stamps ───────────────────────────────────────────────────────────────────────────────────────

interface Stamp {
  at: number;
  tag: string | null;
}

function readStamps(path: string): Stamp[] {
  if (!existsSync(path)) return [];
  const out: Stamp[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.length === 0) continue;
    try {
      const v = JSON.parse(line) as { at?: unknown; tag?: unknown };
      if (typeof v.at === 'number') out.push({ at: v.at, tag: typeof v.tag === 'string' ? v.tag : null });
    } catch {
      // a line cut by the SIGKILL: skip
    }
  }
  return out;
}

// ── statistics ───────────────────────────────────────────────────────────────────────────────────

interface Pcts {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (as bench/lib/load.ts); NaN when empty. */
function pcts(values: readonly number[]): Pcts {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => {
    if (sorted.length === 0) return Number.NaN;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  };
  return { n: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

const median = (values: readonly number[]): number => pcts(values).p50;

// ── analysis ─────────────────────────────────────────────────────────────────────────────────────

type PhaseId = 'before' | 'switch' | 'down' | 'after';

interface PhaseStats {
  id: PhaseId;
  label: string;
  requests: number;
  errors: number;
  latency: Pcts;
  byBackend: Record<string, number>;
  /** Answers with x-route-reason failover (u1 failed, or was skipped by its open breaker). */
  failoverLabelled: number;
  /** Requests whose attempt on u1 failed (the optimizer's backend.failed events). */
  metDead: number;
  foreignCpuPct: number | undefined;
}

interface MetDead {
  n: number;
  requestId: string;
  sendAt: number;
  latencyMs: number;
  status: number;
  backend: string | undefined;
  code: string;
  failedAfterKillMs: number;
  /**
   * `cut`: sent before the kill, so its call to u1 was under way (or queued for u1's pool) when u1
   * died, and ended with the connection closed. `dying`: sent after the SIGKILL but before u1 had
   * exited: until the kernel has torn the process down its listening socket still completes
   * handshakes, so these calls too end with a closed connection, not a refusal. `refused`: sent after
   * u1 had exited, its call found u1's port closed (ECONNREFUSED; in practice the breaker's half-open
   * probes).
   */
  kind: 'cut' | 'dying' | 'refused';
  /** Whether u1 stamped its arrival (its body had been read by u1 before the kill). */
  reachedU1: boolean;
  /** backend.failed.at − the kill (wall clock), ms. */
  /** Latency minus the median latency of the requests that did not meet u1, sent within ±500 ms. */
  addedMs: number;
  baselineMs: number;
  /** Upstream side: from backend.failed.at to the request's arrival at the next upstream. */
  failedToNextMs: number | undefined;
  /** Upstream side: from the client's send to the arrival at the next upstream. */
  sendToNextMs: number | undefined;
  nextUpstream: string | undefined;
}

interface BreakerTransition {
  backend: string;
  to: string;
  /** ms after the kill. */
  afterKillMs: number;
  reason?: string | undefined;
  cooldownMs?: number | undefined;
  source: 'events' | 'health';
}

interface Timeline {
  /** ms since the load started. */
  killAt: number;
  /** u1's exit seen (reaped). */
  killExitAt: number;
  restartAt: number;
  restartReadyAt: number;
  loadEndAt: number;
  /** Wall clock of the load's start, the kill and the restart. */
  startWall: number;
  killWall: number;
  restartWall: number;
}

interface Recovery {
  upstreamStartMs: number;
  firstArrivalAtU1Ms: number | undefined;
  firstOkFromU1Ms: number | undefined;
  breakerClosedEventMs: number | undefined;
  healthClosedMs: number | undefined;
  /** Of the requests sent ≥ 1 s after u1's first 200 again: how many went to u1. */
  u1ShareAfter: { requests: number; u1: number } | undefined;
}

function phaseOf(r: Rec, t: Timeline, s: Settings): PhaseId {
  if (r.doneAt < t.killAt) return 'before';
  if (r.sendAt < t.killAt + s.switchWindowMs) return 'switch';
  if (r.sendAt < t.restartAt) return 'down';
  return 'after';
}

function analyse(
  recs: Rec[],
  t: Timeline,
  s: Settings,
  events: readonly FeedEvent[],
  stamps: { u1Before: Stamp[]; u1After: Stamp[]; u2: Stamp[]; u3: Stamp[] } | undefined,
  health: readonly HealthSample[],
  cpu: { before: number | undefined; down: number | undefined; after: number | undefined },
) {
  const u1Failures = new Map<string, FeedEvent>();
  for (const e of events) {
    if (e.type === 'backend.failed' && e['backend'] === 'u1' && typeof e['requestId'] === 'string' && !u1Failures.has(e['requestId'])) {
      u1Failures.set(e['requestId'], e);
    }
  }
  const metDeadIds = new Set(u1Failures.keys());
  const isMetDead = (r: Rec): boolean => r.requestId !== undefined && metDeadIds.has(r.requestId);

  // Phases.
  const labels: Record<PhaseId, string> = {
    before: 'before the kill',
    switch: `switch (in flight at the kill or sent ≤ ${s.switchWindowMs} ms after)`,
    down: 'u1 down (after the switch, until the restart)',
    after: 'after u1 restarted',
  };
  const cpuOf: Record<PhaseId, number | undefined> = { before: cpu.before, switch: cpu.down, down: cpu.down, after: cpu.after };
  const phases: PhaseStats[] = (['before', 'switch', 'down', 'after'] as const).map((id) => {
    const inPhase = recs.filter((r) => phaseOf(r, t, s) === id);
    const byBackend: Record<string, number> = {};
    for (const r of inPhase) byBackend[r.backend ?? '(none)'] = (byBackend[r.backend ?? '(none)'] ?? 0) + 1;
    return {
      id,
      label: labels[id],
      requests: inPhase.length,
      errors: inPhase.filter((r) => r.error !== undefined).length,
      latency: pcts(inPhase.filter((r) => r.error === undefined).map((r) => r.latencyMs)),
      byBackend,
      failoverLabelled: inPhase.filter((r) => r.routeReason === 'failover').length,
      metDead: inPhase.filter(isMetDead).length,
      foreignCpuPct: cpuOf[id],
    };
  });

  // Requests that met the dead u1.
  const clean = recs.filter((r) => r.error === undefined && !isMetDead(r)).sort((a, b) => a.sendAt - b.sendAt);
  const baselineAt = (sendAt: number): number => {
    const near = clean.filter((r) => Math.abs(r.sendAt - sendAt) <= 500).map((r) => r.latencyMs);
    return near.length >= 5 ? median(near) : median(clean.map((r) => r.latencyMs));
  };
  const byTag = (list: Stamp[] | undefined): Map<string, number> => {
    const m = new Map<string, number>();
    for (const st of list ?? []) if (st.tag !== null && !m.has(st.tag)) m.set(st.tag, st.at);
    return m;
  };
  const atU1 = byTag(stamps?.u1Before);
  const atU2 = byTag(stamps?.u2);
  const atU3 = byTag(stamps?.u3);
  const metDead: MetDead[] = [];
  for (const r of recs) {
    if (!isMetDead(r) || r.requestId === undefined) continue;
    const ev = u1Failures.get(r.requestId);
    if (!ev) continue;
    const tag = String(r.n);
    const nextCandidates = [
      ['u2', atU2.get(tag)],
      ['u3', atU3.get(tag)],
    ].filter((x): x is [string, number] => typeof x[1] === 'number' && x[1] >= ev.at - 1);
    nextCandidates.sort((a, b) => a[1] - b[1]);
    const next = nextCandidates[0];
    const baselineMs = baselineAt(r.sendAt);
    metDead.push({
      n: r.n,
      requestId: r.requestId,
      sendAt: r.sendAt,
      latencyMs: r.latencyMs,
      status: r.status,
      backend: r.backend,
      code: String(ev['code']),
      failedAfterKillMs: ev.at - t.killWall,
      kind: r.sendWall < t.killWall ? 'cut' : r.sendWall < t.startWall + t.killExitAt ? 'dying' : 'refused',
      reachedU1: (atU1.get(tag) ?? Number.POSITIVE_INFINITY) < t.killWall,
      addedMs: r.latencyMs - baselineMs,
      baselineMs,
      // backend.failed.at is whole ms (Date.now(), truncated): the failure happened in [at, at + 1).
      failedToNextMs: next ? next[1] - ev.at : undefined,
      sendToNextMs: next ? next[1] - r.sendWall : undefined,
      nextUpstream: next?.[0],
    });
  }
  const kinds = (k: MetDead['kind']) => metDead.filter((m) => m.kind === k);
  const num = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  const metDeadStats = {
    cut: kinds('cut').length,
    cutReachedU1: kinds('cut').filter((m) => m.reachedU1).length,
    dying: kinds('dying').length,
    refused: kinds('refused').length,
    addedCut: pcts(kinds('cut').filter((m) => m.status === 200).map((m) => m.addedMs)),
    addedDying: pcts(kinds('dying').filter((m) => m.status === 200).map((m) => m.addedMs)),
    addedRefused: pcts(kinds('refused').filter((m) => m.status === 200).map((m) => m.addedMs)),
    noticedAfterKill: pcts(metDead.filter((m) => m.kind !== 'refused').map((m) => m.failedAfterKillMs)),
    failedToNextCut: pcts(metDead.filter((m) => m.kind !== 'refused').map((m) => m.failedToNextMs).filter(num)),
    failedToNextRefused: pcts(kinds('refused').map((m) => m.failedToNextMs).filter(num)),
    failedToNextAll: pcts(metDead.map((m) => m.failedToNextMs).filter(num)),
    sendToNextRefused: pcts(kinds('refused').map((m) => m.sendToNextMs).filter(num)),
    codes: metDead.reduce<Record<string, number>>((a, m) => ((a[m.code] = (a[m.code] ?? 0) + 1), a), {}),
    withoutNextStamp: metDead.filter((m) => m.failedToNextMs === undefined).length,
  };

  // The optimizer's own forwarding time (client send → arrival at u1), before the kill: the base the
  // failover's upstream-side numbers add to.
  const forwardBefore = stamps
    ? pcts(
        recs
          .filter((r) => r.doneAt < t.killAt && r.error === undefined)
          .map((r) => {
            const at = atU1.get(String(r.n));
            return at === undefined ? Number.NaN : at - r.sendWall;
          })
          .filter((v) => Number.isFinite(v)),
      )
    : undefined;

  // Breaker transitions: the optimizer's events, and what /health showed.
  const transitions: BreakerTransition[] = [];
  for (const e of events) {
    if (!e.type.startsWith('breaker.')) continue;
    const to = e.type === 'breaker.opened' ? 'open' : e.type === 'breaker.half_opened' ? 'half_open' : e.type === 'breaker.closed' ? 'closed' : e.type;
    transitions.push({
      backend: String(e['backendId'] ?? e['backend'] ?? '?'),
      to,
      afterKillMs: e.at - t.killWall,
      reason: typeof e['reason'] === 'string' ? e['reason'] : undefined,
      cooldownMs: typeof e['cooldownMs'] === 'number' ? e['cooldownMs'] : undefined,
      source: 'events',
    });
  }
  const healthTransitions: BreakerTransition[] = [];
  const last = new Map<string, { breaker: string; opens: number | undefined }>();
  for (const h of health) {
    for (const [id, b] of Object.entries(h.backends)) {
      const now = { breaker: b.breaker ?? `(no breaker: ${b.state})`, opens: b.opens };
      const prev = last.get(id);
      if (prev && (prev.breaker !== now.breaker || prev.opens !== now.opens)) {
        const reopened = prev.breaker === now.breaker && prev.opens !== now.opens ? ` (opens ${prev.opens ?? '?'}→${now.opens ?? '?'})` : '';
        healthTransitions.push({ backend: id, to: `${now.breaker}${reopened}`, afterKillMs: h.doneAt - t.killWall, source: 'health' });
      }
      last.set(id, now);
    }
  }

  // Recovery of u1.
  const firstU1Arrival = stamps?.u1After.map((x) => x.at).reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const firstOk = recs
    .filter((r) => r.backend === 'u1' && r.status === 200 && r.error === undefined && r.doneAt >= t.restartAt)
    .reduce<Rec | undefined>((a, r) => (a === undefined || r.doneAt < a.doneAt ? r : a), undefined);
  const closedEvent = events.find((e) => e.type === 'breaker.closed' && e['backendId'] === 'u1' && e.at >= t.restartWall);
  const healthClosed = health.find((h) => h.sentAt >= t.restartWall && h.backends['u1']?.breaker === 'closed');
  const after = firstOk ? recs.filter((r) => r.sendAt >= firstOk.doneAt + 1000) : [];
  const recovery: Recovery = {
    upstreamStartMs: t.restartReadyAt - t.restartAt,
    firstArrivalAtU1Ms: firstU1Arrival !== undefined && Number.isFinite(firstU1Arrival) ? firstU1Arrival - t.restartWall : undefined,
    firstOkFromU1Ms: firstOk ? firstOk.doneAt - t.restartAt : undefined,
    breakerClosedEventMs: closedEvent ? closedEvent.at - t.restartWall : undefined,
    healthClosedMs: healthClosed ? healthClosed.doneAt - t.restartWall : undefined,
    u1ShareAfter: after.length > 0 ? { requests: after.length, u1: after.filter((r) => r.backend === 'u1').length } : undefined,
  };

  const opened = transitions.find((x) => x.backend === 'u1' && x.to === 'open' && x.afterKillMs >= -1);
  return { phases, metDead, metDeadStats, forwardBefore, transitions, healthTransitions, recovery, opened };
}

type Analysis = ReturnType<typeof analyse>;

/** No answer completed for at least this long while the load ran: a stall worth explaining. */
const STALL_MS = 500;

interface Stall {
  /** ms since the load started. */
  from: number;
  to: number;
  ms: number;
  /** The optimizer's main thread meanwhile: on a CPU, and runnable but waiting for one (ms). */
  optimizerRunMs: number | undefined;
  optimizerWaitMs: number | undefined;
}

function findStalls(recs: readonly Rec[], t: Timeline, sched: readonly SchedSample[]): Stall[] {
  const done = recs.map((r) => r.doneAt).sort((a, b) => a - b);
  const stalls: Stall[] = [];
  let prev = 0;
  for (const d of done) {
    if (d - prev >= STALL_MS) {
      const between = schedBetween(sched, t.startWall + prev, t.startWall + d);
      stalls.push({ from: prev, to: d, ms: d - prev, optimizerRunMs: between?.runMs, optimizerWaitMs: between?.waitMs });
    }
    prev = d;
  }
  return stalls;
}

function stallsCell(stalls: readonly Stall[]): string {
  if (stalls.length === 0) return 'none';
  const longest = stalls.reduce((a, b) => (b.ms > a.ms ? b : a));
  const how =
    longest.optimizerRunMs === undefined
      ? ''
      : `; optimizer's main thread meanwhile: ran ${fmtInt(longest.optimizerRunMs)} ms, waited for a CPU ${fmtInt(longest.optimizerWaitMs)} ms`;
  return `${stalls.length}, longest ${fmtInt(longest.ms)} ms${how}`;
}

// ── report ───────────────────────────────────────────────────────────────────────────────────────

const noisy = (pct: number | undefined): boolean => pct !== undefined && pct > NOISY_FOREIGN_CPU_PCT;

function phaseTable(a: Analysis): { headers: string[]; rows: string[][] } {
  const headers = ['phase', 'requests', 'errors', 'p50 ms', 'p99 ms', 'max ms', 'answered by u1 / u2 / u3', 'met dead u1', 'other CPU %'];
  const rows = a.phases.map((p) => {
    const m = noisy(p.foreignCpuPct) ? '~' : '';
    return [
      p.label,
      fmtInt(p.requests),
      fmtInt(p.errors),
      `${fmtMs(p.latency.p50)}${m}`,
      `${fmtMs(p.latency.p99)}${m}`,
      `${fmtMs(p.latency.max)}${m}`,
      BACKENDS.map((b) => fmtInt(p.byBackend[b] ?? 0)).join(' / '),
      fmtInt(p.metDead),
      p.foreignCpuPct === undefined ? 'n/a' : String(Math.round(p.foreignCpuPct)),
    ];
  });
  return { headers, rows };
}

function p3(p: Pcts): string {
  return p.n === 0 ? 'n/a (none)' : `${fmtMs(p.p50)} / ${fmtMs(p.p99)} / ${fmtMs(p.max)} (n=${p.n})`;
}

function measuresTable(
  a: Analysis,
  s: Settings,
  t: Timeline,
  errors: number,
  total: number,
  stamps: boolean,
  stalls: readonly Stall[],
): { headers: string[]; rows: string[][]; targetPass: boolean | undefined } {
  const d = a.metDeadStats;
  const r = a.recovery;
  const under = (p: Pcts): boolean | undefined => (p.n === 0 ? undefined : p.max < s.targetMs);
  const verdict = (v: boolean | undefined): string => (v === undefined ? 'n/a' : v ? 'PASS' : 'FAIL');
  const upstreamPass = stamps ? under(d.failedToNextAll) : undefined;
  const clientPass = under(d.addedRefused);
  // The issue's measure is the optimizer's step from the failed attempt to the next backend: the
  // upstream-side time when there are stamps, else the client-side added latency of refused calls.
  const targetPass = upstreamPass ?? clientPass;
  const ms = (v: number | undefined): string => (v === undefined ? 'n/a (not within the run)' : fmtMs(v));
  const rows: string[][] = [
    ['errors seen by clients (of requests)', `${fmtInt(errors)} (of ${fmtInt(total)})`, '0', errors === 0 ? 'PASS' : 'FAIL'],
    ['requests that met the dead u1: cut by the kill / sent while u1 was exiting / refused after', `${d.cut} / ${d.dying} / ${d.refused}`, '', ''],
    ['  their u1 failure codes', Object.entries(d.codes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none', '', ''],
  ];
  if (stamps) {
    rows.push(['u1 failure noticed → request at the next upstream, all: p50 / p99 / max ms', p3(d.failedToNextAll), `< ${s.targetMs} ms`, verdict(upstreamPass)]);
    rows.push(['  refused', p3(d.failedToNextRefused), '', '']);
    rows.push(['  cut by the kill or while u1 was exiting', p3(d.failedToNextCut), '', '']);
  }
  rows.push(
    ['client-side added latency, refused: p50 / p99 / max ms', p3(d.addedRefused), `< ${s.targetMs} ms`, verdict(clientPass)],
    ['client-side added latency, sent while u1 was exiting', p3(d.addedDying), '', ''],
    ['client-side added latency, cut by the kill (incl. time already spent on u1)', p3(d.addedCut), '', ''],
    [`kill → optimizer notices a cut call: p50 / p99 / max ms (u1 took ${fmtMs(t.killExitAt - t.killAt)} ms to exit)`, p3(d.noticedAfterKill), '', ''],
  );
  if (stamps) {
    rows.push(
      ['client send → arrival at the next upstream, refused: p50 / p99 / max ms', p3(d.sendToNextRefused), '', ''],
      ['client send → arrival at u1 before the kill (no failover): p50 / p99 / max ms', a.forwardBefore ? p3(a.forwardBefore) : 'n/a', '', ''],
    );
  }
  rows.push(
    ['u1 breaker opened after the kill, ms (reason)', a.opened ? `${fmtMs(a.opened.afterKillMs)} (${a.opened.reason ?? '?'})` : 'n/a (not seen)', '', ''],
    ['restart → u1 listening again (upstream start-up), ms', fmtMs(r.upstreamStartMs), '', ''],
  );
  if (stamps) rows.push(['restart → first request arrives at u1, ms', ms(r.firstArrivalAtU1Ms), '', '']);
  rows.push(
    ['restart → first 200 from u1 at a client, ms', ms(r.firstOkFromU1Ms), '', ''],
    ['restart → breaker.closed event for u1, ms', ms(r.breakerClosedEventMs), '', ''],
    ['restart → /health shows u1 closed, ms', ms(r.healthClosedMs), '', ''],
    ['requests sent ≥ 1 s after u1 answered again that went to u1', r.u1ShareAfter ? `${fmtInt(r.u1ShareAfter.u1)} of ${fmtInt(r.u1ShareAfter.requests)}` : 'n/a', '', ''],
    [`stalls: no answer for ≥ ${STALL_MS} ms`, stallsCell(stalls), '', ''],
  );
  return { headers: ['measure', 'value', 'target', 'pass'], rows, targetPass };
}

function transitionsLine(list: readonly BreakerTransition[]): string {
  if (list.length === 0) return 'none';
  return list
    .map((x) => `${x.backend} ${x.to} ${x.afterKillMs >= 0 ? '+' : ''}${Math.round(x.afterKillMs)} ms${x.reason ? ` (${x.reason}${x.cooldownMs !== undefined ? `, cooldown ${x.cooldownMs} ms` : ''})` : ''}`)
    .join('; ');
}

function anomalies(a: Analysis, recs: Rec[], feed: EventFeed, poller: HealthPoller, s: Settings, t: Timeline, stalls: readonly Stall[]): string[] {
  const out: string[] = [];
  for (const st of stalls) {
    out.push(
      `stall: no answer from ${fmtInt(st.from)} to ${fmtInt(st.to)} ms into the load (${fmtInt(st.ms)} ms; kill at ${fmtInt(t.killAt)}, restart at ${fmtInt(t.restartAt)})` +
        (st.optimizerRunMs === undefined ? '' : `; the optimizer's main thread ran ${fmtInt(st.optimizerRunMs)} ms and waited for a CPU ${fmtInt(st.optimizerWaitMs)} ms of it`),
    );
  }
  const errs = recs.filter((r) => r.error !== undefined);
  if (errs.length > 0) {
    const samples = [...new Set(errs.map((r) => r.error))].slice(0, 3);
    out.push(`${errs.length} client errors, e.g.: ${samples.join(' | ')} (first at ${fmtMs(errs[0]?.sendAt)} ms into the load; kill at ${fmtMs(t.killAt)} ms)`);
  }
  if (feed.dropped > 0) out.push(`the optimizer dropped ${feed.dropped} events on the event feed: the met-dead counts are a lower bound`);
  if (poller.failed > 0 || poller.skipped > 0) out.push(`/health polls: ${poller.failed} failed, ${poller.skipped} skipped (previous poll still running)`);
  if (a.metDeadStats.withoutNextStamp > 0 && s.stamps) out.push(`${a.metDeadStats.withoutNextStamp} requests that met the dead u1 have no arrival stamp at u2/u3 (answered by u1 on a retry, or failed)`);
  if (a.recovery.firstOkFromU1Ms === undefined) out.push('u1 did not answer again before the load ended');
  const wrongBefore = a.phases[0]?.byBackend;
  if (wrongBefore && (wrongBefore['u2'] ?? 0) + (wrongBefore['u3'] ?? 0) > 0) out.push(`before the kill, ${(wrongBefore['u2'] ?? 0) + (wrongBefore['u3'] ?? 0)} requests were answered by u2/u3 although u1 was healthy`);
  const missing = recs.filter((r) => r.error === undefined && r.backend === undefined).length;
  if (missing > 0) out.push(`${missing} answers without x-backend`);
  return out;
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const s = readSettings();
  for (const script of [s.optimizerScript, s.upstreamScript]) {
    if (!existsSync(script)) throw new Error(`${relative(ROOT, script)} is not built (npx tsc -p tsconfig.build.json)`);
  }
  const canPin = s.pin && hasTaskset() && cpus().length >= 2;
  if (canPin && !pinSelf('1')) log('failover: could not pin this process');
  const pinning = canPin ? 'optimizer on CPU 0; the three upstreams and this process (load, event feed, /health polls) on CPU 1' : 'none';
  const nonce = randomBytes(4).toString('hex');

  const tmp = mkdtempSync(join(tmpdir(), 'eao-failover-'));
  onExit(() => rmSync(tmp, { recursive: true, force: true }));
  const ups = new Map<BackendId, Started>();
  const stampFile = (id: BackendId, gen: number): string => join(tmp, `${id}-${gen}.stamps`);
  let optimizer: Started | undefined;
  let pool: Pool | undefined;
  let feed: EventFeed | undefined;
  let poller: HealthPoller | undefined;
  let sched: SchedSampler | undefined;

  const startUpstream = (id: BackendId, port: number, gen: number): Promise<Started> =>
    startNode({
      name: gen === 0 ? id : `${id} (restarted)`,
      script: s.upstreamScript,
      args: ['--port', String(port), '--latency-ms', String(s.upstreamLatencyMs)],
      cpu: canPin ? '1' : undefined,
      readyEvent: 'upstream.listening',
      port,
      readyTimeoutMs: 20_000,
      env: { ...process.env, STAMP_FILE: stampFile(id, gen) },
    });

  try {
    const ports = {} as Record<BackendId, number>;
    for (const id of BACKENDS) ports[id] = await freePort();
    await Promise.all(BACKENDS.map(async (id) => ups.set(id, await startUpstream(id, ports[id], 0))));
    const port = await freePort();
    optimizer = await startOptimizerProcess({ name: 'optimizer', script: s.optimizerScript, dir: tmp, config: optimizerConfig(s, ports), port, cpu: canPin ? '0' : undefined });
    const origin = `http://127.0.0.1:${port}`;
    log(`failover: upstreams ${BACKENDS.map((id) => `${id} pid ${ups.get(id)?.pid} :${ports[id]}`).join(', ')}; optimizer pid ${optimizer.pid} at ${origin}`);

    pool = new Pool(origin, { connections: s.concurrency + 4, pipelining: 1, keepAliveTimeout: 60_000 });
    // Each upstream answers through the optimizer (pinned with x-backend).
    for (const id of BACKENDS) {
      const r = await call(pool, `check ${nonce} ${id}`, 10_000, { 'x-backend': id });
      if (r.error !== undefined || r.backend !== id) throw new Error(`check of ${id} through the optimizer failed: ${r.error ?? `answered by ${r.backend}`}`);
    }
    feed = await openEventFeed(origin, `${AGENT}-events`, ['breaker.*', 'backend.failed']);
    if (s.warmupS > 0) {
      // With a warm standby, a third of the warm-up is pinned to each upstream (x-backend), so u2 and u3
      // have run their code and the optimizer has pooled connections to them, as a standby that
      // serves other traffic would; without, only u1 is warmed.
      const pinTo = (n: number): Record<string, string> => (s.warmStandby ? { 'x-backend': BACKENDS[n % BACKENDS.length] ?? 'u1' } : {});
      const w = await runLoad(pool, s, (n) => `warm-up ${nonce} ${n}`, performance.now(), performance.now() + s.warmupS * 1000, undefined, pinTo);
      log(`failover: warm-up ${w.sent} requests ${s.warmStandby ? 'over u1, u2, u3 (pinned in turn)' : `on ${MODEL}`}, ${w.errors} errors${w.firstError ? ` (${w.firstError})` : ''}`);
      if (w.errors > 0) throw new Error(`warm-up had ${w.errors} errors before anything was killed: ${w.firstError}`);
    }

    // ── the measured run ──
    poller = pollHealth(origin, s.healthPollMs);
    sched = sampleSched(optimizer.pid, 100);
    const recs: Rec[] = [];
    const cpu: { before: number | undefined; down: number | undefined; after: number | undefined } = { before: undefined, down: undefined, after: undefined };
    const pids = (): number[] => [optimizer?.pid, ...[...ups.values()].map((u) => u.pid)].filter((p): p is number => p !== undefined);
    const start = performance.now();
    const startWall = wallNow();
    const t: Timeline = { killAt: NaN, killExitAt: NaN, restartAt: NaN, restartReadyAt: NaN, loadEndAt: NaN, startWall, killWall: NaN, restartWall: NaN };
    let watch = watchForeignCpu(pids());
    log(`failover: load c=${s.concurrency} on ${MODEL} for ${s.durationS} s; SIGKILL u1 at ${s.killAtS} s, restart at ${s.restartAtS} s`);

    const chaos = (async () => {
      await sleep(Math.max(0, start + s.killAtS * 1000 - performance.now()));
      const u1 = ups.get('u1');
      if (!u1) throw new Error('u1 is not running');
      cpu.before = watch.stop();
      t.killWall = wallNow();
      t.killAt = performance.now() - start;
      process.kill(u1.pid, 'SIGKILL');
      await u1.stop(); // resolves once the killed process has exited (and been reaped)
      t.killExitAt = performance.now() - start;
      ups.delete('u1');
      log(`failover: u1 (pid ${u1.pid}) killed at ${fmtMs(t.killAt)} ms, exited ${fmtMs(t.killExitAt - t.killAt)} ms later`);
      watch = watchForeignCpu(pids());

      await sleep(Math.max(0, start + s.restartAtS * 1000 - performance.now()));
      cpu.down = watch.stop();
      t.restartWall = wallNow();
      t.restartAt = performance.now() - start;
      const revived = await startUpstream('u1', ports.u1, 1);
      t.restartReadyAt = performance.now() - start;
      ups.set('u1', revived);
      watch = watchForeignCpu(pids());
      log(`failover: u1 restarted (pid ${revived.pid}) at ${fmtMs(t.restartAt)} ms, listening ${fmtMs(t.restartReadyAt - t.restartAt)} ms later`);
    })();
    const load = runLoad(pool, s, (n) => `failover ${nonce} #${n}`, start, start + s.durationS * 1000, recs);
    const [loadResult] = await Promise.all([load, chaos]);
    t.loadEndAt = performance.now() - start;
    cpu.after = watch.stop();
    sched.stop();
    await sleep(2 * s.healthPollMs);
    await poller.stop();
    const events = [...feed.events];
    log(`failover: ${loadResult.sent} requests, ${loadResult.errors} errors; ${events.length} events; ${poller.samples.length} /health polls`);

    const stamps = s.stamps
      ? {
          u1Before: readStamps(stampFile('u1', 0)),
          u1After: readStamps(stampFile('u1', 1)),
          u2: readStamps(stampFile('u2', 0)),
          u3: readStamps(stampFile('u3', 0)),
        }
      : undefined;
    const a = analyse(recs, t, s, events, stamps, poller.samples, cpu);
    const errors = recs.filter((r) => r.error !== undefined).length;
    const machine = machineFacts(ROOT, 'bench/failover.ts (undici Pool, closed loop)', pinning);
    const pt = phaseTable(a);
    const stalls = findStalls(recs, t, sched?.samples ?? []);
    const mt = measuresTable(a, s, t, errors, recs.length, s.stamps, stalls);
    const found = anomalies(a, recs, feed, poller, s, t, stalls);
    const settingsLine =
      `c=${s.concurrency} for ${s.durationS} s on ${MODEL} (unique prompts, non-streaming); SIGKILL u1 at ${fmtMs(t.killAt / 1000)} s, restart at ${fmtMs(t.restartAt / 1000)} s; ` +
      `${s.warmupS} s warm-up ${s.warmStandby ? 'over u1/u2/u3 (warm standbys)' : 'on u1 only (cold standbys)'}; upstream latency ${s.upstreamLatencyMs} ms; connectMs ${s.connectMs}, headersMs ${s.headersMs}; retry.maxAttempts ${s.maxAttempts}; ` +
      `breaker failureThreshold ${s.failureThreshold}, cooldown ${s.cooldownMs} ms (max ${s.maxCooldownMs}, ×${s.cooldownMultiplier}); cache and dedupe off, limits far above the load`;
    const notes = [
      `Phases: "before" = answered before the kill; "switch" = in flight at the kill or sent within ${s.switchWindowMs} ms after it; "u1 down" = sent later, before the restart; "after" = sent after the restart was started. Latency is send → whole answer read, successes only.`,
      `"Met dead u1" = requests whose attempt on u1 failed (the optimizer's backend.failed events on the WebSocket event feed). "Cut by the kill" = sent before the SIGKILL, so their call to u1 was under way when u1 died${s.stamps ? ` (${a.metDeadStats.cutReachedU1} of ${a.metDeadStats.cut} had been read by u1, per its arrival stamps)` : ''}; "while u1 was exiting" = sent after the SIGKILL but before u1 had exited (${fmtMs(t.killExitAt - t.killAt)} ms): its listening socket still accepted connections, which were then closed; "refused" = sent after u1 had exited, their call found its port closed. Client-side added latency = its latency − the median latency of the requests sent within ±500 ms that did not meet u1.`,
      ...(s.stamps
        ? [
            'Upstream-side times: each upstream stamps every request\'s arrival (bench/lib/stamped-upstream.ts, wall clock, sub-ms); the optimizer\'s backend.failed time is its Date.now() (whole ms, so up to 1 ms too early). All processes run on one machine and one clock.',
          ]
        : []),
      `Breaker transitions (optimizer events, ms after the kill): ${transitionsLine(a.transitions)}.`,
      `Breaker as /health showed it (polled every ${s.healthPollMs} ms; ms after the kill, at the poll's answer): ${transitionsLine(a.healthTransitions)}.`,
      ...(a.phases.some((p) => noisy(p.foreignCpuPct)) ? [`~: other processes used more than ${NOISY_FOREIGN_CPU_PCT} % of a core during that phase (disturbed).`] : []),
      ...found,
    ];

    const stamp = machine.date.replace(/:/g, '').replace(/\.\d+Z$/, 'Z');
    mkdirSync(s.resultsDir, { recursive: true });
    const jsonPath = join(s.resultsDir, `${stamp}-failover.json`);
    const jsonRel = relative(ROOT, jsonPath);
    const round3 = (v: number): number => Math.round(v * 1000) / 1000;
    const reqLines = recs
      .sort((x, y) => x.n - y.n)
      .map((r) => JSON.stringify({ ...r, sendAt: round3(r.sendAt), doneAt: round3(r.doneAt), latencyMs: round3(r.latencyMs), sendWall: round3(r.sendWall) }));
    const summary = JSON.stringify(
      {
        suite: 'failover',
        machine,
        settings: { ...s, optimizerScript: relative(ROOT, s.optimizerScript), upstreamScript: relative(ROOT, s.upstreamScript), resultsDir: relative(ROOT, s.resultsDir) },
        timeline: t,
        phases: a.phases,
        metDead: { stats: a.metDeadStats, requests: a.metDead },
        forwardBefore: a.forwardBefore,
        breaker: { opened: a.opened, transitions: a.transitions, healthTransitions: a.healthTransitions },
        recovery: a.recovery,
        verdicts: { errors, errorsPass: errors === 0, refusedToNextUnderTarget: mt.targetPass },
        foreignCpuPct: cpu,
        anomalies: found,
        eventsDropped: feed.dropped,
        events,
        stalls,
        health: { failed: poller.failed, skipped: poller.skipped, samples: poller.samples },
        optimizerSched: sched.samples,
        requests: '__REQUESTS__',
      },
      null,
      2,
    );
    writeFileSync(jsonPath, `${summary.replace('"__REQUESTS__"', `[\n    ${reqLines.join(',\n    ')}\n  ]`)}\n`);

    const out = [
      '',
      `Failover: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.date} (shared machine: other engineers' runs may disturb the numbers)`,
      settingsLine,
      `pinning: ${pinning}`,
      '',
      formatText(pt.headers, pt.rows),
      '',
      formatText(mt.headers, mt.rows),
      '',
      ...notes.map((n) => `- ${n}`),
      '',
      `errors: ${errors === 0 ? 'PASS' : 'FAIL'} (${errors}); refused → next backend < ${s.targetMs} ms: ${mt.targetPass === undefined ? 'n/a' : mt.targetPass ? 'PASS' : 'FAIL'}`,
      `raw results: ${jsonRel}`,
      '',
      '----- markdown for bench/RESULTS.md -----',
      markdownBlock(machine, s, settingsLine, pinning, pt, mt, notes, jsonRel),
      '----- end -----',
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    return errors === 0 ? 0 : 1;
  } finally {
    sched?.stop();
    await feed?.close();
    await poller?.stop();
    await pool?.close();
    await optimizer?.stop();
    await Promise.all([...ups.values()].map((u) => u.stop()));
    rmSync(tmp, { recursive: true, force: true });
  }
}

function markdownBlock(
  m: MachineFacts,
  s: Settings,
  settingsLine: string,
  pinning: string,
  pt: { headers: string[]; rows: string[][] },
  mt: { headers: string[]; rows: string[][] },
  notes: string[],
  jsonRel: string,
): string {
  return [
    `### ${m.date.slice(0, 10)}: failover (3 upstreams, u1 killed and restarted) on ${m.cpuModel} (${m.cores} cores)`,
    '',
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}; Node ${m.node}, undici ${m.undici ?? '?'}; shared with other engineers' test runs`,
    `- Commit: ${m.gitCommit ?? '(no commit yet)'}; run at ${m.date}`,
    `- Run: ${settingsLine}`,
    `- Upstreams: ${s.stamps ? 'bench/lib/stamped-upstream.js (src/loopback + arrival stamps)' : 'dist/src/loopback/main.js'}, one process each; pinning: ${pinning}`,
    `- Raw numbers: \`${jsonRel}\``,
    '',
    formatMarkdown(pt.headers, pt.rows),
    '',
    formatMarkdown(mt.headers, mt.rows),
    '',
    ...notes.map((n) => `- ${n}`),
  ].join('\n');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`failover: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAllSync();
    process.exitCode = 1;
  },
);
