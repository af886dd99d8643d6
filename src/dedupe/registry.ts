import { StoredAnswer, type CompletedAnswer } from '../cache/answer.js';
import { Flight } from './flight.js';

/** Most finished answers kept for the dedupe window (the oldest go first). */
const MAX_RECENT = 10_000;

/**
 * A finished answer kept for the window: one object (the answer a duplicate gets, with its expiry),
 * its body copied to its own size. The body as relayed can be a view into the socket read it
 * arrived in (headers included); under load the window holds thousands of answers for seconds,
 * all of them old-generation garbage.
 * bench:ab (cache off, dedupe on, c=50; the window full at its 10,000 answers): peak RSS 164 → 148 and
 * 170 → 155 MiB in two runs against keeping the answers as they came, CPU per request within noise
 * (1.04×, 0.97×).
 */
class Recent extends StoredAnswer {
  constructor(
    readonly key: string,
    answer: CompletedAnswer,
    readonly expiresAt: number,
  ) {
    super(answer.status, Buffer.from(answer.body), answer.chunks, answer.backend, answer.model, answer.tokens);
  }
}

/** A flight in the registry; `flight` is cleared when it settles. */
interface InFlight {
  flight: Flight | undefined;
}

/**
 * Identical requests, by key: those in flight (a Flight each) and those that finished
 * within the dedupe window (their answer). Errors are never kept: the next identical
 * request tries again. An answer the response cache keeps for at least the window is not
 * kept here at all: the cache entry's `createdAt` says when it finished, so the gateway finds
 * it there (`Gateway`), and under load thousands of answers and keys are not held in memory for
 * seconds (old-generation garbage for the GC).
 */
export class DedupeRegistry {
  /**
   * Flights in the air, each behind a holder that lets go of it when it settles. The Map lives in
   * the old generation: when it grows or compacts, V8 allocates its next table there too and leaves
   * the previous one, holding whatever was in it then, for the next full GC, and until then every
   * scavenge keeps those values alive and promotes them. A holder leaves only itself there.
   */
  readonly #inFlight = new Map<string, InFlight>();
  readonly #recent = new Map<string, Recent>();
  /**
   * The kept answers in the order they expire, oldest at `#head` (an answer kept again, or dropped
   * early, leaves a stale record here that is skipped). Not the Map's own order: a Map iterated from
   * its start walks over every entry deleted from there since it was last rehashed, about 5 µs per
   * answer kept at 10,000 (measured), where this queue takes a fraction of a µs.
   */
  #order: (Recent | undefined)[] = [];
  #head = 0;

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
    return this.#inFlight.get(key)?.flight;
  }

  /**
   * Starts a flight for `key`; it leaves the registry when it settles. `cachedForMs`: how long the
   * response cache will keep its answer (the TTL when this request writes the cache, else 0); from
   * the window's full length on, the registry does not keep it too.
   */
  start(key: string, cachedForMs = 0): Flight {
    const flight = new Flight(key);
    const held: InFlight = { flight };
    this.#inFlight.set(key, held);
    flight.onSettled((answer) => {
      held.flight = undefined;
      if (this.#inFlight.get(key) === held) this.#inFlight.delete(key);
      if (answer && this.windowMs > 0 && answer.status < 400 && cachedForMs < this.windowMs) this.#remember(key, answer);
    });
    return flight;
  }

  /** An answer to `key` that finished within the window (and that the response cache does not keep). */
  recent(key: string): CompletedAnswer | undefined {
    const entry = this.#recent.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#recent.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Answers kept now. */
  get kept(): number {
    return this.#recent.size;
  }

  #remember(key: string, answer: CompletedAnswer): void {
    const now = this.now();
    const entry = new Recent(key, answer, now + this.windowMs);
    this.#recent.set(key, entry);
    this.#order.push(entry);
    // Drop what has expired (the oldest first) and keep the map bounded.
    while (this.#head < this.#order.length) {
      const oldest = this.#order[this.#head]!;
      const current = this.#recent.get(oldest.key) === oldest;
      if (current && oldest.expiresAt > now && this.#recent.size <= MAX_RECENT) break;
      if (current) this.#recent.delete(oldest.key);
      this.#order[this.#head++] = undefined;
    }
    if (this.#head >= 1024 && this.#head * 2 >= this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }
}
