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

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new RequestWindow(0)).toThrow(/limit must be an integer ≥ 1/);
    expect(() => new RequestWindow(2.5)).toThrow(RangeError);
  });
});
