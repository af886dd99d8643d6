/**
 * Anthropic's SSE stream → OpenAI `chat.completion.chunk`s.
 *
 * `message_start` (id, model, input usage) → held until the first content, whose chunk carries
 * `role: "assistant"` (so an `error` event right after `message_start` still fails before the
 * client's stream starts, and is failed over); `content_block_start` of a `tool_use` → a
 * tool-call chunk with its id and name; `text_delta` → `content`; `input_json_delta` → the tool
 * call's `arguments` pieces; `thinking_delta` → `reasoning_content`; `message_delta` → the
 * `finish_reason` chunk (its usage is cumulative: it replaces, never adds); `message_stop` → the
 * usage chunk when the client asked for one (`stream_options.include_usage`), then the end.
 * `ping`, `content_block_stop` and `signature_delta` carry nothing for the client. An `error`
 * event fails the stream.
 */
import type { ChunkSink, Json, StreamTranslator } from '../adapter.js';
import { ChunkWriter } from '../chunk-writer.js';
import { isObject, parseStreamData } from '../json.js';
import type { SseEvent } from '../sse.js';
import { anthropicStreamError } from './errors.js';
import { finishReason, openAIUsage } from './response.js';

export class AnthropicStreamTranslator implements StreamTranslator {
  readonly #out: ChunkWriter;
  #usage: Json = {};
  /** Content block index → OpenAI tool-call index. */
  readonly #tools = new Map<number, number>();
  #stopped = false;

  constructor(
    private readonly backendId: string,
    model: string,
    created: number,
    includeUsage: boolean,
  ) {
    this.#out = new ChunkWriter('', model, created, includeUsage);
  }

  frame(event: SseEvent, emit: ChunkSink): boolean {
    const value = parseStreamData(event.data, this.backendId);
    if (!isObject(value)) return false;
    const type = typeof value.type === 'string' ? value.type : event.event;
    switch (type) {
      case 'message_start': {
        const message = isObject(value.message) ? value.message : {};
        if (typeof message.id === 'string') this.#out.id = message.id;
        if (typeof message.model === 'string') this.#out.model = message.model;
        if (isObject(message.usage)) this.#usage = { ...message.usage };
        return false;
      }
      case 'content_block_start': {
        const block = isObject(value.content_block) ? value.content_block : {};
        if (block.type === 'tool_use' && typeof value.index === 'number') {
          const toolIndex = this.#tools.size;
          this.#tools.set(value.index, toolIndex);
          this.#out.delta(emit, { tool_calls: [{ index: toolIndex, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] });
        }
        return false;
      }
      case 'content_block_delta': {
        const delta = isObject(value.delta) ? value.delta : {};
        if (delta.type === 'text_delta' && typeof delta.text === 'string') this.#out.delta(emit, { content: delta.text });
        else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string') this.#out.delta(emit, { reasoning_content: delta.thinking });
        else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string' && typeof value.index === 'number') {
          const toolIndex = this.#tools.get(value.index);
          if (toolIndex !== undefined && delta.partial_json !== '') this.#out.delta(emit, { tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }] });
        }
        return false;
      }
      case 'message_delta': {
        // Cumulative: the latest counts replace the earlier ones.
        if (isObject(value.usage)) for (const [key, count] of Object.entries(value.usage)) if (count !== null) this.#usage[key] = count;
        const stop = isObject(value.delta) ? value.delta.stop_reason : undefined;
        if (stop !== undefined && stop !== null) {
          this.#stopped = true;
          this.#out.finish(emit, finishReason(stop));
        }
        return false;
      }
      case 'message_stop':
        this.#finish(emit);
        return true;
      case 'error':
        throw anthropicStreamError(value, this.backendId);
      default:
        return false; // ping, content_block_stop, signature_delta, unknown future events
    }
  }

  end(emit: ChunkSink): boolean {
    // A stream that lost its message_stop after the stop reason is complete in all but name.
    if (!this.#stopped) return false;
    this.#finish(emit);
    return true;
  }

  #finish(emit: ChunkSink): void {
    if (!this.#stopped) this.#out.finish(emit, 'stop');
    this.#stopped = true;
    this.#out.usage(emit, openAIUsage(this.#usage));
  }
}
