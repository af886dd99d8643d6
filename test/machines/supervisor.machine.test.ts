import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, setup, SimulatedClock, type AnyActorRef } from 'xstate';
import {
  childStatuses,
  supervisorMachine,
  SupervisorEscalation,
  type ChildSpec,
  type RestartPolicy,
  type SupervisorInput,
} from '../../machines/supervisor.machine.js';

/** A child that crashes on `crash`, ends normally on `finish`, and owns a resource whose cleanup we can observe. */
function workerLogic(cleanups: string[], name: string) {
  return setup({ actors: { resource: fromCallback(() => () => void cleanups.push(name)) } }).createMachine({
    initial: 'working',
    invoke: { id: 'resource', src: 'resource' },
    states: {
      working: {
        on: {
          crash: { actions: () => { throw new Error(`${name} crashed`); } },
          finish: 'finished',
        },
      },
      finished: { type: 'final' },
    },
  });
}

function spec(id: string, cleanups: string[], restart: RestartPolicy = 'permanent'): ChildSpec {
  return { id, systemId: `test:${id}`, restart, logic: workerLogic(cleanups, id) };
}

/** A one_for_one supervisor as a child, restarting its own children after 10 ms. */
function innerSupervisor(intensity: number, children: ChildSpec[]): ChildSpec {
  return {
    id: 'inner',
    systemId: 'test:inner',
    restart: 'permanent',
    logic: supervisorMachine,
    input: { name: 'inner', strategy: 'one_for_one', intensity, periodMs: 1000, backoff: { initialMs: 10, maxMs: 10 }, children },
  };
}

function start(input: Partial<SupervisorInput> & { children: ChildSpec[] }) {
  const clock = new SimulatedClock();
  const errors: unknown[] = [];
  const actor = createActor(supervisorMachine, {
    clock,
    input: { name: 'test', strategy: 'one_for_one', intensity: 3, periodMs: 1000, backoff: { initialMs: 10, maxMs: 80 }, ...input },
  });
  const events: { type: string }[] = [];
  actor.on('*', (e) => void events.push(e));
  actor.subscribe({ error: (e) => void errors.push(e) });
  actor.start();
  const get = (id: string) => actor.system.get(`test:${id}`) as AnyActorRef | undefined;
  return { actor, clock, errors, events, get };
}

describe('supervisor machine', () => {
  it('starts children in order and registers them by system id', () => {
    const cleanups: string[] = [];
    const { actor, get } = start({ children: [spec('a', cleanups), spec('b', cleanups), spec('c', cleanups)] });
    expect(Object.keys(actor.getSnapshot().children)).toEqual(['a', 'b', 'c']);
    expect(get('b')?.getSnapshot().status).toBe('active');
  });

  it('one_for_one: restarts only the crashed child after the backoff, reachable again by id', () => {
    const cleanups: string[] = [];
    const { actor, clock, get, events } = start({ children: [spec('a', cleanups), spec('b', cleanups)] });
    const before = get('a');
    const b = get('b');
    before?.send({ type: 'crash' });
    expect(get('a')).toBeUndefined();
    expect(cleanups).toEqual(['a']); // the dead child's resource was released
    clock.increment(9);
    expect(get('a')).toBeUndefined();
    clock.increment(1);
    expect(get('a')).toBeDefined();
    expect(get('a')).not.toBe(before);
    expect(get('b')).toBe(b);
    const status = childStatuses(actor.getSnapshot().context);
    expect(status.find((s) => s.id === 'a')).toMatchObject({ restarts: 1, state: 'running', lastExit: 'Error: a crashed' });
    expect(events.filter((e) => e.type === 'actor.restarted')).toHaveLength(1);
  });

  it('rest_for_one: stops the later siblings in reverse order and restarts them in order', () => {
    const cleanups: string[] = [];
    const { clock, get } = start({ strategy: 'rest_for_one', children: [spec('a', cleanups), spec('b', cleanups), spec('c', cleanups)] });
    const a = get('a');
    get('b')?.send({ type: 'crash' });
    expect(cleanups).toEqual(['b', 'c']);
    expect(get('a')).toBe(a);
    expect(get('c')).toBeUndefined();
    clock.increment(10);
    expect(get('b')).toBeDefined();
    expect(get('c')).toBeDefined();
  });

  it('one_for_all: restarts every child', () => {
    const cleanups: string[] = [];
    const { clock, get } = start({ strategy: 'one_for_all', children: [spec('a', cleanups), spec('b', cleanups), spec('c', cleanups)] });
    const a = get('a');
    get('b')?.send({ type: 'crash' });
    expect(cleanups.sort()).toEqual(['a', 'b', 'c']);
    clock.increment(10);
    expect(get('a')).toBeDefined();
    expect(get('a')).not.toBe(a);
    expect(get('c')).toBeDefined();
  });

  it('restart policies: transient is not restarted after a normal exit, temporary never', () => {
    const cleanups: string[] = [];
    const { actor, clock, get } = start({
      children: [spec('p', cleanups, 'permanent'), spec('t', cleanups, 'transient'), spec('x', cleanups, 'temporary')],
    });
    get('t')?.send({ type: 'finish' });
    get('x')?.send({ type: 'crash' });
    get('p')?.send({ type: 'finish' });
    clock.increment(1000);
    expect(get('t')).toBeUndefined();
    expect(get('x')).toBeUndefined();
    expect(get('p')).toBeDefined(); // permanent comes back even after a normal exit
    expect(childStatuses(actor.getSnapshot().context).map((c) => c.id)).toEqual(['p']);
  });

  it('transient is restarted after a crash', () => {
    const cleanups: string[] = [];
    const { clock, get } = start({ children: [spec('t', cleanups, 'transient')] });
    get('t')?.send({ type: 'crash' });
    clock.increment(10);
    expect(get('t')).toBeDefined();
  });

  it('backoff doubles within the window and is capped', () => {
    const cleanups: string[] = [];
    const { clock, get, events } = start({ intensity: 10, periodMs: 100_000, children: [spec('a', cleanups)] });
    for (let i = 0; i < 5; i++) {
      get('a')?.send({ type: 'crash' });
      clock.increment(1000);
    }
    const delays = events.filter((e) => e.type === 'actor.restarted').map((e) => (e as unknown as { delayMs: number }).delayMs);
    expect(delays).toEqual([10, 20, 40, 80, 80]);
  });

  it('past the intensity it stops its children in reverse order and fails upward', () => {
    const cleanups: string[] = [];
    const { clock, get, errors, actor } = start({ intensity: 2, periodMs: 1000, children: [spec('a', cleanups), spec('b', cleanups), spec('c', cleanups)] });
    get('b')?.send({ type: 'crash' });
    clock.increment(10);
    get('b')?.send({ type: 'crash' });
    clock.increment(20);
    expect(errors).toHaveLength(0);
    cleanups.length = 0;
    get('b')?.send({ type: 'crash' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SupervisorEscalation);
    expect(actor.getSnapshot().status).toBe('error');
    expect(cleanups).toEqual(['b', 'c', 'a']);
  });

  it('restarts older than the period no longer count', () => {
    const cleanups: string[] = [];
    const { clock, get, errors } = start({ intensity: 1, periodMs: 1000, children: [spec('a', cleanups)] });
    get('a')?.send({ type: 'crash' });
    clock.increment(1000);
    get('a')?.send({ type: 'crash' });
    clock.increment(1000);
    get('a')?.send({ type: 'crash' });
    expect(errors).toHaveLength(0);
    clock.increment(10);
    get('a')?.send({ type: 'crash' });
    expect(errors).toHaveLength(1);
  });

  it('starts and terminates dynamic children', () => {
    const cleanups: string[] = [];
    const { actor, get } = start({ children: [] });
    actor.send({ type: 'supervisor.start_child', spec: spec('s1', cleanups, 'temporary') });
    expect(get('s1')?.getSnapshot().status).toBe('active');
    actor.send({ type: 'supervisor.terminate_child', id: 's1' });
    expect(get('s1')).toBeUndefined();
    expect(cleanups).toEqual(['s1']);
    expect(actor.getSnapshot().context.specs).toEqual([]);
  });

  it('a nested supervisor that gives up is restarted by its parent', () => {
    const cleanups: string[] = [];
    const inner = innerSupervisor(0, [spec('leaf', cleanups)]);
    const { clock, get, errors } = start({ children: [inner] });
    const leaf = get('leaf');
    leaf?.send({ type: 'crash' });
    expect(errors).toHaveLength(0);
    expect(get('inner')).toBeUndefined();
    clock.increment(10);
    expect(get('inner')).toBeDefined();
    expect(get('leaf')).toBeDefined();
    expect(get('leaf')).not.toBe(leaf);
  });
});

describe('supervisor.stop', () => {
  it('stops children last-started first, nested supervisors recursively, and ends', () => {
    const cleanups: string[] = [];
    const inner = innerSupervisor(1, [spec('x', cleanups), spec('y', cleanups)]);
    const { actor, errors } = start({ children: [spec('a', cleanups), inner, spec('b', cleanups)] });
    actor.send({ type: 'supervisor.stop' });
    expect(cleanups).toEqual(['b', 'y', 'x', 'a']);
    expect(actor.getSnapshot().status).toBe('done');
    expect(errors).toEqual([]);
  });
});
