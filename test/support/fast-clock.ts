import type { Clock } from '../../src/limits/clock.js';

/**
 * Real time, sped up: `factor` limiter milliseconds pass per real millisecond, so a 60 s
 * rate-limit window lasts 60 000 / factor real ms. Lets integration tests see a request
 * wait for its window and then proceed, against the real optimizer, in well under a second.
 */
export function fastClock(factor: number): Clock {
  const start = performance.now();
  return {
    now: () => start + (performance.now() - start) * factor,
    setTimeout: (fn, ms) => setTimeout(fn, Math.ceil(ms / factor)),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}
