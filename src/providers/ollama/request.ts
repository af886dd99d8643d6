/**
 * OpenAI chat request → Ollama `/api/chat`: messages keep their roles; text parts are joined and
 * base64 image parts go to `images`; assistant `tool_calls` carry their arguments as an object;
 * a `tool` message names its function (`tool_name`, looked up from the call's id). Sampling goes
 * into `options` (`num_predict` for the max tokens), JSON output into `format`, `reasoning_effort`
 * into `think` (src/providers/reasoning.ts), and `stream` is always explicit (Ollama streams by
 * default).
 */
import type { Json } from '../adapter.js';
import { imageSource, isObject, parseArguments, stopList } from '../json.js';
import { ollamaThink, reasoningEffort } from '../reasoning.js';

export function ollamaChatRequest(body: Json, model: string, stream: boolean): Json {
  const names = new Map<string, string>();
  const messages: Json[] = [];
  for (const message of Array.isArray(body.messages) ? body.messages : []) {
    if (!isObject(message)) continue;
    const role = message.role === 'developer' ? 'system' : message.role;
    const { text, images } = splitContent(message.content);
    const out: Json = { role, content: text };
    if (images.length > 0) out.images = images;
    if (role === 'assistant' && Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
      out.tool_calls = message.tool_calls.filter(isObject).map((call) => {
        const fn = isObject(call.function) ? call.function : {};
        if (typeof call.id === 'string' && typeof fn.name === 'string') names.set(call.id, fn.name);
        return { function: { name: fn.name, arguments: parseArguments(fn.arguments) } };
      });
    }
    if (role === 'assistant' && typeof message.reasoning_content === 'string') out.thinking = message.reasoning_content;
    if (role === 'tool' && typeof message.tool_call_id === 'string') {
      const name = names.get(message.tool_call_id);
      if (name !== undefined) out.tool_name = name;
    }
    messages.push(out);
  }
  const out: Json = { model, messages, stream };
  const effort = reasoningEffort(body);
  if (effort !== undefined) out.think = ollamaThink(effort, model);
  if (Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== 'none') out.tools = body.tools;
  const options = modelOptions(body);
  if (Object.keys(options).length > 0) out.options = options;
  const format = body.response_format;
  if (isObject(format)) {
    if (format.type === 'json_object') out.format = 'json';
    else if (format.type === 'json_schema' && isObject(format.json_schema) && isObject(format.json_schema.schema)) out.format = format.json_schema.schema;
  }
  return out;
}

function modelOptions(body: Json): Json {
  const options: Json = {};
  if (typeof body.temperature === 'number') options.temperature = body.temperature;
  if (typeof body.top_p === 'number') options.top_p = body.top_p;
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (typeof max === 'number') options.num_predict = max;
  const stop = stopList(body.stop);
  if (stop) options.stop = stop;
  if (typeof body.seed === 'number') options.seed = body.seed;
  if (typeof body.presence_penalty === 'number') options.presence_penalty = body.presence_penalty;
  if (typeof body.frequency_penalty === 'number') options.frequency_penalty = body.frequency_penalty;
  return options;
}

function splitContent(content: unknown): { text: string; images: string[] } {
  if (typeof content === 'string') return { text: content, images: [] };
  const texts: string[] = [];
  const images: string[] = [];
  for (const part of Array.isArray(content) ? content : []) {
    if (!isObject(part)) continue;
    if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
    else if (part.type === 'image_url') {
      const source = imageSource(part);
      if (source && 'data' in source) images.push(source.data);
    }
  }
  return { text: texts.join('\n'), images };
}

/** OpenAI embeddings request → `/api/embed` (`input` string or list; `dimensions` passed on). */
export function ollamaEmbedRequest(body: Json, model: string): Json {
  const out: Json = { model, input: body.input };
  if (typeof body.dimensions === 'number') out.dimensions = body.dimensions;
  return out;
}
