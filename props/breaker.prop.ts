/**
 * Model-based test of the circuit breaker (machines/breaker.machine.ts, driven through
 * src/resilience/breaker-client.ts) against a small reference model, with fc.commands:
 * calls asked for, calls finishing (success, counted failure, caller's 4xx) in any order,
 * stray outcomes of calls the model never saw admitted, and the clock moving.
 *
 * After every command the breaker agrees with the model (state, admissions, counters,
 * cooldown, the error-rate window's counts, the events emitted and reported), and:
 *  (1) no call is admitted while open before the cooldown has elapsed (checked from the
 *      `breaker.opened` events and the clock, not from the model);
 *  (2) half-open never has more than `halfOpenProbes` admitted probes of the current
 *      half-open period still outstanding (counted from the calls actually in flight);
 *  (3) from any state, advancing past the cooldown and then enough successes close it.
 *
 * A second property: a breaker told through an OutcomeBatch (src/resilience/outcome-batch.ts,
 * successes gathered and told as one event) is always in the same state, and after each flush
 * has the same context and has emitted the same events, as one told every outcome at once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { breakerMachine, windowCounts, type BreakerEmitted, type BreakerState } from '../machines/breaker.machine.js';
import type { BreakerConfig } from '../src/config/types.js';
import { breakerAdmits, reportOutcome, type BreakerRef, type BreakerTicket } from '../src/resilience/breaker-client.js';
import { OutcomeBatch } from '../src/resilience/outcome-batch.js';

/** `BREAKER_PROP_SCALE=20 npx vitest run props/breaker.prop.ts` runs 20× as many cases. */
const SCALE = Math.max(1, Number(process.env['BREAKER_PROP_SCALE'] ?? 1));
const BUCKETS = 20;

// ── the reference model ───────────────────────────────────────────────────────────────────────────

type Kind = 'ok' | 'fail' | '4xx';

interface Model {
  settings: BreakerConfig;
  now: number;
  state: BreakerState;
  consecutive: number;
  /** Counted outcomes since the breaker last closed. */
  outcomes: { at: number; failed: boolean }[];
  /** Opens since the last close, and in all (the latter numbers the half-open periods). */
  streak: number;
  opens: number;
  cooldownMs: number;
  /** When the open period ends, on the actor clock. */
  halfOpensAt: number;
  /** The newest counted outcome's `at` since the last close: the error-rate window's head. */
  newestAt: number;
  /** `at` of the outcome that opened it, and that plus the cooldown (the caller's clock, as /health shows). */
  openedAt: number | undefined;
  openUntil: number | undefined;
  /** Probes of this half-open period the breaker believes outstanding. */
  probes: number;
  /** Calls admitted and not yet finished: the half-open period each was a probe of, if any. */
  inFlight: (number | undefined)[];
  /** What the last command should have emitted. */
  expected: BreakerEmitted[];
}

interface Real {
  actor: BreakerRef;
  clock: SimulatedClock;
  inFlight: BreakerTicket[];
  emitted: BreakerEmitted[];
  reported: BreakerEmitted[];
  /** Set from each `breaker.opened`: no admission and no half-open before this (actor clock). */
  blockedUntil: number;
}

/** The window's buckets: ceil(windowMs / BUCKETS) ms wide, numbered from time 0. */
function bucket(model: Model, at: number): number {
  return Math.floor(at / Math.ceil(model.settings.errorRate.windowMs / BUCKETS));
}

/** The outcomes in the window at `at`: fewer than BUCKETS buckets older. */
function inWindow(model: Model, at: number) {
  return model.outcomes.filter((o) => bucket(model, at) - bucket(model, o.at) < BUCKETS);
}

function modelOpen(model: Model, reason: 'consecutive' | 'error_rate' | 'probe_failed', at: number): void {
  const { cooldownMs, cooldownMultiplier, maxCooldownMs } = model.settings;
  model.streak += 1;
  model.opens += 1;
  model.cooldownMs = Math.min(maxCooldownMs, Math.round(cooldownMs * cooldownMultiplier ** (model.streak - 1)));
  model.halfOpensAt = model.now + model.cooldownMs;
  model.openedAt = at;
  model.openUntil = at + model.cooldownMs;
  model.state = 'open';
  model.probes = 0;
  model.expected.push({ type: 'breaker.opened', backendId: 'b', reason, cooldownMs: model.cooldownMs });
}

function modelOutcome(model: Model, kind: Kind, probe: number | undefined, at: number): void {
  const counted = kind !== '4xx';
  switch (model.state) {
    case 'closed': {
      if (!counted) return;
      // Reported so late that it is already out of the window: it counts for the consecutive rule only.
      if (bucket(model, at) > bucket(model, model.newestAt) - BUCKETS) {
        model.outcomes.push({ at, failed: kind === 'fail' });
        model.newestAt = Math.max(model.newestAt, at);
      }
      if (kind === 'ok') {
        model.consecutive = 0;
        return;
      }
      model.consecutive += 1;
      if (model.consecutive >= model.settings.failureThreshold) return modelOpen(model, 'consecutive', at);
      const window = inWindow(model, model.newestAt);
      const failures = window.filter((o) => o.failed).length;
      if (window.length >= model.settings.errorRate.minRequests && failures / window.length >= model.settings.errorRate.threshold) {
        modelOpen(model, 'error_rate', at);
      }
      return;
    }
    case 'open':
      return;
    case 'half_open': {
      if (probe !== model.opens) return;
      if (!counted) {
        model.probes = Math.max(0, model.probes - 1);
      } else if (kind === 'fail') {
        modelOpen(model, 'probe_failed', at);
      } else {
        model.state = 'closed';
        model.consecutive = 0;
        model.outcomes = [];
        model.newestAt = Number.NEGATIVE_INFINITY;
        model.openedAt = undefined;
        model.openUntil = undefined;
        model.streak = 0;
        model.cooldownMs = model.settings.cooldownMs;
        model.probes = 0;
        model.expected.push({ type: 'breaker.closed', backendId: 'b' });
      }
    }
  }
}

function modelAdvance(model: Model, ms: number): void {
  model.now += ms;
  if (model.state === 'open' && model.now >= model.halfOpensAt) {
    model.state = 'half_open';
    model.probes = 0;
    model.expected.push({ type: 'breaker.half_opened', backendId: 'b' });
  }
}

// ── checks after every command ────────────────────────────────────────────────────────────────────

function agree(model: Model, real: Real): void {
  const snapshot = real.actor.getSnapshot();
  const c = snapshot.context;
  expect(snapshot.status).toBe('active');
  expect(real.clock.now()).toBe(model.now);
  expect(snapshot.value).toBe(model.state);
  expect(c.consecutiveFailures).toBe(model.consecutive);
  expect(c.opens).toBe(model.opens);
  expect(c.cooldownMs).toBe(model.cooldownMs);
  expect(c.probesInFlight).toBe(model.probes);
  expect(c.openedAt).toBe(model.openedAt);
  expect(c.openUntil).toBe(model.openUntil);
  const window = inWindow(model, model.now);
  expect(windowCounts(c.window, c.bucketMs, model.now)).toEqual({ calls: window.length, failures: window.filter((o) => o.failed).length });
  expect(real.emitted).toEqual(model.expected);
  expect(real.reported).toEqual(model.expected);
  // (2) Outstanding probes of this half-open period, counted from the calls really in flight.
  if (model.state === 'half_open') {
    const outstanding = real.inFlight.filter((t) => t.probe === c.opens).length;
    expect(outstanding).toBeLessThanOrEqual(model.settings.halfOpenProbes);
  }
  real.emitted.length = 0;
  real.reported.length = 0;
  model.expected = [];
}

// ── commands ──────────────────────────────────────────────────────────────────────────────────────

class Acquire implements fc.Command<Model, Real> {
  check = () => true;
  run(model: Model, real: Real): void {
    const ticket = breakerAdmits(real.actor);
    const admits = model.state === 'closed' || (model.state === 'half_open' && model.probes < model.settings.halfOpenProbes);
    expect(ticket !== false).toBe(admits);
    if (ticket) {
      // (1) Never admitted while open before the cooldown has elapsed.
      expect(real.clock.now()).toBeGreaterThanOrEqual(real.blockedUntil);
      const probe = model.state === 'half_open' ? model.opens : undefined;
      expect(ticket.probe).toBe(probe);
      if (probe !== undefined) model.probes += 1;
      model.inFlight.push(probe);
      real.inFlight.push(ticket);
    }
    agree(model, real);
  }
  toString = () => 'acquire';
}

/** An admitted call ends: `which` picks it (−1: the newest), `lag` ms ago on the caller's clock. */
class Finish implements fc.Command<Model, Real> {
  constructor(
    readonly which: number,
    readonly kind: Kind,
    readonly lag = 0,
  ) {}
  check = (model: Readonly<Model>) => model.inFlight.length > 0;
  run(model: Model, real: Real): void {
    const i = this.which < 0 ? model.inFlight.length - 1 : this.which % model.inFlight.length;
    const [probe] = model.inFlight.splice(i, 1);
    const [ticket] = real.inFlight.splice(i, 1);
    const at = real.clock.now() - this.lag;
    reportOutcome(real.actor, ticket!, { ok: this.kind === 'ok', counted: this.kind !== '4xx', at });
    modelOutcome(model, this.kind, probe, at);
    agree(model, real);
  }
  toString = () => `finish(${this.which}, ${this.kind}, ${this.lag})`;
}

/** The outcome of a call this run never saw admitted (e.g. admitted before it started). */
class Stray implements fc.Command<Model, Real> {
  constructor(
    readonly kind: Kind,
    readonly lag = 0,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const at = real.clock.now() - this.lag;
    reportOutcome(real.actor, { probe: undefined }, { ok: this.kind === 'ok', counted: this.kind !== '4xx', at });
    modelOutcome(model, this.kind, undefined, at);
    agree(model, real);
  }
  toString = () => `stray(${this.kind}, ${this.lag})`;
}

class Advance implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  run(model: Model, real: Real): void {
    real.clock.increment(this.ms);
    modelAdvance(model, this.ms);
    agree(model, real);
  }
  toString = () => `advance(${this.ms})`;
}

/** Jump to just before (−1) or exactly to the end of the open period: the boundary. */
class AdvanceToCooldownEnd implements fc.Command<Model, Real> {
  constructor(readonly offset: -1 | 0) {}
  check = (model: Readonly<Model>) => model.state === 'open' && model.halfOpensAt + this.offset > model.now;
  run(model: Model, real: Real): void {
    const ms = model.halfOpensAt + this.offset - model.now;
    real.clock.increment(ms);
    modelAdvance(model, ms);
    agree(model, real);
  }
  toString = () => `advanceToCooldownEnd(${this.offset})`;
}

const kind = fc.constantFrom<Kind>('ok', 'fail', 'fail', '4xx');
/** How long ago the call ended (ms): usually now, sometimes reported late, past the window. */
const lag = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 5_000 }) });
const commands = [
  fc.constant(new Acquire()),
  fc.constant(new Acquire()),
  fc.tuple(fc.nat(20), kind, lag).map(([which, k, l]) => new Finish(which, k, l)),
  // The newest call: after an acquire in half-open, the probe just admitted.
  fc.tuple(kind, lag).map(([k, l]) => new Finish(-1, k, l)),
  fc.tuple(kind, lag).map(([k, l]) => new Stray(k, l)),
  fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3_000 })).map((ms) => new Advance(ms)),
  fc.constantFrom<-1 | 0>(-1, 0, 0).map((offset) => new AdvanceToCooldownEnd(offset)),
];

const settingsArb: fc.Arbitrary<BreakerConfig> = fc
  .record({
    failureThreshold: fc.integer({ min: 1, max: 4 }),
    threshold: fc.constantFrom(0.25, 0.3, 0.5, 0.75, 1),
    windowMs: fc.integer({ min: 1_000, max: 4_000 }),
    minRequests: fc.integer({ min: 1, max: 8 }),
    cooldownMs: fc.integer({ min: 1, max: 1_500 }),
    extraMaxMs: fc.integer({ min: 0, max: 4_000 }),
    cooldownMultiplier: fc.constantFrom(1, 1.5, 2, 3),
    halfOpenProbes: fc.integer({ min: 1, max: 3 }),
  })
  .map((s) => ({
    failureThreshold: s.failureThreshold,
    errorRate: { threshold: s.threshold, windowMs: s.windowMs, minRequests: s.minRequests },
    cooldownMs: s.cooldownMs,
    maxCooldownMs: s.cooldownMs + s.extraMaxMs,
    cooldownMultiplier: s.cooldownMultiplier,
    halfOpenProbes: s.halfOpenProbes,
  }));

function setUp(settings: BreakerConfig): { model: Model; real: Real } {
  const clock = new SimulatedClock();
  const reported: BreakerEmitted[] = [];
  const actor = createActor(breakerMachine, { clock, input: { backendId: 'b', settings, report: (e) => void reported.push(e) } });
  const real: Real = { actor, clock, inFlight: [], emitted: [], reported, blockedUntil: Number.NEGATIVE_INFINITY };
  actor.on('*', (e) => {
    real.emitted.push(e);
    if (e.type === 'breaker.opened') real.blockedUntil = clock.now() + e.cooldownMs;
    // (1) It leaves open no earlier than the cooldown.
    if (e.type === 'breaker.half_opened') expect(clock.now()).toBeGreaterThanOrEqual(real.blockedUntil);
  });
  actor.start();
  const model: Model = {
    settings,
    now: 0,
    state: 'closed',
    consecutive: 0,
    outcomes: [],
    streak: 0,
    opens: 0,
    cooldownMs: settings.cooldownMs,
    halfOpensAt: 0,
    newestAt: Number.NEGATIVE_INFINITY,
    openedAt: undefined,
    openUntil: undefined,
    probes: 0,
    inFlight: [],
    expected: [],
  };
  return { model, real };
}

/** (3) Past the cooldown, successes close it: a probe admitted now, or one already in flight. */
function closesAfterCooldown(model: Model, real: Real): void {
  new Advance(model.settings.maxCooldownMs).run(model, real);
  expect(real.actor.getSnapshot().value).not.toBe('open');
  for (let attempt = 0; attempt <= model.settings.halfOpenProbes && model.state !== 'closed'; attempt++) {
    new Acquire().run(model, real);
    const probe = model.inFlight.findIndex((p) => p === model.opens);
    expect(probe).toBeGreaterThanOrEqual(0); // half-open always has, or admits, a probe
    new Finish(probe, 'ok').run(model, real);
  }
  expect(real.actor.getSnapshot().value).toBe('closed');
  // Closed, a success keeps it closed (here: a call still in flight from earlier, if any).
  if (model.inFlight.length > 0) new Finish(0, 'ok').run(model, real);
  expect(real.actor.getSnapshot().value).toBe('closed');
}

describe('circuit breaker against a reference model (property)', () => {
  it('agrees with the model; never admits while open; bounds half-open probes; always closes again', () => {
    fc.assert(
      fc.property(settingsArb, fc.commands(commands, { maxCommands: 120, size: 'medium' }), (settings, cmds) => {
        const { model, real } = setUp(settings);
        fc.modelRun(() => ({ model, real }), cmds);
        closesAfterCooldown(model, real);
        real.actor.stop();
      }),
      { numRuns: 400 * SCALE },
    );
  }, 20_000 * SCALE);
});

// ── batched successes ─────────────────────────────────────────────────────────────────────────────

type BatchOp =
  | { op: 'start' }
  | { op: 'finish'; pick: number; kind: Kind }
  | { op: 'tick'; ms: number }
  | { op: 'flush' };

const batchOpArb: fc.Arbitrary<BatchOp> = fc.oneof(
  { arbitrary: fc.constant<BatchOp>({ op: 'start' }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('finish' as const), pick: fc.nat(), kind: fc.constantFrom<Kind>('ok', 'ok', 'ok', 'fail', '4xx') }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 1_200 }) }), weight: 2 },
  { arbitrary: fc.constant<BatchOp>({ op: 'flush' }), weight: 1 },
);

function startBreaker(settings: BreakerConfig) {
  const clock = new SimulatedClock();
  const reported: BreakerEmitted[] = [];
  const actor = createActor(breakerMachine, { clock, input: { backendId: 'b', settings, report: (e) => reported.push(e) } });
  actor.start();
  return { actor, clock, reported };
}

/** The context without its `report` function. */
function contextOf(actor: BreakerRef) {
  const { report: _report, ...rest } = actor.getSnapshot().context;
  return rest;
}

describe('circuit breaker told through an OutcomeBatch (property)', () => {
  it('is in the same state as one told every outcome at once, and after each flush has the same context and events', () => {
    fc.assert(
      fc.property(settingsArb, fc.array(batchOpArb, { maxLength: 150 }), (settings, ops) => {
        const direct = startBreaker(settings);
        const batched = startBreaker(settings);
        let flush: (() => void) | undefined;
        const batch = new OutcomeBatch((f) => (flush = f));
        const inFlight: [BreakerTicket, BreakerTicket][] = [];
        const same = () => {
          expect(contextOf(batched.actor)).toEqual(contextOf(direct.actor));
          expect(batched.reported).toEqual(direct.reported);
        };
        for (const op of ops) {
          if (op.op === 'start') {
            const a = breakerAdmits(direct.actor);
            const b = breakerAdmits(batched.actor);
            expect(b).toEqual(a);
            if (a && b) inFlight.push([a, b]);
          } else if (op.op === 'finish' && inFlight.length > 0) {
            const [a, b] = inFlight.splice(op.pick % inFlight.length, 1)[0]!;
            const outcome = { ok: op.kind === 'ok', counted: op.kind !== '4xx', at: direct.clock.now() };
            reportOutcome(direct.actor, a, outcome);
            batch.report(batched.actor, b, outcome);
          } else if (op.op === 'tick') {
            direct.clock.increment(op.ms);
            batched.clock.increment(op.ms);
          } else if (op.op === 'flush') {
            // The scheduled flush, as setImmediate would run it.
            flush?.();
            flush = undefined;
            same();
          }
          expect(batched.actor.getSnapshot().value).toBe(direct.actor.getSnapshot().value);
        }
        batch.flush();
        same();
        expect(batch.waiting).toBe(0);
        direct.actor.stop();
        batched.actor.stop();
      }),
      { numRuns: 300 * SCALE },
    );
  }, 20_000 * SCALE);
});
