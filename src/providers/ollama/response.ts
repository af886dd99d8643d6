/** Ollama `/api/chat` and `/api/embed` answers → OpenAI format. */
import type { Json } from '../adapter.js';
import { float32Base64 } from '../gemini/embeddings.js';
import { isObject } from '../json.js';

/** `done_reason` → `finish_reason` (`load` / `unload` answers carry no text: `stop`). */
export function finishReason(doneReason: unknown, madeToolCalls: boolean): string {
  if (madeToolCalls) return 'tool_calls';
  return doneReason === 'length' ? 'length' : 'stop';
}

/** The final line's counts → OpenAI usage (durations, in nanoseconds, are not usage). */
export function openAIUsage(final: Json): Json {
  const prompt = typeof final.prompt_eval_count === 'number' ? final.prompt_eval_count : 0;
  const completion = typeof final.eval_count === 'number' ? final.eval_count : 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Ollama's tool calls (arguments as objects) → OpenAI's (arguments as JSON strings), ids made up per answer. */
export function openAIToolCalls(calls: unknown, idPrefix: string, from = 0): Json[] {
  if (!Array.isArray(calls)) return [];
  return calls.filter(isObject).map((call, i) => {
    const fn = isObject(call.function) ? call.function : {};
    const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
    return { index: from + i, id: typeof call.id === 'string' ? call.id : `call_${idPrefix}_${from + i}`, type: 'function', function: { name: fn.name, arguments: args } };
  });
}

export function chatId(now: number, sequence: number): string {
  return `chatcmpl-ollama-${now.toString(36)}${sequence.toString(36)}`;
}

export function openAICompletion(value: Json, requestModel: string, now: number, id: string): Json {
  const message = isObject(value.message) ? value.message : {};
  const calls = openAIToolCalls(message.tool_calls, id).map(({ index: _index, ...call }) => call);
  const out: Json = { role: 'assistant', content: typeof message.content === 'string' && !(message.content === '' && calls.length > 0) ? message.content : calls.length > 0 ? null : '' };
  if (typeof message.thinking === 'string' && message.thinking !== '') out.reasoning_content = message.thinking;
  if (calls.length > 0) out.tool_calls = calls;
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(now / 1000),
    model: typeof value.model === 'string' ? value.model : requestModel,
    choices: [{ index: 0, message: out, logprobs: null, finish_reason: finishReason(value.done_reason, calls.length > 0) }],
    usage: openAIUsage(value),
  };
}

export function openAIEmbeddings(value: Json, request: Json, model: string): Json {
  const vectors = Array.isArray(value.embeddings) ? value.embeddings : [];
  const base64 = request.encoding_format === 'base64';
  const tokens = typeof value.prompt_eval_count === 'number' ? value.prompt_eval_count : 0;
  return {
    object: 'list',
    data: vectors.map((values: unknown, index: number) => ({ object: 'embedding', index, embedding: base64 && Array.isArray(values) ? float32Base64(values as number[]) : values })),
    model: typeof value.model === 'string' ? value.model : model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
