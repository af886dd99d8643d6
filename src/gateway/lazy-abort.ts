/**
 * A request's cancellation, with its AbortSignal made only when something waits on it (an
 * upstream call, a rate-limit queue, a dedupe flight). A cache hit, answered before any of
 * those, never makes one: an AbortController per request was ≈ 3% of the cache-hit path's CPU.
 * Aborting before the signal exists is remembered, so a signal made later is already aborted.
 */
export class LazyAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  /** The request's signal (made on first read). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Whether the request was cancelled (without making a signal). */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Cancels the request (once; later calls do nothing). */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
