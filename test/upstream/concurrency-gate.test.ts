import { describe, expect, it } from 'vitest';
import { ConcurrencyGate, type GateRefusal } from '../../src/upstream/concurrency-gate.js';

/** Enters `name` and records when it starts or why it was refused. */
function harness(gate: ConcurrencyGate) {
  const started: string[] = [];
  const refused: [string, GateRefusal['kind']][] = [];
  const enter = (name: string, signal?: AbortSignal) =>
    gate.enter(signal, () => started.push(name), (why) => refused.push([name, why.kind]));
  return { started, refused, enter };
}

describe('ConcurrencyGate', () => {
  it('starts calls at once up to the limit, then queues them and hands each freed slot to the longest waiting (FIFO)', () => {
    const gate = new ConcurrencyGate(2, 10);
    const { started, enter } = harness(gate);
    for (const name of ['a', 'b', 'c', 'd', 'e']) enter(name);
    expect(started).toEqual(['a', 'b']);
    expect([gate.active, gate.queued]).toEqual([2, 3]);
    gate.release();
    expect(started).toEqual(['a', 'b', 'c']);
    expect([gate.active, gate.queued]).toEqual([2, 2]);
    gate.release();
    gate.release();
    expect(started).toEqual(['a', 'b', 'c', 'd', 'e']);
    gate.release();
    gate.release();
    expect([gate.active, gate.queued]).toEqual([0, 0]);
    enter('f');
    expect(started.at(-1)).toBe('f');
  });

  it('never has more than `limit` calls started and not released, whatever the interleaving', () => {
    const gate = new ConcurrencyGate(3, 1000);
    let running = 0;
    let peak = 0;
    const live: (() => void)[] = [];
    for (let i = 0; i < 200; i++) {
      gate.enter(undefined, () => {
        running++;
        peak = Math.max(peak, running);
        live.push(() => {
          running--;
          gate.release();
        });
      }, () => expect.unreachable());
      if (i % 3 === 2) live.shift()?.();
    }
    while (live.length > 0) live.shift()?.();
    expect(peak).toBe(3);
    expect(running).toBe(0);
    expect([gate.active, gate.queued]).toEqual([0, 0]);
  });

  it('a waiting call whose signal fires leaves the line (refused as aborted) and does not take a slot later', () => {
    const gate = new ConcurrencyGate(1, 10);
    const { started, refused, enter } = harness(gate);
    const controller = new AbortController();
    enter('a');
    enter('b', controller.signal);
    enter('c');
    controller.abort();
    expect(refused).toEqual([['b', 'aborted']]);
    expect(gate.queued).toBe(1);
    gate.release();
    expect(started).toEqual(['a', 'c']);
  });

  it('refuses at once a call whose signal has already fired, when it would have to wait', () => {
    const gate = new ConcurrencyGate(1, 10);
    const { refused, enter } = harness(gate);
    enter('a');
    enter('b', AbortSignal.abort());
    expect(refused).toEqual([['b', 'aborted']]);
    expect(gate.queued).toBe(0);
  });

  it('refuses as full past maxQueued waiters', () => {
    const gate = new ConcurrencyGate(1, 2);
    const { refused, enter } = harness(gate);
    for (const name of ['a', 'b', 'c', 'd']) enter(name);
    expect(refused).toEqual([['d', 'full']]);
    expect(gate.queued).toBe(2);
  });

  it('close() refuses every waiter and every later call', () => {
    const gate = new ConcurrencyGate(1, 5);
    const { started, refused, enter } = harness(gate);
    enter('a');
    enter('b');
    enter('c');
    gate.close();
    enter('d');
    expect(started).toEqual(['a']);
    expect(refused).toEqual([['b', 'closed'], ['c', 'closed'], ['d', 'closed']]);
    gate.release();
    expect(gate.queued).toBe(0);
  });

  it('checks its options', () => {
    expect(() => new ConcurrencyGate(0, 1)).toThrow(/limit/);
    expect(() => new ConcurrencyGate(1.5, 1)).toThrow(/limit/);
    expect(() => new ConcurrencyGate(1, -1)).toThrow(/maxQueued/);
  });
});
