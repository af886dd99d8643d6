import { OptimizerError } from '../errors/registry.js';
import type { Endpoint } from './types.js';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

function invalid(param: string, message: string): OptimizerError {
  return new OptimizerError('INVALID_REQUEST', message, { param });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkNumber(body: Record<string, unknown>, field: string, min: number, max: number, integer = false): void {
  const value = body[field];
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw invalid(field, `'${field}' must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}.`);
  }
}

/**
 * Checks the fields the optimizer itself relies on, with OpenAI's wording and `param`.
 * Everything else passes through to the backend untouched (providers add their own
 * fields), so unknown fields are not an error here.
 */
export function validateRequestBody(endpoint: Endpoint, body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw invalid('body', 'The request body must be a JSON object.');
  if (body.model !== undefined && (typeof body.model !== 'string' || body.model === '')) {
    throw invalid('model', "'model' must be a non-empty string.");
  }
  if (endpoint === 'embeddings') {
    const input = body.input;
    const ok =
      typeof input === 'string' ||
      (Array.isArray(input) && input.length > 0 && (input.every((i) => typeof i === 'string') || input.every((i) => typeof i === 'number') || input.every((i) => Array.isArray(i) && i.length > 0 && i.every((t) => typeof t === 'number'))));
    if (!ok) throw invalid('input', "'input' must be a string, an array of strings, or an array of token arrays.");
    if (body.encoding_format !== undefined && body.encoding_format !== 'float' && body.encoding_format !== 'base64') {
      throw invalid('encoding_format', "'encoding_format' must be 'float' or 'base64'.");
    }
    return body;
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('messages', "'messages' must be a non-empty array.");
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (!isRecord(message)) throw invalid(`messages[${i}]`, `'messages[${i}]' must be an object.`);
    if (typeof message.role !== 'string' || !ROLES.has(message.role)) {
      throw invalid(`messages[${i}].role`, `'messages[${i}].role' must be one of ${[...ROLES].join(', ')}.`);
    }
    const content = message.content;
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      throw invalid(`messages[${i}].content`, `'messages[${i}].content' must be a string or an array of content parts.`);
    }
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw invalid('stream', "'stream' must be a boolean.");
  checkNumber(body, 'temperature', 0, 2);
  checkNumber(body, 'top_p', 0, 1);
  checkNumber(body, 'n', 1, 128, true);
  checkNumber(body, 'max_tokens', 1, 10_000_000, true);
  checkNumber(body, 'max_completion_tokens', 1, 10_000_000, true);
  checkNumber(body, 'presence_penalty', -2, 2);
  checkNumber(body, 'frequency_penalty', -2, 2);
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools)) throw invalid('tools', "'tools' must be an array.");
  const stop = body.stop;
  if (stop !== undefined && stop !== null && typeof stop !== 'string' && !(Array.isArray(stop) && stop.every((s) => typeof s === 'string'))) {
    throw invalid('stop', "'stop' must be a string or an array of strings.");
  }
  return body;
}
