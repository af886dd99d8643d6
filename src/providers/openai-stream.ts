import { OptimizerError } from '../errors/registry.js';
import { parseStreamData } from './json.js';
import type { ChunkSink, Json, StreamTranslator } from './adapter.js';
import { isDoneSentinel, type SseEvent } from './sse.js';

/**
 * The stream "translator" of the OpenAI-compatible family: each `data:` event is relayed as it
 * came (its text is not re-serialised) unless the provider's quirks change the chunk (`fix`
 * returns true), e.g. Groq's `delta.reasoning` renamed `reasoning_content`. Comments (DeepSeek's
 * `: keep-alive`, OpenRouter's `: OPENROUTER PROCESSING`) never reach it: the SSE parser skips them.
 * An event with an `error` field (OpenRouter once streaming has started) fails the stream.
 */
export class OpenAIStreamTranslator implements StreamTranslator {
  #sawFinishReason = false;
  #sawUsageChunk = false;
  /** Groq's `x_groq.usage`, held for a usage chunk of our own (`usageFallback`). */
  #groqUsage: { chunk: Json; usage: unknown } | undefined;

  /**
   * @param fix a quirk fixer for each chunk (true when it changed the chunk)
   * @param usageFallback the client asked for `include_usage` from a provider that reports a
   *   stream's usage only in `x_groq.usage` (Groq): a usage chunk is made from it before `[DONE]`
   * @param dropUsage the client did not ask for `include_usage` from a provider that sends the
   *   usage chunk anyway (OpenRouter): that chunk (`choices: []` with `usage`) is not passed on
   */
  constructor(
    private readonly backendId: string,
    private readonly fix?: (chunk: Json) => boolean,
    private readonly usageFallback = false,
    private readonly dropUsage = false,
  ) {}

  frame(event: SseEvent, emit: ChunkSink): boolean {
    if (isDoneSentinel(event.data)) {
      this.#emitUsageFallback(emit);
      return true;
    }
    const value = parseStreamData(event.data, this.backendId);
    const chunk = value as { error?: { message?: unknown }; choices?: { finish_reason?: unknown }[] };
    if (chunk.error !== undefined) {
      const message = typeof chunk.error?.message === 'string' ? chunk.error.message : JSON.stringify(chunk.error);
      throw new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${this.backendId} failed mid-stream: ${message}`, { details: { backend: this.backendId } });
    }
    if (chunk.choices?.[0]?.finish_reason) this.#sawFinishReason = true;
    if (this.dropUsage && chunk.choices?.length === 0 && (value as Json).usage) return false;
    if (this.usageFallback) this.#noteUsage(value as Json);
    if (this.fix !== undefined && value !== null && typeof value === 'object' && this.fix(value as Json)) emit(JSON.stringify(value), value);
    else emit(event.data, value);
    return false;
  }

  /** Some OpenAI-compatible servers omit [DONE] after the final chunk: clean when a finish_reason was seen. */
  end(emit: ChunkSink): boolean {
    if (this.#sawFinishReason) this.#emitUsageFallback(emit);
    return this.#sawFinishReason;
  }

  #noteUsage(chunk: Json): void {
    if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage) this.#sawUsageChunk = true;
    const groq = chunk.x_groq as { usage?: unknown } | undefined;
    if (groq?.usage) this.#groqUsage = { chunk, usage: groq.usage };
  }

  #emitUsageFallback(emit: ChunkSink): void {
    if (!this.usageFallback || this.#sawUsageChunk || this.#groqUsage === undefined) return;
    const { chunk, usage } = this.#groqUsage;
    const made = { id: chunk.id, object: 'chat.completion.chunk', created: chunk.created, model: chunk.model, choices: [], usage };
    emit(JSON.stringify(made), made);
  }
}
