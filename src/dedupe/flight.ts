import { CancelSignal } from '../gateway/cancel-signal.js';
import { OptimizerError } from '../errors/registry.js';
import { StoredAnswer, type CompletedAnswer } from '../cache/answer.js';
import { replayAnswer } from '../cache/replay.js';
import { assembleCompletion, isUsageChunk } from '../cache/stream-assembly.js';
import type { JsonAnswer, Responder, ResponseMeta } from '../gateway/types.js';
import { reportedTokens } from '../gateway/usage.js';

/** One client waiting on a flight. */
export interface Subscriber {
  responder: Responder;
  requestId: string;
  role: 'leader' | 'joined';
  /** Whether this client asked for a stream (its form may differ from the leader's). */
  stream: boolean;
  includeUsage: boolean;
  /** Called once when this client's answer is complete (or failed). */
  onSettled?: () => void;
}

/**
 * One upstream call and everyone waiting on it. The flight is the Responder the request
 * path writes into; it fans the answer out to its subscribers — the leader and every
 * identical request that joined — each in the form it asked for. A client that joins a
 * stream midway first gets what was already sent. A client that leaves stops getting
 * frames; the upstream call is aborted only when nobody is left.
 */
export class Flight implements Responder {
  readonly key: string;
  /** Aborts the upstream call: only when every subscriber has gone. */
  readonly cancel = new CancelSignal();
  readonly #subscribers = new Set<Subscriber>();
  #meta: ResponseMeta | undefined;
  #streaming = false;
  #chunks: { data: string; value: unknown }[] = [];
  #answer: CompletedAnswer | undefined;
  #failed: OptimizerError | undefined;
  #settledListeners: ((answer: CompletedAnswer | undefined, error: OptimizerError | undefined) => void)[] = [];

  constructor(key: string) {
    this.key = key;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** The error the flight ended with, if it failed. */
  get failure(): OptimizerError | undefined {
    return this.#failed;
  }

  /** The finished answer, once the flight completed cleanly. */
  get answer(): CompletedAnswer | undefined {
    return this.#answer;
  }

  get closed(): boolean {
    for (const s of this.#subscribers) if (!s.responder.closed) return false;
    return true;
  }

  /** Adds a client. Returns a function that removes it (its client went away). */
  subscribe(subscriber: Subscriber): () => void {
    this.#subscribers.add(subscriber);
    if (this.#streaming && subscriber.stream && this.#meta) {
      // Catch up with what the others already got.
      subscriber.responder.streamStart(this.#metaFor(subscriber));
      for (const chunk of this.#chunks) {
        if (!subscriber.includeUsage && isUsageChunk(chunk.value)) continue;
        subscriber.responder.streamChunk(chunk.data, chunk.value);
      }
    }
    return () => this.#leave(subscriber);
  }

  /** Told once the flight is over: its answer when it completed cleanly, else its error. */
  onSettled(listener: (answer: CompletedAnswer | undefined, error: OptimizerError | undefined) => void): void {
    this.#settledListeners.push(listener);
  }

  // ── Responder: what the request path writes ────────────────────────────────

  json(status: number, answer: JsonAnswer, meta: ResponseMeta): void {
    this.#meta = meta;
    // The answer is kept (dedupe window, cache write) as its bytes and token counts, not as the
    // parsed tree: thousands of retained trees under load were old-generation garbage for the GC.
    // A reader that needs the value (a msgpack WebSocket frame, a synthesised stream) parses it again.
    this.#complete(new StoredAnswer(status, answer.body, undefined, meta.backend, meta.model, status < 400 ? reportedTokens(answer.value) : undefined));
  }

  streamStart(meta: ResponseMeta): void {
    this.#meta = meta;
    this.#streaming = true;
    for (const s of this.#subscribers) if (s.stream) s.responder.streamStart(this.#metaFor(s));
  }

  streamChunk(data: string, value: unknown): boolean {
    this.#chunks.push({ data, value });
    let room = true;
    const usage = isUsageChunk(value);
    for (const s of this.#subscribers) {
      if (!s.stream || s.responder.closed || (usage && !s.includeUsage)) continue;
      if (!s.responder.streamChunk(data, value)) room = false;
    }
    return room;
  }

  async waitDrain(): Promise<void> {
    await Promise.all([...this.#subscribers].filter((s) => s.stream && !s.responder.closed).map((s) => s.responder.waitDrain()));
  }

  streamEnd(): void {
    const meta = this.#meta!;
    const value = assembleCompletion(this.#chunks.map((c) => c.value));
    this.#complete({
      status: 200,
      body: Buffer.from(JSON.stringify(value)),
      value,
      chunks: this.#chunks.map((c) => c.data),
      backend: meta.backend,
      model: meta.model,
    });
  }

  error(error: OptimizerError): void {
    if (this.#answer || this.#failed) return;
    this.#failed = error;
    for (const s of this.#subscribers) {
      if (!s.responder.closed) s.responder.error(error);
      s.onSettled?.();
    }
    this.#subscribers.clear();
    this.#settle(undefined, error);
  }

  // ── internals ──────────────────────────────────────────────────────────────

  #complete(answer: CompletedAnswer): void {
    this.#answer = answer;
    for (const s of this.#subscribers) {
      if (!s.responder.closed) {
        if (this.#streaming && s.stream) s.responder.streamEnd();
        else replayAnswer(answer, s.responder, this.#metaFor(s), s.stream, s.includeUsage);
      }
      s.onSettled?.();
    }
    this.#subscribers.clear();
    this.#settle(answer, undefined);
  }

  /**
   * Tells the settled listeners, after letting go of them and of the chunks: a settled flight may
   * stay reachable a while from where it was registered. The registry's Map lives in the old
   * generation, and when it grows or compacts, V8 allocates its next table there too and leaves the
   * previous one, with every flight that was in it, for the next full GC; until then each scavenge
   * keeps what those flights reference alive. The listeners' closures hold their request's whole
   * context (its request, response, socket), so that was promoted with them, about 3.5 KB a request
   * (`--trace-gc-nvp`, cache+dedupe+limits at c=50: 4.6 KB promoted a request, against 0.7 KB with
   * dedupe off); without them, 1.3 KB, and 0.73 KB with the registry's holder (registry.ts).
   */
  #settle(answer: CompletedAnswer | undefined, error: OptimizerError | undefined): void {
    const listeners = this.#settledListeners;
    this.#settledListeners = [];
    this.#chunks = [];
    for (const listener of listeners) listener(answer, error);
  }

  #metaFor(s: Subscriber): ResponseMeta {
    // Every field by name, not `{ ...meta }`: the spread of an object built on several paths can take
    // V8's slow path (see telemetry/event-bus.ts). `Required`: a field added to ResponseMeta fails the
    // type check here until it is copied too.
    const meta = this.#meta!;
    const out: Required<ResponseMeta> = { requestId: s.requestId, backend: meta.backend, model: meta.model, routeReason: meta.routeReason, cache: meta.cache, dedupe: s.role };
    return out;
  }

  #leave(subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber)) return;
    subscriber.onSettled?.();
    if (this.#subscribers.size === 0 && !this.#answer && !this.#failed) {
      this.cancel.abort(new OptimizerError('CANCELLED', 'Every client of this request went away.'));
    }
  }
}
