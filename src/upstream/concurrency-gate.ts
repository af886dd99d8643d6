import type { Cancellation } from '../gateway/cancel-signal.js';
/**
 * A backend's concurrency limit (`backends[].maxConcurrency`): at most `limit` calls at once;
 * the others wait in arrival order (FIFO), at most `maxQueued` of them, each until a slot frees
 * or its AbortSignal fires (the client went away, or the request reached its deadline). A
 * released slot is handed straight to the next waiter, so a burst can never overshoot the limit.
 *
 * Only backends with a limit have a gate: the transport of every other backend never calls
 * into this file (no cost on the pass-through path).
 */

/** Why a call did not get a slot. */
export type GateRefusal =
  | { kind: 'full'; limit: number; maxQueued: number }
  | { kind: 'aborted'; reason: unknown }
  | { kind: 'closed' };

interface Waiter {
  start: () => void;
  refuse: (why: GateRefusal) => void;
  signal: Cancellation | undefined;
  onAbort: (() => void) | undefined;
  gone: boolean;
}

export class ConcurrencyGate {
  #active = 0;
  #queued = 0;
  #closed = false;
  /** Waiters from `#head` on; entries before it were taken or left (compacted now and then). */
  #line: (Waiter | undefined)[] = [];
  #head = 0;

  constructor(
    readonly limit: number,
    readonly maxQueued: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${String(limit)}`);
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError(`maxQueued must be an integer >= 0, got ${String(maxQueued)}`);
  }

  /** Calls holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting for one. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Runs `start` now when a slot is free (synchronously), or later when one is handed over;
   * calls `refuse` instead when the line is full, the signal fires first, or the gate closes.
   * Whoever got a slot must `release()` it exactly once.
   */
  enter(signal: Cancellation | null | undefined, start: () => void, refuse: (why: GateRefusal) => void): void {
    if (this.#closed) return refuse({ kind: 'closed' });
    if (this.#active < this.limit) {
      this.#active++;
      start();
      return;
    }
    if (signal?.aborted) return refuse({ kind: 'aborted', reason: signal.reason });
    if (this.#queued >= this.maxQueued) return refuse({ kind: 'full', limit: this.limit, maxQueued: this.maxQueued });
    const waiter: Waiter = { start, refuse, signal: signal ?? undefined, onAbort: undefined, gone: false };
    if (signal) {
      waiter.onAbort = () => {
        if (waiter.gone) return;
        waiter.gone = true;
        this.#queued--;
        refuse({ kind: 'aborted', reason: signal.reason });
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    this.#line.push(waiter);
    this.#queued++;
  }

  /** Frees a slot: the longest-waiting live call takes it, or it becomes free. */
  release(): void {
    while (this.#head < this.#line.length) {
      const waiter = this.#line[this.#head];
      this.#line[this.#head++] = undefined;
      if (!waiter || waiter.gone) continue;
      this.#compact();
      waiter.gone = true;
      this.#queued--;
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.start(); // the slot passes on: #active is unchanged
      return;
    }
    this.#compact();
    if (this.#active > 0) this.#active--;
  }

  /** Refuses every waiter and every later call (the transport is stopping). Idempotent. */
  close(): void {
    this.#closed = true;
    const waiting = this.#line.slice(this.#head);
    this.#line = [];
    this.#head = 0;
    for (const waiter of waiting) {
      if (!waiter || waiter.gone) continue;
      waiter.gone = true;
      this.#queued--;
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.refuse({ kind: 'closed' });
    }
  }

  #compact(): void {
    if (this.#head === this.#line.length) {
      this.#line = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#line.length) {
      this.#line = this.#line.slice(this.#head);
      this.#head = 0;
    }
  }
}
