/**
 * Gemini's `streamGenerateContent?alt=sse` → OpenAI chunks. Each `data:` event is a whole
 * `GenerateContentResponse` holding the next pieces of text (thought parts → `reasoning_content`),
 * whole `functionCall`s (sent as one tool-call chunk each, arguments complete), the
 * `finishReason` on the last one and a running `usageMetadata`. The stream just ends — no
 * `[DONE]` — so a stream is complete when a finish reason was seen; without one it was cut.
 * An error (an `error` object, or an array holding one) fails the stream.
 */
import { OptimizerError } from '../../errors/registry.js';
import type { ChunkSink, Json, StreamTranslator } from '../adapter.js';
import { isObject, parseStreamData } from '../json.js';
import type { SseEvent } from '../sse.js';
import { geminiErrorObject, geminiStreamError } from './errors.js';
import { candidateParts, finishReason, openAIToolCall, openAIUsage, responseIdOf } from './response.js';

export class GeminiStreamTranslator implements StreamTranslator {
  #id: string | undefined;
  #model: string;
  #usage: unknown;
  readonly #roleSent = new Set<number>();
  readonly #toolCount = new Map<number, number>();
  #finished = false;

  constructor(
    private readonly backendId: string,
    model: string,
    private readonly now: number,
    private readonly includeUsage: boolean,
  ) {
    this.#model = model;
  }

  frame(event: SseEvent, emit: ChunkSink): boolean {
    const value = parseStreamData(event.data, this.backendId);
    const error = geminiErrorObject(value);
    if (error) throw geminiStreamError(error, this.backendId);
    const response = Array.isArray(value) ? value[0] : value;
    if (!isObject(response)) return false;
    this.#id ??= responseIdOf(response, this.now);
    if (typeof response.modelVersion === 'string') this.#model = response.modelVersion;
    if (response.usageMetadata !== undefined) this.#usage = response.usageMetadata;
    const candidates = Array.isArray(response.candidates) ? response.candidates.filter(isObject) : [];
    candidates.forEach((candidate, i) => {
      const index = typeof candidate.index === 'number' ? candidate.index : i;
      const { text, reasoning, calls } = candidateParts(candidate);
      if (reasoning !== '') this.#delta(emit, index, { reasoning_content: reasoning });
      if (text !== '') this.#delta(emit, index, { content: text });
      let count = this.#toolCount.get(index) ?? 0;
      for (const call of calls) {
        this.#delta(emit, index, {
          tool_calls: [{ index: count, ...openAIToolCall(call, this.#id!, count) }],
        });
        count++;
      }
      this.#toolCount.set(index, count);
      if (typeof candidate.finishReason === 'string' && candidate.finishReason !== 'FINISH_REASON_UNSPECIFIED') {
        this.#finished = true;
        const delta = this.#roleSent.has(index) ? {} : this.#role(index, {});
        this.#chunk(emit, [{ index, delta, logprobs: null, finish_reason: finishReason(candidate.finishReason, count > 0) }]);
      }
    });
    if (candidates.length === 0 && isObject(response.promptFeedback) && response.promptFeedback.blockReason !== undefined) {
      this.#finished = true;
      this.#chunk(emit, [{ index: 0, delta: this.#role(0, { content: '' }), logprobs: null, finish_reason: 'content_filter' }]);
    }
    return false;
  }

  end(emit: ChunkSink): boolean {
    if (!this.#finished) return false;
    if (this.includeUsage) this.#chunk(emit, [], openAIUsage(this.#usage));
    return true;
  }

  #role(index: number, delta: Json): Json {
    this.#roleSent.add(index);
    return { role: 'assistant', ...delta };
  }

  #delta(emit: ChunkSink, index: number, delta: Json): void {
    this.#chunk(emit, [{ index, delta: this.#roleSent.has(index) ? delta : this.#role(index, delta), logprobs: null, finish_reason: null }]);
  }

  #chunk(emit: ChunkSink, choices: Json[], usage?: Json): void {
    const chunk: Json = { id: this.#id ?? '', object: 'chat.completion.chunk', created: Math.floor(this.now / 1000), model: this.#model, choices };
    if (this.includeUsage) chunk.usage = usage ?? null;
    emit(JSON.stringify(chunk), chunk);
  }
}
