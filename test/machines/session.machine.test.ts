import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { sessionMachine, type SessionEvent, type SessionInput } from '../../machines/session.machine.js';

const IDLE_MS = 1_000;

function start(input: Partial<SessionInput> = {}) {
  const clock = new SimulatedClock();
  const errors: unknown[] = [];
  const actor = createActor(sessionMachine, { clock, input: { agentId: 'coder-1', agentType: 'coder', idleTimeoutMs: IDLE_MS, ...input } });
  actor.subscribe({ error: (e) => void errors.push(e) });
  actor.start();
  const send = (...types: SessionEvent['type'][]) => {
    for (const type of types) actor.send({ type } as SessionEvent);
  };
  return { actor, clock, errors, send, snapshot: () => actor.getSnapshot() };
}

describe('session machine', () => {
  it('starts idle with its identity and zero counters', () => {
    const { snapshot } = start();
    expect(snapshot().value).toBe('idle');
    expect(snapshot().status).toBe('active');
    expect(snapshot().context).toEqual({ agentId: 'coder-1', agentType: 'coder', idleTimeoutMs: IDLE_MS, inFlight: 0, connections: 0, requests: 0 });
  });

  it('expires after idleTimeoutMs without activity (final state, status done)', () => {
    const { clock, snapshot } = start();
    clock.increment(IDLE_MS - 1);
    expect(snapshot().status).toBe('active');
    clock.increment(1);
    expect(snapshot().value).toBe('expired');
    expect(snapshot().status).toBe('done');
  });

  it('takes its timeout from input', () => {
    const { clock, snapshot } = start({ idleTimeoutMs: 50 });
    clock.increment(50);
    expect(snapshot().status).toBe('done');
  });

  it('stays alive while a request is in flight, however long it takes', () => {
    const { clock, send, snapshot } = start();
    send('session.request.started');
    expect(snapshot().value).toBe('busy');
    clock.increment(IDLE_MS * 10);
    expect(snapshot().status).toBe('active');
    expect(snapshot().context).toMatchObject({ inFlight: 1, requests: 1 });
  });

  it('restarts the expiry timer when it goes idle again', () => {
    const { clock, send, snapshot } = start();
    clock.increment(IDLE_MS - 100);
    send('session.request.started');
    clock.increment(500);
    send('session.request.finished');
    expect(snapshot().value).toBe('idle');
    // A full idleTimeoutMs from now, not from the first idle period.
    clock.increment(IDLE_MS - 1);
    expect(snapshot().status).toBe('active');
    clock.increment(1);
    expect(snapshot().status).toBe('done');
  });

  it('goes idle only when the last of several requests finishes', () => {
    const { clock, send, snapshot } = start();
    send('session.request.started', 'session.request.started', 'session.request.started');
    expect(snapshot().context).toMatchObject({ inFlight: 3, requests: 3 });
    send('session.request.finished', 'session.request.finished');
    expect(snapshot().value).toBe('busy');
    clock.increment(IDLE_MS * 2);
    expect(snapshot().status).toBe('active');
    send('session.request.finished');
    expect(snapshot().value).toBe('idle');
    expect(snapshot().context).toMatchObject({ inFlight: 0, requests: 3 });
    clock.increment(IDLE_MS);
    expect(snapshot().status).toBe('done');
  });

  it('stays alive while a connection is attached, with nothing in flight', () => {
    const { clock, send, snapshot } = start();
    send('session.attached');
    expect(snapshot().value).toBe('busy');
    send('session.request.started', 'session.request.finished');
    expect(snapshot().value).toBe('busy');
    clock.increment(IDLE_MS * 5);
    expect(snapshot().status).toBe('active');
    send('session.detached');
    expect(snapshot().value).toBe('idle');
    clock.increment(IDLE_MS);
    expect(snapshot().status).toBe('done');
  });

  it('goes idle only when no request is in flight and no connection is attached', () => {
    const { send, snapshot } = start();
    send('session.attached', 'session.attached', 'session.request.started');
    send('session.detached', 'session.detached');
    expect(snapshot().value).toBe('busy');
    expect(snapshot().context).toMatchObject({ connections: 0, inFlight: 1 });
    send('session.request.finished');
    expect(snapshot().value).toBe('idle');
  });

  it('ignores finish and detach while idle, and never counts below zero', () => {
    const { clock, send, snapshot } = start();
    clock.increment(IDLE_MS / 2);
    send('session.request.finished', 'session.detached');
    expect(snapshot().context).toMatchObject({ inFlight: 0, connections: 0 });
    // Stray events do not reset the timer either.
    clock.increment(IDLE_MS / 2);
    expect(snapshot().status).toBe('done');
  });

  it('clamps an unbalanced finish while busy at zero', () => {
    const { send, snapshot } = start();
    send('session.attached', 'session.request.finished', 'session.request.finished');
    expect(snapshot().value).toBe('busy');
    expect(snapshot().context).toMatchObject({ inFlight: 0, connections: 1 });
  });

  it('debug.crash errors the actor with a message naming the agent', () => {
    const { actor, errors, send } = start();
    send('debug.crash');
    expect(actor.getSnapshot().status).toBe('error');
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toContain('session:coder-1');
  });
});
