import { describe, expect, it } from 'vitest';
import {
  hashKeyMaterial,
  isDeterministic,
  KEY_NEUTRAL_FIELDS,
  requestKey,
  requestKeyMaterial,
  type RequestKeyInput,
} from '../../src/keys/request-key.js';

const BASE_BODY = {
  model: 'smart',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: [{ type: 'text', text: 'Hello' }] },
  ],
  tools: [{ type: 'function', function: { name: 'read_file', parameters: { type: 'object', properties: { path: { type: 'string' } } } } }],
  tool_choice: 'auto',
  temperature: 0,
  max_completion_tokens: 256,
};

function chat(body: Record<string, unknown>, overrides: Partial<RequestKeyInput> = {}): RequestKeyInput {
  return { endpoint: 'chat.completions', body, model: 'groq/llama-3.3-70b-versatile', tenant: 'acme', ...overrides };
}

const baseKey = requestKey(chat(BASE_BODY));

describe('requestKey', () => {
  it('is v1: and 43 base64url characters of sha256', () => {
    expect(baseKey).toMatch(/^v1:[A-Za-z0-9_-]{43}$/);
  });

  it('hashes requestKeyMaterial', () => {
    const input = chat(BASE_BODY);
    expect(requestKey(input)).toBe(hashKeyMaterial(requestKeyMaterial(input)));
  });

  it('hashes canonical JSON of body, endpoint, model and tenant', () => {
    const material = requestKeyMaterial(chat({ temperature: 0, messages: [], stream: true, model: 'smart' }));
    expect(material).toBe('{"body":{"messages":[],"temperature":0},"endpoint":"chat.completions","model":"groq/llama-3.3-70b-versatile","tenant":"acme"}');
    expect(requestKeyMaterial(chat({}, { tenant: undefined }))).toContain('"tenant":null');
  });

  it('does not change with whitespace or key order in the request text', () => {
    const compact = JSON.parse(JSON.stringify(BASE_BODY)) as Record<string, unknown>;
    const reordered = JSON.parse(
      '{ "max_completion_tokens" : 256,\n "temperature": 0.0, "tool_choice":"auto",\n' +
        ' "tools": [{"function": {"parameters": {"properties": {"path": {"type": "string"}}, "type": "object"}, "name": "read_file"}, "type": "function"}],\n' +
        ' "messages": [ {"content": "You are terse.", "role": "system"}, {"content": [{"text": "Hello", "type": "text"}], "role": "user"} ],\n' +
        ' "model": "smart" }',
    ) as Record<string, unknown>;
    expect(requestKey(chat(compact))).toBe(baseKey);
    expect(requestKey(chat(reordered))).toBe(baseKey);
  });

  // Every field that can change the answer must change the key (DESIGN.md §2).
  const outputAffecting: [string, Record<string, unknown>][] = [
    ['a message content', { messages: [BASE_BODY.messages[0], { role: 'user', content: [{ type: 'text', text: 'Hello!' }] }] }],
    ['a message role', { messages: [{ role: 'developer', content: 'You are terse.' }, BASE_BODY.messages[1]] }],
    ['one more message', { messages: [...BASE_BODY.messages, { role: 'user', content: 'And?' }] }],
    ['message order', { messages: [BASE_BODY.messages[1], BASE_BODY.messages[0]] }],
    ['tools', { tools: [] }],
    ['a tool parameter schema', { tools: [{ type: 'function', function: { name: 'read_file', parameters: { type: 'object' } } }] }],
    ['tool_choice', { tool_choice: 'required' }],
    ['response_format', { response_format: { type: 'json_object' } }],
    ['temperature', { temperature: 0.7 }],
    ['top_p', { top_p: 0.5 }],
    ['seed', { seed: 42 }],
    ['max_tokens', { max_tokens: 100 }],
    ['max_completion_tokens', { max_completion_tokens: 257 }],
    ['stop', { stop: ['\n'] }],
    ['n', { n: 2 }],
    ['logit_bias', { logit_bias: { '50256': -100 } }],
    ['presence_penalty', { presence_penalty: 0.5 }],
    ['frequency_penalty', { frequency_penalty: 0.5 }],
    ['reasoning_effort', { reasoning_effort: 'high' }],
    ['parallel_tool_calls', { parallel_tool_calls: false }],
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 3 }],
    ['verbosity', { verbosity: 'low' }],
    ['modalities', { modalities: ['text', 'audio'] }],
    ['a provider extra (OpenRouter provider routing)', { provider: { order: ['groq'] } }],
    ['a provider extra (top_k)', { top_k: 40 }],
    ['an unknown field', { some_future_field: true }],
    ['a null member', { stop: null }],
  ];
  it.each(outputAffecting)('changes with %s', (_name, change) => {
    expect(requestKey(chat({ ...BASE_BODY, ...change }))).not.toBe(baseKey);
  });

  it('changes with the resolved model, not with the body’s own model', () => {
    expect(requestKey(chat(BASE_BODY, { model: 'groq/llama-3.1-8b-instant' }))).not.toBe(baseKey);
    expect(requestKey(chat({ ...BASE_BODY, model: 'fast' }))).toBe(baseKey);
  });

  const neutral: [string, unknown][] = [
    ['stream', true],
    ['stream_options', { include_usage: true }],
    ['user', 'agent-7'],
    ['safety_identifier', 'hash-of-user'],
    ['metadata', { run: '1' }],
    ['store', true],
    ['service_tier', 'flex'],
    ['prompt_cache_key', 'session-1'],
    ['prompt_cache_retention', '24h'],
  ];
  it.each(neutral)('does not change with %s', (field, value) => {
    expect(requestKey(chat({ ...BASE_BODY, [field]: value }))).toBe(baseKey);
  });

  it('pins the deny list (a change here must be deliberate and explained in request-key.ts)', () => {
    expect([...KEY_NEUTRAL_FIELDS].sort()).toEqual(
      ['metadata', 'model', 'prompt_cache_key', 'prompt_cache_retention', 'safety_identifier', 'service_tier', 'store', 'stream', 'stream_options', 'user'].sort(),
    );
  });

  it('keeps neutral field names when they are nested (only top-level fields are neutral)', () => {
    const withNested = { ...BASE_BODY, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { user: 1 } } } };
    const changed = { ...BASE_BODY, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { user: 2 } } } };
    expect(requestKey(chat(withNested))).not.toBe(requestKey(chat(changed)));
  });

  it('separates tenants, and an unscoped request from every tenant', () => {
    const other = requestKey(chat(BASE_BODY, { tenant: 'globex' }));
    const unscoped = requestKey(chat(BASE_BODY, { tenant: undefined }));
    const empty = requestKey(chat(BASE_BODY, { tenant: '' }));
    expect(new Set([baseKey, other, unscoped, empty]).size).toBe(4);
  });

  it('separates endpoints', () => {
    const body = { input: 'hello' };
    expect(requestKey(chat(body))).not.toBe(requestKey(chat(body, { endpoint: 'embeddings' })));
  });

  describe('embeddings', () => {
    const embed = (body: Record<string, unknown>): string =>
      requestKey({ endpoint: 'embeddings', body, model: 'openai/text-embedding-3-small', tenant: undefined });
    const base = embed({ input: ['a', 'b'], encoding_format: 'float' });

    it('changes with encoding_format (base64 and float answers differ in form)', () => {
      expect(embed({ input: ['a', 'b'], encoding_format: 'base64' })).not.toBe(base);
      expect(embed({ input: ['a', 'b'] })).not.toBe(base);
    });

    it('changes with input and dimensions, not with user', () => {
      expect(embed({ input: ['a', 'c'], encoding_format: 'float' })).not.toBe(base);
      expect(embed({ input: ['a', 'b'], encoding_format: 'float', dimensions: 256 })).not.toBe(base);
      expect(embed({ input: ['a', 'b'], encoding_format: 'float', user: 'u1' })).toBe(base);
    });
  });
});

describe('isDeterministic', () => {
  const cases: [string, Record<string, unknown>, boolean][] = [
    ['temperature 0', { temperature: 0 }, true],
    ['temperature 0 with n 3 (every choice alike)', { temperature: 0, n: 3 }, true],
    ['a seed', { seed: 1 }, true],
    ['a seed at temperature 0.8', { seed: 1, temperature: 0.8 }, true],
    ['a seed with n 1', { seed: 1, n: 1, temperature: 0.8 }, true],
    ['a seed with n 2 at temperature 0.8', { seed: 1, n: 2, temperature: 0.8 }, false],
    ['a seed with n 2 at the default temperature', { seed: 1, n: 2 }, false],
    ['no temperature, no seed (default temperature 1)', {}, false],
    ['temperature 0.2 without a seed', { temperature: 0.2 }, false],
    ['temperature null without a seed', { temperature: null }, false],
    ['a null seed', { seed: null, temperature: 0.5 }, false],
    ['a string temperature', { temperature: '0' }, false],
  ];
  it.each(cases)('%s → %s', (_name, body, expected) => {
    expect(isDeterministic(body)).toBe(expected);
  });

  it('holds for embeddings whatever the body', () => {
    expect(isDeterministic({ input: 'x' }, 'embeddings')).toBe(true);
  });
});
