/**
 * Cancellation on the request path without AbortController: a request's signal (the client
 * cancelled or went away), its deadline, a dedupe flight's. Node's AbortController/AbortSignal
 * are EventTargets whose creation, listeners and removal were ≈ 6% of the pass-through's CPU
 * (two per upstream call: the request's and its deadline's); this is an array of listeners.
 *
 * `Cancellation` is what the request path reads of a signal. A real AbortSignal has all of it
 * (a caller may pass one), and so does CancelSignal. undici takes either: it only needs
 * `aborted`, `reason` and add/removeEventListener('abort', …).
 */

/** A listener as EventTarget takes it: a function, or an object with `handleEvent`. */
export type CancelListener = (() => void) | { handleEvent(): void };

export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: CancelListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: CancelListener): void;
}

export class CancelSignal implements Cancellation {
  #aborted = false;
  #reason: unknown;
  #listeners: CancelListener[] | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** Listeners run once, at the abort (every listener is `once`: a signal aborts only once). */
  addEventListener(_type: 'abort', listener: CancelListener): void {
    if (this.#aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: CancelListener): void {
    const listeners = this.#listeners;
    if (listeners === undefined) return;
    const at = listeners.lastIndexOf(listener);
    if (at !== -1) listeners.splice(at, 1);
  }

  /** Aborts with `reason` (default: an AbortError, as AbortController's); later calls do nothing. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        if (typeof listener === 'function') listener();
        else listener.handleEvent();
      } catch (error) {
        // As EventTarget does: the others still run, the error is reported (uncaught) afterwards.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
