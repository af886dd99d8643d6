import { topicMatches, type EventBus, type OptimizerEvent } from './event-bus.js';

/**
 * Where an {@link EventStream} delivers: an SSE response or a WebSocket. `send` writes a
 * batch and returns false when the transport's own buffer is full (`res.write` returned
 * false, `ws.bufferedAmount` over its mark); the stream then sends nothing more until the
 * transport calls {@link EventStream.resume}.
 */
export interface EventSink {
  send(events: readonly OptimizerEvent[]): boolean;
}

export interface EventStreamOptions {
  /** Events that may wait for the transport; past it the oldest is dropped and counted. */
  bufferSize: number;
  /** What the transport is (for /admin/events/subscribers). */
  transport: 'sse' | 'ws';
  /** The clock of the `events.dropped` notices (defaults to the bus's events' clock: Date.now). */
  now?: () => number;
  /** Defers a flush out of the publisher's call stack (tests may flush synchronously). */
  schedule?: (flush: () => void) => void;
  /**
   * Whether this subscriber may see an event (an agent's WebSocket session: src/telemetry/event-scope.ts).
   * Asked before the event enters the buffer, so what it refuses never takes a slot, pushes out an
   * event the subscriber may see, or counts as dropped. Absent: every event of the topics.
   */
  accept?: (event: OptimizerEvent) => boolean;
  /** Who the subscriber sees events for, for /admin/events/subscribers: `all` (default) or `agent:<id>`. */
  scope?: () => string;
}

/** What one subscriber's stream looks like from outside. */
export interface EventStreamStats {
  id: number;
  transport: 'sse' | 'ws';
  /** `all` (admin) or `agent:<id>` (an agent's WebSocket session: only what src/telemetry/event-scope.ts grants it). */
  scope: string;
  topics: string[];
  /** Events waiting for the transport now (never above `bufferSize`). */
  queued: number;
  bufferSize: number;
  delivered: number;
  /** Events dropped because this subscriber read too slowly, since it subscribed. */
  dropped: number;
  /** Whether the transport said its buffer is full. */
  paused: boolean;
}

let nextId = 1;

/**
 * One subscriber of the event bus with a bounded buffer between the bus and its socket,
 * so that a slow reader never slows the request path: the bus listener only appends to a
 * ring buffer (dropping the oldest event when it is full) and asks for a flush; the flush
 * runs later (`setImmediate`), serialises a batch and writes it while the transport
 * accepts more. When events were dropped, the next batch starts with an
 * `events.dropped` notice saying how many were lost since the last notice and in all.
 */
export class EventStream {
  readonly id = nextId++;
  readonly #ring: (OptimizerEvent | undefined)[];
  #head = 0;
  #size = 0;
  #dropped = 0;
  #droppedNotified = 0;
  #delivered = 0;
  #paused = false;
  #scheduled = false;
  #closed = false;
  readonly #topics = new Set<string>();
  /** topic → its bus unsubscribe. */
  readonly #stops = new Map<string, () => void>();
  readonly #now: () => number;
  readonly #schedule: (flush: () => void) => void;
  readonly #accept: ((event: OptimizerEvent) => boolean) | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly sink: EventSink,
    private readonly options: EventStreamOptions,
  ) {
    if (!Number.isInteger(options.bufferSize) || options.bufferSize < 1) throw new RangeError(`bufferSize must be a positive integer (got ${options.bufferSize})`);
    this.#ring = new Array<OptimizerEvent | undefined>(options.bufferSize);
    this.#now = options.now ?? Date.now;
    this.#schedule = options.schedule ?? ((flush) => setImmediate(flush));
    this.#accept = options.accept;
  }

  /** Adds topic patterns (`*`, `breaker.*`, `dlq.enqueued`); returns every topic now subscribed. */
  subscribe(topics: readonly string[]): string[] {
    for (const topic of topics) {
      if (this.#closed || this.#topics.has(topic)) continue;
      this.#topics.add(topic);
      // Overlapping patterns (`*` and `breaker.*`) must not deliver an event twice: only the
      // first subscribed pattern that matches it delivers.
      this.#stops.set(
        topic,
        this.bus.subscribe(topic, (event) => {
          for (const t of this.#topics) if (topicMatches(t, event.type)) return t === topic ? this.#onEvent(event) : undefined;
        }),
      );
    }
    return [...this.#topics];
  }

  /** Removes topic patterns; returns what is left. */
  unsubscribe(topics: readonly string[]): string[] {
    for (const topic of topics) {
      this.#stops.get(topic)?.();
      this.#stops.delete(topic);
      this.#topics.delete(topic);
    }
    return [...this.#topics];
  }

  /** Events dropped so far because the subscriber read too slowly. */
  get dropped(): number {
    return this.#dropped;
  }

  get topics(): string[] {
    return [...this.#topics];
  }

  stats(): EventStreamStats {
    return {
      id: this.id,
      transport: this.options.transport,
      scope: this.options.scope?.() ?? 'all',
      topics: this.topics,
      queued: this.#size,
      bufferSize: this.options.bufferSize,
      delivered: this.#delivered,
      dropped: this.#dropped,
      paused: this.#paused,
    };
  }

  /** The transport has room again (its 'drain'): send what waits. */
  resume(): void {
    this.#paused = false;
    this.#requestFlush();
  }

  /** Unsubscribes from everything and forgets what waits (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of this.#stops.values()) stop();
    this.#stops.clear();
    this.#topics.clear();
    this.#ring.fill(undefined);
    this.#size = 0;
  }

  /** The bus listener: O(1), no serialisation, no I/O. */
  readonly #onEvent = (event: OptimizerEvent): void => {
    if (this.#closed) return;
    // Before the buffer: an event this subscriber may not see must not displace one it may.
    if (this.#accept !== undefined && !this.#accept(event)) return;
    const capacity = this.#ring.length;
    if (this.#size === capacity) {
      // Drop the oldest: the newest events say the most about now.
      this.#head = (this.#head + 1) % capacity;
      this.#size--;
      this.#dropped++;
    }
    this.#ring[(this.#head + this.#size) % capacity] = event;
    this.#size++;
    this.#requestFlush();
  };

  #requestFlush(): void {
    if (this.#scheduled || this.#paused || this.#closed || (this.#size === 0 && this.#dropped === this.#droppedNotified)) return;
    this.#scheduled = true;
    this.#schedule(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#paused || this.#closed) return;
    const batch: OptimizerEvent[] = [];
    if (this.#dropped > this.#droppedNotified) {
      batch.push({ type: 'events.dropped', at: this.#now(), dropped: this.#dropped - this.#droppedNotified, total: this.#dropped });
      this.#droppedNotified = this.#dropped;
    }
    const capacity = this.#ring.length;
    while (this.#size > 0) {
      batch.push(this.#ring[this.#head]!);
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % capacity;
      this.#size--;
    }
    if (batch.length === 0) return;
    this.#delivered += batch.length;
    if (!this.sink.send(batch)) this.#paused = true;
  };
}

/** Parses `topics=breaker.*,dlq.*` (comma separated; empty or absent = everything). */
export function parseTopics(text: string | null | undefined): string[] {
  if (text === null || text === undefined || text.trim() === '') return ['*'];
  const topics = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  for (const topic of topics) {
    if (topic.length > 128 || !/^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/.test(topic)) {
      throw new RangeError(`'${topic}' is not a topic pattern: use '*', a domain such as 'breaker.*', or an event type such as 'dlq.enqueued'.`);
    }
  }
  return topics;
}
