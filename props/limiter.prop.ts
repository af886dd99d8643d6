/**
 * Properties of the rate limiter (src/limits/limiter.ts), on a ManualClock: for any limits, any
 * arrivals (agents, backends, times, priorities, token estimates, deadlines), aborts and clock steps,
 *  (1) no 60 s window admits more than any key's requests-per-minute or tokens-per-minute limit;
 *  (2) every request is admitted or refused exactly once once the clock is past every deadline, the
 *      counters agree, the queue is empty and no timer is left; the limiter never holds two timers;
 *  (3) none is admitted after its deadline, nor refused before it unless the windows alone (rebuilt
 *      here from the admissions so far) prove it could not fit by then;
 *  (4) two agents of one priority class, both continuously backlogged and held by nothing but the
 *      shared limit, alternate: neither is admitted twice in a row (the bound k = 1);
 *  (5) with one agent, admission times are exactly those of a brute-force reference model (so the
 *      limiter wakes up exactly when a window frees a slot, and never idles with room and a queue);
 *  (6) failover admissions (`tryAdmitBackend`, interleaved with everything above and counted in (1)
 *      and (3)) never queue, touch only their backend's key, and are refused only when that key has
 *      no room (from the windows rebuilt here) or a request is queued that the key may be held for.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OptimizerError } from '../src/errors/registry.js';
import { ManualClock } from '../src/limits/clock.js';
import { Limiter } from '../src/limits/limiter.js';
import type { LimiterOptions, LimitRequest, RateLimit } from '../src/limits/types.js';

const WINDOW = 60_000;
/** `LIMITER_PROP_SCALE=20 npx vitest run props/limiter.prop.ts` runs 20× as many cases (a longer soak). */
const SCALE = Math.max(1, Number(process.env['LIMITER_PROP_SCALE'] ?? 1));
const AGENTS = ['a', 'b', 'c'] as const;

// ── scenarios ──────────────────────────────────────────────────────────────────────────────────────

interface Arrive {
  kind: 'arrive';
  agent: string;
  backend: string | undefined;
  priority: number;
  tokens: number;
  /** Explicit deadline, relative to arrival (may be negative: already past). */
  deadlineIn: number | undefined;
  abortable: boolean;
  /** Only `tryAdmit` (a caller that would rather not wait), not `admit`. */
  tryOnly: boolean;
}
interface Advance {
  kind: 'advance';
  ms: number;
}
interface Abort {
  kind: 'abort';
  which: number;
}
/** A request already admitted elsewhere failing over to `backend`: one `tryAdmitBackend`. */
interface Failover {
  kind: 'failover';
  agent: string;
  backend: string;
  priority: number;
  tokens: number;
}
type Op = Arrive | Advance | Abort | Failover;

interface Scenario {
  global: RateLimit | undefined;
  perAgent: RateLimit | undefined;
  ownA: RateLimit | undefined;
  backendX: RateLimit | undefined;
  maxQueueWaitMs: number;
  ops: Op[];
}

const rpm = fc.integer({ min: 1, max: 5 });
const tpm = fc.option(fc.integer({ min: 40, max: 200 }), { nil: undefined });
const limit: fc.Arbitrary<RateLimit> = fc.record({ requestsPerMinute: rpm, tokensPerMinute: tpm });
const maxQueueWaitMs = fc.constantFrom(0, 1000, 30_000, 59_999, 60_000, 90_000, 150_000);
const advance: fc.Arbitrary<Advance> = fc.record({
  kind: fc.constant('advance' as const),
  ms: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 70_000 }), fc.constantFrom(59_999, 60_000, 60_001)),
});

function arrive(tokens: fc.Arbitrary<number>, priority: fc.Arbitrary<number>, backends: fc.Arbitrary<string | undefined>, agents: readonly string[]): fc.Arbitrary<Arrive> {
  return fc.record({
    kind: fc.constant('arrive' as const),
    agent: fc.constantFrom(...agents),
    backend: backends,
    priority,
    tokens,
    deadlineIn: fc.option(fc.integer({ min: -10, max: 200_000 }), { nil: undefined, freq: 3 }),
    abortable: fc.boolean(),
    tryOnly: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
  });
}

const abortOp: fc.Arbitrary<Abort> = fc.record({ kind: fc.constant('abort' as const), which: fc.nat() });
const failoverOp: fc.Arbitrary<Failover> = fc.record({
  kind: fc.constant('failover' as const),
  agent: fc.constantFrom(...AGENTS),
  backend: fc.constantFrom('x', 'y'),
  priority: fc.integer({ min: 0, max: 2 }),
  tokens: fc.integer({ min: 0, max: 120 }),
});

const scenario: fc.Arbitrary<Scenario> = fc.record({
  global: fc.option(limit, { nil: undefined, freq: 6 }),
  perAgent: fc.option(limit, { nil: undefined, freq: 3 }),
  ownA: fc.option(fc.record({ requestsPerMinute: fc.option(rpm, { nil: undefined }), tokensPerMinute: tpm }), { nil: undefined }),
  backendX: fc.option(limit, { nil: undefined, freq: 3 }),
  maxQueueWaitMs,
  ops: fc.array(
    fc.oneof(
      { weight: 5, arbitrary: arrive(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 2 }), fc.constantFrom(undefined, 'x', 'y'), AGENTS) },
      { weight: 4, arbitrary: advance },
      { weight: 1, arbitrary: abortOp },
      { weight: 2, arbitrary: failoverOp },
    ),
    { maxLength: 45 },
  ),
});

// ── running one ────────────────────────────────────────────────────────────────────────────────────

interface Tracked {
  id: number;
  op: Arrive;
  request: LimitRequest;
  arrival: number;
  /** Effective deadline: min(explicit, arrival + maxQueueWaitMs). */
  deadline: number;
  controller: AbortController | undefined;
  abortedAt: number | undefined;
  settled: 'admitted' | 'rejected' | undefined;
}

interface Event {
  seq: number;
  kind: 'admitted' | 'rejected';
  id: number;
  at: number;
  error?: OptimizerError;
  /** Queue depth per agent just after the event. */
  depths: Record<string, number>;
}

interface FailoverTry {
  seq: number;
  op: Failover;
  at: number;
  admitted: boolean;
  /** Requests waiting just before and just after the call. */
  queuedBefore: number;
  queued: number;
}

interface Run {
  options: LimiterOptions;
  clock: ManualClock;
  limiter: Limiter;
  tracked: Tracked[];
  events: Event[];
  /** Queue depth per agent after every arrival, as (seq, depths): with the events, every change of depth. */
  depthSamples: { seq: number; depths: Record<string, number> }[];
  maxTimers: number;
  failovers: FailoverTry[];
}

function optionsFor(s: Scenario, clock: ManualClock, observer: LimiterOptions['observer']): LimiterOptions {
  return {
    clock,
    global: s.global,
    perAgent: s.perAgent,
    agents: s.ownA === undefined ? undefined : new Map([['a', s.ownA]]),
    backends: s.backendX === undefined ? undefined : new Map([['x', s.backendX]]),
    maxQueueWaitMs: s.maxQueueWaitMs,
    observer,
  };
}

async function run(s: Scenario, agents: readonly string[] = AGENTS): Promise<Run> {
  const clock = new ManualClock(1_000_000);
  const events: Event[] = [];
  const depthSamples: Run['depthSamples'] = [];
  const ids = new Map<LimitRequest, number>();
  let seq = 0;
  let limiter: Limiter | undefined;
  const depths = (): Record<string, number> => Object.fromEntries(agents.map((a) => [a, limiter!.queueDepth(a)]));
  const options = optionsFor(s, clock, {
    admitted: (request, at) => events.push({ seq: seq++, kind: 'admitted', id: ids.get(request)!, at, depths: depths() }),
    rejected: (request, at, error) => events.push({ seq: seq++, kind: 'rejected', id: ids.get(request)!, at, error, depths: depths() }),
  });
  limiter = new Limiter(options);
  const tracked: Tracked[] = [];
  const failovers: FailoverTry[] = [];
  let maxTimers = 0;
  for (const op of s.ops) {
    if (op.kind === 'failover') {
      const queuedBefore = limiter.queueDepth();
      const admitted = limiter.tryAdmitBackend(op.backend, { agentId: op.agent, tokens: op.tokens, priority: op.priority });
      // Its seq after the call: what the call served first (queued requests whose time had come) comes before it.
      failovers.push({ seq: seq++, op, at: clock.now(), admitted, queuedBefore, queued: limiter.queueDepth() });
    } else if (op.kind === 'advance') {
      clock.advance(op.ms);
    } else if (op.kind === 'abort') {
      const abortable = tracked.filter((t) => t.controller !== undefined && t.abortedAt === undefined);
      const target = abortable[op.which % Math.max(1, abortable.length)];
      if (target !== undefined) {
        target.abortedAt = clock.now();
        target.controller!.abort(new Error('gone'));
      }
    } else {
      const now = clock.now();
      const controller = op.abortable ? new AbortController() : undefined;
      const request: LimitRequest = {
        agentId: op.agent,
        backendId: op.backend,
        tokens: op.tokens,
        priority: op.priority,
        deadline: op.deadlineIn === undefined ? undefined : now + op.deadlineIn,
        signal: controller?.signal,
      };
      const t: Tracked = {
        id: tracked.length,
        op,
        request,
        arrival: now,
        deadline: Math.min(op.deadlineIn === undefined ? Infinity : now + op.deadlineIn, now + s.maxQueueWaitMs),
        controller,
        abortedAt: undefined,
        settled: undefined,
      };
      tracked.push(t);
      ids.set(request, t.id);
      if (op.tryOnly) {
        limiter.tryAdmit(request);
      } else {
        limiter.admit(request).then(
          () => {
            t.settled = 'admitted';
          },
          () => {
            t.settled = 'rejected';
          },
        );
      }
      depthSamples.push({ seq: seq++, depths: depths() });
    }
    maxTimers = Math.max(maxTimers, clock.pendingTimers);
  }
  clock.advance(10 * (200_000 + 150_000)); // past every deadline
  await new Promise((resolve) => setImmediate(resolve));
  return { options, clock, limiter, tracked, events, depthSamples, maxTimers, failovers };
}

// ── the oracle: windows rebuilt from the admissions ───────────────────────────────────────────────

interface KeyView {
  name: string;
  limit: RateLimit;
  uses(t: Tracked): boolean;
  /** The backend of a `backend:` key (failovers count there only). */
  backend?: string;
}

function keysOf(options: LimiterOptions, agents: readonly string[]): KeyView[] {
  const keys: KeyView[] = [];
  if (options.global !== undefined) keys.push({ name: 'global', limit: options.global, uses: () => true });
  for (const agent of agents) {
    const own = options.agents?.get(agent);
    const limit = {
      requestsPerMinute: own?.requestsPerMinute ?? options.perAgent?.requestsPerMinute,
      tokensPerMinute: own?.tokensPerMinute ?? options.perAgent?.tokensPerMinute,
    };
    keys.push({ name: `agent:${agent}`, limit, uses: (t) => t.op.agent === agent });
  }
  for (const [id, limit] of options.backends ?? []) keys.push({ name: `backend:${id}`, limit, uses: (t) => t.op.backend === id, backend: id });
  return keys;
}

/** A key's admissions up to (excluding) `beforeSeq`, in order: requests admitted, and failovers that took a slot. */
function admissionsOf(key: KeyView, run: Pick<Run, 'events' | 'tracked' | 'failovers'>, beforeSeq = Infinity): { at: number; tokens: number }[] {
  const admissions = run.events
    .filter((e) => e.kind === 'admitted' && e.seq < beforeSeq && key.uses(run.tracked[e.id]!))
    .map((e) => ({ seq: e.seq, at: e.at, tokens: run.tracked[e.id]!.op.tokens }));
  for (const f of run.failovers) if (f.admitted && f.seq < beforeSeq && f.op.backend === key.backend) admissions.push({ seq: f.seq, at: f.at, tokens: f.op.tokens });
  return admissions.sort((a, b) => a.seq - b.seq).map(({ at, tokens }) => ({ at, tokens }));
}

/** Earliest time ≥ now at which `tokens` more fit `key`, given these admissions (time, tokens). */
function freeAt(key: KeyView, admissions: { at: number; tokens: number }[], now: number, tokens: number): number {
  const inWindow = admissions.filter((a) => a.at > now - WINDOW).sort((x, y) => x.at - y.at);
  let at = now;
  const n = key.limit.requestsPerMinute;
  if (n !== undefined && inWindow.length >= n) at = Math.max(at, inWindow[inWindow.length - n]!.at + WINDOW);
  const l = key.limit.tokensPerMinute;
  if (l !== undefined) {
    if (tokens > l) return Infinity;
    let sum = inWindow.reduce((acc, a) => acc + a.tokens, 0);
    for (const a of inWindow) {
      if (sum + tokens <= l) break;
      sum -= a.tokens;
      at = Math.max(at, a.at + WINDOW);
    }
  }
  return at;
}

// ── the properties ─────────────────────────────────────────────────────────────────────────────────

describe('limiter properties', () => {
  it('(1) windows hold, (2) each request settles exactly once, (3) deadlines are kept', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const result = await run(s);
        const { options, clock, limiter, tracked, events, maxTimers, failovers } = result;
        const keys = keysOf(options, AGENTS);
        const admittedEvents = events.filter((e) => e.kind === 'admitted');

        // (1) no window of any key admits more than its limits (failovers count on their backend's key)
        for (const key of keys) {
          const admitted = admissionsOf(key, result);
          const n = key.limit.requestsPerMinute;
          if (n !== undefined) {
            for (let i = 0; i + n < admitted.length; i++) expect(admitted[i + n]!.at - admitted[i]!.at, key.name).toBeGreaterThanOrEqual(WINDOW);
          }
          const l = key.limit.tokensPerMinute;
          if (l !== undefined) {
            for (const last of admitted) {
              const sum = admitted.filter((a) => a.at > last.at - WINDOW && a.at <= last.at).reduce((acc, a) => acc + a.tokens, 0);
              expect(sum, key.name).toBeLessThanOrEqual(l);
            }
          }
        }

        // (2) exactly once; the counters, the queue and the timer agree
        for (const t of tracked) {
          const mine = events.filter((e) => e.id === t.id);
          if (t.op.tryOnly) {
            expect(mine.length).toBeLessThanOrEqual(1);
            expect(mine.every((e) => e.kind === 'admitted')).toBe(true);
          } else {
            expect(mine).toHaveLength(1);
            expect(t.settled).toBe(mine[0]!.kind);
          }
        }
        const stats = limiter.stats();
        expect(stats.admitted).toBe(admittedEvents.length);
        expect(stats.failoverAdmitted).toBe(failovers.filter((f) => f.admitted && s.backendX !== undefined && f.op.backend === 'x').length);
        expect(stats.failoverRefused).toBe(failovers.filter((f) => !f.admitted).length);
        expect(stats.rejected + stats.cancelled).toBe(events.length - admittedEvents.length);
        expect(stats.queueDepth).toBe(0);
        expect(stats.nextWakeAt).toBeNull();
        expect(clock.pendingTimers).toBe(0);
        expect(maxTimers).toBeLessThanOrEqual(1);

        // (3) never admitted past its deadline; refused before it only when provably unable to fit
        for (const e of events) {
          const t = tracked[e.id]!;
          if (e.kind === 'admitted') {
            expect(e.at).toBeLessThanOrEqual(t.deadline);
            expect(e.at).toBeGreaterThanOrEqual(t.arrival);
            continue;
          }
          const error = e.error!;
          if (error.code === 'CANCELLED') {
            expect(e.at).toBe(t.abortedAt);
            continue;
          }
          if (error.code === 'INVALID_REQUEST') {
            expect(keys.some((k) => k.uses(t) && k.limit.tokensPerMinute !== undefined && t.op.tokens > k.limit.tokensPerMinute)).toBe(true);
            expect(e.at).toBe(t.arrival);
            continue;
          }
          expect(error.code).toBe('RATE_LIMITED');
          expect(Number.isInteger(error.retryAfterMs) && error.retryAfterMs! >= 1).toBe(true);
          // At its deadline at the latest (at once when that had passed before it arrived).
          expect(e.at, 'refused late').toBeLessThanOrEqual(Math.max(t.deadline, t.arrival));
          if (e.at >= t.deadline) continue;
          // Before its deadline: the windows at that moment must prove it could not fit by then.
          let lowerBound = e.at;
          for (const key of keys.filter((k) => k.uses(t))) {
            lowerBound = Math.max(lowerBound, freeAt(key, admissionsOf(key, result, e.seq), e.at, t.op.tokens));
          }
          expect(lowerBound, `request ${t.id} refused at ${e.at} before its deadline ${t.deadline}`).toBeGreaterThan(t.deadline);
        }
      }),
      { numRuns: 250 * SCALE },
    );
  });

  it('(4) two backlogged agents of one class alternate: neither is admitted twice in a row (k = 1)', async () => {
    const fairAgents = ['a', 'b', 'c'] as const;
    const fairScenario: fc.Arbitrary<Scenario> = fc.record({
      global: limit,
      perAgent: fc.constant(undefined), // agents' own limits never bind: the share is equal
      ownA: fc.constant(undefined),
      backendX: fc.constant(undefined),
      maxQueueWaitMs: fc.constantFrom(90_000, 150_000, 600_000),
      ops: fc.array(
        fc.oneof(
          { weight: 6, arbitrary: arrive(fc.integer({ min: 0, max: 80 }), fc.constant(0), fc.constant(undefined), fairAgents) },
          { weight: 3, arbitrary: advance },
          { weight: 1, arbitrary: abortOp },
        ),
        { maxLength: 50 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fairScenario, async (s) => {
        const { tracked, events, depthSamples } = await run(s, fairAgents);
        // Every change of queue depth, in order: arrivals (samples) and settlements (events).
        const timeline = [
          ...depthSamples.map((d) => ({ seq: d.seq, depths: d.depths, admitted: undefined as string | undefined })),
          ...events.map((e) => ({ seq: e.seq, depths: e.depths, admitted: e.kind === 'admitted' ? tracked[e.id]!.op.agent : undefined })),
        ].sort((x, y) => x.seq - y.seq);
        for (const x of fairAgents) {
          for (const y of fairAgents) {
            if (x === y) continue;
            // X's admissions since Y last had an admission or an empty queue.
            let streak = 0;
            for (const step of timeline) {
              if (step.admitted === y || step.depths[y] === 0) streak = 0;
              if (step.admitted === x && step.depths[y]! > 0) {
                streak++;
                expect(streak, `${x} admitted twice in a row while ${y} waited`).toBeLessThanOrEqual(1);
              }
            }
          }
        }
      }),
      { numRuns: 600 * SCALE },
    );
  });

  it('(5) with one agent, admits exactly when a brute-force reference model does', async () => {
    const single: fc.Arbitrary<Scenario> = fc.record({
      global: fc.record({ requestsPerMinute: rpm }),
      perAgent: fc.option(fc.record({ requestsPerMinute: rpm }), { nil: undefined }),
      ownA: fc.constant(undefined),
      backendX: fc.constant(undefined),
      maxQueueWaitMs,
      ops: fc.array(
        fc.oneof(
          { weight: 5, arbitrary: arrive(fc.constant(0), fc.integer({ min: 0, max: 2 }), fc.constant(undefined), ['a']).map((a) => ({ ...a, abortable: false, tryOnly: false })) },
          { weight: 4, arbitrary: advance },
        ),
        { maxLength: 45 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(single, async (s) => {
        const { events, tracked } = await run(s, ['a']);
        const actual = new Map(events.filter((e) => e.kind === 'admitted').map((e) => [e.id, e.at]));
        expect(actual).toEqual(referenceAdmissions(s, tracked));
      }),
      { numRuns: 300 * SCALE },
    );
  });

  it('(6) a failover admission never queues, and is refused only without room or behind a queued request', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const result = await run(s);
        const { options, failovers } = result;
        const keys = keysOf(options, AGENTS);
        for (const f of failovers) {
          expect(f.queued).toBeLessThanOrEqual(f.queuedBefore);
          const key = keys.find((k) => k.backend === f.op.backend);
          if (key === undefined) {
            // No limits of its own: always admitted.
            expect(f.admitted).toBe(true);
            continue;
          }
          const roomAt = freeAt(key, admissionsOf(key, result, f.seq), f.at, f.op.tokens);
          if (f.admitted) expect(roomAt, `failover ${f.seq} admitted without room`).toBe(f.at);
          // Refused with room only to keep the slot for someone already waiting.
          else if (roomAt === f.at) expect(f.queued, `failover ${f.seq} refused with room and nobody queued`).toBeGreaterThan(0);
        }
      }),
      { numRuns: 250 * SCALE },
    );
  });
});

/**
 * One agent, requests-per-minute only: every key sees every admission, so the binding limit is the
 * smallest N. The queue is served by priority, then arrival; a request is admitted at the first time
 * ≥ its arrival when there is room and nothing ahead of it, if that is by its deadline.
 */
function referenceAdmissions(s: Scenario, tracked: Tracked[]): Map<number, number> {
  const n = Math.min(s.global?.requestsPerMinute ?? Infinity, s.perAgent?.requestsPerMinute ?? Infinity);
  const admissions: number[] = [];
  const result = new Map<number, number>();
  let queue: Tracked[] = [];
  const freeAtTime = (now: number): number => {
    const inWindow = admissions.filter((at) => at > now - WINDOW);
    return inWindow.length < n ? now : inWindow[inWindow.length - n]! + WINDOW;
  };
  const admit = (t: Tracked, at: number): void => {
    admissions.push(at);
    result.set(t.id, at);
  };
  let now = 1_000_000;
  /** Serves the queue at every time a slot frees, from `now` up to `until`. */
  const drain = (until: number): void => {
    for (;;) {
      if (queue.length === 0) return;
      const at = freeAtTime(now);
      if (at > until) return;
      now = at;
      queue = queue.filter((t) => t.deadline >= at);
      const head = queue.shift();
      if (head === undefined) return;
      admit(head, at);
    }
  };
  let next = 0;
  for (const op of s.ops) {
    if (op.kind === 'advance') {
      const target = now + op.ms;
      drain(target);
      now = target;
      continue;
    }
    if (op.kind !== 'arrive') continue;
    const t = tracked[next++]!;
    if (t.deadline < now) continue;
    if (queue.length === 0 && freeAtTime(now) === now) {
      admit(t, now);
      continue;
    }
    queue.push(t);
    queue.sort((x, y) => y.op.priority - x.op.priority || x.id - y.id);
  }
  drain(Infinity);
  return result;
}
