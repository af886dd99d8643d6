/** Anthropic Messages answer → OpenAI `chat.completion`. */
import type { Json } from '../adapter.js';
import { isObject } from '../json.js';

/** Anthropic `stop_reason` → OpenAI `finish_reason`. */
export function finishReason(stopReason: unknown): string {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop'; // end_turn, stop_sequence, pause_turn
  }
}

/**
 * Anthropic usage → OpenAI usage. Anthropic's `input_tokens` excludes the cached part, so the
 * prompt is input + cache writes + cache reads, and cache reads are OpenAI's `cached_tokens`.
 */
export function openAIUsage(usage: unknown): Json {
  const u = isObject(usage) ? usage : {};
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const cached = num(u.cache_read_input_tokens);
  const prompt = num(u.input_tokens) + num(u.cache_creation_input_tokens) + cached;
  const completion = num(u.output_tokens);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cached } };
}

export function openAICompletion(value: Json, requestModel: string, now: number): Json {
  let text = '';
  let reasoning = '';
  const toolCalls: Json[] = [];
  for (const block of Array.isArray(value.content) ? value.content : []) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'thinking' && typeof block.thinking === 'string') reasoning += block.thinking;
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const message: Json = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: value.id,
    object: 'chat.completion',
    created: Math.floor(now / 1000),
    model: typeof value.model === 'string' ? value.model : requestModel,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(value.stop_reason) }],
    usage: openAIUsage(value.usage),
  };
}
