import { performance } from 'node:perf_hooks';

/**
 * Takes turns on the event loop under bursts, so that a burst of arriving requests cannot hold
 * the loop for hundreds of milliseconds: `/health`, WebSocket pings and answers streaming back
 * get a look-in every `sliceMs`.
 *
 * A request alone in the optimizer, first in its loop iteration, starts at once (`turn()` returns
 * undefined: no promise, no hop, nothing added at low load). The others that arrive in the same
 * iteration (one poll phase reading many sockets), and every request while others are in flight
 * (`turn(true)`), wait for a turn: turns are given out in arrival order, one after another, until
 * `sliceMs` of the loop has gone by; then the rest wait for the next iteration, after the loop has
 * polled its sockets again.
 */
export class Turns {
  readonly #waiting: (() => void)[] = [];
  /** How many of `#waiting` have been given their turn. */
  #head = 0;
  /** A request started synchronously in this loop iteration. */
  #busy = false;
  #scheduled = false;
  #sliceEnd = 0;

  constructor(
    private readonly sliceMs = 5,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Undefined: go on now. A promise: wait for it, then go on.
   *
   * `crowded`: other requests are in flight. Then even the first of an iteration waits for its
   * turn, so that the requests and answers of one iteration are handled together after the
   * loop has read all its sockets: that measured 0.96× the CPU per request at c=50 (bench:ab,
   * 10 paired rounds) against letting the first one go at once, and turning turns off
   * altogether cost 1.49×. Alone (c=1), it goes at once: no hop where there is nothing to batch.
   */
  turn(crowded = false): Promise<void> | undefined {
    if (!crowded && !this.#busy && this.#head === this.#waiting.length) {
      this.#busy = true;
      this.#schedule();
      return undefined;
    }
    const promise = new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#schedule();
    return promise;
  }

  /** Requests waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#slice);
  }

  /** One slice: gives turns one by one (each runs to its first await) until the slice is used up. */
  readonly #slice = (): void => {
    this.#scheduled = false;
    this.#busy = false;
    this.#sliceEnd = this.now() + this.sliceMs;
    this.#next();
  };

  /**
   * Gives the next turn, and queues itself behind that turn's microtasks: the next request starts
   * once the one before it reached its first real wait, and only while the slice lasts.
   */
  readonly #next = (): void => {
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
      return;
    }
    if (this.now() >= this.#sliceEnd) {
      this.#schedule();
      return;
    }
    const resolve = this.#waiting[this.#head]!;
    this.#waiting[this.#head++] = noop;
    resolve();
    queueMicrotask(this.#next);
  };
}

function noop(): void {}
