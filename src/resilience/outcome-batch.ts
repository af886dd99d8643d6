import { reportOutcome, type BreakerRef, type BreakerTicket, type CallOutcome } from './breaker-client.js';

/**
 * How long successes wait to be told together. One event loop iteration (`setImmediate`) batched
 * nothing at c=1, where every request has an iteration to itself: the breaker's macrostep per request
 * was still ≈ 6% of the busy CPU there.
 */
export const OUTCOME_BATCH_MS = 50;

/** Successes of one breaker waiting to be told, all in the same error-rate bucket. */
interface Pending {
  count: number;
  /** The newest success's `at`: the batch is recorded there (same bucket as every other). */
  at: number;
  bucket: number;
}

/**
 * Tells breakers how calls ended, one event per batch of successes instead of one per call.
 *
 * The successes of calls a closed breaker admitted are the hot path: every answered request
 * has one, and each `breaker.outcome` event was a whole XState macrostep (a new snapshot, its
 * state-node sets, copied window arrays), 14% of what the pass-through allocated per request.
 * They only add to the error-rate window and reset the consecutive-failure count, so they are
 * gathered per breaker and told as one event with `count` OUTCOME_BATCH_MS after the first of them,
 * or earlier:
 *
 * - before any other outcome for the same breaker (a failure, an uncounted call, a probe's
 *   answer), so the machine sees every outcome in the order the calls ended, exactly as if each
 *   had been told on its own: a failure after successes still finds the failure count reset;
 * - when a success falls in another error-rate bucket than the ones waiting (`bucketMs` of the
 *   breaker's context), so every success is counted in its own bucket;
 * - on `flush()`.
 *
 * What this changes: a reader of the breaker's snapshot (/health, /admin/breakers, the Stately
 * inspector) sees the window's counts and the consecutive-failure count's reset up to
 * OUTCOME_BATCH_MS late, and the inspector shows one event per batch. Decisions do not change:
 * every outcome that could open the breaker is told at once, after the successes before it.
 * props/breaker.prop.ts checks that a breaker told through a batch ends in the same state, context
 * and emitted events as one told every outcome at once.
 */
export class OutcomeBatch {
  readonly #pending = new Map<BreakerRef, Pending>();
  #scheduled = false;

  /** `schedule` runs the flush later (default: in OUTCOME_BATCH_MS, on a timer that keeps no process alive; tests pass their own). */
  constructor(private readonly schedule: (flush: () => void) => void = (flush) => setTimeout(flush, OUTCOME_BATCH_MS).unref()) {}

  /** Tells `ref` how an admitted call ended (see `reportOutcome`), now or with its batch. */
  report(ref: BreakerRef, ticket: BreakerTicket, outcome: CallOutcome): void {
    if (ticket.probe === undefined && outcome.ok && outcome.counted) {
      const snapshot = ref.getSnapshot();
      if (snapshot.status === 'active' && snapshot.value === 'closed') {
        const bucket = Math.floor(outcome.at / snapshot.context.bucketMs);
        const pending = this.#pending.get(ref);
        if (pending !== undefined && pending.bucket === bucket) {
          pending.count++;
          if (outcome.at > pending.at) pending.at = outcome.at;
          return;
        }
        if (pending !== undefined) this.#tell(ref, pending);
        this.#pending.set(ref, { count: 1, at: outcome.at, bucket });
        if (!this.#scheduled) {
          this.#scheduled = true;
          this.schedule(this.#flushScheduled);
        }
        return;
      }
    }
    const pending = this.#pending.get(ref);
    if (pending !== undefined) this.#tell(ref, pending);
    reportOutcome(ref, ticket, outcome);
  }

  /** Successes waiting to be told, over every breaker. */
  get waiting(): number {
    let n = 0;
    for (const pending of this.#pending.values()) n += pending.count;
    return n;
  }

  /** Tells every breaker its waiting successes now. */
  flush(): void {
    for (const [ref, pending] of this.#pending) this.#tell(ref, pending);
  }

  readonly #flushScheduled = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  #tell(ref: BreakerRef, pending: Pending): void {
    this.#pending.delete(ref);
    // A breaker stopped meanwhile (its backend actor restarting) has nobody to tell: its successor starts afresh.
    if (ref.getSnapshot().status !== 'active') return;
    ref.send({ type: 'breaker.outcome', ok: true, counted: true, at: pending.at, count: pending.count });
  }
}
