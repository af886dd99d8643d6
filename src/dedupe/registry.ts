import type { CompletedAnswer } from '../cache/answer.js';
import { Flight } from './flight.js';

/** Most finished answers kept for the dedupe window (the oldest go first). */
const MAX_RECENT = 10_000;

/** What `recent` gives for an answer the response cache holds: read it from there. */
export const IN_CACHE = Symbol('in the response cache');

/**
 * Identical requests, by key: those in flight (a Flight each) and those that finished
 * within the dedupe window (their answer). Errors are never kept: the next identical
 * request tries again. An answer the response cache keeps for at least the window is not
 * kept twice: the window remembers only that it finished (`IN_CACHE`), so under load
 * thousands of answers are not held in memory for seconds (old-generation garbage for the GC).
 */
export class DedupeRegistry {
  readonly #inFlight = new Map<string, Flight>();
  readonly #recent = new Map<string, { answer: CompletedAnswer | typeof IN_CACHE; expiresAt: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The flight of `key` to join, if one is in the air. */
  flight(key: string): Flight | undefined {
    return this.#inFlight.get(key);
  }

  /**
   * Starts a flight for `key`; it leaves the registry when it settles. `cachedForMs`: how long the
   * response cache will keep its answer (the TTL when this request writes the cache, else 0).
   */
  start(key: string, cachedForMs = 0): Flight {
    const flight = new Flight(key);
    this.#inFlight.set(key, flight);
    flight.onSettled((answer) => {
      if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
      if (answer && this.windowMs > 0 && answer.status < 400) this.#remember(key, cachedForMs >= this.windowMs ? IN_CACHE : answer);
    });
    return flight;
  }

  /** An answer to `key` that finished within the window, or `IN_CACHE` when the response cache has it. */
  recent(key: string): CompletedAnswer | typeof IN_CACHE | undefined {
    const entry = this.#recent.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#recent.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  #remember(key: string, answer: CompletedAnswer | typeof IN_CACHE): void {
    const now = this.now();
    this.#recent.delete(key); // re-insert at the end: insertion order = expiry order
    this.#recent.set(key, { answer, expiresAt: now + this.windowMs });
    // Drop what has expired (the oldest first) and keep the map bounded.
    for (const [k, entry] of this.#recent) {
      if (entry.expiresAt > now && this.#recent.size <= MAX_RECENT) break;
      this.#recent.delete(k);
    }
  }
}
