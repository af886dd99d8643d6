import { describe, expect, it } from 'vitest';
import { WINDOW_MS } from '../../src/limits/sliding-window.js';
import { TokenWindow } from '../../src/limits/token-window.js';

describe('TokenWindow', () => {
  it('admits up to the limit in any window and frees tokens exactly 60000 ms after they were taken', () => {
    const window = new TokenWindow(100);
    window.record(0, 60);
    window.record(10, 30);
    expect(window.hasRoom(20, 10)).toBe(true);
    expect(window.hasRoom(20, 11)).toBe(false);
    expect(window.freeAt(20, 11)).toBe(WINDOW_MS); // the 60 of t=0 go
    expect(window.freeAt(20, 80)).toBe(WINDOW_MS + 10); // both must go
    expect(window.hasRoom(WINDOW_MS - 1, 11)).toBe(false);
    expect(window.hasRoom(WINDOW_MS, 70)).toBe(true);
    expect(window.used(WINDOW_MS)).toBe(30);
    expect(window.used(WINDOW_MS + 10)).toBe(0);
  });

  it('never fits more than the whole limit, and ignores zero-token records', () => {
    const window = new TokenWindow(50);
    expect(window.freeAt(0, 51)).toBe(Infinity);
    window.record(0, 0);
    expect(window.used(0)).toBe(0);
    expect(window.hasRoom(0, 50)).toBe(true);
  });

  it('keeps its order across growth of the deque', () => {
    const window = new TokenWindow(10_000);
    for (let t = 0; t < 100; t++) window.record(t * 100, 1);
    expect(window.used(9_900)).toBe(100);
    expect(window.used(WINDOW_MS + 4_950)).toBe(50);
    for (let t = 0; t < 100; t++) window.record(WINDOW_MS + 5_000 + t, 2);
    expect(window.used(WINDOW_MS + 5_100)).toBe(48 + 200); // t·100 > 5100: t = 52…99
    expect(window.freeAt(WINDOW_MS + 5_100, 10_000 - 248 + 3)).toBe(WINDOW_MS + 5_400); // three of the oldest must go
  });
});
