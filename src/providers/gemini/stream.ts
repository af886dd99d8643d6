/**
 * Gemini's `streamGenerateContent?alt=sse` → OpenAI chunks. Each `data:` event is a whole
 * `GenerateContentResponse` holding the next pieces of text (thought parts → `reasoning_content`),
 * whole `functionCall`s (sent as one tool-call chunk each, arguments complete), the
 * `finishReason` on the last one and a running `usageMetadata`. The stream just ends — no
 * `[DONE]` — so a stream is complete when a finish reason was seen; without one it was cut.
 * An error (an `error` object, or an array holding one) fails the stream.
 */
import type { ChunkSink, StreamTranslator } from '../adapter.js';
import { ChunkWriter } from '../chunk-writer.js';
import { isObject, parseStreamData } from '../json.js';
import type { SseEvent } from '../sse.js';
import { geminiErrorObject, geminiStreamError } from './errors.js';
import { candidateParts, finishReason, openAIToolCall, openAIUsage, responseIdOf } from './response.js';

export class GeminiStreamTranslator implements StreamTranslator {
  /** Its id is set from the first response (`responseId`, else made up). */
  readonly #out: ChunkWriter;
  #idSet = false;
  #usage: unknown;
  readonly #toolCount = new Map<number, number>();
  #finished = false;

  constructor(
    private readonly backendId: string,
    model: string,
    private readonly now: number,
    includeUsage: boolean,
  ) {
    this.#out = new ChunkWriter('', model, Math.floor(now / 1000), includeUsage);
  }

  frame(event: SseEvent, emit: ChunkSink): boolean {
    const value = parseStreamData(event.data, this.backendId);
    const error = geminiErrorObject(value);
    if (error) throw geminiStreamError(error, this.backendId);
    const response = Array.isArray(value) ? value[0] : value;
    if (!isObject(response)) return false;
    if (!this.#idSet) {
      this.#out.id = responseIdOf(response, this.now);
      this.#idSet = true;
    }
    if (typeof response.modelVersion === 'string') this.#out.model = response.modelVersion;
    if (response.usageMetadata !== undefined) this.#usage = response.usageMetadata;
    const candidates = Array.isArray(response.candidates) ? response.candidates.filter(isObject) : [];
    candidates.forEach((candidate, i) => {
      const index = typeof candidate.index === 'number' ? candidate.index : i;
      const { text, reasoning, calls } = candidateParts(candidate);
      if (reasoning !== '') this.#out.delta(emit, { reasoning_content: reasoning }, index);
      if (text !== '') this.#out.delta(emit, { content: text }, index);
      let count = this.#toolCount.get(index) ?? 0;
      for (const call of calls) {
        this.#out.delta(emit, { tool_calls: [{ index: count, ...openAIToolCall(call, this.#out.id, count) }] }, index);
        count++;
      }
      this.#toolCount.set(index, count);
      if (typeof candidate.finishReason === 'string' && candidate.finishReason !== 'FINISH_REASON_UNSPECIFIED') {
        this.#finished = true;
        this.#out.finish(emit, finishReason(candidate.finishReason, count > 0), index);
      }
    });
    if (candidates.length === 0 && isObject(response.promptFeedback) && response.promptFeedback.blockReason !== undefined) {
      this.#finished = true;
      this.#out.finish(emit, 'content_filter', 0, { content: '' });
    }
    return false;
  }

  end(emit: ChunkSink): boolean {
    if (!this.#finished) return false;
    this.#out.usage(emit, openAIUsage(this.#usage));
    return true;
  }
}
