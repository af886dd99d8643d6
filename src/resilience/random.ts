/**
 * Randomness for the retry jitter, injected so that nothing in src/resilience reads ambient
 * randomness: a seeded generator in tests and when `resilience.jitterSeed` is set (a run can then
 * be replayed), `Math.random` otherwise.
 */

/** A source of numbers uniformly spread over [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * mulberry32: a small, fast 32-bit generator, good enough for jitter (not for secrets). The seed is
 * taken modulo 2^32 after truncation (`seed >>> 0`), so seeds equal modulo 2^32 give the same stream.
 * Every value is a multiple of 2^-32 in [0, 1).
 */
export function seededRandom(seed: number): RandomSource {
  if (!Number.isFinite(seed)) throw new RangeError(`seededRandom: seed must be a finite number (got ${seed})`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A seeded generator when a seed is given (e.g. `resilience.jitterSeed`), else `Math.random`. */
export function randomSource(seed?: number): RandomSource {
  return seed === undefined ? Math.random : seededRandom(seed);
}
