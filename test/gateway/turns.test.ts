import { setImmediate as nextIteration } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Turns } from '../../src/gateway/turns.js';

describe('Turns', () => {
  it('lets the first request of a loop iteration go at once, and the next ones in arrival order', async () => {
    const turns = new Turns(5);
    const order: number[] = [];
    expect(turns.turn()).toBeUndefined();
    const waits = [1, 2, 3].map((n) => {
      const turn = turns.turn();
      expect(turn).toBeInstanceOf(Promise);
      return turn!.then(() => order.push(n));
    });
    expect(turns.waiting).toBe(3);
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    expect(turns.waiting).toBe(0);
  });

  it('in a later iteration with nobody waiting, goes at once again', async () => {
    const turns = new Turns(5);
    expect(turns.turn()).toBeUndefined();
    await nextIteration();
    await nextIteration();
    expect(turns.turn()).toBeUndefined();
  });

  it('gives out turns only while the slice lasts; the rest wait for the next iteration of the loop', async () => {
    let now = 0;
    const turns = new Turns(5, () => now);
    expect(turns.turn()).toBeUndefined();
    const started: number[] = [];
    const waits = [1, 2, 3, 4].map((n) =>
      turns.turn()!.then(() => {
        started.push(n);
        now += 3; // each request's synchronous part takes 3 ms
      }),
    );
    // The first slice: turn 1 (0 → 3 ms) and turn 2 (3 → 6 ms); at 6 ms the slice of 5 ms is used up.
    await nextIteration();
    expect(started).toEqual([1, 2]);
    // Turns 3 and 4 come in a later iteration, after the loop has polled its sockets again.
    await Promise.all(waits);
    expect(started).toEqual([1, 2, 3, 4]);
  });

  it('with other requests in flight, even the first of an iteration waits for its turn (they are handled together)', async () => {
    const turns = new Turns(5);
    const order: number[] = [];
    const waits = [1, 2].map((n) => {
      const turn = turns.turn(true);
      expect(turn).toBeInstanceOf(Promise);
      return turn!.then(() => order.push(n));
    });
    expect(order).toEqual([]);
    await Promise.all(waits);
    expect(order).toEqual([1, 2]);
    // Alone again in a later iteration: at once.
    await nextIteration();
    expect(turns.turn(false)).toBeUndefined();
  });
});

