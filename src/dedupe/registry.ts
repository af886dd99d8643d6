import type { CompletedAnswer } from '../cache/answer.js';
import { Flight } from './flight.js';

/** Most finished answers kept for the dedupe window (the oldest go first). */
const MAX_RECENT = 10_000;

/**
 * Identical requests, by key: those in flight (a Flight each) and those that finished
 * within the dedupe window (their answer). Errors are never kept: the next identical
 * request tries again.
 */
export class DedupeRegistry {
  readonly #inFlight = new Map<string, Flight>();
  readonly #recent = new Map<string, { answer: CompletedAnswer; expiresAt: number }>();

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

  /** Starts a flight for `key`; it leaves the registry when it settles. */
  start(key: string): Flight {
    const flight = new Flight(key);
    this.#inFlight.set(key, flight);
    flight.onSettled((answer) => {
      if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
      if (answer && this.windowMs > 0 && answer.status < 400) this.#remember(key, answer);
    });
    return flight;
  }

  /** An answer to `key` that finished within the window. */
  recent(key: string): CompletedAnswer | undefined {
    const entry = this.#recent.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#recent.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  #remember(key: string, answer: CompletedAnswer): void {
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
