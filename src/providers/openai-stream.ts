import { OptimizerError } from '../errors/registry.js';
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

  constructor(
    private readonly backendId: string,
    private readonly fix?: (chunk: Json) => boolean,
  ) {}

  frame(event: SseEvent, emit: ChunkSink): boolean {
    if (isDoneSentinel(event.data)) return true;
    let value: unknown;
    try {
      value = JSON.parse(event.data);
    } catch {
      throw new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${this.backendId} sent a stream event that is not JSON.`, { details: { backend: this.backendId } });
    }
    const chunk = value as { error?: { message?: unknown }; choices?: { finish_reason?: unknown }[] };
    if (chunk.error !== undefined) {
      const message = typeof chunk.error?.message === 'string' ? chunk.error.message : JSON.stringify(chunk.error);
      throw new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${this.backendId} failed mid-stream: ${message}`, { details: { backend: this.backendId } });
    }
    if (chunk.choices?.[0]?.finish_reason) this.#sawFinishReason = true;
    if (this.fix !== undefined && value !== null && typeof value === 'object' && this.fix(value as Json)) emit(JSON.stringify(value), value);
    else emit(event.data, value);
    return false;
  }

  /** Some OpenAI-compatible servers omit [DONE] after the final chunk: clean when a finish_reason was seen. */
  end(): boolean {
    return this.#sawFinishReason;
  }
}
