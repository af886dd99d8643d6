import { describe, expect, it } from 'vitest';
import { randomSource, seededRandom } from '../../src/resilience/random.js';

describe('seededRandom', () => {
  it('is mulberry32: the published first values for seed 42', () => {
    const random = seededRandom(42);
    expect([random(), random(), random()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('gives the same stream for the same seed, another for another seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const fromA = Array.from({ length: 20 }, () => a());
    expect(Array.from({ length: 20 }, () => b())).toEqual(fromA);
    expect(Array.from({ length: 20 }, () => c())).not.toEqual(fromA);
  });

  it('stays in [0, 1) and spreads evenly (10 buckets, 20 000 draws)', () => {
    const random = seededRandom(123);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const value = random();
      expect(value >= 0 && value < 1).toBe(true);
      const bucket = Math.floor(value * 10);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    for (const count of buckets) expect(count).toBeGreaterThan(1_800);
  });

  it('takes seeds modulo 2^32, including 0 and negatives', () => {
    expect(seededRandom(0)()).toBe(seededRandom(2 ** 32)());
    expect(seededRandom(-1)()).toBe(seededRandom(2 ** 32 - 1)());
  });

  it('rejects a seed that is not a finite number', () => {
    expect(() => seededRandom(Number.NaN)).toThrow(RangeError);
    expect(() => seededRandom(Infinity)).toThrow(/seed must be a finite number/);
  });
});

describe('randomSource', () => {
  it('is Math.random without a seed', () => {
    expect(randomSource()).toBe(Math.random);
    expect(randomSource(undefined)).toBe(Math.random);
  });

  it('is seeded with a seed (resilience.jitterSeed)', () => {
    const source = randomSource(42);
    expect(source).not.toBe(Math.random);
    expect(source()).toBe(seededRandom(42)());
  });
});
