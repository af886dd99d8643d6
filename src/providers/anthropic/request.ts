/**
 * OpenAI chat request → Anthropic Messages request (`POST /v1/messages`).
 * - `system` / `developer` messages become the top-level `system` text;
 * - assistant `tool_calls` become `tool_use` blocks (arguments string → `input` object), `tool`
 *   messages become `tool_result` blocks in a user turn; consecutive turns of one role are merged
 *   (Anthropic wants them alternating);
 * - `max_tokens` is required: the client's `max_completion_tokens` / `max_tokens`, else
 *   DEFAULT_MAX_TOKENS;
 * - `tools`, `tool_choice` (auto/required/none/named, `parallel_tool_calls: false`), `stop`,
 *   `temperature` (clamped to Anthropic's 0–1), `top_p`, `user` (→ `metadata.user_id`).
 * - `reasoning_effort` → `thinking: {type: "enabled", budget_tokens}` (src/providers/reasoning.ts)
 *   with `max_tokens` above the budget; with thinking on, `temperature` is not sent (Anthropic
 *   allows only 1) nor a `top_p` below 0.95. Thinking stays off where Anthropic would refuse it or
 *   cannot take it: models before Claude 3.7, a forced tool choice, and a request continuing a
 *   tool loop (its assistant turn would have to start with the signed thinking block, which OpenAI
 *   clients do not keep).
 * Fields Anthropic has no counterpart for (penalties, logprobs, seed, n = 1, stream_options…) are
 * left out; `n` > 1 is refused before the call (capability).
 */
import type { Json } from '../adapter.js';
import { contentText, imageSource, isObject, parseArguments, stopList } from '../json.js';
import { anthropicThinking, anthropicThinks, reasoningEffort } from '../reasoning.js';

/** `max_tokens` when the client sets none (Anthropic requires one). */
export const DEFAULT_MAX_TOKENS = 4096;

interface Turn {
  role: 'user' | 'assistant';
  content: Json[];
}

export function anthropicRequest(body: Json, model: string, stream: boolean): Json {
  const system: string[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn['role'], blocks: Json[]) => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const message of Array.isArray(body.messages) ? body.messages : []) {
    if (!isObject(message)) continue;
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = contentText(message.content);
        if (text !== '') system.push(text);
        break;
      }
      case 'assistant': {
        const blocks = contentBlocks(message.content);
        for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
          if (!isObject(call) || !isObject(call.function)) continue;
          blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) });
        }
        push('assistant', blocks);
        break;
      }
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: contentText(message.content) }]);
        break;
      default:
        push('user', contentBlocks(message.content));
    }
  }

  const out: Json = { model, max_tokens: maxTokens(body), messages: turns };
  const thinking = thinkingFor(body, model);
  if (thinking) {
    out.thinking = thinking.thinking;
    out.max_tokens = thinking.maxTokens;
  }
  if (system.length > 0) out.system = system.join('\n\n');
  if (typeof body.temperature === 'number' && !thinking) out.temperature = Math.min(1, Math.max(0, body.temperature));
  if (typeof body.top_p === 'number' && (!thinking || body.top_p >= 0.95)) out.top_p = body.top_p;
  const stop = stopList(body.stop);
  if (stop) out.stop_sequences = stop;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    out.tools = body.tools.filter(isObject).map((tool) => {
      const fn = isObject(tool.function) ? tool.function : {};
      const spec: Json = { name: fn.name, input_schema: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} } };
      if (typeof fn.description === 'string') spec.description = fn.description;
      return spec;
    });
    const choice = toolChoice(body.tool_choice, body.parallel_tool_calls);
    if (choice === 'none') out.tools = undefined;
    else if (choice) out.tool_choice = choice;
  }
  if (stream) out.stream = true;
  return out;
}

function maxTokens(body: Json): number {
  return clientMaxTokens(body) ?? DEFAULT_MAX_TOKENS;
}

function clientMaxTokens(body: Json): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Extended thinking for the request's `reasoning_effort`, unless Anthropic would refuse it here. */
function thinkingFor(body: Json, model: string): { thinking: Json; maxTokens: number } | undefined {
  const effort = reasoningEffort(body);
  if (effort === undefined || !anthropicThinks(model)) return undefined;
  const choice = body.tool_choice;
  if (Array.isArray(body.tools) && body.tools.length > 0 && (choice === 'required' || isObject(choice))) return undefined; // forced tool use
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last: unknown = messages[messages.length - 1];
  if (isObject(last) && last.role === 'tool') return undefined; // inside a tool loop
  return anthropicThinking(effort, clientMaxTokens(body), DEFAULT_MAX_TOKENS);
}

/** OpenAI `tool_choice` → Anthropic's; `'none'` means: send no tools. */
function toolChoice(choice: unknown, parallel: unknown): Json | 'none' | undefined {
  let out: Json | undefined;
  if (choice === 'none') return 'none';
  if (choice === 'required') out = { type: 'any' };
  else if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === 'string') out = { type: 'tool', name: choice.function.name };
  else if (choice === 'auto' || parallel === false) out = { type: 'auto' };
  if (out && parallel === false) out.disable_parallel_tool_use = true;
  return out;
}

/** A message `content` (string or parts) as Anthropic content blocks. */
function contentBlocks(content: unknown): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const blocks: Json[] = [];
  for (const part of content) {
    if (!isObject(part)) continue;
    if (part.type === 'text' && typeof part.text === 'string') blocks.push({ type: 'text', text: part.text });
    else if (part.type === 'image_url') {
      const source = imageSource(part);
      if (source && 'data' in source) blocks.push({ type: 'image', source: { type: 'base64', media_type: source.mediaType, data: source.data } });
      else if (source) blocks.push({ type: 'image', source: { type: 'url', url: source.url } });
    }
  }
  return blocks;
}
