/** A limiter on a ManualClock that logs every admission and refusal with its time (shared by the limiter tests). */
import type { OptimizerError } from '../../src/errors/registry.js';
import { ManualClock } from '../../src/limits/clock.js';
import { Limiter } from '../../src/limits/limiter.js';
import type { LimiterOptions, LimitRequest } from '../../src/limits/types.js';

export interface LoggedEvent {
  kind: 'admitted' | 'rejected' | 'queued';
  id: string;
  at: number;
  error?: OptimizerError;
}

/** A request with an `id` for the log. */
export type TestRequest = LimitRequest & { id: string };

export interface Harness {
  clock: ManualClock;
  limiter: Limiter;
  log: LoggedEvent[];
  /** Ids admitted so far, in order (requests without an id, e.g. plain `tryAdmit` calls, are left out). */
  admitted(): string[];
  /** `admit`, with the promise's rejection observed (so none goes unhandled). */
  admit(request: TestRequest): Promise<void>;
  /** The time `id` was admitted, or undefined. */
  admittedAt(id: string): number | undefined;
  rejection(id: string): LoggedEvent | undefined;
}

export function harness(options: Omit<LimiterOptions, 'clock' | 'observer'>, start = 0): Harness {
  const clock = new ManualClock(start);
  const log: LoggedEvent[] = [];
  const id = (request: LimitRequest): string => (request as TestRequest).id;
  const limiter = new Limiter({
    ...options,
    clock,
    observer: {
      admitted: (request, at) => log.push({ kind: 'admitted', id: id(request), at }),
      queued: (request, at) => log.push({ kind: 'queued', id: id(request), at }),
      rejected: (request, at, error) => log.push({ kind: 'rejected', id: id(request), at, error }),
    },
  });
  return {
    clock,
    limiter,
    log,
    admitted: () => log.filter((e) => e.kind === 'admitted' && e.id !== undefined).map((e) => e.id),
    admit: (request) => {
      const promise = limiter.admit(request);
      promise.catch(() => {});
      return promise;
    },
    admittedAt: (which) => log.find((e) => e.kind === 'admitted' && e.id === which)?.at,
    rejection: (which) => log.find((e) => e.kind === 'rejected' && e.id === which),
  };
}

/** Lets promise callbacks run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The outcome of a promise, once settled (read after `flush()`). */
export function outcome(promise: Promise<void>): { state: 'pending' | 'admitted' | 'rejected'; error?: unknown } {
  const result: { state: 'pending' | 'admitted' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => {
      result.state = 'admitted';
    },
    (error: unknown) => {
      result.state = 'rejected';
      result.error = error;
    },
  );
  return result;
}
