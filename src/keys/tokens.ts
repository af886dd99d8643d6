/**
 * A cheap estimate of a request's prompt tokens, for token-per-minute limits before the backend
 * reports the real count. About four characters per token for English text and code (OpenAI's
 * rule of thumb), plus a small overhead per message. It runs on every request, so it walks only
 * the fields a model reads as prompt and builds no strings except for tool and schema JSON.
 */

/** Characters per token for the text the model reads. */
export const CHARS_PER_TOKEN = 4;
/** Role and separators around each message (OpenAI's chat format adds 3–4). */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** The assistant reply's priming tokens. */
export const REPLY_PRIMING_TOKENS = 3;
/** An image part at low detail (OpenAI's base cost); high-detail images cost more, unknown here. */
export const IMAGE_PART_TOKENS = 85;

/**
 * Estimated prompt tokens of a chat-completions or embeddings body: characters / 4 over message
 * contents (strings and content parts' text), names, assistant tool calls, tool definitions and a
 * `json_schema` response format, plus `MESSAGE_OVERHEAD_TOKENS` per message; for embeddings, the
 * `input` (texts, or token ids counted one each). Malformed fields count as nothing.
 */
export function estimateTokens(body: Readonly<Record<string, unknown>>): number {
  let chars = 0;
  let tokens = 0;

  const messages = body['messages'];
  if (Array.isArray(messages)) {
    tokens += REPLY_PRIMING_TOKENS;
    for (const message of messages) {
      tokens += MESSAGE_OVERHEAD_TOKENS;
      if (!isRecord(message)) continue;
      const content = message['content'];
      if (typeof content === 'string') chars += content.length;
      else if (Array.isArray(content)) {
        for (const part of content) {
          if (!isRecord(part)) continue;
          const text = part['text'] ?? part['refusal'];
          if (typeof text === 'string') chars += text.length;
          else if (part['type'] === 'image_url' || part['type'] === 'input_image') tokens += IMAGE_PART_TOKENS;
        }
      }
      chars += stringLength(message['name']);
      const toolCalls = message['tool_calls'];
      if (Array.isArray(toolCalls)) {
        for (const call of toolCalls) {
          if (isRecord(call)) chars += functionCallLength(call['function']);
        }
      }
      chars += functionCallLength(message['function_call']);
    }
  }

  const tools = body['tools'];
  if (Array.isArray(tools)) {
    for (const tool of tools) {
      if (isRecord(tool)) chars += functionDefinitionLength(tool['function'] ?? tool);
    }
  }
  const functions = body['functions'];
  if (Array.isArray(functions)) {
    for (const fn of functions) chars += functionDefinitionLength(fn);
  }

  const responseFormat = body['response_format'];
  if (isRecord(responseFormat) && responseFormat['json_schema'] !== undefined) {
    chars += jsonLength(responseFormat['json_schema']);
  }

  const input = body['input'];
  if (typeof input === 'string') chars += input.length;
  else if (Array.isArray(input)) {
    for (const item of input) {
      if (typeof item === 'string') chars += item.length;
      else if (typeof item === 'number') tokens += 1;
      else if (Array.isArray(item)) tokens += item.length;
    }
  }

  return tokens + Math.ceil(chars / CHARS_PER_TOKEN);
}

/** `estimateTokens` of a JSON request text; 0 when the text is not a JSON object. */
export function estimateTokensFromJson(text: string): number {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 0;
  }
  return isRecord(body) ? estimateTokens(body) : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringLength(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}

/** An assistant's call: `{ name, arguments }` (arguments is a JSON string). */
function functionCallLength(call: unknown): number {
  if (!isRecord(call)) return 0;
  return stringLength(call['name']) + stringLength(call['arguments']);
}

/** A tool definition: `{ name, description, parameters }` (parameters is a JSON Schema). */
function functionDefinitionLength(definition: unknown): number {
  if (!isRecord(definition)) return 0;
  return stringLength(definition['name']) + stringLength(definition['description']) + jsonLength(definition['parameters']);
}

function jsonLength(value: unknown): number {
  if (value === undefined) return 0;
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return 0;
  }
}
