import { describe, expect, it } from 'vitest';
import { RequestWindow, WINDOW_MS } from '../../src/limits/sliding-window.js';

describe('RequestWindow', () => {
  it('admits N in (t − 60000, t] and frees a slot exactly 60000 ms after the admission N back', () => {
    const window = new RequestWindow(3);
    for (const t of [0, 100, 200]) {
      expect(window.hasRoom(t)).toBe(true);
      window.record(t);
    }
    expect(window.hasRoom(WINDOW_MS - 1)).toBe(false);
    expect(window.freeAt(500)).toBe(WINDOW_MS);
    expect(window.hasRoom(WINDOW_MS)).toBe(true);
    window.record(WINDOW_MS);
    expect(window.hasRoom(WINDOW_MS + 99)).toBe(false);
    expect(window.freeAt(WINDOW_MS + 1)).toBe(WINDOW_MS + 100);
    expect(window.used(WINDOW_MS)).toBe(3);
  });

  it('grows its buffer by doubling and stays exact across the growth', () => {
    const window = new RequestWindow(1000);
    for (let i = 0; i < 1000; i++) {
      expect(window.hasRoom(i)).toBe(true);
      window.record(i);
    }
    expect(window.hasRoom(WINDOW_MS - 1)).toBe(false);
    expect(window.hasRoom(WINDOW_MS)).toBe(true);
    window.record(WINDOW_MS);
    expect(window.freeAt(WINDOW_MS)).toBe(WINDOW_MS + 1);
    expect(window.used(WINDOW_MS)).toBe(1000);
  });

  it('knows when it is idle', () => {
    const window = new RequestWindow(2);
    expect(window.isIdle(0)).toBe(true);
    window.record(5);
    expect(window.isIdle(WINDOW_MS + 4)).toBe(false);
    expect(window.isIdle(WINDOW_MS + 5)).toBe(true);
    window.record(10);
    window.record(WINDOW_MS + 5);
    expect(window.isIdle(2 * WINDOW_MS + 4)).toBe(false);
  });

  it('keeps only the admissions inside the window: memory follows the rate, not the limit', () => {
    const window = new RequestWindow(100_000_000);
    // 10,000 admissions 100 ms apart: never more than 600 inside one window.
    for (let i = 0; i < 10_000; i++) window.record(i * 100);
    expect(window.capacity).toBeLessThanOrEqual(1024);
    expect(window.used(9_999 * 100)).toBe(600);
    expect(window.hasRoom(9_999 * 100)).toBe(true);
  });

  it('answers exactly as the definition does (the N-th admission back is out of the window), for random arrivals', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (const limit of [1, 2, 3, 7, 64, 65, 200]) {
      const window = new RequestWindow(limit);
      const admitted: number[] = [];
      let now = 0;
      for (let step = 0; step < 3_000; step++) {
        now += Math.floor(random() * (random() < 0.1 ? 40_000 : 300));
        const expected = admitted.length < limit || admitted[admitted.length - limit]! <= now - WINDOW_MS;
        expect(window.hasRoom(now)).toBe(expected);
        const back = admitted.length < limit ? now : Math.max(now, admitted[admitted.length - limit]! + WINDOW_MS);
        expect(window.freeAt(now)).toBe(back);
        if (expected && random() < 0.8) {
          window.record(now);
          admitted.push(now);
        }
        expect(window.used(now)).toBe(admitted.filter((t) => t > now - WINDOW_MS).length);
        expect(window.isIdle(now)).toBe(admitted.every((t) => t <= now - WINDOW_MS));
      }
    }
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new RequestWindow(0)).toThrow(/limit must be an integer ≥ 1/);
    expect(() => new RequestWindow(2.5)).toThrow(RangeError);
  });
});
