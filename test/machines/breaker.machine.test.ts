import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  breakerHealth,
  breakerMachine,
  checkBreakerSettings,
  cooldownFor,
  EMPTY_WINDOW,
  InvalidBreakerSettings,
  recordInWindow,
  WINDOW_BUCKETS,
  windowCounts,
  type BreakerEmitted,
} from '../../machines/breaker.machine.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import type { BreakerConfig } from '../../src/config/types.js';

const SETTINGS: BreakerConfig = {
  failureThreshold: 3,
  // High minRequests: the consecutive rule alone acts unless a test lowers it.
  errorRate: { threshold: 0.5, windowMs: 10_000, minRequests: 1000 },
  cooldownMs: 1_000,
  maxCooldownMs: 5_000,
  cooldownMultiplier: 2,
  halfOpenProbes: 2,
};

function start(overrides: Partial<BreakerConfig> = {}) {
  const clock = new SimulatedClock();
  const settings = { ...SETTINGS, ...overrides };
  const reported: BreakerEmitted[] = [];
  const actor = createActor(breakerMachine, { clock, input: { backendId: 'groq', settings, report: (e) => void reported.push(e) } });
  const emitted: BreakerEmitted[] = [];
  actor.on('*', (e) => void emitted.push(e));
  actor.start();
  const outcome = (ok: boolean, counted = true, probe?: number, at = clock.now()) =>
    actor.send({ type: 'breaker.outcome', ok, counted, at, probe });
  const ok = (probe?: number) => outcome(true, true, probe);
  const fail = (probe?: number) => outcome(false, true, probe);
  const callerFault = (probe?: number) => outcome(false, false, probe);
  /** `breaker.acquire`, with the synchronous reply. */
  const acquire = () => {
    let reply: { admitted: boolean; probe: number | undefined } | undefined;
    actor.send({ type: 'breaker.acquire', reply: (admitted, probe) => void (reply = { admitted, probe }) });
    if (!reply) throw new Error('no synchronous reply');
    return reply;
  };
  const state = () => actor.getSnapshot().value;
  const context = () => actor.getSnapshot().context;
  /** Fail until open (from closed). */
  const trip = () => {
    for (let i = 0; i < settings.failureThreshold; i++) fail();
    expect(state()).toBe('open');
  };
  return { actor, clock, settings, reported, emitted, outcome, ok, fail, callerFault, acquire, state, context, trip };
}

describe('breaker machine: closed', () => {
  it('starts closed, with zero counters and the base cooldown, and admits every call', () => {
    const b = start();
    expect(b.state()).toBe('closed');
    expect(b.context()).toMatchObject({ consecutiveFailures: 0, opens: 0, probesInFlight: 0, cooldownMs: 1_000, openedAt: undefined, openUntil: undefined });
    for (let i = 0; i < 50; i++) expect(b.acquire().admitted).toBe(true);
    expect(b.context().probesInFlight).toBe(0);
    expect(b.emitted).toEqual([]); // starting closed is not a transition
  });

  it('opens after failureThreshold consecutive counted failures, and not before', () => {
    const b = start();
    b.clock.increment(700);
    b.fail();
    b.fail();
    expect(b.state()).toBe('closed');
    expect(b.context().consecutiveFailures).toBe(2);
    b.fail();
    expect(b.state()).toBe('open');
    expect(b.context()).toMatchObject({ consecutiveFailures: 3, opens: 1, openedAt: 700, openUntil: 1_700, cooldownMs: 1_000, lastOpenReason: 'consecutive' });
    expect(b.emitted).toEqual([{ type: 'breaker.opened', backendId: 'groq', reason: 'consecutive', cooldownMs: 1_000 }]);
  });

  it('a counted success resets the consecutive count', () => {
    const b = start();
    b.fail();
    b.fail();
    b.ok();
    b.fail();
    b.fail();
    expect(b.state()).toBe('closed');
    expect(b.context().consecutiveFailures).toBe(2);
  });

  it('a caller’s 4xx (counted: false) neither counts as a failure nor resets the count', () => {
    const b = start();
    b.fail();
    b.fail();
    for (let i = 0; i < 10; i++) b.callerFault();
    b.outcome(true, false); // an uncounted "success" is ignored just the same
    expect(b.state()).toBe('closed');
    expect(b.context().consecutiveFailures).toBe(2);
    expect(b.context().window.totalCalls).toBe(2);
    b.fail();
    expect(b.state()).toBe('open');
  });

  it('failureThreshold 1 opens on the first counted failure', () => {
    const b = start({ failureThreshold: 1 });
    b.fail();
    expect(b.state()).toBe('open');
  });
});

describe('breaker machine: error rate', () => {
  const rate = { failureThreshold: 1000, errorRate: { threshold: 0.5, windowMs: 10_000, minRequests: 10 } };

  it('opens when the failure share over at least minRequests calls reaches the threshold', () => {
    const b = start(rate);
    for (let i = 0; i < 5; i++) {
      b.ok();
      if (i < 4) b.fail();
    }
    // 9 calls, 4 failures: below minRequests.
    expect(b.state()).toBe('closed');
    b.fail(); // 10 calls, 5 failures: 0.5 ≥ 0.5
    expect(b.state()).toBe('open');
    expect(b.context().lastOpenReason).toBe('error_rate');
    expect(b.emitted).toEqual([{ type: 'breaker.opened', backendId: 'groq', reason: 'error_rate', cooldownMs: 1_000 }]);
  });

  it('stays closed while the share is below the threshold, however many calls', () => {
    const b = start(rate);
    for (let i = 0; i < 100; i++) {
      b.ok();
      b.ok();
      b.fail();
    }
    expect(b.state()).toBe('closed');
    expect(b.context().window.totalCalls).toBe(300);
  });

  it('meets a threshold exactly despite floating point (3 of 10 at 0.3; 0.3 × 10 > 3 in doubles)', () => {
    const b = start({ failureThreshold: 1000, errorRate: { threshold: 0.3, windowMs: 10_000, minRequests: 10 } });
    for (let i = 0; i < 7; i++) b.ok();
    b.fail();
    b.fail();
    expect(b.state()).toBe('closed');
    b.fail();
    expect(b.state()).toBe('open');
  });

  it('forgets outcomes older than the window', () => {
    const b = start(rate);
    // 9 failures at t = 0 .. 900 ms (failureThreshold is high: only the rate can open it).
    for (let i = 0; i < 9; i++) {
      b.fail();
      b.clock.increment(100);
    }
    expect(b.context().window.totalCalls).toBe(9);
    // One window later they have left it: a tenth failure is 1 of 1, below minRequests.
    b.clock.increment(10_000);
    b.fail();
    expect(b.state()).toBe('closed');
    expect(b.context().window).toMatchObject({ totalCalls: 1, totalFailures: 1 });
  });

  it('keeps outcomes younger than the window minus one bucket', () => {
    const b = start(rate);
    const bucketMs = 10_000 / WINDOW_BUCKETS;
    for (let i = 0; i < 9; i++) b.fail();
    b.clock.increment(10_000 - bucketMs);
    b.fail();
    expect(b.state()).toBe('open');
  });

  it('only failures check the rate: a success never opens it, even as older successes leave the window', () => {
    const b = start({ failureThreshold: 1000, errorRate: { threshold: 0.5, windowMs: 10_000, minRequests: 4 } });
    b.ok();
    b.ok();
    b.ok();
    b.clock.increment(5_000);
    b.fail();
    b.fail();
    b.clock.increment(6_000); // the three successes leave
    b.ok(); // 2 failures of 3 in the window, but this call succeeded
    expect(b.state()).toBe('closed');
  });
});

describe('breaker machine: error-rate window (pure)', () => {
  it('drops an outcome older than the window, and never changes the window it was given', () => {
    const w1 = recordInWindow(EMPTY_WINDOW, 100, 5_000, true); // bucket 50
    const w2 = recordInWindow(w1, 100, 5_000 - WINDOW_BUCKETS * 100, true); // bucket 30: gone
    expect(w2).toBe(w1);
    const w3 = recordInWindow(w1, 100, 5_000 - (WINDOW_BUCKETS - 1) * 100, false); // bucket 31: in
    expect(w3).toMatchObject({ totalCalls: 2, totalFailures: 1, head: 50 });
    expect(w1).toMatchObject({ totalCalls: 1, totalFailures: 1 });
    expect(EMPTY_WINDOW.calls.every((n) => n === 0)).toBe(true);
  });

  it('empties the buckets the head moves past, and all of them after a long gap', () => {
    let w = EMPTY_WINDOW;
    for (let t = 0; t < 2_000; t += 100) w = recordInWindow(w, 100, t, t % 200 === 0);
    expect(w).toMatchObject({ totalCalls: 20, totalFailures: 10 });
    w = recordInWindow(w, 100, 2_500, false); // buckets 20..25 replace 0..5
    expect(w).toMatchObject({ totalCalls: 15, totalFailures: 7 });
    w = recordInWindow(w, 100, 1_000_000, true);
    expect(w).toMatchObject({ totalCalls: 1, totalFailures: 1 });
  });

  it('handles times before 0 and outcomes reported late (ring slots of negative bucket numbers)', () => {
    let w = recordInWindow(EMPTY_WINDOW, 50, -1, true); // bucket −1
    w = recordInWindow(w, 50, 500, false); // bucket 10
    expect(w).toMatchObject({ head: 10, totalCalls: 2, totalFailures: 1 });
    expect(windowCounts(w, 50, 500)).toEqual({ calls: 2, failures: 1 });
    w = recordInWindow(w, 50, 950, false); // bucket 19: −1 has left (19 − 20)
    expect(w).toMatchObject({ totalCalls: 2, totalFailures: 0 });
    expect(windowCounts(w, 50, 950)).toEqual({ calls: 2, failures: 0 });
  });

  it('windowCounts ages the window to a later time without a new outcome', () => {
    let w = EMPTY_WINDOW;
    for (let t = 0; t < 1_000; t += 100) w = recordInWindow(w, 100, t, true);
    expect(windowCounts(w, 100, 900)).toEqual({ calls: 10, failures: 10 });
    expect(windowCounts(w, 100, 2_400)).toEqual({ calls: 5, failures: 5 }); // buckets 5..9 left in 5..24
    expect(windowCounts(w, 100, 10_000)).toEqual({ calls: 0, failures: 0 });
    expect(windowCounts(EMPTY_WINDOW, 100, 0)).toEqual({ calls: 0, failures: 0 });
  });
});

describe('breaker machine: open', () => {
  it('refuses every call and ignores outcomes until the cooldown has passed on the actor clock', () => {
    const b = start();
    b.trip();
    b.clock.increment(999);
    expect(b.acquire().admitted).toBe(false);
    b.ok(); // a call admitted before it opened, finishing now: ignored
    b.fail();
    expect(b.state()).toBe('open');
    expect(b.context().opens).toBe(1);
    b.clock.increment(1);
    expect(b.state()).toBe('half_open');
    expect(b.emitted.map((e) => e.type)).toEqual(['breaker.opened', 'breaker.half_opened']);
    expect(b.emitted[1]).toEqual({ type: 'breaker.half_opened', backendId: 'groq' });
  });
});

describe('breaker machine: half_open', () => {
  function halfOpen(overrides: Partial<BreakerConfig> = {}) {
    const b = start(overrides);
    b.trip();
    b.clock.increment(b.context().cooldownMs);
    expect(b.state()).toBe('half_open');
    return b;
  }

  it('admits at most halfOpenProbes probes at once, each tagged with the half-open period', () => {
    const b = halfOpen();
    expect(b.acquire()).toEqual({ admitted: true, probe: 1 });
    expect(b.acquire()).toEqual({ admitted: true, probe: 1 });
    expect(b.acquire()).toEqual({ admitted: false, probe: undefined });
    expect(b.context().probesInFlight).toBe(2);
  });

  it('a probe’s uncounted outcome (caller’s 4xx, cancel) frees its slot', () => {
    const b = halfOpen({ halfOpenProbes: 1 });
    expect(b.acquire().admitted).toBe(true);
    expect(b.acquire().admitted).toBe(false);
    b.callerFault(1);
    expect(b.state()).toBe('half_open');
    expect(b.context().probesInFlight).toBe(0);
    expect(b.acquire().admitted).toBe(true);
  });

  it('ignores outcomes of calls that are not this period’s probes', () => {
    const b = halfOpen({ halfOpenProbes: 1 });
    b.acquire();
    b.ok(); // admitted while closed
    b.fail();
    b.callerFault(); // must not free the probe's slot
    b.ok(0); // a probe of an earlier period (none here, but the number is old)
    expect(b.state()).toBe('half_open');
    expect(b.context().probesInFlight).toBe(1);
    expect(b.acquire().admitted).toBe(false);
  });

  it('a probe’s success closes it: counters, window and cooldown growth reset', () => {
    const b = halfOpen();
    const { probe } = b.acquire();
    b.ok(probe);
    expect(b.state()).toBe('closed');
    expect(b.context()).toMatchObject({ consecutiveFailures: 0, streak: 0, cooldownMs: 1_000, probesInFlight: 0, openedAt: undefined, openUntil: undefined, opens: 1 });
    expect(b.context().window.totalCalls).toBe(0);
    expect(b.emitted.map((e) => e.type)).toEqual(['breaker.opened', 'breaker.half_opened', 'breaker.closed']);
    expect(b.emitted[2]).toEqual({ type: 'breaker.closed', backendId: 'groq' });
    expect(b.acquire()).toEqual({ admitted: true, probe: undefined });
  });

  it('a probe’s failure reopens it with the cooldown × multiplier, capped at maxCooldownMs', () => {
    const b = halfOpen(); // first open: 1000 ms
    const cooldowns: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { probe } = b.acquire();
      b.fail(probe);
      expect(b.state()).toBe('open');
      const { cooldownMs, openedAt, openUntil } = b.context();
      cooldowns.push(cooldownMs);
      expect(openUntil).toBe(openedAt! + cooldownMs);
      b.clock.increment(cooldownMs - 1);
      expect(b.state()).toBe('open');
      b.clock.increment(1);
      expect(b.state()).toBe('half_open');
    }
    expect(cooldowns).toEqual([2_000, 4_000, 5_000, 5_000, 5_000]);
    expect(b.context().opens).toBe(6);
    const opened = b.emitted.filter((e) => e.type === 'breaker.opened');
    expect(opened.map((e) => e.type === 'breaker.opened' && [e.reason, e.cooldownMs])).toEqual([
      ['consecutive', 1_000],
      ['probe_failed', 2_000],
      ['probe_failed', 4_000],
      ['probe_failed', 5_000],
      ['probe_failed', 5_000],
      ['probe_failed', 5_000],
    ]);
  });

  it('after closing, the next open starts again from the base cooldown', () => {
    const b = halfOpen();
    b.fail(b.acquire().probe);
    b.clock.increment(2_000);
    b.ok(b.acquire().probe);
    expect(b.state()).toBe('closed');
    b.trip();
    expect(b.context().cooldownMs).toBe(1_000);
  });

  it('a reopen frees every slot: the next half-open period admits halfOpenProbes again', () => {
    const b = halfOpen();
    const first = b.acquire();
    b.acquire();
    b.fail(first.probe);
    b.clock.increment(2_000);
    expect(b.context().probesInFlight).toBe(0);
    expect(b.acquire()).toEqual({ admitted: true, probe: 2 });
    expect(b.acquire()).toEqual({ admitted: true, probe: 2 });
    // The other probe of period 1 answering late changes nothing.
    b.callerFault(1);
    b.ok(1);
    expect(b.state()).toBe('half_open');
    expect(b.context().probesInFlight).toBe(2);
  });
});

describe('breaker machine: cooldown growth', () => {
  it('is cooldownMs × multiplier^(streak − 1), rounded, at most maxCooldownMs', () => {
    const s = { ...SETTINGS, cooldownMs: 1_000, cooldownMultiplier: 1.5, maxCooldownMs: 3_000 };
    expect([1, 2, 3, 4, 50, 5000].map((n) => cooldownFor(s, n))).toEqual([1_000, 1_500, 2_250, 3_000, 3_000, 3_000]);
    expect(cooldownFor({ ...s, cooldownMultiplier: 1 }, 10)).toBe(1_000);
    expect(cooldownFor({ ...s, cooldownMs: 5_000, cooldownMultiplier: 1.1, maxCooldownMs: 60_000 }, 2)).toBe(5_500); // not 5500.000000000001
  });
});

describe('breaker machine: events', () => {
  it('reports exactly what it emits, in order', () => {
    const b = start();
    b.trip();
    b.clock.increment(1_000);
    b.fail(b.acquire().probe);
    b.clock.increment(2_000);
    b.ok(b.acquire().probe);
    expect(b.emitted.map((e) => e.type)).toEqual(['breaker.opened', 'breaker.half_opened', 'breaker.opened', 'breaker.half_opened', 'breaker.closed']);
    expect(b.reported).toEqual(b.emitted);
  });

  it('breakerHealth shows the state and what /health needs', () => {
    const b = start({ failureThreshold: 2 });
    b.clock.increment(100);
    b.ok();
    b.fail();
    b.fail();
    expect(breakerHealth(b.actor.getSnapshot())).toEqual({
      backendId: 'groq',
      state: 'open',
      consecutiveFailures: 2,
      windowCalls: 3,
      windowFailures: 2,
      cooldownMs: 1_000,
      openedAt: 100,
      openUntil: 1_100,
      probesInFlight: 0,
      halfOpenProbes: 2,
      opens: 1,
      lastOpenReason: 'consecutive',
    });
    // Aged past the window, the counts are empty; the state is unchanged.
    expect(breakerHealth(b.actor.getSnapshot(), 100 + 20_000)).toMatchObject({ windowCalls: 0, windowFailures: 0, state: 'open' });
  });
});

describe('breaker settings', () => {
  it('accepts the defaults', () => {
    expect(checkBreakerSettings(DEFAULTS.resilience.breaker)).toEqual([]);
    expect(checkBreakerSettings(SETTINGS)).toEqual([]);
  });

  const cases: [string, Partial<BreakerConfig>, string][] = [
    ['failureThreshold 0', { failureThreshold: 0 }, 'failureThreshold must be an integer from 1 to 1000 (got 0)'],
    ['failureThreshold 2.5', { failureThreshold: 2.5 }, 'failureThreshold must be an integer from 1 to 1000 (got 2.5)'],
    ['threshold 0', { errorRate: { ...SETTINGS.errorRate, threshold: 0 } }, 'errorRate.threshold must be above 0 and at most 1 (got 0)'],
    ['threshold 1.5', { errorRate: { ...SETTINGS.errorRate, threshold: 1.5 } }, 'errorRate.threshold must be above 0 and at most 1 (got 1.5)'],
    ['threshold NaN', { errorRate: { ...SETTINGS.errorRate, threshold: Number.NaN } }, 'errorRate.threshold must be above 0 and at most 1 (got NaN)'],
    ['windowMs 999', { errorRate: { ...SETTINGS.errorRate, windowMs: 999 } }, 'errorRate.windowMs must be an integer from 1000 to 3600000 (got 999)'],
    ['minRequests 0', { errorRate: { ...SETTINGS.errorRate, minRequests: 0 } }, 'errorRate.minRequests must be an integer from 1 to 100000 (got 0)'],
    ['cooldownMs 0', { cooldownMs: 0 }, 'cooldownMs must be an integer from 1 to 2147483647 (got 0)'],
    ['cooldownMs > maxCooldownMs', { cooldownMs: 6_000 }, 'cooldownMs must be <= maxCooldownMs (6000 > 5000)'],
    ['maxCooldownMs past the largest timer', { maxCooldownMs: 2 ** 31 }, 'maxCooldownMs must be an integer from 1 to 2147483647 (got 2147483648)'],
    ['cooldownMultiplier 0.5', { cooldownMultiplier: 0.5 }, 'cooldownMultiplier must be from 1 to 100 (got 0.5)'],
    ['cooldownMultiplier Infinity', { cooldownMultiplier: Number.POSITIVE_INFINITY }, 'cooldownMultiplier must be from 1 to 100 (got Infinity)'],
    ['halfOpenProbes 0', { halfOpenProbes: 0 }, 'halfOpenProbes must be an integer from 1 to 100 (got 0)'],
  ];
  it.each(cases)('rejects %s, naming the field', (_name, override, problem) => {
    expect(checkBreakerSettings({ ...SETTINGS, ...override })).toEqual([problem]);
  });

  it('lists every problem at once, and rejects a missing errorRate', () => {
    const problems = checkBreakerSettings({ ...SETTINGS, failureThreshold: 0, halfOpenProbes: 0, errorRate: undefined } as unknown as BreakerConfig);
    expect(problems).toEqual([
      'failureThreshold must be an integer from 1 to 1000 (got 0)',
      'errorRate must be an object',
      'halfOpenProbes must be an integer from 1 to 100 (got 0)',
    ]);
  });

  it('the machine refuses to start with invalid settings (never clamps them)', () => {
    const errors: unknown[] = [];
    const actor = createActor(breakerMachine, { clock: new SimulatedClock(), input: { backendId: 'groq', settings: { ...SETTINGS, cooldownMs: 10_000 } } });
    actor.subscribe({ error: (e) => void errors.push(e) });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(errors).toHaveLength(1);
    const error = errors[0] as InvalidBreakerSettings;
    expect(error).toBeInstanceOf(InvalidBreakerSettings);
    expect(error.message).toBe('breaker of backend groq: invalid settings: cooldownMs must be <= maxCooldownMs (10000 > 5000)');
    expect(error.problems).toEqual(['cooldownMs must be <= maxCooldownMs (10000 > 5000)']);
  });
});
