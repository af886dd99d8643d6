/**
 * Ollama's NDJSON chat stream → OpenAI chunks. Each line carries the next `message.content` piece
 * (and `thinking` → `reasoning_content`, whole `tool_calls` with object arguments → one tool-call
 * chunk each); the final line has `done: true`, the `done_reason` and the counts (durations in ns).
 * An `{"error":…}` line — which Ollama sends mid-stream on a 200 — fails the stream; an end
 * without the `done` line was cut.
 */
import type { ChunkSink, StreamTranslator } from '../adapter.js';
import { ChunkWriter } from '../chunk-writer.js';
import { isObject, parseStreamData } from '../json.js';
import type { SseEvent } from '../sse.js';
import { upstreamHttpError } from '../../upstream/http-error.js';
import { finishReason, openAIToolCalls, openAIUsage } from './response.js';

export class OllamaStreamTranslator implements StreamTranslator {
  readonly #out: ChunkWriter;
  #tools = 0;

  constructor(
    private readonly backendId: string,
    model: string,
    private readonly id: string,
    created: number,
    includeUsage: boolean,
  ) {
    this.#out = new ChunkWriter(id, model, created, includeUsage);
  }

  frame(event: SseEvent, emit: ChunkSink): boolean {
    const value = parseStreamData(event.data, this.backendId, 'line');
    if (!isObject(value)) return false;
    if (value.error !== undefined) {
      // A mid-stream failure on a 200 (e.g. the model runner died): a server error.
      throw upstreamHttpError(500, {}, JSON.stringify({ error: value.error }), this.backendId);
    }
    if (typeof value.model === 'string') this.#out.model = value.model;
    const message = isObject(value.message) ? value.message : {};
    if (typeof message.thinking === 'string' && message.thinking !== '') this.#out.delta(emit, { reasoning_content: message.thinking });
    if (typeof message.content === 'string' && message.content !== '') this.#out.delta(emit, { content: message.content });
    const calls = openAIToolCalls(message.tool_calls, this.id, this.#tools);
    for (const call of calls) this.#out.delta(emit, { tool_calls: [call] });
    this.#tools += calls.length;
    if (value.done !== true) return false;
    this.#out.finish(emit, finishReason(value.done_reason, this.#tools > 0));
    this.#out.usage(emit, openAIUsage(value));
    return true;
  }

  end(): boolean {
    return false; // only the done line completes a stream
  }
}
