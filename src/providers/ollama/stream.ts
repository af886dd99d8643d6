/**
 * Ollama's NDJSON chat stream → OpenAI chunks. Each line carries the next `message.content` piece
 * (and `thinking` → `reasoning_content`, whole `tool_calls` with object arguments → one tool-call
 * chunk each); the final line has `done: true`, the `done_reason` and the counts (durations in ns).
 * An `{"error":…}` line — which Ollama sends mid-stream on a 200 — fails the stream; an end
 * without the `done` line was cut.
 */
import { OptimizerError } from '../../errors/registry.js';
import type { ChunkSink, Json, StreamTranslator } from '../adapter.js';
import { isObject, parseStreamData } from '../json.js';
import type { SseEvent } from '../sse.js';
import { upstreamHttpError } from '../../upstream/http-error.js';
import { finishReason, openAIToolCalls, openAIUsage } from './response.js';

export class OllamaStreamTranslator implements StreamTranslator {
  #roleSent = false;
  #tools = 0;
  #model: string;

  constructor(
    private readonly backendId: string,
    model: string,
    private readonly id: string,
    private readonly created: number,
    private readonly includeUsage: boolean,
  ) {
    this.#model = model;
  }

  frame(event: SseEvent, emit: ChunkSink): boolean {
    const value = parseStreamData(event.data, this.backendId, 'line');
    if (!isObject(value)) return false;
    if (value.error !== undefined) {
      // A mid-stream failure on a 200 (e.g. the model runner died): a server error.
      throw upstreamHttpError(500, {}, JSON.stringify({ error: value.error }), this.backendId);
    }
    if (typeof value.model === 'string') this.#model = value.model;
    const message = isObject(value.message) ? value.message : {};
    if (typeof message.thinking === 'string' && message.thinking !== '') this.#delta(emit, { reasoning_content: message.thinking });
    if (typeof message.content === 'string' && message.content !== '') this.#delta(emit, { content: message.content });
    const calls = openAIToolCalls(message.tool_calls, this.id, this.#tools);
    for (const call of calls) this.#delta(emit, { tool_calls: [call] });
    this.#tools += calls.length;
    if (value.done !== true) return false;
    this.#chunk(emit, [{ index: 0, delta: this.#roleSent ? {} : this.#role({}), logprobs: null, finish_reason: finishReason(value.done_reason, this.#tools > 0) }]);
    if (this.includeUsage) this.#chunk(emit, [], openAIUsage(value));
    return true;
  }

  end(): boolean {
    return false; // only the done line completes a stream
  }

  #role(delta: Json): Json {
    this.#roleSent = true;
    return { role: 'assistant', ...delta };
  }

  #delta(emit: ChunkSink, delta: Json): void {
    this.#chunk(emit, [{ index: 0, delta: this.#roleSent ? delta : this.#role(delta), logprobs: null, finish_reason: null }]);
  }

  #chunk(emit: ChunkSink, choices: Json[], usage?: Json): void {
    const chunk: Json = { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.#model, choices };
    if (this.includeUsage) chunk.usage = usage ?? null;
    emit(JSON.stringify(chunk), chunk);
  }
}
