import { describe, expect, it, vi } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { breakerMachine, type BreakerEmitted } from '../../machines/breaker.machine.js';
import { ERRORS, OptimizerError, type ErrorCode } from '../../src/errors/registry.js';
import { breakerAdmits, classifyFailure, COUNTED_FAILURES, reportOutcome, type BreakerRef } from '../../src/resilience/breaker-client.js';
import type { BreakerConfig } from '../../src/config/types.js';
import { upstreamHttpError } from '../../src/upstream/http-error.js';

const SETTINGS: BreakerConfig = {
  failureThreshold: 2,
  errorRate: { threshold: 0.5, windowMs: 10_000, minRequests: 1000 },
  cooldownMs: 1_000,
  maxCooldownMs: 8_000,
  cooldownMultiplier: 2,
  halfOpenProbes: 1,
};

function start(report?: (event: BreakerEmitted, ref: BreakerRef) => void) {
  const clock = new SimulatedClock();
  let ref: BreakerRef | undefined;
  const actor = createActor(breakerMachine, {
    clock,
    input: { backendId: 'a', settings: SETTINGS, ...(report ? { report: (e: BreakerEmitted) => report(e, ref!) } : {}) },
  });
  ref = actor;
  actor.start();
  const fail = (n: number) => {
    for (let i = 0; i < n; i++) reportOutcome(actor, { probe: undefined }, { ok: false, counted: true, at: clock.now() });
  };
  return { actor, clock, fail };
}

describe('breakerAdmits', () => {
  it('closed: admits without sending the breaker anything', () => {
    const { actor } = start();
    const send = vi.spyOn(actor, 'send');
    const ticket = breakerAdmits(actor);
    expect(ticket).toEqual({ probe: undefined });
    expect(send).not.toHaveBeenCalled();
    expect(breakerAdmits(actor)).toBe(ticket); // one shared ticket: nothing allocated per call
  });

  it('open: refuses, without sending anything', () => {
    const { actor, fail } = start();
    fail(2);
    const send = vi.spyOn(actor, 'send');
    expect(breakerAdmits(actor)).toBe(false);
    expect(send).not.toHaveBeenCalled();
  });

  it('half-open: asks the machine, which admits up to halfOpenProbes; the probe’s outcome decides', () => {
    const { actor, clock, fail } = start();
    fail(2);
    clock.increment(1_000);
    const ticket = breakerAdmits(actor);
    expect(ticket).toEqual({ probe: 1 });
    expect(breakerAdmits(actor)).toBe(false);
    reportOutcome(actor, ticket as { probe: number }, { ok: true, counted: true, at: clock.now() });
    expect(actor.getSnapshot().value).toBe('closed');
  });

  it('half-open: a probe ending in the caller’s 4xx gives its slot back', () => {
    const { actor, clock, fail } = start();
    fail(2);
    clock.increment(1_000);
    const ticket = breakerAdmits(actor);
    if (!ticket) throw new Error('expected a probe');
    reportOutcome(actor, ticket, { ok: false, ...classifyFailure(new OptimizerError('UPSTREAM_REJECTED', 'bad request', { status: 400 })), at: clock.now() });
    expect(actor.getSnapshot().value).toBe('half_open');
    expect(breakerAdmits(actor)).toEqual({ probe: 1 });
  });

  it('refuses when the breaker is not running, rather than treating it as closed', () => {
    const { actor } = start();
    actor.stop();
    expect(breakerAdmits(actor)).toBe(false);
  });

  it('asked from inside the breaker’s own report (re-entrant, so no synchronous reply): refuses and gives the late probe slot back', () => {
    const answers: unknown[] = [];
    const { actor, clock, fail } = start((event, ref) => {
      if (event.type === 'breaker.half_opened') answers.push(breakerAdmits(ref));
    });
    fail(2);
    clock.increment(1_000);
    expect(answers).toEqual([false]);
    expect(actor.getSnapshot().value).toBe('half_open');
    expect(actor.getSnapshot().context.probesInFlight).toBe(0);
    expect(breakerAdmits(actor)).toEqual({ probe: 1 });
  });
});

describe('classifyFailure', () => {
  // Every code of the registry, decided one by one: a new code fails here until it is placed.
  const COUNTED: ErrorCode[] = [
    'UPSTREAM_ERROR', // 5xx, 408, and 402 billing (the optimizer's account)
    'UPSTREAM_AUTH_FAILED', // the optimizer's own key: every call fails until an operator fixes it
    'UPSTREAM_RATE_LIMITED',
    'UPSTREAM_UNREACHABLE',
    'UPSTREAM_TIMEOUT',
    'UPSTREAM_BAD_RESPONSE',
    'UPSTREAM_STREAM_ERROR',
    'BACKEND_UNAVAILABLE',
  ];
  const NOT_COUNTED: string[] = [
    'UPSTREAM_REJECTED', // the caller's 4xx
    'CANCELLED',
    'INVALID_JSON',
    'INVALID_REQUEST',
    'UNSUPPORTED_MEDIA_TYPE',
    'BODY_TOO_LARGE',
    'NOT_FOUND',
    'METHOD_NOT_ALLOWED',
    'MODEL_NOT_FOUND',
    'BACKEND_NOT_FOUND',
    'SESSIONS_EXHAUSTED',
    'REQUEST_TIMEOUT',
    'MISSING_API_KEY',
    'INVALID_API_KEY',
    'ADMIN_FORBIDDEN',
    'FAULT_INJECTION_DISABLED',
    'INVALID_FRAME',
    'NOT_WELCOMED',
    'DUPLICATE_REQUEST_ID',
    'UNKNOWN_REQUEST_ID',
    'FRAME_TOO_LARGE',
    'RATE_LIMITED', // our own limiter, not the backend
    'BACKEND_DISABLED', // configuration; the breaker is not asked
    'CAPABILITY_UNSUPPORTED', // the adapter's limit, decided before the breaker is asked
    'ALL_BACKENDS_FAILED', // the attempts' own errors were reported already
    'DLQ_NOT_FOUND',
    'DLQ_UNAVAILABLE', // our store
    'NO_BACKENDS',
    'NO_BACKEND_REACHABLE', // nothing was called
    'SHUTTING_DOWN',
    'INTERNAL', // our bug: not the backend's fault
  ];

  it('places every registry code explicitly (a new code must be decided here and in COUNTED_FAILURES)', () => {
    const undecided = Object.keys(ERRORS).filter((code) => !COUNTED.includes(code as ErrorCode) && !NOT_COUNTED.includes(code));
    expect(undecided).toEqual([]);
  });

  it('counts exactly the backend’s failures: 5xx, 402, 401/403 (our key), timeouts, connection errors, bad answers, broken streams, 429, actor down', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      expect([code, classifyFailure(new OptimizerError(code, 'x')).counted]).toEqual([code, COUNTED.includes(code)]);
    }
    expect([...COUNTED_FAILURES].sort()).toEqual([...COUNTED].sort());
  });

  it('follows the upstream HTTP mapping: the caller’s 4xx is not counted, the rest is', () => {
    const byStatus = (status: number) => classifyFailure(upstreamHttpError(status, {}, '{"error":{"message":"m"}}', 'a')).counted;
    expect([400, 404, 413, 422].map(byStatus)).toEqual([false, false, false, false]);
    expect([401, 402, 403, 408, 429, 500, 502, 503, 504].map(byStatus)).toEqual([true, true, true, true, true, true, true, true, true]);
  });
});
