/**
 * OpenAI chat request → Gemini `generateContent` request.
 * - `system` / `developer` messages → `systemInstruction`; `assistant` → role `model`;
 * - assistant `tool_calls` → `functionCall` parts (arguments string → `args` object); `tool`
 *   messages → `functionResponse` parts (the function's name looked up from the call's id; a
 *   result that is a JSON object is passed as the response, anything else as `{content}`);
 * - consecutive turns of one role are merged;
 * - `generationConfig`: temperature, topP, maxOutputTokens, stopSequences, candidateCount (n),
 *   seed, presence/frequency penalties, JSON output (`response_format`);
 * - `tools` → `functionDeclarations`; `tool_choice` → `functionCallingConfig` (AUTO/ANY/NONE);
 * - `reasoning_effort` → `generationConfig.thinkingConfig` (`thinkingBudget` for 2.5 models,
 *   `thinkingLevel` for Gemini 3: src/providers/reasoning.ts);
 * - a tool call's thought signature (`extra_content.google.thought_signature`, as Gemini's answer
 *   gave it: see response.ts) goes back on its `functionCall` part; for Gemini 3, which requires
 *   one on the first call of each step, a step whose signature the client lost gets
 *   `skip_thought_signature_validator`.
 * Nothing else is sent: Gemini answers 400 INVALID_ARGUMENT to unknown fields (`stream_options`…).
 */
import type { Json } from '../adapter.js';
import { contentText, imageSource, isObject, parseArguments, stopList } from '../json.js';
import { GEMINI_SKIP_SIGNATURE, geminiNeedsThoughtSignatures, geminiThinkingConfig, reasoningEffort } from '../reasoning.js';

/** A model id as a path segment (`models/gemini-2.5-flash` and `gemini-2.5-flash` both work). */
export function modelPath(model: string): string {
  return encodeURIComponent(model.startsWith('models/') ? model.slice(7) : model);
}

export function geminiRequest(body: Json, model = ''): Json {
  const signatures = geminiNeedsThoughtSignatures(model);
  const system: string[] = [];
  const contents: { role: 'user' | 'model'; parts: Json[] }[] = [];
  const names = new Map<string, string>(); // tool call id → function name
  const push = (role: 'user' | 'model', parts: Json[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
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
        const parts = contentParts(message.content);
        let first = true;
        for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
          if (!isObject(call) || !isObject(call.function)) continue;
          if (typeof call.id === 'string' && typeof call.function.name === 'string') names.set(call.id, call.function.name);
          const part: Json = { functionCall: { name: call.function.name, args: parseArguments(call.function.arguments) } };
          const signature = thoughtSignatureOf(call) ?? (signatures && first ? GEMINI_SKIP_SIGNATURE : undefined);
          if (signature !== undefined) part.thoughtSignature = signature;
          parts.push(part);
          first = false;
        }
        push('model', parts);
        break;
      }
      case 'tool': {
        const name = (typeof message.tool_call_id === 'string' ? names.get(message.tool_call_id) : undefined) ?? (typeof message.name === 'string' ? message.name : 'tool');
        push('user', [{ functionResponse: { name, response: toolResponse(contentText(message.content)) } }]);
        break;
      }
      default:
        push('user', contentParts(message.content));
    }
  }

  const out: Json = { contents };
  if (system.length > 0) out.systemInstruction = { parts: [{ text: system.join('\n\n') }] };
  const config = generationConfig(body);
  const effort = reasoningEffort(body);
  const thinking = effort === undefined ? undefined : geminiThinkingConfig(effort, model);
  if (thinking) config.thinkingConfig = thinking;
  if (Object.keys(config).length > 0) out.generationConfig = config;
  if (Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== 'none') {
    out.tools = [
      {
        functionDeclarations: body.tools.filter(isObject).map((tool) => {
          const fn = isObject(tool.function) ? tool.function : {};
          const declaration: Json = { name: fn.name };
          if (typeof fn.description === 'string') declaration.description = fn.description;
          if (isObject(fn.parameters)) declaration.parameters = fn.parameters;
          return declaration;
        }),
      },
    ];
    const choice = body.tool_choice;
    if (choice === 'required') out.toolConfig = { functionCallingConfig: { mode: 'ANY' } };
    else if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === 'string') {
      out.toolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
    } else if (choice === 'auto') out.toolConfig = { functionCallingConfig: { mode: 'AUTO' } };
  }
  return out;
}

function generationConfig(body: Json): Json {
  const config: Json = {};
  if (typeof body.temperature === 'number') config.temperature = body.temperature;
  if (typeof body.top_p === 'number') config.topP = body.top_p;
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (typeof max === 'number') config.maxOutputTokens = max;
  const stop = stopList(body.stop);
  if (stop) config.stopSequences = stop;
  if (typeof body.n === 'number' && body.n > 1) config.candidateCount = body.n;
  if (typeof body.seed === 'number') config.seed = body.seed;
  if (typeof body.presence_penalty === 'number') config.presencePenalty = body.presence_penalty;
  if (typeof body.frequency_penalty === 'number') config.frequencyPenalty = body.frequency_penalty;
  const format = body.response_format;
  if (isObject(format) && (format.type === 'json_object' || format.type === 'json_schema')) {
    config.responseMimeType = 'application/json';
    if (format.type === 'json_schema' && isObject(format.json_schema) && isObject(format.json_schema.schema)) config.responseJsonSchema = format.json_schema.schema;
  }
  return config;
}

/** The thought signature an OpenAI tool call carries back (`extra_content.google.thought_signature`). */
export function thoughtSignatureOf(call: Json): string | undefined {
  const extra = call.extra_content;
  const google = isObject(extra) ? extra.google : undefined;
  const signature = isObject(google) ? google.thought_signature : undefined;
  return typeof signature === 'string' && signature !== '' ? signature : undefined;
}

function toolResponse(text: string): Json {
  try {
    const value: unknown = JSON.parse(text);
    if (isObject(value)) return value;
  } catch {
    // not JSON: passed as text
  }
  return { content: text };
}

function contentParts(content: unknown): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  const parts: Json[] = [];
  for (const part of content) {
    if (!isObject(part)) continue;
    if (part.type === 'text' && typeof part.text === 'string') parts.push({ text: part.text });
    else if (part.type === 'image_url') {
      const source = imageSource(part);
      if (source && 'data' in source) parts.push({ inlineData: { mimeType: source.mediaType, data: source.data } });
      else if (source) parts.push({ fileData: { fileUri: source.url } });
    }
  }
  return parts;
}
