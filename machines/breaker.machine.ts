import { and, assign, enqueueActions, setup, type SnapshotFrom } from 'xstate';
import type { BreakerConfig } from '../src/config/types.js';

/**
 * One backend's circuit breaker as an explicit state machine (DESIGN.md §1):
 *
 * ```
 *            N consecutive counted failures,
 *            or the error rate over the window
 *   closed ─────────────────────────────────────▶ open ◀──────────────┐
 *     ▲                                            │ after cooldownMs  │ a probe fails
 *     │ a probe succeeds                           ▼ (actor clock)     │ (cooldown × multiplier,
 *     └──────────────────────────────────────── half_open ─────────────┘  capped at maxCooldownMs)
 *                                      admits at most halfOpenProbes calls at once
 * ```
 *
 * - Only counted outcomes matter: 5xx, timeouts, connection errors and 429 count; a
 *   caller's own 4xx (or a cancellation) is reported with `counted: false` and changes
 *   nothing (src/resilience/breaker-client.ts decides which is which).
 * - Outcomes carry the caller's clock (`at`, ms) for the error-rate window; the only timer,
 *   open → half_open, runs on the actor system's clock, so `SimulatedClock` drives it in tests.
 *   The machine never reads `Date.now()`.
 * - In half_open only the outcomes of this half-open period's probes count (an outcome says
 *   which period it was admitted as a probe in, `probe`). Outcomes of calls admitted while
 *   closed, finishing later, are ignored in open and half_open: they started before the
 *   breaker opened and say nothing about whether the backend has recovered.
 * - Every admitted probe must report exactly one outcome (counted or not): an uncounted one
 *   frees its slot; a counted one decides. A probe that never reports holds its slot.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';
export type BreakerOpenReason = 'consecutive' | 'error_rate' | 'probe_failed';

export interface BreakerInput {
  backendId: string;
  settings: BreakerConfig;
  /** Told about every transition (the owner publishes these on the event bus); they are also `emit`ted. */
  report?: (event: BreakerEmitted) => void;
}

/** The error-rate window: `WINDOW_BUCKETS` buckets of `bucketMs`, a ring indexed by `floor(at / bucketMs)`. */
export interface ErrorWindow {
  /** Index of the newest bucket seen (`-Infinity` while empty). */
  head: number;
  /** Counted outcomes per bucket; slot `index mod WINDOW_BUCKETS`. */
  calls: readonly number[];
  failures: readonly number[];
  /** Sums over the buckets still in the window. */
  totalCalls: number;
  totalFailures: number;
}

export interface BreakerContext {
  backendId: string;
  settings: BreakerConfig;
  /** Width of one error-rate bucket: `ceil(errorRate.windowMs / WINDOW_BUCKETS)`. */
  bucketMs: number;
  /** Counted failures since the last counted success (closed only). */
  consecutiveFailures: number;
  window: ErrorWindow;
  /** The open period in force: the next one while closed, the current one while open. */
  cooldownMs: number;
  /** Opens since the breaker last closed; sets how much the cooldown has grown. */
  streak: number;
  /** Lifetime opens; also numbers the half-open periods (a probe admitted in period `opens` carries `probe: opens`). */
  opens: number;
  /** `at` of the outcome that opened the breaker, and that plus the cooldown (caller's clock). */
  openedAt: number | undefined;
  openUntil: number | undefined;
  lastOpenReason: BreakerOpenReason | undefined;
  /** Probes admitted in this half-open period and not yet answered. */
  probesInFlight: number;
  report: ((event: BreakerEmitted) => void) | undefined;
}

/** One upstream call's result. `counted: false` (a caller's 4xx, a cancellation) is ignored. */
export interface BreakerOutcomeEvent {
  type: 'breaker.outcome';
  ok: boolean;
  counted: boolean;
  /** When the call ended, in ms on the caller's clock. */
  at: number;
  /** The half-open period (`context.opens`) the call was admitted in as a probe; unset for calls admitted while closed. */
  probe?: number | undefined;
  /**
   * How many successes this event reports, all at `at` (1 when unset): successes of calls
   * admitted while closed, batched by src/resilience/outcome-batch.ts. Read only for counted
   * successes; a failure is always one.
   */
  count?: number | undefined;
}

/** Ask to make a call. `reply` runs synchronously, with the half-open period when it admits a probe. */
export interface BreakerAcquireEvent {
  type: 'breaker.acquire';
  reply: (admitted: boolean, probe?: number) => void;
}

export type BreakerEvent = BreakerOutcomeEvent | BreakerAcquireEvent;

export type BreakerEmitted =
  | { type: 'breaker.opened'; backendId: string; reason: BreakerOpenReason; cooldownMs: number }
  | { type: 'breaker.half_opened'; backendId: string }
  | { type: 'breaker.closed'; backendId: string };

/** Buckets in the error-rate window: the window is exact to within one bucket (windowMs / 20). */
export const WINDOW_BUCKETS = 20;

// The limits of supervisor.config.schema.json's `breaker` definition.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Every problem with `settings`, one line each naming the field; empty when they are valid.
 * Out-of-range values are reported, never clamped.
 */
export function checkBreakerSettings(settings: BreakerConfig): string[] {
  const problems: string[] = [];
  const integer = (name: string, value: unknown, min: number, max: number) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
    }
  };
  const s = settings as Partial<BreakerConfig> | undefined;
  if (typeof s !== 'object' || s === null) return ['settings must be an object'];
  integer('failureThreshold', s.failureThreshold, 1, 1000);
  const rate = s.errorRate as Partial<BreakerConfig['errorRate']> | undefined;
  if (typeof rate !== 'object' || rate === null) {
    problems.push('errorRate must be an object');
  } else {
    const t = rate.threshold;
    if (typeof t !== 'number' || !(t > 0 && t <= 1)) problems.push(`errorRate.threshold must be above 0 and at most 1 (got ${String(t)})`);
    integer('errorRate.windowMs', rate.windowMs, 1000, 3_600_000);
    integer('errorRate.minRequests', rate.minRequests, 1, 100_000);
  }
  integer('cooldownMs', s.cooldownMs, 1, MAX_TIMER_MS);
  integer('maxCooldownMs', s.maxCooldownMs, 1, MAX_TIMER_MS);
  if (typeof s.cooldownMs === 'number' && typeof s.maxCooldownMs === 'number' && s.cooldownMs > s.maxCooldownMs) {
    problems.push(`cooldownMs must be <= maxCooldownMs (${s.cooldownMs} > ${s.maxCooldownMs})`);
  }
  const m = s.cooldownMultiplier;
  if (typeof m !== 'number' || !(m >= 1 && m <= 100)) problems.push(`cooldownMultiplier must be from 1 to 100 (got ${String(m)})`);
  integer('halfOpenProbes', s.halfOpenProbes, 1, 100);
  return problems;
}

/** Thrown when a breaker is started with settings `checkBreakerSettings` rejects. */
export class InvalidBreakerSettings extends Error {
  constructor(
    readonly backendId: string,
    readonly problems: string[],
  ) {
    super(`breaker of backend ${backendId}: invalid settings: ${problems.join('; ')}`);
    this.name = 'InvalidBreakerSettings';
  }
}

/** The open period after `streak` opens in a row (1 = the first): cooldownMs × multiplier^(streak−1), at most maxCooldownMs. */
export function cooldownFor(settings: BreakerConfig, streak: number): number {
  const grown = Math.round(settings.cooldownMs * settings.cooldownMultiplier ** Math.max(0, streak - 1));
  return Math.min(settings.maxCooldownMs, grown);
}

const EMPTY_BUCKETS: readonly number[] = Object.freeze(new Array<number>(WINDOW_BUCKETS).fill(0));

export const EMPTY_WINDOW: ErrorWindow = Object.freeze({
  head: Number.NEGATIVE_INFINITY,
  calls: EMPTY_BUCKETS,
  failures: EMPTY_BUCKETS,
  totalCalls: 0,
  totalFailures: 0,
});

function slotOf(index: number): number {
  return ((index % WINDOW_BUCKETS) + WINDOW_BUCKETS) % WINDOW_BUCKETS;
}

/**
 * `window` with `count` more counted outcomes (default one) at `at`, failed or not. Buckets that fall
 * out of the window as `at` moves forward are emptied; outcomes older than the window (clocks of
 * concurrent callers may disagree a little) are dropped. Returns a new window; the old one is unchanged.
 */
export function recordInWindow(window: ErrorWindow, bucketMs: number, at: number, failed: boolean, count = 1): ErrorWindow {
  const index = Math.floor(at / bucketMs);
  if (index <= window.head - WINDOW_BUCKETS) return window;
  let calls: number[];
  let failures: number[];
  let { head, totalCalls, totalFailures } = window;
  if (index > head && index - head >= WINDOW_BUCKETS) {
    calls = new Array<number>(WINDOW_BUCKETS).fill(0);
    failures = new Array<number>(WINDOW_BUCKETS).fill(0);
    totalCalls = 0;
    totalFailures = 0;
    head = index;
  } else {
    calls = window.calls.slice();
    failures = window.failures.slice();
    for (; head < index; ) {
      const slot = slotOf(++head);
      totalCalls -= calls[slot]!;
      totalFailures -= failures[slot]!;
      calls[slot] = 0;
      failures[slot] = 0;
    }
  }
  const slot = slotOf(index);
  calls[slot]! += count;
  totalCalls += count;
  if (failed) {
    failures[slot]! += count;
    totalFailures += count;
  }
  return { head, calls, failures, totalCalls, totalFailures };
}

/** The counted calls and failures still in the window at `at` (for /health, which has no new outcome to age it). */
export function windowCounts(window: ErrorWindow, bucketMs: number, at: number): { calls: number; failures: number } {
  const newest = Math.floor(at / bucketMs);
  let calls = 0;
  let failures = 0;
  const oldest = Math.max(window.head, newest) - WINDOW_BUCKETS + 1;
  for (let index = window.head; index >= oldest && index > window.head - WINDOW_BUCKETS; index--) {
    calls += window.calls[slotOf(index)]!;
    failures += window.failures[slotOf(index)]!;
  }
  return { calls, failures };
}

/** Whether a failure at `at` brings the error rate to the threshold over at least minRequests calls. */
function errorRateTrips(context: BreakerContext, at: number): boolean {
  const window = recordInWindow(context.window, context.bucketMs, at, true);
  const { threshold, minRequests } = context.settings.errorRate;
  // Division, not `failures >= threshold * calls`: 0.3 * 10 is 3.0000000000000004.
  return window.totalCalls >= minRequests && window.totalFailures / window.totalCalls >= threshold;
}

/** The successes an outcome event reports: its `count` when that is a positive integer, else one. */
function successes(event: BreakerOutcomeEvent): number {
  const n = event.count;
  return n !== undefined && Number.isInteger(n) && n > 0 ? n : 1;
}

export const breakerMachine = setup({
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerInput,
    emitted: {} as BreakerEmitted,
  },
  delays: {
    cooldown: ({ context }) => context.cooldownMs,
  },
  guards: {
    succeeded: ({ event }) => event.type === 'breaker.outcome' && event.ok && event.counted,
    failed: ({ event }) => event.type === 'breaker.outcome' && !event.ok && event.counted,
    uncounted: ({ event }) => event.type === 'breaker.outcome' && !event.counted,
    reachesFailureThreshold: ({ context }) => context.consecutiveFailures + 1 >= context.settings.failureThreshold,
    reachesErrorRate: ({ context, event }) => event.type === 'breaker.outcome' && errorRateTrips(context, event.at),
    /** The outcome of a probe admitted in this half-open period. */
    isProbe: ({ context, event }) => event.type === 'breaker.outcome' && event.probe === context.opens,
    hasProbeSlot: ({ context }) => context.probesInFlight < context.settings.halfOpenProbes,
  },
  actions: {
    // The hot path: one assign per batch of successful calls (src/resilience/outcome-batch.ts).
    recordSuccess: assign(({ context, event }) => ({
      consecutiveFailures: 0,
      window: recordInWindow(context.window, context.bucketMs, (event as BreakerOutcomeEvent).at, false, successes(event as BreakerOutcomeEvent)),
    })),
    recordFailure: assign(({ context, event }) => ({
      consecutiveFailures: context.consecutiveFailures + 1,
      window: recordInWindow(context.window, context.bucketMs, (event as BreakerOutcomeEvent).at, true),
    })),
    admit: ({ event }) => (event as BreakerAcquireEvent).reply(true),
    refuse: ({ event }) => (event as BreakerAcquireEvent).reply(false),
    admitProbe: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ probesInFlight: context.probesInFlight + 1 });
      enqueue(() => (event as BreakerAcquireEvent).reply(true, context.opens));
    }),
    releaseProbe: assign({ probesInFlight: ({ context }) => Math.max(0, context.probesInFlight - 1) }),
    open: enqueueActions(({ context, event, enqueue }, params: { reason: BreakerOpenReason }) => {
      const at = (event as BreakerOutcomeEvent).at;
      const streak = context.streak + 1;
      const cooldownMs = cooldownFor(context.settings, streak);
      enqueue.assign({
        streak,
        opens: context.opens + 1,
        cooldownMs,
        openedAt: at,
        openUntil: at + cooldownMs,
        lastOpenReason: params.reason,
        probesInFlight: 0,
      });
      const opened: BreakerEmitted = { type: 'breaker.opened', backendId: context.backendId, reason: params.reason, cooldownMs };
      enqueue.emit(opened);
      enqueue(() => context.report?.(opened));
    }),
    // probesInFlight is already 0: `open` reset it.
    enterHalfOpen: enqueueActions(({ context, enqueue }) => {
      const halfOpened: BreakerEmitted = { type: 'breaker.half_opened', backendId: context.backendId };
      enqueue.emit(halfOpened);
      enqueue(() => context.report?.(halfOpened));
    }),
    close: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({
        consecutiveFailures: 0,
        window: EMPTY_WINDOW,
        streak: 0,
        cooldownMs: context.settings.cooldownMs,
        openedAt: undefined,
        openUntil: undefined,
        probesInFlight: 0,
      });
      const closed: BreakerEmitted = { type: 'breaker.closed', backendId: context.backendId };
      enqueue.emit(closed);
      enqueue(() => context.report?.(closed));
    }),
  },
}).createMachine({
  id: 'breaker',
  context: ({ input }) => {
    // The config loader rejects these already; a breaker started some other way must not run on them.
    const problems = checkBreakerSettings(input.settings);
    if (problems.length > 0) throw new InvalidBreakerSettings(input.backendId, problems);
    return {
      backendId: input.backendId,
      settings: input.settings,
      bucketMs: Math.ceil(input.settings.errorRate.windowMs / WINDOW_BUCKETS),
      consecutiveFailures: 0,
      window: EMPTY_WINDOW,
      cooldownMs: input.settings.cooldownMs,
      streak: 0,
      opens: 0,
      openedAt: undefined,
      openUntil: undefined,
      lastOpenReason: undefined,
      probesInFlight: 0,
      report: input.report,
    };
  },
  initial: 'closed',
  states: {
    closed: {
      on: {
        'breaker.acquire': { actions: 'admit' },
        'breaker.outcome': [
          { guard: 'succeeded', actions: 'recordSuccess' },
          { guard: 'uncounted' },
          // What is left is a counted failure.
          {
            guard: 'reachesFailureThreshold',
            target: 'open',
            actions: ['recordFailure', { type: 'open', params: { reason: 'consecutive' } }],
          },
          {
            guard: 'reachesErrorRate',
            target: 'open',
            actions: ['recordFailure', { type: 'open', params: { reason: 'error_rate' } }],
          },
          { actions: 'recordFailure' },
        ],
      },
    },
    open: {
      after: { cooldown: 'half_open' },
      on: {
        'breaker.acquire': { actions: 'refuse' },
        // Outcomes of calls admitted before it opened: ignored.
      },
    },
    half_open: {
      entry: 'enterHalfOpen',
      on: {
        'breaker.acquire': [{ guard: 'hasProbeSlot', actions: 'admitProbe' }, { actions: 'refuse' }],
        'breaker.outcome': [
          { guard: and(['isProbe', 'succeeded']), target: 'closed', actions: 'close' },
          { guard: and(['isProbe', 'failed']), target: 'open', actions: { type: 'open', params: { reason: 'probe_failed' } } },
          { guard: and(['isProbe', 'uncounted']), actions: 'releaseProbe' },
          // Anything else finished a call admitted before the breaker opened: ignored.
        ],
      },
    },
  },
});

export type BreakerSnapshot = SnapshotFrom<typeof breakerMachine>;

/** What /health and /admin/breakers show for one breaker. */
export interface BreakerHealth {
  backendId: string;
  state: BreakerState;
  consecutiveFailures: number;
  /** Counted calls and failures in the error-rate window, as of `at` (or of the last outcome). */
  windowCalls: number;
  windowFailures: number;
  /** The open period in force (the next one while closed). */
  cooldownMs: number;
  openedAt: number | null;
  openUntil: number | null;
  probesInFlight: number;
  halfOpenProbes: number;
  opens: number;
  lastOpenReason: BreakerOpenReason | null;
}

/** A breaker's snapshot as /health shows it; `at` (caller's clock) ages the error-rate window. */
export function breakerHealth(snapshot: BreakerSnapshot, at?: number): BreakerHealth {
  const c = snapshot.context;
  const counts =
    at === undefined ? { calls: c.window.totalCalls, failures: c.window.totalFailures } : windowCounts(c.window, c.bucketMs, at);
  return {
    backendId: c.backendId,
    state: snapshot.value as BreakerState,
    consecutiveFailures: c.consecutiveFailures,
    windowCalls: counts.calls,
    windowFailures: counts.failures,
    cooldownMs: c.cooldownMs,
    openedAt: c.openedAt ?? null,
    openUntil: c.openUntil ?? null,
    probesInFlight: c.probesInFlight,
    halfOpenProbes: c.settings.halfOpenProbes,
    opens: c.opens,
    lastOpenReason: c.lastOpenReason ?? null,
  };
}
