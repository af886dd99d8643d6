import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { breakerMachine, type BreakerEmitted } from '../../machines/breaker.machine.js';
import type { BreakerConfig } from '../../src/config/types.js';
import { breakerAdmits, type BreakerRef, type BreakerTicket } from '../../src/resilience/breaker-client.js';
import { OutcomeBatch } from '../../src/resilience/outcome-batch.js';

const SETTINGS: BreakerConfig = {
  failureThreshold: 3,
  errorRate: { threshold: 0.5, windowMs: 20_000, minRequests: 1000 },
  cooldownMs: 1_000,
  maxCooldownMs: 8_000,
  cooldownMultiplier: 2,
  halfOpenProbes: 1,
};
const CLOSED: BreakerTicket = { probe: undefined };
const OK = (at: number) => ({ ok: true, counted: true, at });
const FAIL = (at: number) => ({ ok: false, counted: true, at });

function start() {
  const clock = new SimulatedClock();
  const emitted: BreakerEmitted[] = [];
  const actor = createActor(breakerMachine, { clock, input: { backendId: 'a', settings: SETTINGS, report: (e) => emitted.push(e) } });
  let snapshots = 0;
  actor.subscribe(() => snapshots++);
  actor.start();
  const scheduled: (() => void)[] = [];
  const batch = new OutcomeBatch((flush) => scheduled.push(flush));
  return { actor: actor as BreakerRef, clock, emitted, batch, scheduled, snapshots: () => snapshots };
}

const calls = (actor: BreakerRef) => actor.getSnapshot().context.window.totalCalls;

describe('OutcomeBatch', () => {
  it('tells a closed breaker its successes as one event, when the scheduled flush runs', () => {
    const { actor, batch, scheduled, snapshots } = start();
    const before = snapshots();
    for (let i = 0; i < 5; i++) batch.report(actor, CLOSED, OK(100 + i));
    expect(calls(actor)).toBe(0);
    expect(batch.waiting).toBe(5);
    expect(scheduled).toHaveLength(1); // one flush scheduled for the whole batch
    scheduled[0]!();
    expect(calls(actor)).toBe(5);
    expect(snapshots() - before).toBe(1); // one macrostep, not five
    expect(batch.waiting).toBe(0);
  });

  it('tells the waiting successes before a failure, so the failure count was reset by them', () => {
    const { actor, batch } = start();
    batch.report(actor, CLOSED, FAIL(1));
    batch.report(actor, CLOSED, FAIL(2));
    batch.report(actor, CLOSED, OK(3)); // waits
    batch.report(actor, CLOSED, FAIL(4)); // told after the success: 1 in a row, not 3
    expect(actor.getSnapshot().value).toBe('closed');
    expect(actor.getSnapshot().context.consecutiveFailures).toBe(1);
    expect(calls(actor)).toBe(4);
  });

  it('counts each success in its own error-rate bucket', () => {
    const { actor, batch } = start();
    const { bucketMs } = actor.getSnapshot().context;
    batch.report(actor, CLOSED, OK(0));
    batch.report(actor, CLOSED, OK(1));
    batch.report(actor, CLOSED, OK(bucketMs)); // the next bucket: the first two are told now
    expect(calls(actor)).toBe(2);
    batch.flush();
    const { window } = actor.getSnapshot().context;
    expect(window.calls[0]).toBe(2);
    expect(window.calls[1]).toBe(1);
  });

  it('tells a probe’s success at once (it closes the breaker)', () => {
    const { actor, clock, batch, emitted } = start();
    for (let i = 0; i < 3; i++) batch.report(actor, CLOSED, FAIL(i));
    expect(actor.getSnapshot().value).toBe('open');
    clock.increment(SETTINGS.cooldownMs);
    const ticket = breakerAdmits(actor);
    expect(ticket).toEqual({ probe: 1 });
    batch.report(actor, ticket as BreakerTicket, OK(2_000));
    expect(actor.getSnapshot().value).toBe('closed');
    expect(emitted.map((e) => e.type)).toEqual(['breaker.opened', 'breaker.half_opened', 'breaker.closed']);
  });

  it('drops the successes of a breaker that stopped meanwhile, without sending to it', () => {
    const { actor, batch, scheduled } = start();
    batch.report(actor, CLOSED, OK(1));
    actor.stop();
    expect(() => scheduled[0]!()).not.toThrow();
    expect(batch.waiting).toBe(0);
  });
});
