import type { EventStream, EventStreamStats } from './event-stream.js';

/** The live event subscribers of one front door (SSE and WebSocket), for `GET /admin/events/subscribers`. */
export class EventStreams {
  readonly #streams = new Set<EventStream>();

  add(stream: EventStream): void {
    this.#streams.add(stream);
  }

  delete(stream: EventStream): void {
    this.#streams.delete(stream);
  }

  get size(): number {
    return this.#streams.size;
  }

  stats(): EventStreamStats[] {
    return [...this.#streams].map((s) => s.stats());
  }

  /** Closes every stream (the front door is closing). */
  closeAll(): void {
    for (const stream of this.#streams) stream.close();
    this.#streams.clear();
  }
}
