import type { ChunkSink, Json } from './adapter.js';

/**
 * Writes OpenAI `chat.completion.chunk`s for a native stream translator: the first delta of each
 * choice carries `role: "assistant"`, every chunk carries `usage: null` when the client asked for
 * `include_usage` (and the last one the usage itself), and each chunk reaches the sink both as
 * its JSON text and as the object.
 */
export class ChunkWriter {
  /** The completion id (a translator sets it once the provider names one). */
  id: string;
  /** The model as the provider reports it. */
  model: string;
  readonly #roleSent = new Set<number>();

  constructor(
    id: string,
    model: string,
    /** Seconds since the epoch. */
    private readonly created: number,
    private readonly includeUsage: boolean,
  ) {
    this.id = id;
    this.model = model;
  }

  /** A piece of choice `index`'s message. */
  delta(emit: ChunkSink, delta: Json, index = 0): void {
    this.chunk(emit, [{ index, delta: this.#withRole(index, delta), logprobs: null, finish_reason: null }]);
  }

  /** Choice `index` ends with `reason` (and `delta`, when it has a last piece). */
  finish(emit: ChunkSink, reason: string, index = 0, delta: Json = {}): void {
    this.chunk(emit, [{ index, delta: this.#withRole(index, delta), logprobs: null, finish_reason: reason }]);
  }

  /** The usage chunk (`choices: []`), when the client asked for it. */
  usage(emit: ChunkSink, usage: Json): void {
    if (this.includeUsage) this.chunk(emit, [], usage);
  }

  chunk(emit: ChunkSink, choices: Json[], usage?: Json): void {
    const chunk: Json = { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices };
    if (this.includeUsage) chunk.usage = usage ?? null;
    emit(JSON.stringify(chunk), chunk);
  }

  #withRole(index: number, delta: Json): Json {
    if (this.#roleSent.has(index)) return delta;
    this.#roleSent.add(index);
    return { role: 'assistant', ...delta };
  }
}
